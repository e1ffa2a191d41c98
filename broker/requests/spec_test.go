package requests

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func validSpec() Spec {
	return Spec{Project: 1, Dataset: "gp_contact", Measure: "events", Dimensions: []string{"municipality", "sex"},
		Filters: map[string][]string{"icpc2_chapter": {"R", "L"}}, Period: Period{2020, 2024}, Purpose: "Luftveisinfeksjoner"}
}

func TestValidateNamesTheFirstBadField(t *testing.T) {
	for _, tc := range []struct {
		name, field string
		edit        func(s *Spec)
	}{
		{"no project", "project", func(s *Spec) { s.Project = 0 }},
		{"no dataset", "dataset", func(s *Spec) { s.Dataset = "" }},
		{"unknown dataset", "dataset", func(s *Spec) { s.Dataset = "person" }},
		{"measure of another dataset", "measure", func(s *Spec) { s.Dataset, s.Dimensions, s.Filters = "population", nil, nil }},
		{"dimension of another dataset", "dimensions[1]", func(s *Spec) { s.Dimensions = []string{"sex", "vaccine"} }},
		{"identifier as dimension", "dimensions[0]", func(s *Spec) { s.Dimensions = []string{"pid"} }},
		{"dimension twice", "dimensions[1]", func(s *Spec) { s.Dimensions = []string{"sex", "sex"} }},
		{"municipality and district", "dimensions", func(s *Spec) { s.Dimensions = []string{"municipality", "district"} }},
		{"two age groupings", "dimensions", func(s *Spec) { s.Dimensions = []string{"age_5y", "age_10y"} }},
		{"filter on unknown dimension", "filters.colour", func(s *Spec) { s.Filters = map[string][]string{"colour": {"red"}} }},
		{"filter on age", "filters.age_5y", func(s *Spec) { s.Filters = map[string][]string{"age_5y": {"0-4"}} }},
		{"filter on year", "filters.year", func(s *Spec) { s.Filters = map[string][]string{"year": {"2020"}} }},
		{"empty filter", "filters.sex", func(s *Spec) { s.Filters = map[string][]string{"sex": {}} }},
		{"unknown code", "filters.municipality", func(s *Spec) { s.Filters = map[string][]string{"municipality": {"0301"}} }},
		{"total as filter", "filters.sex", func(s *Spec) { s.Filters = map[string][]string{"sex": {"_T"}} }},
		{"code twice", "filters.sex", func(s *Spec) { s.Filters = map[string][]string{"sex": {"F", "F"}} }},
		{"SQL as code", "filters.icpc2_chapter", func(s *Spec) { s.Filters = map[string][]string{"icpc2_chapter": {"R') OR 1=1 --"}} }},
		{"no period", "period", func(s *Spec) { s.Period = Period{} }},
		{"period out of range", "period", func(s *Spec) { s.Period = Period{1990, 2024} }},
		{"period backwards", "period", func(s *Spec) { s.Period = Period{2024, 2023} }},
		{"no purpose", "purpose", func(s *Spec) { s.Purpose = "  " }},
		{"purpose too long", "purpose", func(s *Spec) { s.Purpose = strings.Repeat("x", MaxPurpose+1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec()
			tc.edit(&s)
			_, err := s.Validate()
			var ie *InputError
			if !errors.As(err, &ie) || ie.Field != tc.field || ie.Problem == "" {
				t.Fatalf("got %v, want an input error naming %s", err, tc.field)
			}
		})
	}
}

func TestValidateCanonicalisesSoEqualRequestsHashEqual(t *testing.T) {
	a := validSpec()
	b := validSpec()
	b.Filters = map[string][]string{"icpc2_chapter": {"L", "R"}}
	b.Purpose = "another purpose"
	b.Project = 2
	va, err := a.Validate()
	if err != nil {
		t.Fatal(err)
	}
	vb, err := b.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if va.Hash() != vb.Hash() {
		t.Errorf("same definition, different hashes:\n%s\n%s", va.Definition(), vb.Definition())
	}
	if !reflect.DeepEqual(va.Filters["icpc2_chapter"], []string{"L", "R"}) {
		t.Errorf("filters not sorted: %v", va.Filters)
	}
	c := validSpec()
	c.Dimensions = []string{"sex", "municipality"}
	vc, _ := c.Validate()
	if vc.Hash() == va.Hash() {
		t.Error("a different dimension order gives a different table, so a different hash")
	}
}

func TestSmallestPopulationFollowsTheAreasInvolved(t *testing.T) {
	for _, tc := range []struct {
		dims    []string
		munis   []string
		atLeast int
		atMost  int
	}{
		{nil, nil, 400000, 410000},                          // the cluster
		{[]string{"municipality"}, nil, 1700, 1700},         // Masfjorden
		{[]string{"sex"}, []string{"4601"}, 285000, 285000}, // Bergen as a whole
		{[]string{"district"}, []string{"4601"}, 14500, 14500},
	} {
		s := Spec{Dimensions: tc.dims}
		if tc.munis != nil {
			s.Filters = map[string][]string{"municipality": tc.munis}
		}
		if got := s.smallestPopulation(); got < tc.atLeast || got > tc.atMost {
			t.Errorf("%v %v: %d, want %d–%d", tc.dims, tc.munis, got, tc.atLeast, tc.atMost)
		}
	}
}

// FuzzSpecValidation: whatever JSON arrives, Validate answers with a spec
// or an input error, never a panic, and a valid spec's filters only hold
// catalogue codes.
func FuzzSpecValidation(f *testing.F) {
	b, _ := json.Marshal(validSpec())
	f.Add(b)
	f.Add([]byte(`{"project":1,"dataset":"population","dimensions":["district"],"filters":{"municipality":["4601"]},"period":{"from":2020,"to":2020},"purpose":"x"}`))
	f.Add([]byte(`{"dataset":"care","filters":{"care_service":["';--"]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Spec
		if json.Unmarshal(data, &s) != nil {
			return
		}
		v, err := s.Validate()
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("not an input error: %v", err)
			}
			return
		}
		if _, err := buildQuery(v, true); err != nil {
			t.Fatalf("a valid spec did not build: %v", err)
		}
	})
}
