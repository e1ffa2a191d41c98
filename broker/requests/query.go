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

// source is how a dataset's rows meet the population (py, the placed
// person-years): the event table and how an event falls in a year, with
// the expressions of the dataset's own dimensions. The population dataset
// has no event table.
type source struct {
	events string // "gp_contact e"; "" for the population itself
	// year is the expression of an event's year; within is the condition
	// that keeps the period's events. Both take the period's from and to as
	// parameters, in the order yearArgs and withinArgs say ("from"/"to").
	year       string
	yearArgs   []string
	within     string
	withinArgs []string
	columns    map[string]string // dataset dimension → expression on e
}

var sources = map[string]source{
	"population": {},
	"gp_contact": {
		events: "gp_contact e", year: "year(e.contact_date)",
		within: "e.contact_date >= make_date(CAST(? AS BIGINT), 1, 1) AND e.contact_date < make_date(CAST(? AS BIGINT) + 1, 1, 1)", withinArgs: []string{"from", "to"},
		columns: map[string]string{"icpc2_chapter": "substr(e.icpc2, 1, 1)", "service": "e.service", "contact_type": "e.contact_type"},
	},
	"vaccination": {
		events: "vaccination e", year: "year(e.vaccinated_on)",
		within: "e.vaccinated_on >= make_date(CAST(? AS BIGINT), 1, 1) AND e.vaccinated_on < make_date(CAST(? AS BIGINT) + 1, 1, 1)", withinArgs: []string{"from", "to"},
		columns: map[string]string{"vaccine": "e.vaccine", "dose": "CAST(e.dose AS VARCHAR)"},
	},
	"growth": {
		events: "growth e", year: "year(e.measured_on)",
		within: "e.measured_on >= make_date(CAST(? AS BIGINT), 1, 1) AND e.measured_on < make_date(CAST(? AS BIGINT) + 1, 1, 1)", withinArgs: []string{"from", "to"},
		columns: map[string]string{"check_type": "e.check_type"},
	},
	"care": {
		// A decision counts in every year of the period it is in force.
		events:   "care_decision e",
		year:     "unnest(generate_series(greatest(year(e.decision_start), CAST(? AS BIGINT)), least(year(coalesce(e.decision_end, DATE '9999-12-31')), CAST(? AS BIGINT))))",
		yearArgs: []string{"from", "to"},
		within:   "e.decision_start < make_date(CAST(? AS BIGINT) + 1, 1, 1) AND (e.decision_end IS NULL OR e.decision_end >= make_date(CAST(? AS BIGINT), 1, 1))", withinArgs: []string{"to", "from"},
		columns: map[string]string{"care_service": "e.service_type"},
	},
}

// leafExpr is the expression of a dimension's finest category on a row of
// py joined with ev (the events, their dimensions under their own ids).
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
	if _, ok := src.columns[dim]; ok {
		return "ev." + dim
	}
	return ""
}

// leafKey is how a dimension's finest category is counted: expr, on a row
// of py joined with ev, the key the leaves are grouped by, and out, a
// format that turns the key (or NULL for a total) into the category's
// code. Years and age bands are grouped as integers, since grouping and
// casting millions of rows by text is what a release spends its time on;
// they become codes on the few rolled-up rows.
func leafKey(src source, dim string) (expr, out string) {
	if dim == "year" {
		return "py.year", "CAST(%s AS VARCHAR)"
	}
	if bands, ok := catalog.AgeBands[dim]; ok {
		var b strings.Builder
		var codes []string
		b.WriteString("CASE")
		for i, band := range bands {
			if band.Max < 0 {
				fmt.Fprintf(&b, " WHEN py.age >= %d THEN %d", band.Min, i+1)
			} else {
				fmt.Fprintf(&b, " WHEN py.age BETWEEN %d AND %d THEN %d", band.Min, band.Max, i+1)
			}
			codes = append(codes, "'"+band.Code+"'")
		}
		b.WriteString(" END")
		return b.String(), "[" + strings.Join(codes, ", ") + "][%s]"
	}
	return leafExpr(src, dim), "%s"
}

// query is a built release query: the statement, its arguments, and the
// empty table whose dimensions the statement's rows fill.
type query struct {
	sql   string
	args  []any
	table *cube.Table
}

// sqlText is a statement with its arguments in placeholder order.
type sqlText struct {
	b    strings.Builder
	args []any
}

func (q *sqlText) add(s string, args ...any) {
	q.b.WriteString(s)
	q.args = append(q.args, args...)
}

// buildQuery builds the query that counts s's table for an extract whose
// population has been placed (release_person_year). It counts the leaf
// cells first — distinct people per cell for persons, rows for events —
// and then adds them up with GROUPING SETS (a ROLLUP per dimension,
// municipality and district as one hierarchy), so every total and subtotal
// is computed in DuckDB from the same leaves, and the totals are exactly
// additive.
func buildQuery(s Spec, withRecordKey bool) (*query, error) {
	return buildQueryFor(s, 0, withRecordKey)
}

func buildQueryFor(s Spec, extractID int64, withRecordKey bool) (*query, error) {
	return buildQueryWith(s, extractID, withRecordKey, true)
}

// buildQueryWith builds s's query; with useIndex, a table the events
// folded into release_person_year can answer exactly is counted from
// them (one scan, no join), and every other table joins the events. Tests
// build both and compare them.
func buildQueryWith(s Spec, extractID int64, withRecordKey, useIndex bool) (*query, error) {
	src, ok := sources[s.Dataset]
	if !ok {
		return nil, fmt.Errorf("dataset %s has no query", s.Dataset)
	}
	// The folded events answer a table exactly when it asks about at most
	// one of the dataset's own dimensions (the category sets are per
	// dimension, so a combination of two is not in them), and, for event
	// counts, about none (the counts are per person-year, not per category).
	var eventDims []string
	for _, d := range s.Dimensions {
		if _, ok := src.columns[d]; ok && !slicesContains(eventDims, d) {
			eventDims = append(eventDims, d)
		}
	}
	for _, d := range sortedKeys(s.Filters) {
		if _, ok := src.columns[d]; ok && !slicesContains(eventDims, d) {
			eventDims = append(eventDims, d)
		}
	}
	indexed := useIndex && src.events != "" && len(eventDims) <= 1 &&
		(s.Measure == catalog.MeasurePersons || len(eventDims) == 0)
	period := map[string]any{"from": s.Period.From, "to": s.Period.To}
	q := &query{table: &cube.Table{CountLabel: countLabel(s.Measure)}}
	persons := s.Measure == catalog.MeasurePersons
	distinct := ""
	if persons {
		distinct = "DISTINCT "
	}
	var w sqlText
	pyCols := "year, pid, sex, record_key, municipality, district, age"
	if indexed {
		pyCols += ", " + s.Dataset + "_n AS ev_n"
		if len(eventDims) == 1 {
			pyCols += ", " + s.Dataset + "_" + eventDims[0] + " AS ev_set"
		}
	}
	w.add("WITH py AS (SELECT "+pyCols+" FROM release_person_year\n  WHERE extract_id = ? AND year BETWEEN ? AND ?)",
		extractID, s.Period.From, s.Period.To)

	// The events, reduced before they meet the population: for persons,
	// one row per person, year and event category.
	var pyFilters []string
	var pyArgs []any
	if src.events != "" && !indexed {
		var cols []string
		yearArgs := make([]any, len(src.yearArgs))
		for i, a := range src.yearArgs {
			yearArgs[i] = period[a]
		}
		for _, dim := range s.Dimensions {
			if expr, ok := src.columns[dim]; ok {
				cols = append(cols, expr+" AS "+dim)
			}
		}
		w.add(",\nev AS (SELECT " + distinct + "e.pid, ")
		w.add(src.year+" AS year", yearArgs...)
		if !persons {
			// Every event its own row, even two alike.
			cols = append(cols, "e.rowid AS event")
		}
		for _, c := range cols {
			w.add(", " + c)
		}
		withinArgs := make([]any, len(src.withinArgs))
		for i, a := range src.withinArgs {
			withinArgs[i] = period[a]
		}
		w.add("\n  FROM "+src.events+"\n  WHERE "+src.within, withinArgs...)
		for _, key := range sortedKeys(s.Filters) {
			if expr, ok := src.columns[key]; ok {
				w.add(" AND "+expr+" IN ("+placeholders(len(s.Filters[key]))+")", anys(s.Filters[key])...)
			}
		}
		w.add(")")
	}
	for _, key := range sortedKeys(s.Filters) {
		if _, ok := src.columns[key]; ok {
			continue
		}
		expr := leafExpr(src, key)
		if expr == "" {
			return nil, fmt.Errorf("filter %s has no expression in dataset %s", key, s.Dataset)
		}
		pyFilters = append(pyFilters, expr+" IN ("+placeholders(len(s.Filters[key]))+")")
		pyArgs = append(pyArgs, anys(s.Filters[key])...)
	}

	var leafCols, names, outCols, groups, having []string
	for i, d := range s.Dimensions {
		expr, out := leafKey(src, d)
		if expr == "" {
			return nil, fmt.Errorf("dimension %s has no expression in dataset %s", d, s.Dataset)
		}
		c := "c" + strconv.Itoa(i)
		leafCols = append(leafCols, expr+" AS "+c)
		names = append(names, c)
		if d == "district" {
			m := "m" + strconv.Itoa(i)
			leafCols = append(leafCols, "py.municipality AS "+m)
			names = append(names, m)
			outCols = append(outCols, fmt.Sprintf("CASE WHEN GROUPING(%s) = 0 THEN %s ELSE %s END", c, c, m))
			groups = append(groups, fmt.Sprintf("ROLLUP(%s, %s)", m, c))
			// Outside Bergen there are no districts: the district level
			// would repeat the municipality.
			having = append(having, fmt.Sprintf("NOT (GROUPING(%s) = 0 AND %s IS NULL)", c, c))
		} else {
			outCols = append(outCols, fmt.Sprintf(out, c))
			groups = append(groups, "ROLLUP("+c+")")
		}
		dim, err := tableDimension(d, s)
		if err != nil {
			return nil, err
		}
		q.table.Dimensions = append(q.table.Dimensions, dim)
	}
	rowCols := append([]string(nil), leafCols...)
	rowDistinct := distinct
	if persons && (slicesContains(s.Dimensions, "year") || s.Period.From == s.Period.To) {
		// A person has one place per year and ev one row per person, year
		// and event category: with the year fixed by the cell, a person is
		// in a leaf cell once already, and the costly DISTINCT is skipped.
		rowDistinct = ""
	}
	if persons {
		// A person counts once per leaf cell; every total is the sum of
		// its leaves (additivity, which disclosure control needs), so a
		// person who moved within the period counts in each place.
		rowCols = append(rowCols, "py.pid")
	} else if !indexed {
		rowCols = append(rowCols, "ev.event")
	}
	rowCols = append(rowCols, "py.record_key")
	// weight is how many events a row stands for: one, except for event
	// counts from the folded events, where a row is a person-year.
	leafSums := []string{"count(*) AS n", "sum(record_key) AS k"}
	if indexed && !persons {
		rowCols = append(rowCols, "py.ev_n AS weight")
		leafSums = []string{"sum(weight) AS n", "sum(record_key * weight) AS k"}
	}
	w.add(",\nrow AS (SELECT " + rowDistinct + strings.Join(rowCols, ", ") + "\n  FROM py")
	switch {
	case indexed:
		// Persons with an event in the year; with a dataset dimension,
		// one row per category in the person-year's set (and in the filter).
		var conds []string
		var condArgs []any
		if len(eventDims) == 1 {
			dim := eventDims[0]
			codes := eventCategories(dim)
			if vals := s.Filters[dim]; len(vals) > 0 {
				codes = vals
			}
			if slicesContains(s.Dimensions, dim) {
				var values []string
				var valueArgs []any
				for _, c := range codes {
					values = append(values, "(?, ?)")
					valueArgs = append(valueArgs, c, eventBit(dim, c))
				}
				if len(s.Filters[dim]) == 0 {
					// A code the catalogue does not know becomes a
					// category the cube refuses, as with the join.
					values = append(values, "(?, ?)")
					valueArgs = append(valueArgs, "?", unknownBit)
				}
				w.add("\n  JOIN (VALUES "+strings.Join(values, ", ")+") ev("+dim+", bit) ON (py.ev_set & ev.bit) <> 0", valueArgs...)
			} else {
				var set int64
				for _, c := range codes {
					set |= eventBit(dim, c)
				}
				conds = append(conds, "(py.ev_set & ?) <> 0")
				condArgs = append(condArgs, set)
			}
		}
		conds = append([]string{"py.ev_n > 0"}, conds...)
		w.add("\n  WHERE "+strings.Join(conds, " AND "), condArgs...)
		if len(pyFilters) > 0 {
			w.add(" AND "+strings.Join(pyFilters, " AND "), pyArgs...)
		}
	case src.events != "":
		w.add(" JOIN ev ON ev.pid = py.pid AND ev.year = py.year")
		fallthrough
	default:
		if len(pyFilters) > 0 {
			w.add("\n  WHERE "+strings.Join(pyFilters, " AND "), pyArgs...)
		}
	}
	w.add(")")
	w.add(",\nleaf AS (SELECT " + strings.Join(append(names, leafSums...), ", ") + " FROM row GROUP BY ALL)")
	w.add("\nSELECT ")
	for _, c := range outCols {
		w.add(c + ", ")
	}
	w.add("CAST(coalesce(sum(n), 0) AS BIGINT)")
	if withRecordKey {
		w.add(", CAST(coalesce(sum(k), 0) % 4294967296 AS BIGINT)")
	}
	w.add("\nFROM leaf")
	if len(groups) > 0 {
		w.add("\nGROUP BY " + strings.Join(groups, ", "))
	}
	if len(having) > 0 {
		w.add("\nHAVING " + strings.Join(having, " AND "))
	}
	q.sql, q.args = w.b.String(), w.args
	return q, nil
}

// unknownBit marks, in a person-year's category set, an event whose code
// the catalogue does not know (bit 62: sets travel as bound int64s).
const unknownBit = int64(1) << 62

// eventCategories are the codes of a dataset dimension in catalogue order,
// without the total: code i is bit i of the category sets.
func eventCategories(dim string) []string {
	cd, _ := catalog.DimensionByID(dim)
	var out []string
	for _, c := range cd.Categories {
		if c.Code != cube.Total {
			out = append(out, c.Code)
		}
	}
	return out
}

func eventBit(dim, code string) int64 {
	if i := slices.Index(eventCategories(dim), code); i >= 0 && i < 62 {
		return int64(1) << i
	}
	return unknownBit
}

// placeStatement inserts the extract's population in the years [from, to]
// into release_person_year, each person-year with its events of every
// dataset folded in: their number and, per dataset dimension, the set of
// categories among them (the columns migration 0006 describes).
func placeStatement(extractID int64, from, to int) (string, []any) {
	period := map[string]any{"from": from, "to": to}
	cols := []string{"extract_id", "year", "pid", "sex", "record_key", "municipality", "district", "age"}
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = "b." + c
	}
	var joins sqlText
	for i, ds := range sortedKeys(sources) {
		src := sources[ds]
		if src.events == "" {
			continue
		}
		alias := "d" + strconv.Itoa(i)
		cols = append(cols, ds+"_n")
		sel = append(sel, "coalesce("+alias+".n, 0)")
		var inner, outer []string
		for _, dim := range sortedKeys(src.columns) {
			cols = append(cols, ds+"_"+dim)
			sel = append(sel, "coalesce("+alias+"."+dim+", 0)")
			quoted := make([]string, 0)
			for _, c := range eventCategories(dim) {
				quoted = append(quoted, "'"+strings.ReplaceAll(c, "'", "''")+"'")
			}
			inner = append(inner, fmt.Sprintf("CAST(1 AS UBIGINT) << CAST(coalesce(nullif(list_position([%s], %s), 0), 63) - 1 AS UBIGINT) AS %s",
				strings.Join(quoted, ", "), src.columns[dim], dim))
			outer = append(outer, "bit_or("+dim+") AS "+dim)
		}
		yearArgs := make([]any, len(src.yearArgs))
		for i, a := range src.yearArgs {
			yearArgs[i] = period[a]
		}
		withinArgs := make([]any, len(src.withinArgs))
		for i, a := range src.withinArgs {
			withinArgs[i] = period[a]
		}
		joins.add("\nLEFT JOIN (SELECT pid, year, count(*) AS n, " + strings.Join(outer, ", ") + " FROM (\n  SELECT e.pid, ")
		joins.add(src.year+" AS year", yearArgs...)
		joins.add(", " + strings.Join(inner, ", ") + "\n  FROM " + src.events + "\n  WHERE ")
		joins.add(src.within, withinArgs...)
		joins.add(") GROUP BY pid, year) " + alias + " ON " + alias + ".pid = b.pid AND " + alias + ".year = b.year")
	}
	var w sqlText
	w.add("INSERT INTO release_person_year ("+strings.Join(cols, ", ")+")\nSELECT "+strings.Join(sel, ", ")+"\nFROM (\n"+populationPlace+") b",
		extractID, from, to, to)
	w.add(joins.b.String(), joins.args...)
	return w.b.String(), w.args
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
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
func Query(spec Spec, extractID int64, withRecordKey bool) (string, []any, error) {
	spec, err := spec.Validate()
	if err != nil {
		return "", nil, err
	}
	q, err := buildQueryFor(spec, extractID, withRecordKey)
	if err != nil {
		return "", nil, err
	}
	return q.sql, q.args, nil
}
