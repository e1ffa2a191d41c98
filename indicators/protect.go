package indicators

import (
	"context"
	"errors"
	"fmt"

	"github.com/kunnskapskommunen/folkekommune/broker/disclosure"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
)

// protectTable is the disclosure control the engine runs on each period's
// geo × sex table of numerators, after marking its own primary cells (the
// definition's numerator and denominator thresholds): disclosure.Protect
// keeps those primary and adds the secondary suppressions that stop a
// primary value from being recovered from the sex totals or the
// district-to-Bergen and municipality-to-cluster sums, checked by its LP
// audit. A table whose cluster total is itself withheld cannot be
// protected by complements: then every cell is withheld.
func protectTable(ctx context.Context, t *cube.Table, k int) error {
	idx := t.Index()
	if g, ok := idx[cube.Key([]string{cube.Total, cube.Total})]; ok && t.Cells[g].Status == cube.Primary {
		withholdAll(t)
		return nil
	}
	_, err := disclosure.Protect(ctx, t, disclosure.Options{K: k})
	if errors.Is(err, disclosure.ErrUnprotectable) {
		withholdAll(t)
		return nil
	}
	return err
}

func withholdAll(t *cube.Table) {
	for i := range t.Cells {
		if t.Cells[i].Status != cube.Primary {
			t.Cells[i].Status = cube.Secondary
		}
	}
}

// PeriodTable is the geo × sex table of one period's values, with the
// numerator as the count, as disclosure control sees it.
func PeriodTable(geos []cube.Category, vals []Value) *cube.Table {
	t := &cube.Table{
		Dimensions: []cube.Dimension{
			{ID: "geo", Label: cube.Label{NB: "Område", EN: "Area"}, Categories: geos},
			{ID: "sex", Label: cube.Label{NB: "Kjønn", EN: "Sex"}, Categories: Sexes()},
		},
		CountLabel: cube.Label{NB: "Teller", EN: "Numerator"},
	}
	for _, v := range vals {
		t.Cells = append(t.Cells, cube.Cell{Coords: []string{v.Geo, v.Sex}, Count: v.Numerator, Status: v.Status})
	}
	return t
}

func protectPeriod(ctx context.Context, d *Definition, geos []cube.Category, vals []Value) error {
	t := PeriodTable(geos, vals)
	if err := protectTable(ctx, t, d.Publish.MinNumerator); err != nil {
		return err
	}
	idx := t.Index()
	for i := range vals {
		j, ok := idx[cube.Key([]string{vals[i].Geo, vals[i].Sex})]
		if !ok {
			return fmt.Errorf("disclosure control lost the cell %s/%s", vals[i].Geo, vals[i].Sex)
		}
		if vals[i].Status == cube.Primary && t.Cells[j].Status != cube.Primary {
			return fmt.Errorf("disclosure control published the primary cell %s/%s", vals[i].Geo, vals[i].Sex)
		}
		vals[i].Status = t.Cells[j].Status
	}
	return nil
}
