package extract

import "context"

// Check reaches the FHIR server without exporting: it reads the SMART
// configuration (unless the token URL is given) and gets an access token
// with the broker's key, for `folkekommune sources check`.
func (s *FHIRSource) Check(ctx context.Context) error {
	_, err := s.tokens.get(ctx, true)
	return err
}
