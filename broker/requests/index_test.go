package requests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
)

// eventFixture is the hand-made extract of fixture with every dataset's
// events over 2019–2025, drawn from a seeded generator so that people have
// several events in a year, in several categories, and none in others.
func eventFixture(t *testing.T) *Service {
	t.Helper()
	s := fixture(t, map[string]int{"460101": 30, "460103": 12, "4601_U": 10, "4621": 40, "4634": 20})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	pick := func(dim string) string {
		codes := eventCategories(dim)
		return codes[rng.IntN(len(codes))]
	}
	date := func() string {
		return fmt.Sprintf("%d-%02d-%02d", 2019+rng.IntN(7), 1+rng.IntN(12), 1+rng.IntN(28))
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := s.DB.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	for pid := 1; pid <= 112; pid++ {
		for range rng.IntN(12) {
			exec(`INSERT INTO gp_contact (pid, municipality, contact_date, icpc2, service, contact_type) VALUES (?, '4601', CAST(? AS DATE), ?, ?, ?)`, pid, date(), pick("icpc2_chapter")+"01", pick("service"), pick("contact_type"))
		}
		for range rng.IntN(4) {
			exec(`INSERT INTO vaccination (pid, municipality, vaccine, dose, vaccinated_on) VALUES (?, '4601', ?, ?, CAST(? AS DATE))`, pid, pick("vaccine"), 1+rng.IntN(3), date())
		}
		for range rng.IntN(3) {
			exec(`INSERT INTO growth (pid, municipality, check_type, measured_on, height_cm, weight_kg) VALUES (?, '4601', ?, CAST(? AS DATE), 100, 20)`, pid, pick("check_type"), date())
		}
		for range rng.IntN(3) {
			start := date()
			if rng.IntN(2) == 0 {
				exec(`INSERT INTO care_decision (pid, municipality, service_type, decision_start, decision_end) VALUES (?, '4601', ?, CAST(? AS DATE), NULL)`, pid, pick("care_service"), start)
			} else {
				exec(`INSERT INTO care_decision (pid, municipality, service_type, decision_start, decision_end) VALUES (?, '4601', ?, CAST(? AS DATE), CAST(? AS DATE) + CAST(? AS INTEGER))`, pid, pick("care_service"), start, start, rng.IntN(900))
			}
		}
	}
	return s
}

// The events folded into the person-years are an index: every table they
// answer must come out exactly as the join over the events counts it,
// cell by cell, record keys included.
func TestTheFoldedEventsCountExactlyAsTheJoinOverTheEvents(t *testing.T) {
	s := eventFixture(t)
	ctx := context.Background()
	if err := s.placePopulation(ctx, 1, 2019, 2025); err != nil {
		t.Fatal(err)
	}
	type shape struct {
		dims    []string
		filters map[string][]string
	}
	compared, indexed := 0, 0
	for _, ds := range []string{"gp_contact", "vaccination", "growth", "care"} {
		own := sortedKeys(sources[ds].columns)
		first := own[0]
		shapes := []shape{
			{dims: []string{"sex", "year"}},
			{dims: []string{"municipality", "sex"}},
			{dims: []string{"district", first}},
			{dims: []string{"year", first}},
			{dims: []string{"sex"}, filters: map[string][]string{first: eventCategories(first)[:2]}},
			{dims: []string{first, "year"}, filters: map[string][]string{first: eventCategories(first)[1:3], "municipality": {"4601", "4621"}}},
			{dims: []string{"district", "year"}, filters: map[string][]string{"municipality": {"4601"}}},
		}
		if len(own) > 1 {
			// Two dataset dimensions: the join answers.
			shapes = append(shapes, shape{dims: []string{own[0], own[1]}},
				shape{dims: []string{"year", own[1]}, filters: map[string][]string{own[0]: eventCategories(own[0])[:1]}})
		}
		for _, measure := range []string{catalog.MeasurePersons, catalog.MeasureEvents} {
			for _, sh := range shapes {
				for _, p := range []Period{{2024, 2024}, {2022, 2024}, {2019, 2025}} {
					spec, err := Spec{Project: 1, Dataset: ds, Measure: measure, Dimensions: sh.dims, Filters: sh.filters, Period: p, Purpose: "x"}.Validate()
					if err != nil {
						continue
					}
					name := fmt.Sprintf("%s/%s/%v/%v/%d-%d", ds, measure, sh.dims, sh.filters, p.From, p.To)
					fast, err := buildQueryWith(spec, 1, true, true)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					join, err := buildQueryWith(spec, 1, true, false)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if !strings.Contains(fast.sql, "JOIN ev ON ev.pid") {
						indexed++
					}
					got, err := queryCube(ctx, s.DB, fast, true)
					if err != nil {
						t.Fatalf("%s: index: %v", name, err)
					}
					want, err := queryCube(ctx, s.DB, join, true)
					if err != nil {
						t.Fatalf("%s: join: %v", name, err)
					}
					if want.Cells[0].Count == 0 {
						t.Errorf("%s: the fixture has no events for this table", name)
					}
					if !reflect.DeepEqual(got.Cells, want.Cells) {
						for i := range want.Cells {
							if i < len(got.Cells) && !reflect.DeepEqual(got.Cells[i], want.Cells[i]) {
								t.Errorf("%s: cell %v: index %d/%d, join %d/%d", name, want.Cells[i].Coords,
									got.Cells[i].Count, got.Cells[i].RecordKey, want.Cells[i].Count, want.Cells[i].RecordKey)
								break
							}
						}
						t.Errorf("%s: %d cells from the index, %d from the join", name, len(got.Cells), len(want.Cells))
					}
					compared++
				}
			}
		}
	}
	if compared < 100 || indexed < compared/2 {
		t.Fatalf("compared %d tables, %d of them from the index", compared, indexed)
	}
	t.Logf("compared %d tables, %d of them from the index", compared, indexed)
}

// Bit i of a category set is the catalogue's i-th category, and bit 62
// the codes the catalogue does not know: every dataset dimension must fit.
func TestEveryDatasetDimensionFitsACategorySet(t *testing.T) {
	for ds, src := range sources {
		for dim := range src.columns {
			codes := eventCategories(dim)
			if len(codes) == 0 || len(codes) > 62 {
				t.Errorf("%s.%s has %d categories", ds, dim, len(codes))
			}
			if eventBit(dim, codes[len(codes)-1]) != int64(1)<<(len(codes)-1) || eventBit(dim, "no such code") != unknownBit {
				t.Errorf("%s.%s: bits do not follow the catalogue", ds, dim)
			}
		}
	}
}

// A code the catalogue does not know is counted as an event like any
// other, kept out by a filter, and refused as a category, by the index as
// by the join. (The contacts' codes are ENUM types since migration 0008 and
// cannot hold an unknown code; the care services' can.)
func TestAnUnknownCodeCountsAlikeFromTheIndexAndTheJoin(t *testing.T) {
	s := fixture(t, map[string]int{"4621": 10})
	ctx := context.Background()
	for pid, service := range map[int]string{1: "teleport", 2: "home_nursing", 3: "levitation"} {
		if _, err := s.DB.ExecContext(ctx, `INSERT INTO care_decision (pid, municipality, service_type, decision_start) VALUES (?, '4621', ?, DATE '2024-03-01')`, pid, service); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.placePopulation(ctx, 1, 2024, 2024); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		dims    []string
		filters map[string][]string
		total   int64 // -1: the table is refused
	}{
		{"counted as a decision", []string{"sex"}, nil, 3},
		{"kept out by a filter", []string{"sex"}, map[string][]string{"care_service": {"home_nursing", "day_care"}}, 1},
		{"refused as a category", []string{"care_service"}, nil, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := Spec{Project: 1, Dataset: "care", Dimensions: tc.dims, Filters: tc.filters, Period: Period{2024, 2024}, Purpose: "x"}.Validate()
			if err != nil {
				t.Fatal(err)
			}
			for _, useIndex := range []bool{true, false} {
				q, err := buildQueryWith(spec, 1, false, useIndex)
				if err != nil {
					t.Fatal(err)
				}
				tab, err := queryCube(ctx, s.DB, q, false)
				switch {
				case tc.total < 0 && err == nil:
					t.Errorf("index %v: the table was counted", useIndex)
				case tc.total >= 0 && err != nil:
					t.Errorf("index %v: %v", useIndex, err)
				case tc.total >= 0 && tab.Cells[0].Count != tc.total:
					t.Errorf("index %v: total %d, want %d", useIndex, tab.Cells[0].Count, tc.total)
				}
			}
		})
	}
}
