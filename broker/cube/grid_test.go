package cube

import (
	"errors"
	"strings"
	"testing"
)

// ageBySex is a table with a two-level age hierarchy (5-year bands under
// 10-year bands under the total) by sex.
func ageBySex() *Table {
	t := &Table{Dimensions: []Dimension{
		{ID: "age", Categories: []Category{{Code: Total}, {Code: "0-9", Parent: Total}, {Code: "0-4", Parent: "0-9"}, {Code: "5-9", Parent: "0-9"}, {Code: "10+", Parent: Total}}},
		{ID: "sex", Categories: []Category{{Code: Total}, {Code: "M", Parent: Total}, {Code: "F", Parent: Total}}},
	}}
	leaf := map[string][2]int64{"0-4": {3, 4}, "5-9": {5, 6}, "10+": {20, 30}}
	get := func(age string) [2]int64 {
		switch age {
		case Total:
			return [2]int64{28, 40}
		case "0-9":
			return [2]int64{8, 10}
		}
		return leaf[age]
	}
	for _, a := range t.Dimensions[0].Categories {
		v := get(a.Code)
		t.Cells = append(t.Cells,
			Cell{Coords: []string{a.Code, Total}, Count: v[0] + v[1]},
			Cell{Coords: []string{a.Code, "M"}, Count: v[0]},
			Cell{Coords: []string{a.Code, "F"}, Count: v[1]})
	}
	return t
}

func TestRelationsCoverEveryLevelOfAHierarchy(t *testing.T) {
	g, rels, err := ageBySex().CheckAdditive()
	if err != nil {
		t.Fatal(err)
	}
	// age: _T = 0-9 + 10+, 0-9 = 0-4 + 5-9, for each of 3 sexes; sex: one per age category.
	if got, want := len(rels), 2*3+5; got != want {
		t.Fatalf("%d relations, want %d", got, want)
	}
	if g.Dims() != 2 || len(g.Children[0][1]) != 2 {
		t.Fatalf("grid %+v", g.Children)
	}
}

func TestCheckAdditiveNamesTheFirstOffendingCell(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Table)
		cell   int
		reason string
	}{
		{"not additive at the middle level", func(t *Table) { t.Cells[6].Count++; t.Cells[7].Count++ }, 3, "is not the sum 19 of its parts along age"},
		{"negative", func(t *Table) { t.Cells[7].Count = -1 }, 7, "is negative"},
		{"duplicate", func(t *Table) { t.Cells = append(t.Cells, t.Cells[2]) }, 15, "appears twice"},
		{"missing", func(t *Table) { t.Cells = t.Cells[:14] }, -1, "is missing"},
		{"unknown category", func(t *Table) { t.Cells[4].Coords = []string{"0-9", "X"} }, 4, "unknown category"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tab := ageBySex()
			tc.change(tab)
			_, _, err := tab.CheckAdditive()
			var ce *CellError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *CellError", err)
			}
			if ce.Cell != tc.cell || !strings.Contains(ce.Reason, tc.reason) {
				t.Fatalf("got cell %d %q, want cell %d %q", ce.Cell, ce.Reason, tc.cell, tc.reason)
			}
		})
	}
}
