package portfolio_test

import (
	"context"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
	"github.com/kunnskapskommunen/folkekommune/policies"
)

// The approval the registry keeps is what the real policy engine reads: an
// approved project's member gets a research table; after the privacy
// officer revokes the approval, or for someone who is not a member, the
// policy refuses.
func TestApprovalAsThePoliciesReadIt(t *testing.T) {
	ctx := context.Background()
	engine, err := policies.LoadEmbedded(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := newRegistry(t)
	r.Now = func() time.Time { return time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC) }
	p := sample()
	p.Status = "active"
	p.Members = []string{"u-researcher"}
	p.Ethics.Reference = "2024/123456"
	p, err = r.Create(ctx, admin, p)
	if err != nil {
		t.Fatal(err)
	}
	request := func(subject string) policies.Input {
		ap, err := r.AccessApproval(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		project := policies.Project(ap.ForPolicy())
		return policies.Input{
			Subject: policies.Subject{ID: subject, Roles: []string{"researcher"}, Organisation: "UiB", Municipality: "4601"},
			Action:  policies.ActionReleaseRequest,
			Resource: policies.Resource{Dataset: "population", Dimensions: []string{"municipality", "sex", "age_broad"},
				Filters: map[string][]string{}, Period: &policies.Period{From: "2024-01-01", To: "2024-12-31"}, SmallestPopulation: 1700},
			Project: &project,
			Context: policies.Context{Time: time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)},
		}
	}
	decide := func(in policies.Input) policies.Decision {
		d, err := engine.Decide(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	codes := func(d policies.Decision) []string {
		var out []string
		for _, f := range d.Deny {
			out = append(out, f.Code)
		}
		return out
	}

	if d := decide(request("u-researcher")); d.Allow {
		t.Fatal("allowed before the data-access approval")
	}
	if _, err := r.Transition(ctx, portfolio.Actor{ID: "u-researcher", Role: portfolio.RoleResearcher}, p.ID, "request_access", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Transition(ctx, privacy, p.ID, "approve_access", ""); err != nil {
		t.Fatal(err)
	}
	if d := decide(request("u-researcher")); !d.Allow {
		t.Fatalf("approved member refused: %v", codes(d))
	}
	if d := decide(request("u-stranger")); d.Allow {
		t.Fatal("a non-member was allowed")
	}
	if _, err := r.Transition(ctx, privacy, p.ID, "revoke_access", ""); err != nil {
		t.Fatal(err)
	}
	if d := decide(request("u-researcher")); d.Allow || d.Review {
		t.Fatalf("allowed after revocation: %+v", d)
	}
}

func TestForPolicyStatus(t *testing.T) {
	tests := []struct {
		ap   portfolio.Approval
		want string
	}{
		{portfolio.Approval{Approved: true, Status: "active", DataAccess: "approved"}, "approved"},
		{portfolio.Approval{Status: "active", DataAccess: "approved"}, "expired"},
		{portfolio.Approval{Status: "completed", DataAccess: "approved"}, "closed"},
		{portfolio.Approval{Status: "active", DataAccess: "requested"}, "submitted"},
		{portfolio.Approval{Status: "planned", DataAccess: "none"}, "planned"},
		{portfolio.Approval{Status: "active", DataAccess: "revoked"}, "revoked"},
	}
	for _, tc := range tests {
		if got := tc.ap.ForPolicy().Status; got != tc.want {
			t.Errorf("%+v → %q, want %q", tc.ap, got, tc.want)
		}
	}
}
