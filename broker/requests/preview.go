package requests

import (
	"context"

	"github.com/kunnskapskommunen/folkekommune/policies"
)

// Preview answers what Submit would decide for spec if u sent it now, with
// every reason, without logging the decision, storing a request or
// releasing anything: the requester's look before sending. The input is
// built by the same code as Submit's (policyInput), so the preview is the
// decision the request would get, unless the project's releases or the
// policy change in between.
func (s *Service) Preview(ctx context.Context, u User, spec Spec) (Spec, policies.Decision, error) {
	in, spec, _, err := s.policyInput(ctx, u, spec)
	if err != nil {
		return Spec{}, policies.Decision{}, err
	}
	d, err := s.Policy.Preview(ctx, in)
	return spec, d, err
}
