package api

import (
	"strings"
	"testing"

	"github.com/kunnskapskommunen/folkekommune/broker/inquiry"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
)

// Every way the public form can be refused has a Norwegian explanation
// naming the field by its label, not the generic fallback.
func TestEveryFormProblemHasANorwegianExplanation(t *testing.T) {
	valid := func() inquiry.Submission {
		return inquiry.Submission{Title: "Tittel", Kind: "research", Description: "Beskrivelse", Institution: "UiB", ResearcherName: "Kari",
			ResearcherEmail: "kari@uib.no", Funding: "NFR", FundingStatus: "applied", Resources: "Tid", KnowledgeReturn: "Fagdag",
			TargetGroups: "Eldre", EthicsStatus: "APPLIED", Start: "2025-01-01", End: "2025-12-31", Units: []portfolio.Unit{{Municipality: "4627"}}}
	}
	edits := []func(*inquiry.Submission){
		func(s *inquiry.Submission) { s.Title = "" },
		func(s *inquiry.Submission) { s.Title = strings.Repeat("x", 300) },
		func(s *inquiry.Submission) { s.Title = "<b>x</b>" },
		func(s *inquiry.Submission) { s.Title = "a\x01" },
		func(s *inquiry.Submission) { s.ResearcherEmail = "nei" },
		func(s *inquiry.Submission) { s.Kind = "x" },
		func(s *inquiry.Submission) { s.End = "2024-01-01" },
		func(s *inquiry.Submission) { s.Start = "x" },
		func(s *inquiry.Submission) { s.Units = nil },
		func(s *inquiry.Submission) { s.Units = []portfolio.Unit{{Municipality: "0301"}} },
		func(s *inquiry.Submission) { s.Units = []portfolio.Unit{{Municipality: "4627", ServiceArea: "x"}} },
		func(s *inquiry.Submission) { s.Units = append(s.Units, s.Units[0]) },
		func(s *inquiry.Submission) { s.EthicsStatus = "APPROVED" },
		func(s *inquiry.Submission) {
			s.Description = strings.Repeat("a", 4000)
			s.Funding, s.Resources, s.KnowledgeReturn, s.TargetGroups = strings.Repeat("b", 2000), strings.Repeat("c", 2000), strings.Repeat("d", 2000), strings.Repeat("e", 2000)
		},
	}
	for i, edit := range edits {
		s := valid()
		edit(&s)
		err := s.Validate()
		ie, ok := err.(*portfolio.InputError)
		if !ok {
			t.Fatalf("edit %d: err = %v", i, err)
		}
		nb := norwegian(ie)
		if s.EthicsStatus == "APPROVED" && !strings.Contains(nb, "godkjenningen er gitt") {
			t.Errorf("edit %d: %q", i, nb)
		}
		if strings.Contains(nb, "er ikke gyldig") || strings.Contains(nb, "_") {
			t.Errorf("edit %d: %q → %q has no proper Norwegian explanation", i, ie.Error(), nb)
		}
	}
}
