package requests

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"github.com/kunnskapskommunen/folkekommune/broker/cube"
)

// This file is the package's one SQL builder. Every identifier and
// expression below comes from this file, keyed by catalogue ids that the
// spec was validated against; every value a requester supplies (filter
// codes, years) is a bound parameter.

// personYearCTE places each person, for every year of the period, in the
// municipality and district of the residence covering 1 January of that
// year, alive then, with the age reached during the year: the same
// placement the indicators use, so that releases and indicators count the
// same people.
const personYearCTE = `py AS (
  SELECT CAST(y AS INTEGER) AS year, pid, sex, record_key, municipality,
         CASE WHEN municipality = '` + catalog.BergenCode + `' THEN coalesce(district, '` + catalog.UnknownDistrict + `') END AS district,
         CAST(y - birth_year AS INTEGER) AS age
  FROM (
    SELECT p.pid, p.sex, p.birth_year, p.death_month, p.record_key, r.municipality, r.district,
           unnest(generate_series(
             greatest(year(r.moved_in - INTERVAL 1 DAY) + 1, CAST(? AS BIGINT)),
             least(coalesce(year(r.moved_out - INTERVAL 1 DAY), CAST(? AS BIGINT)), CAST(? AS BIGINT)))) AS y
    FROM residence r JOIN person p ON p.pid = r.pid)
  WHERE death_month IS NULL OR death_month >= make_date(y, 1, 1))`

// source is how a dataset's rows meet the population: the FROM clause
// (py is the person-year CTE, e the event table) with its year-range
// condition, which takes the period's from and to as parameters.
type source struct {
	from string
	// columns maps a dataset-specific dimension to its expression on e.
	columns map[string]string
}

var sources = map[string]source{
	"population": {from: `py WHERE py.year BETWEEN ? AND ?`},
	"gp_contact": {
		from:    `gp_contact e JOIN py ON py.pid = e.pid AND py.year = year(e.contact_date) WHERE year(e.contact_date) BETWEEN ? AND ?`,
		columns: map[string]string{"icpc2_chapter": "substr(e.icpc2, 1, 1)", "service": "e.service", "contact_type": "e.contact_type"},
	},
	"vaccination": {
		from:    `vaccination e JOIN py ON py.pid = e.pid AND py.year = year(e.vaccinated_on) WHERE year(e.vaccinated_on) BETWEEN ? AND ?`,
		columns: map[string]string{"vaccine": "e.vaccine", "dose": "CAST(e.dose AS VARCHAR)"},
	},
	"growth": {
		from:    `growth e JOIN py ON py.pid = e.pid AND py.year = year(e.measured_on) WHERE year(e.measured_on) BETWEEN ? AND ?`,
		columns: map[string]string{"check_type": "e.check_type"},
	},
	"care": {
		// A decision counts in every year it is in force.
		from:    `care_decision e JOIN py ON py.pid = e.pid AND py.year BETWEEN year(e.decision_start) AND year(coalesce(e.decision_end, DATE '9999-12-31')) WHERE py.year BETWEEN ? AND ?`,
		columns: map[string]string{"care_service": "e.service_type"},
	},
}

// leafExpr is the expression of a dimension's finest category on a row.
func leafExpr(src source, dim string) string {
	switch dim {
	case "municipality":
		return "py.municipality"
	case "district":
		return "py.district"
	case "sex":
		return "py.sex"
	case "year":
		return "CAST(py.year AS VARCHAR)"
	}
	if bands, ok := catalog.AgeBands[dim]; ok {
		var b strings.Builder
		b.WriteString("CASE")
		for _, band := range bands {
			if band.Max < 0 {
				fmt.Fprintf(&b, " WHEN py.age >= %d THEN '%s'", band.Min, band.Code)
			} else {
				fmt.Fprintf(&b, " WHEN py.age BETWEEN %d AND %d THEN '%s'", band.Min, band.Max, band.Code)
			}
		}
		b.WriteString(" END")
		return b.String()
	}
	return src.columns[dim]
}

// query is a built release query: the statement, its arguments, and the
// empty table whose dimensions the statement's rows fill.
type query struct {
	sql   string
	args  []any
	table *cube.Table
}

// buildQuery builds the GROUPING SETS query for s: one grouping per
// dimension (ROLLUP of municipality and district for the area hierarchy),
// so every total and subtotal is computed in DuckDB.
func buildQuery(s Spec, withRecordKey bool) (*query, error) {
	src, ok := sources[s.Dataset]
	if !ok {
		return nil, fmt.Errorf("dataset %s has no query", s.Dataset)
	}
	q := &query{table: &cube.Table{CountLabel: countLabel(s.Measure)}}
	var where []string
	var filterArgs []any
	for _, key := range sortedKeys(s.Filters) {
		vals := s.Filters[key]
		expr := leafExpr(src, key)
		if expr == "" {
			return nil, fmt.Errorf("filter %s has no expression in dataset %s", key, s.Dataset)
		}
		where = append(where, expr+" IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")+")")
		for _, v := range vals {
			filterArgs = append(filterArgs, v)
		}
	}
	// In statement order: the person-year CTE, the period, the filters.
	q.args = append([]any{s.Period.From, s.Period.To, s.Period.To, s.Period.From, s.Period.To}, filterArgs...)

	var leafCols, outCols, groups, having []string
	for i, d := range s.Dimensions {
		expr := leafExpr(src, d)
		if expr == "" {
			return nil, fmt.Errorf("dimension %s has no expression in dataset %s", d, s.Dataset)
		}
		c := "c" + strconv.Itoa(i)
		leafCols = append(leafCols, expr+" AS "+c)
		if d == "district" {
			m := "m" + strconv.Itoa(i)
			leafCols = append(leafCols, "py.municipality AS "+m)
			outCols = append(outCols, fmt.Sprintf("CASE WHEN GROUPING(%s) = 0 THEN %s ELSE %s END", c, c, m))
			groups = append(groups, fmt.Sprintf("ROLLUP(%s, %s)", m, c))
			// Outside Bergen there are no districts: the district level
			// would repeat the municipality.
			having = append(having, fmt.Sprintf("NOT (GROUPING(%s) = 0 AND %s IS NULL)", c, c))
		} else {
			outCols = append(outCols, c)
			groups = append(groups, "ROLLUP("+c+")")
		}
		dim, err := tableDimension(d, s)
		if err != nil {
			return nil, err
		}
		q.table.Dimensions = append(q.table.Dimensions, dim)
	}

	distinct := ""
	if s.Measure == catalog.MeasurePersons {
		// A person counts once per cell: distinct people per leaf cell, so
		// every total is the sum of its parts (additivity, which
		// disclosure control needs) and a person who moved within the
		// period counts in each place they lived.
		distinct = "DISTINCT "
		leafCols = append(leafCols, "py.pid")
	}
	leafCols = append(leafCols, "py.record_key")

	var b strings.Builder
	b.WriteString("WITH " + personYearCTE + ",\nleaf AS (SELECT " + distinct + strings.Join(leafCols, ", ") + "\n  FROM " + src.from)
	for _, w := range where {
		b.WriteString("\n  AND " + w)
	}
	b.WriteString(")\nSELECT ")
	for _, c := range outCols {
		b.WriteString(c + ", ")
	}
	b.WriteString("count(*)")
	if withRecordKey {
		b.WriteString(", CAST(sum(record_key) % 4294967296 AS BIGINT)")
	}
	b.WriteString("\nFROM leaf")
	if len(groups) > 0 {
		b.WriteString("\nGROUP BY " + strings.Join(groups, ", "))
	}
	if len(having) > 0 {
		b.WriteString("\nHAVING " + strings.Join(having, " AND "))
	}
	q.sql = b.String()
	return q, nil
}

func countLabel(measure string) cube.Label {
	if measure == catalog.MeasureEvents {
		return cube.Label{NB: "Antall hendelser", EN: "Events"}
	}
	return cube.Label{NB: "Antall personer", EN: "Persons"}
}

// tableDimension is the release table's dimension for a catalogue
// dimension, narrowed to the request's filters and period.
func tableDimension(id string, s Spec) (cube.Dimension, error) {
	cd, ok := catalog.DimensionByID(id)
	if !ok {
		return cube.Dimension{}, fmt.Errorf("dimension %s is not in the catalogue", id)
	}
	d := cube.Dimension{ID: id, Label: cube.Label(cd.Label)}
	if id == "year" {
		d.Categories = append(d.Categories, cube.Category{Code: cube.Total, Label: cube.Label{NB: "Alle år", EN: "All years"}})
		for y := s.Period.From; y <= s.Period.To; y++ {
			code := strconv.Itoa(y)
			d.Categories = append(d.Categories, cube.Category{Code: code, Label: cube.Label{NB: code, EN: code}, Parent: cube.Total})
		}
		return d, nil
	}
	keep := func(string) bool { return true }
	filterKey := id
	if id == "district" {
		filterKey = "municipality"
	}
	if vals := s.Filters[filterKey]; len(vals) > 0 {
		set := map[string]bool{}
		for _, v := range vals {
			set[v] = true
		}
		keep = func(code string) bool {
			if id == "district" && len(code) > 4 {
				return set[code[:4]]
			}
			return set[code]
		}
	}
	for _, c := range cd.Categories {
		if c.Code != cube.Total && !keep(c.Code) {
			continue
		}
		d.Categories = append(d.Categories, cube.Category{Code: c.Code, Label: cube.Label(c.Label), Parent: c.Parent})
	}
	return d, nil
}

// queryCube runs q and returns its complete table: combinations the data
// do not have are zero cells, so the table holds every combination of
// categories, as disclosure control requires.
func queryCube(ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, q *query, withRecordKey bool) (*cube.Table, error) {
	rows, err := db.QueryContext(ctx, q.sql, q.args...)
	if err != nil {
		return nil, fmt.Errorf("count the table: %w", err)
	}
	defer rows.Close()
	t := q.table
	t.Cells = nil
	if err := cube.ScanCells(rows, t, withRecordKey); err != nil {
		return nil, err
	}
	have := make(map[string]bool, len(t.Cells))
	known := make([]map[string]bool, len(t.Dimensions))
	for j, d := range t.Dimensions {
		known[j] = map[string]bool{}
		for _, c := range d.Categories {
			known[j][c.Code] = true
		}
	}
	for _, c := range t.Cells {
		for j, code := range c.Coords {
			if !known[j][code] {
				return nil, fmt.Errorf("the extract holds %s %q, which the catalogue does not know", t.Dimensions[j].ID, code)
			}
		}
		have[cube.Key(c.Coords)] = true
	}
	// Fill in the missing combinations in category order.
	var all []cube.Cell
	coords := make([]string, len(t.Dimensions))
	var walk func(j int)
	walk = func(j int) {
		if j == len(t.Dimensions) {
			if !have[cube.Key(coords)] {
				all = append(all, cube.Cell{Coords: append([]string(nil), coords...), Status: cube.Published})
			}
			return
		}
		for _, c := range t.Dimensions[j].Categories {
			coords[j] = c.Code
			walk(j + 1)
		}
	}
	walk(0)
	t.Cells = append(t.Cells, all...)
	sortCells(t)
	return t, nil
}

// sortCells orders cells as the dimensions order their categories, the
// order every encoder and reader expects.
func sortCells(t *cube.Table) {
	pos := make([]map[string]int, len(t.Dimensions))
	for j, d := range t.Dimensions {
		pos[j] = map[string]int{}
		for i, c := range d.Categories {
			pos[j][c.Code] = i
		}
	}
	less := func(a, b cube.Cell) int {
		for j := range a.Coords {
			if d := pos[j][a.Coords[j]] - pos[j][b.Coords[j]]; d != 0 {
				return d
			}
		}
		return 0
	}
	slices.SortFunc(t.Cells, less)
}

// Query is the statement and arguments that count spec's table (the
// benchmarks' bare-DuckDB ceiling runs exactly this).
func Query(spec Spec, withRecordKey bool) (string, []any, error) {
	spec, err := spec.Validate()
	if err != nil {
		return "", nil, err
	}
	q, err := buildQuery(spec, withRecordKey)
	if err != nil {
		return "", nil, err
	}
	return q.sql, q.args, nil
}
