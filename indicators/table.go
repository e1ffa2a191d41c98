package indicators

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

// Measure ids of an indicator table, besides the count (the numerator).
const (
	MeasureDenominator = "denominator"
	MeasureCrude       = "crude_rate"
	MeasureStd         = "std_rate"
	MeasureLower       = "ci_lower"
	MeasureUpper       = "ci_upper"
	MeasureComparison  = "comparison"
)

// comparisonCode puts the comparison flag in a numeric measure, since
// cube measures are numbers: 1 better, 0 no difference, -1 worse than the
// cluster, missing (NaN) when not testable.
var comparisonCode = map[string]float64{Better: 1, NoDifference: 0, Worse: -1}

// LatestExtract is the newest extract version the indicator was computed
// on, or 0 when it has not been computed.
func LatestExtract(ctx context.Context, db *store.DB, id string) (int64, error) {
	var x sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(extract_id) FROM indicator_run WHERE indicator = ?`, id).Scan(&x); err != nil {
		return 0, fmt.Errorf("find the latest results of %s: %w", id, err)
	}
	return x.Int64, nil
}

// Table reads the stored results of d on an extract version (0 = the
// latest computed) as a cube table: dimensions period, geo and sex, the
// numerator as count, and the measures denominator, crude_rate, std_rate
// (when standardised), ci_lower, ci_upper and comparison. Statuses are the
// ones disclosure control gave at compute time; the encoders write numbers
// only for published cells.
func Table(ctx context.Context, db *store.DB, d *Definition, extractID int64) (*cube.Table, error) {
	if extractID == 0 {
		x, err := LatestExtract(ctx, db, d.ID)
		if err != nil {
			return nil, err
		}
		if x == 0 {
			var n int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM indicator_run WHERE indicator = ?`, d.ID).Scan(&n); err != nil {
				return nil, fmt.Errorf("read results of %s: %w", d.ID, err)
			}
			if n == 0 {
				return nil, fmt.Errorf("indicator %s has not been computed: run `folkekommune indicators compute` first", d.ID)
			}
		}
		extractID = x
	}
	unit := "percent"
	if d.Unit == UnitPer1000 {
		unit = "per 1 000"
	}
	t := &cube.Table{
		CountLabel: cube.Label{NB: "Teller", EN: "Numerator"},
		Measures: []cube.Measure{
			{ID: MeasureDenominator, Label: cube.Label{NB: "Nevner", EN: "Denominator"}},
			{ID: MeasureCrude, Label: cube.Label{NB: "Rå rate", EN: "Crude rate"}, Unit: unit},
		},
	}
	std := d.Standardise != StandardiseNone
	if std {
		t.Measures = append(t.Measures, cube.Measure{ID: MeasureStd, Label: cube.Label{NB: "Standardisert rate", EN: "Standardised rate"}, Unit: unit})
	}
	t.Measures = append(t.Measures,
		cube.Measure{ID: MeasureLower, Label: cube.Label{NB: "Nedre 95 % konfidensgrense", EN: "Lower 95 % confidence limit"}, Unit: unit},
		cube.Measure{ID: MeasureUpper, Label: cube.Label{NB: "Øvre 95 % konfidensgrense", EN: "Upper 95 % confidence limit"}, Unit: unit},
		cube.Measure{ID: MeasureComparison, Label: cube.Label{NB: "Sammenlignet med hele samarbeidet (1 bedre, 0 ingen forskjell, -1 dårligere)", EN: "Compared with the whole cluster (1 better, 0 no difference, -1 worse)"}},
	)
	rows, err := db.QueryContext(ctx, `SELECT period, geo, sex, numerator, denominator, crude_rate, std_rate, ci_lower, ci_upper, comparison, status
FROM indicator_value WHERE extract_id = ? AND indicator = ? ORDER BY period, geo, sex`, extractID, d.ID)
	if err != nil {
		return nil, fmt.Errorf("read results of %s: %w", d.ID, err)
	}
	defer rows.Close()
	periods := []cube.Category{}
	seenPeriod := map[string]bool{}
	seenGeo := map[string]bool{}
	for rows.Next() {
		var (
			period, geo, sex, cmp, status string
			num, den                      sql.NullInt64
			crude, stdRate, lo, hi        sql.NullFloat64
		)
		if err := rows.Scan(&period, &geo, &sex, &num, &den, &crude, &stdRate, &lo, &hi, &cmp, &status); err != nil {
			return nil, fmt.Errorf("read results of %s: %w", d.ID, err)
		}
		if !seenPeriod[period] {
			seenPeriod[period] = true
			periods = append(periods, cube.Category{Code: period, Label: cube.Label{NB: period, EN: period}})
		}
		seenGeo[geo] = true
		f := func(n sql.NullFloat64) float64 {
			if !n.Valid {
				return math.NaN()
			}
			return n.Float64
		}
		vals := []float64{float64(den.Int64), f(crude)}
		if !den.Valid {
			vals[0] = math.NaN()
		}
		if std {
			vals = append(vals, f(stdRate))
		}
		c, ok := comparisonCode[cmp]
		if !ok {
			c = math.NaN()
		}
		vals = append(vals, f(lo), f(hi), c)
		t.Cells = append(t.Cells, cube.Cell{Coords: []string{period, geo, sex}, Count: num.Int64, Values: vals, Status: cube.Status(status)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read results of %s: %w", d.ID, err)
	}
	if len(t.Cells) == 0 {
		return nil, fmt.Errorf("indicator %s has no results for extract %d", d.ID, extractID)
	}
	geos := Geography()
	if seenGeo[UnknownDistrict] {
		geos = append(geos, unknownDistrictCategory())
	}
	t.Dimensions = []cube.Dimension{
		{ID: "period", Label: periodLabel(d), Categories: periods},
		{ID: "geo", Label: cube.Label{NB: "Område", EN: "Area"}, Categories: geos},
		{ID: "sex", Label: cube.Label{NB: "Kjønn", EN: "Sex"}, Categories: Sexes()},
	}
	// Order cells as the dimensions order their categories, the order
	// every encoder and reader expects.
	pos := make([]map[string]int, len(t.Dimensions))
	for i, dim := range t.Dimensions {
		pos[i] = map[string]int{}
		for j, c := range dim.Categories {
			pos[i][c.Code] = j
		}
	}
	sortCells(t.Cells, pos)
	return t, nil
}

func periodLabel(d *Definition) cube.Label {
	switch {
	case d.Smoothing == SmoothingMA3:
		return cube.Label{NB: "Periode (treårig glidende gjennomsnitt)", EN: "Period (three-year moving average)"}
	case d.Period == PeriodSchoolYear:
		return cube.Label{NB: "Skoleår (året det slutter)", EN: "School year (the year it ends)"}
	}
	return cube.Label{NB: "År", EN: "Year"}
}

func sortCells(cells []cube.Cell, pos []map[string]int) {
	less := func(a, b cube.Cell) int {
		for i := range pos {
			if d := pos[i][a.Coords[i]] - pos[i][b.Coords[i]]; d != 0 {
				return d
			}
		}
		return 0
	}
	slices.SortStableFunc(cells, less)
}

// Change is one value that differs between two extract versions. Numbers
// are given only where the value was published (NaN otherwise), so a
// change list never carries what disclosure control withheld.
type Change struct {
	Period, Geo, Sex          string
	Before, After             float64 // the main value (standardised if any, else crude)
	BeforeStatus, AfterStatus cube.Status
}

// Changes lists what changed in indicator d between the results computed
// on extract versions before and after: a different main value or a
// different status, including values that exist on only one side.
func Changes(ctx context.Context, db *store.DB, d *Definition, before, after int64) ([]Change, error) {
	rows, err := db.QueryContext(ctx, `
WITH a AS (SELECT period, geo, sex, coalesce(std_rate, crude_rate) AS v, status FROM indicator_value WHERE extract_id = ? AND indicator = ?),
     b AS (SELECT period, geo, sex, coalesce(std_rate, crude_rate) AS v, status FROM indicator_value WHERE extract_id = ? AND indicator = ?)
SELECT coalesce(a.period, b.period), coalesce(a.geo, b.geo), coalesce(a.sex, b.sex),
       CASE WHEN a.status = 'published' THEN a.v END, CASE WHEN b.status = 'published' THEN b.v END,
       coalesce(a.status, ''), coalesce(b.status, '')
FROM a FULL OUTER JOIN b ON a.period = b.period AND a.geo = b.geo AND a.sex = b.sex
WHERE a.status IS DISTINCT FROM b.status OR a.v IS DISTINCT FROM b.v
ORDER BY 1, 2, 3`, before, d.ID, after, d.ID)
	if err != nil {
		return nil, fmt.Errorf("compare %s between extracts %d and %d: %w", d.ID, before, after, err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		var bv, av sql.NullFloat64
		var bs, as string
		if err := rows.Scan(&c.Period, &c.Geo, &c.Sex, &bv, &av, &bs, &as); err != nil {
			return nil, fmt.Errorf("compare %s: %w", d.ID, err)
		}
		c.Before, c.After = math.NaN(), math.NaN()
		if bv.Valid {
			c.Before = bv.Float64
		}
		if av.Valid {
			c.After = av.Float64
		}
		c.BeforeStatus, c.AfterStatus = cube.Status(bs), cube.Status(as)
		out = append(out, c)
	}
	return out, rows.Err()
}
