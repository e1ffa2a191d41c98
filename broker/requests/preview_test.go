package requests

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestAPreviewIsTheDecisionTheRequestGetsAndLeavesNoTrace(t *testing.T) {
	s := fixture(t, map[string]int{"4634": 30, "4621": 41, "460101": 22})
	ctx := context.Background()
	cases := []struct {
		name string
		spec Spec
		want string
	}{
		{"allowed", Spec{Project: 1, Dataset: "population", Dimensions: []string{"municipality", "sex"}, Period: Period{2024, 2024}, Purpose: "x"}, "allow"},
		{"denied: too many dimensions", Spec{Project: 1, Dataset: "gp_contact", Dimensions: []string{"municipality", "age_5y", "sex", "icpc2_chapter", "service", "contact_type"}, Period: Period{2024, 2024}, Purpose: "x"}, "deny"},
		{"review: a sensitive chapter", Spec{Project: 1, Dataset: "gp_contact", Dimensions: []string{"municipality"}, Filters: map[string][]string{"icpc2_chapter": {"P"}}, Period: Period{2024, 2024}, Purpose: "x"}, "review"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			count := func(table string) int {
				var n int
				if err := s.DB.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			entries, requests := count("audit_log"), count("data_request")
			_, d, err := s.Preview(ctx, kari, c.spec)
			if err != nil {
				t.Fatal(err)
			}
			if d.Outcome() != c.want {
				t.Fatalf("preview %s %v, want %s", d.Outcome(), d.Codes(), c.want)
			}
			if count("audit_log") != entries || count("data_request") != requests {
				t.Fatal("the preview logged a decision or stored a request")
			}
			r, err := s.Submit(ctx, kari, c.spec)
			if err != nil {
				t.Fatal(err)
			}
			if r.Outcome != d.Outcome() {
				t.Fatalf("preview %s, the request got %s", d.Outcome(), r.Outcome)
			}
			if !slices.Equal(d.Codes(), reasonCodes(r)) {
				t.Errorf("preview reasons %v, the request's %v", d.Codes(), reasonCodes(r))
			}
		})
	}
	if _, _, err := s.Preview(ctx, kari, Spec{Project: 1, Dataset: "nope", Period: Period{2024, 2024}, Purpose: "x"}); !isInput(err, "dataset") {
		t.Errorf("a bad spec: %v, want an input error naming the dataset", err)
	}
	if _, _, err := s.Preview(ctx, User{ID: "p", Role: RolePrivacyOfficer}, Spec{}); !errors.Is(err, ErrForbidden) {
		t.Errorf("a role that cannot request: %v", err)
	}
}

func reasonCodes(r Request) []string {
	var out []string
	for _, f := range r.Reasons {
		out = append(out, f.Code)
	}
	return out
}
