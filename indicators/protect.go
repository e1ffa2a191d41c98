package indicators

import (
	"context"
	"fmt"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
)

// protectTable is the disclosure control the engine runs on each period's
// geo × sex table of numerators, after marking its own primary cells (the
// definition's numerator and denominator thresholds). It must keep those
// primary and add the secondary suppressions that stop a primary value
// from being recovered from the sex totals or the district-to-Bergen and
// municipality-to-cluster sums.
//
// TODO(disclosure): wire disclosure.Protect here once broker/disclosure
// has landed:
//
//	_, err := disclosure.Protect(ctx, t, disclosure.Options{K: k})
//
// Until then only primary suppression happens, and
// TestSecondarySuppressionHidesComplements skips.
var protectTable func(ctx context.Context, t *cube.Table, k int) error

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
	if protectTable == nil {
		return nil
	}
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
