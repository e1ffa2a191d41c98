package indicators

import (
	"fmt"
	"strings"
)

// This file is the package's one SQL builder. Identifiers in the SQL come
// from this file and from the compiled conditions (fixed column names
// chosen by field, never by the definition's text); every value a
// definition supplies — codes, ages, doses, years — is a bound parameter.

// sqlQuery is a statement with its arguments in placeholder order.
type sqlQuery struct {
	b    strings.Builder
	args []any
}

func (q *sqlQuery) add(s string, args ...any) {
	q.b.WriteString(s)
	q.args = append(q.args, args...)
}

// yearsCTE lists the years [from, to].
const yearsCTE = `years AS (SELECT unnest(generate_series(CAST(? AS BIGINT), CAST(? AS BIGINT))) AS year)`

// personYearSQL materialises, once per computation, who lives where in
// each year [from, to]: a person belongs, in year Y, to the municipality
// and district of the residence period that covers 1 January of Y, if
// alive then; the age is Y minus the birth year (the age reached during
// Y). Each residence period yields the years whose 1 January it covers —
// from the year after the day before moving in, to the year of the day
// before moving out — which is linear in the register, unlike a range
// join of periods against years.
const personYearSQL = `CREATE OR REPLACE TEMP TABLE person_year AS
SELECT CAST(year AS INTEGER) AS year, pid, sex, municipality, district, CAST(year - birth_year AS INTEGER) AS age
FROM (
  SELECT p.pid, p.sex, p.birth_year, p.death_month, r.municipality, r.district,
         unnest(generate_series(
           greatest(year(r.moved_in - INTERVAL 1 DAY) + 1, CAST(? AS BIGINT)),
           least(coalesce(year(r.moved_out - INTERVAL 1 DAY), CAST(? AS BIGINT)), CAST(? AS BIGINT)))) AS year
  FROM residence r JOIN person p ON p.pid = r.pid)
WHERE death_month IS NULL OR death_month >= make_date(year, 1, 1)`

// strataQuery builds the statement that counts, for the years [from, to],
// the denominator and numerator of d by year, municipality, district, sex
// and 5-year age band, from person_year (personYearSQL). Everything
// finer-grained than the band never leaves DuckDB; the engine rolls these
// strata up to districts, municipalities, the cluster and both sexes, and
// standardises, in Go. Events count by the person's residence, not by the municipality column of the event row, so that an
// event and its person are always in the same unit.
func strataQuery(d *Definition, from, to int) (string, []any) {
	var q sqlQuery
	q.add("WITH "+yearsCTE+",\n", from, to)
	q.add(`base AS (
  SELECT year, pid, sex, municipality, district, age FROM person_year
  WHERE year BETWEEN ? AND ? AND age >= ?`, from, to, d.Age.Min)
	if d.Age.Max != nil {
		q.add(` AND age <= ?`, *d.Age.Max)
	}
	q.add("\n)")
	for i, c := range d.conds {
		q.add(fmt.Sprintf(",\nc%d AS (", i))
		conditionSQL(&q, d, c, from, to, d.Count == CountEvents && c.numerator)
		q.add(")")
	}
	// Person conditions are distinct (pid, year) rows joined to the
	// population: measured faster in DuckDB than EXISTS, whose
	// decorrelation re-groups the population.
	q.add("\nSELECT b.year, b.municipality, b.district, b.sex, least(b.age // 5, ?) AS band, count(*) AS den, ", Bands-1)
	var num []string
	for i, c := range d.conds {
		if !c.numerator {
			continue
		}
		if d.Count == CountEvents {
			num = append(num, fmt.Sprintf("coalesce(c%d.n, 0)", i))
		} else {
			num = append(num, fmt.Sprintf("c%d.pid IS NOT NULL", i))
		}
	}
	if d.Count == CountEvents {
		q.add("sum(" + num[0] + ") AS num")
	} else {
		q.add("count(*) FILTER (WHERE " + strings.Join(num, " AND ") + ") AS num")
	}
	q.add("\nFROM base b")
	for i, c := range d.conds {
		join := "LEFT JOIN"
		if !c.numerator {
			join = "JOIN"
		}
		if c.table == "vaccination" {
			q.add(fmt.Sprintf("\n%s c%d ON c%d.pid = b.pid", join, i, i))
		} else {
			q.add(fmt.Sprintf("\n%s c%d ON c%d.pid = b.pid AND c%d.year = b.year", join, i, i, i))
		}
	}
	q.add("\nGROUP BY ALL")
	return q.b.String(), q.args
}

// conditionSQL writes the distinct (pid, year) rows meeting c — or, when
// counted, each with the number n of rows; for vaccination, the rows (pid, n) of the people
// who had at least min_doses doses by the age.
func conditionSQL(q *sqlQuery, d *Definition, c *condition, from, to int, counted bool) {
	// Distinct rows per person and year, counted when the numerator
	// counts events.
	distinct, group, n := "DISTINCT ", "", ""
	if counted {
		distinct, group, n = "", " GROUP BY ALL", ", count(*) AS n"
	}
	where := func(prefix string) {
		for _, f := range c.filters {
			q.add(" AND " + prefix + f)
		}
		q.args = append(q.args, c.args...)
	}
	switch c.table {
	case "gp_contact":
		q.add(`SELECT `+distinct+`pid, year(contact_date) AS year`+n+` FROM gp_contact
  WHERE contact_date >= make_date(?, 1, 1) AND contact_date < make_date(?, 1, 1)`, from, to+1)
		where("")
		q.add(group)
	case "growth":
		yearExpr := "year(g.measured_on)"
		if d.Period == PeriodSchoolYear {
			// School year Y runs from 1 August Y-1 to 31 July Y: five months
			// on, every date of it falls in calendar year Y.
			yearExpr = "year(g.measured_on + INTERVAL 5 MONTH)"
		}
		q.add("SELECT " + distinct + "g.pid, " + yearExpr + " AS year" + n + " FROM growth g")
		if c.bmiColumn != "" {
			// ISO-BMI: the child's BMI against the IOTF cut-off for its sex
			// and age in whole months (birth assumed mid-month).
			q.add(`
  JOIN person p ON p.pid = g.pid
  JOIN iotf_cutoff ic ON ic.sex = p.sex AND ic.age_months = least(greatest(year(g.measured_on) * 12 + month(g.measured_on) - (p.birth_year * 12 + p.birth_month), 24), 216)`)
		}
		q.add("\n  WHERE "+yearExpr+" BETWEEN ? AND ?", from, to)
		// Prefix the growth table's own columns: the cut-off table is joined.
		for _, f := range c.filters {
			q.add(" AND g." + f)
		}
		q.args = append(q.args, c.args...)
		if c.bmiColumn != "" {
			q.add(" AND g.weight_kg / (g.height_cm * g.height_cm / 10000.0) >= ic." + c.bmiColumn)
		}
		q.add(group)
	case "vaccination":
		// Birth day is not kept, so "by 24 months" counts doses given before
		// the end of the month in which the child turns 24 months.
		q.add(`SELECT v.pid, count(DISTINCT v.dose) AS n FROM vaccination v
  JOIN person p ON p.pid = v.pid
  WHERE v.vaccinated_on < make_date(p.birth_year, p.birth_month, 1) + to_months(CAST(? AS INTEGER))`, c.byAge+1)
		where("v.")
		q.add(" GROUP BY v.pid HAVING count(DISTINCT v.dose) >= ?", c.minDoses)
	case "care_decision":
		// A decision counts in every year it runs at some point of.
		q.add(`SELECT c.pid, y.year` + n + ` FROM care_decision c
  JOIN years y ON c.decision_start < make_date(y.year + 1, 1, 1) AND (c.decision_end IS NULL OR c.decision_end >= make_date(y.year, 1, 1))
  WHERE true`)
		where("c.")
		q.add(group)
	default:
		panic("indicators: condition on unknown table " + c.table)
	}
}

// coverageQuery lists the years in [from, to] for which the dataset holds
// any data: a year without any is missing, never zero. The period decides
// how growth checks are dated.
func coverageQuery(dataset, period string, from, to int) (string, []any) {
	var body string
	switch dataset {
	case "population":
		body = `SELECT DISTINCT year FROM person_year`
	case "gp_contact":
		body = `SELECT DISTINCT year(contact_date) AS year FROM gp_contact`
	case "growth":
		if period == PeriodSchoolYear {
			body = `SELECT DISTINCT year(measured_on + INTERVAL 5 MONTH) AS year FROM growth`
		} else {
			body = `SELECT DISTINCT year(measured_on) AS year FROM growth`
		}
	case "vaccination":
		body = `SELECT DISTINCT year(vaccinated_on) AS year FROM vaccination`
	case "care":
		body = `SELECT DISTINCT y.year FROM years y JOIN care_decision c ON c.decision_start < make_date(y.year + 1, 1, 1) AND (c.decision_end IS NULL OR c.decision_end >= make_date(y.year, 1, 1))`
	default:
		panic("indicators: coverage of unknown dataset " + dataset)
	}
	return "WITH " + yearsCTE + ", covered AS (" + body + ") SELECT year FROM covered WHERE year BETWEEN ? AND ? ORDER BY year", []any{from, to, from, to}
}

// lastYearQuery finds the latest calendar year with any event.
const lastYearQuery = `SELECT max(y) FROM (
  SELECT max(year(contact_date)) AS y FROM gp_contact
  UNION ALL SELECT max(year(measured_on)) FROM growth
  UNION ALL SELECT max(year(vaccinated_on)) FROM vaccination
  UNION ALL SELECT max(year(decision_start)) FROM care_decision)`
