package portfolio_test

import (
	"testing"

	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
)

func TestWhoMayViewAProjectsPeople(t *testing.T) {
	p := &portfolio.Project{
		Units:     []portfolio.Unit{{Municipality: "4601"}, {Municipality: "4624", ServiceArea: "health"}},
		Members:   []string{"kari.forsker"},
		CreatedBy: "ola.oppretter",
	}
	tests := []struct {
		name  string
		actor portfolio.Actor
		want  bool
	}{
		{"admin", portfolio.Actor{ID: "a", Role: portfolio.RoleAdmin}, true},
		{"privacy officer", portfolio.Actor{ID: "po", Role: portfolio.RolePrivacyOfficer}, true},
		{"R&D contact of a municipality in the project", portfolio.Actor{ID: "f", Role: portfolio.RoleRDContact, Municipality: "4624"}, true},
		{"R&D contact of another municipality", portfolio.Actor{ID: "f", Role: portfolio.RoleRDContact, Municipality: "4631"}, false},
		{"R&D contact without a municipality", portfolio.Actor{ID: "f", Role: portfolio.RoleRDContact}, false},
		{"member", portfolio.Actor{ID: "kari.forsker", Role: portfolio.RoleResearcher}, true},
		{"member, in other case", portfolio.Actor{ID: "Kari.Forsker", Role: portfolio.RoleResearcher}, true},
		{"creator", portfolio.Actor{ID: "ola.oppretter", Role: portfolio.RoleResearcher}, true},
		{"researcher outside the project", portfolio.Actor{ID: "per.forsker", Role: portfolio.RoleResearcher}, false},
		{"coordinator", portfolio.Actor{ID: "kari.forsker", Role: portfolio.RoleCoordinator, Municipality: "4601"}, false},
		{"the public", portfolio.Actor{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := portfolio.MayViewPeople(tt.actor, p); got != tt.want {
				t.Fatalf("MayViewPeople(%+v) = %v, want %v", tt.actor, got, tt.want)
			}
		})
	}
	// A unit without a municipality does not open the project to an R&D
	// contact without one.
	blank := &portfolio.Project{Units: []portfolio.Unit{{}}}
	if portfolio.MayViewPeople(portfolio.Actor{ID: "f", Role: portfolio.RoleRDContact}, blank) {
		t.Fatal("an R&D contact without a municipality sees a project with a blank unit")
	}
}
