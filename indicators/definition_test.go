package indicators

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

const validYAML = `id: sample
title: {nb: Prøve, en: Sample}
description: {nb: Beskrivelse, en: Description}
source: gp_contact
age: {min: 30, max: 74}
numerator:
  - icpc2_in: [T90]
unit: per_1000
period: calendar_year
higher_is: worse
standardise: esp2013
smoothing: moving_average_3
publish: {min_numerator: 3, min_denominator: 10}
`

func TestBuiltinDefinitionsLoad(t *testing.T) {
	defs, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) < 12 {
		t.Errorf("%d built-in indicators, want at least 12", len(defs))
	}
	for _, d := range defs {
		if d.SHA256 == "" || len(d.conds) == 0 {
			t.Errorf("%s: not compiled", d.ID)
		}
	}
}

// TestParseRefusesBadDefinitions pins that every kind of bad input is
// refused at load with the file and the field named.
func TestParseRefusesBadDefinitions(t *testing.T) {
	tests := []struct {
		name    string
		old     string // replaced in validYAML …
		new     string // … by this
		wantMsg []string
	}{
		{"unknown field", "unit: per_1000", "unit: per_1000\nwhere: \"1=1\"", []string{"sample.yaml", "line 9", `unknown field "where"`}},
		{"unknown field in a condition", "icpc2_in: [T90]", "icpc2_in: [T90]\n    sql: \"DROP TABLE person\"", []string{`unknown field "sql"`}},
		{"unknown dataset", "source: gp_contact", "source: hospital", []string{"source", `unknown dataset "hospital"`}},
		{"unknown ICPC-2 code", "[T90]", "[T9X]", []string{"numerator[0].icpc2_in", `"T9X" is not an ICPC-2`}},
		{"SQL fragment as a code", "[T90]", `["T90') OR 1=1 --"]`, []string{"numerator[0].icpc2_in", "is not an ICPC-2"}},
		{"unknown chapter", "icpc2_in: [T90]", "icpc2_chapter: [Q]", []string{"numerator[0].icpc2_chapter", `"Q" is not an ICPC-2 chapter`}},
		{"unknown care service", "icpc2_in: [T90]", "care_service: [spa]", []string{"numerator[0].care_service"}},
		{"fields of two tables in one condition", "icpc2_in: [T90]", "icpc2_in: [T90]\n    care_service: [home_nursing]", []string{"numerator[0].care_service", "belongs to another table"}},
		{"empty condition", "  - icpc2_in: [T90]", "  - {}", []string{"numerator[0]: is empty"}},
		{"no numerator", "numerator:\n  - icpc2_in: [T90]\n", "", []string{"numerator", "at least one condition"}},
		{"unknown unit", "unit: per_1000", "unit: per_mille", []string{"unit", `"per_mille"`}},
		{"unknown period", "period: calendar_year", "period: decade", []string{"period"}},
		{"unknown standard population", "esp2013", "who2000", []string{"standardise", `"who2000"`}},
		{"age range off the 5-year bands", "max: 74", "max: 72", []string{"age", "5-year bands"}},
		{"age range upside down", "max: 74", "max: 20", []string{"age.max"}},
		{"unknown smoothing", "moving_average_3", "loess", []string{"smoothing"}},
		{"missing English title", "en: Sample", "en: \"\"", []string{"title.en", "is required"}},
		{"threshold zero", "min_numerator: 3", "min_numerator: 0", []string{"publish.min_numerator"}},
		{"id and file name differ", "id: sample", "id: other", []string{"id", `must match the file name`}},
		{"id not an identifier", "id: sample", "id: \"sample; DROP\"", []string{"id"}},
		{"vaccination outside a cohort", "icpc2_in: [T90]", "vaccine: MMR\n    min_doses: 1\n    by_age_months: 24", []string{"numerator[0].vaccine", "cohort"}},
		{"too many doses", "source: gp_contact\nage: {min: 30, max: 74}", "source: vaccination\nage: {min: 2, max: 2}", nil}, // replaced below
		{"event count as percent", "unit: per_1000", "unit: percent\ncount: events", []string{"unit", "per_1000"}},
		{"wrong type", "min_numerator: 3", "min_numerator: three", []string{"sample.yaml", "three"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(validYAML, tc.old, tc.new, 1)
			if tc.name == "too many doses" {
				src = strings.NewReplacer("source: gp_contact", "source: vaccination", "age: {min: 30, max: 74}", "age: {min: 2, max: 2}",
					"icpc2_in: [T90]", "vaccine: MMR\n    min_doses: 3\n    by_age_months: 24", "period: calendar_year", "period: cohort",
					"standardise: esp2013", "standardise: none", "smoothing: moving_average_3", "smoothing: none").Replace(validYAML)
				tc.wantMsg = []string{"numerator[0].min_doses", "outside 1–2"}
			}
			if src == validYAML {
				t.Fatalf("the test's replacement %q did not apply", tc.old)
			}
			_, err := Parse("sample.yaml", []byte(src))
			if err == nil {
				t.Fatalf("accepted:\n%s", src)
			}
			if !strings.HasPrefix(err.Error(), "sample.yaml: ") {
				t.Errorf("error %q does not start with the file name", err)
			}
			for _, m := range tc.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

func TestParseAcceptsTheValidSample(t *testing.T) {
	d, err := Parse("sample.yaml", []byte(validYAML))
	if err != nil {
		t.Fatal(err)
	}
	if d.Age.String() != "30-74" || d.Count != CountPersons || len(d.conds) != 1 || d.conds[0].table != "gp_contact" {
		t.Errorf("parsed %+v", d)
	}
}

// TestLoadKeepsTheValidDefinitions: one bad file among good ones is
// refused, named, and the others still load.
func TestLoadKeepsTheValidDefinitions(t *testing.T) {
	other := strings.Replace(validYAML, "id: sample", "id: other", 1)
	fsys := fstest.MapFS{
		"sample.yaml": {Data: []byte(validYAML)},
		"broken.yaml": {Data: []byte(strings.Replace(validYAML, "id: sample", "id: broken\nsql: x", 1))},
		"other.yaml":  {Data: []byte(other)},
		"notes.txt":   {Data: []byte("not a definition")},
	}
	defs, err := Load(fsys)
	var le *LoadError
	if !errors.As(err, &le) || len(le.Problems) != 1 || !strings.HasPrefix(le.Problems[0], "broken.yaml: ") {
		t.Fatalf("err = %v, want one problem naming broken.yaml", err)
	}
	if len(defs) != 2 || defs[0].ID != "other" || defs[1].ID != "sample" {
		t.Errorf("loaded %d definitions, want other and sample", len(defs))
	}
}

// FuzzParse: no input makes the loader panic, and whatever it accepts
// compiles to SQL whose only literals are the engine's own.
func FuzzParse(f *testing.F) {
	f.Add([]byte(validYAML))
	for _, name := range []string{"overweight_grade3.yaml", "mmr_age2.yaml", "emergency_room_contacts.yaml", "home_care_80plus.yaml"} {
		b, err := builtin.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("id: x\n\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Parse("sample.yaml", b)
		if err != nil {
			return
		}
		q, args := strataQuery(d, 2020, 2024)
		if strings.Count(q, "?") != len(args) {
			t.Fatalf("%d placeholders, %d arguments", strings.Count(q, "?"), len(args))
		}
		if strings.ContainsAny(q, "'\";") {
			t.Fatalf("generated SQL carries a quote or semicolon:\n%s", q)
		}
	})
}
