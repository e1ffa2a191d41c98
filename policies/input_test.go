package policies

import (
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// TestInputValueIsTheDocument pins down that the AST built directly from a
// typed request is the same document the JSON form gives, so that the fast
// conversion cannot change what the policy reads.
func TestInputValueIsTheDocument(t *testing.T) {
	tests := []struct {
		name   string
		change func(in *Input)
	}{
		{"research request", func(*Input) {}},
		{"no project", func(in *Input) { in.Project = nil }},
		{"empty lists", func(in *Input) {
			in.Subject.Roles, in.Resource.Dimensions, in.Project.Members = nil, nil, nil
		}},
		{"optional fields empty", func(in *Input) {
			in.Subject.Organisation, in.Subject.Municipality = "", ""
			in.Project.ApprovedAt, in.Project.REK, in.Project.LegalBasis = "", "", ""
			in.Resource.Period = nil
		}},
		{"filters, flags and releases", func(in *Input) {
			in.Resource.Filters = map[string][]string{"municipality": {"4601", "4634"}, "icpc2": {"P76"}, "sex": nil}
			in.Resource.RowLevel, in.Resource.Published, in.Project.DPIADone = true, true, true
			in.Resource.SmallestPopulation = -3
			in.Context.Releases = []time.Time{now.Add(-time.Hour), now.In(time.FixedZone("CET", 3600)).AddDate(0, -1, 0)}
			in.Context.Time = now.Add(123456789 * time.Nanosecond).In(time.FixedZone("CET", 3600))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := researchRequest()
			tt.change(&in)
			want, err := ast.InterfaceToValue(in.doc())
			if err != nil {
				t.Fatal(err)
			}
			if got := in.value(); ast.Compare(got, want) != 0 {
				t.Fatalf("AST input\n%v\ndiffers from the document\n%v", got, want)
			}
		})
	}
}
