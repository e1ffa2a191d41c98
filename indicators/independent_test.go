package indicators

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

// randomExtract fills db with a random but plausible extract: a few
// thousand people with moves, deaths, contacts, growth checks,
// vaccinations and care decisions over 2014–2024, some Bergen residents
// without a district.
const randomExtract = `
SELECT setseed(%v);
CREATE TEMP TABLE munis AS SELECT * FROM (VALUES
  ('4601', 0.0), ('4621', 0.45), ('4624', 0.55), ('4627', 0.65), ('4628', 0.72), ('4630', 0.78), ('4631', 0.85), ('4632', 0.93), ('4634', 0.97)) v(code, lo);
INSERT INTO person (pid, birth_year, birth_month, sex, death_month, record_key)
SELECT i, 1920 + CAST(floor(random() * 104) AS INTEGER), 1 + CAST(floor(random() * 12) AS INTEGER),
       CASE WHEN random() < 0.5 THEN 'M' ELSE 'F' END,
       CASE WHEN random() < 0.06 THEN make_date(2015 + CAST(floor(random() * 10) AS INTEGER), 1 + CAST(floor(random() * 12) AS INTEGER), 1) END, 0
FROM range(%d) t(i);
-- First residence from birth (or 2000), second from a random move date.
CREATE TEMP TABLE moves AS
SELECT pid, make_date(greatest(birth_year, 2000), birth_month, 1) AS born_in,
       CASE WHEN random() < 0.2 THEN make_date(2015 + CAST(floor(random() * 10) AS INTEGER), 1 + CAST(floor(random() * 12) AS INTEGER), 1 + CAST(floor(random() * 28) AS INTEGER)) END AS moved,
       random() AS u1, random() AS u2, random() AS d1, random() AS d2
FROM person;
INSERT INTO residence (pid, municipality, district, moved_in, moved_out)
SELECT m.pid, (SELECT code FROM munis WHERE lo <= m.u1 ORDER BY lo DESC LIMIT 1), NULL, m.born_in,
       CASE WHEN m.moved > m.born_in THEN m.moved END
FROM moves m;
INSERT INTO residence (pid, municipality, district, moved_in, moved_out)
SELECT m.pid, (SELECT code FROM munis WHERE lo <= m.u2 ORDER BY lo DESC LIMIT 1), NULL, m.moved, NULL
FROM moves m WHERE m.moved > m.born_in;
UPDATE residence SET district = CASE WHEN random() < 0.03 THEN NULL ELSE '46010' || CAST(1 + CAST(floor(random() * 8) AS INTEGER) AS VARCHAR) END
WHERE municipality = '4601';
INSERT INTO gp_contact (pid, municipality, contact_date, icpc2, service, contact_type)
SELECT 1 + CAST(floor(random() * %[2]d) AS INTEGER) - 1, '4601', DATE '2014-01-01' + CAST(floor(random() * 4018) AS INTEGER),
       (['P76', 'P74', 'L03', 'L84', 'T90', 'R95', 'R96', 'R74', 'R78', 'R81', 'L72', 'L75', 'A04', 'K86'])[1 + CAST(floor(random() * 14) AS INTEGER)],
       CASE WHEN random() < 0.2 THEN 'emergency' ELSE 'gp' END, 'consultation'
FROM range(%[2]d * 8) t(i);
INSERT INTO growth (pid, municipality, check_type, measured_on, height_cm, weight_kg)
SELECT pid, '4601', 'grade3', make_date(birth_year + 8, 9, 1) + CAST(floor(random() * 240) AS INTEGER),
       120 + random() * 25, 20 + random() * 22
FROM person WHERE birth_year BETWEEN 2004 AND 2016 AND random() < 0.9;
INSERT INTO vaccination (pid, municipality, vaccine, dose, vaccinated_on)
SELECT pid, '4601', 'MMR', 1, make_date(birth_year, birth_month, 1) + CAST(300 + floor(random() * 600) AS INTEGER)
FROM person WHERE birth_year >= 2000 AND random() < 0.95;
INSERT INTO vaccination (pid, municipality, vaccine, dose, vaccinated_on)
SELECT pid, '4601', 'HPV', d, make_date(birth_year, birth_month, 1) + CAST(4300 + d * 150 + floor(random() * 1800) AS INTEGER)
FROM person, range(1, 3) r(d) WHERE birth_year >= 1997 AND random() < 0.85;
INSERT INTO care_decision (pid, municipality, service_type, decision_start, decision_end)
SELECT pid, '4601', (['home_nursing', 'practical_assistance', 'long_term_nursing_home', 'safety_alarm'])[1 + CAST(floor(random() * 4) AS INTEGER)],
       make_date(2013 + CAST(floor(random() * 12) AS INTEGER), 1 + CAST(floor(random() * 12) AS INTEGER), 1),
       CASE WHEN random() < 0.5 THEN DATE '2025-06-30' - CAST(floor(random() * 2500) AS INTEGER) END
FROM person WHERE birth_year < 1950 AND random() < 0.4;
DELETE FROM care_decision WHERE decision_end < decision_start;
`

// plain is an indicator written out by hand as a plain SQL query over one
// year: {Y} is the year; the query yields municipality, sex, den, num.
// It shares nothing with the engine's builder.
var plain = map[string]string{
	"psych_15_29":            gpPersons(15, 29, "substr(g.icpc2, 1, 1) = 'P'"),
	"musculoskeletal_15_29":  gpPersons(15, 29, "g.icpc2 LIKE 'L%'"),
	"musculoskeletal_45_74":  gpPersons(45, 74, "g.icpc2 LIKE 'L%'"),
	"diabetes2_30_74":        gpPersons(30, 74, "g.icpc2 = 'T90'"),
	"asthma_copd_45_74":      gpPersons(45, 74, "g.icpc2 IN ('R95', 'R96')"),
	"respiratory_infections": gpPersons(0, 200, "g.icpc2 IN ('R74', 'R75', 'R76', 'R77', 'R78', 'R80', 'R81', 'R83')"),
	"fractures_75plus":       gpPersons(75, 200, "g.icpc2 IN ('L72', 'L73', 'L74', 'L75', 'L76')"),
	"emergency_room_contacts": popQuery(0, 200, "true",
		"(SELECT count(*) FROM gp_contact g WHERE g.pid = pop.pid AND g.service = 'emergency' AND year(g.contact_date) = {Y})"),
	"home_care_80plus":         carePersons(80, "'home_nursing', 'practical_assistance'"),
	"nursing_home_long_80plus": carePersons(80, "'long_term_nursing_home'"),
	"mmr_age2":                 vaccinated(2, "MMR", 1, 24),
	"mmr_age9":                 vaccinated(9, "MMR", 1, 108),
	"hpv_age16":                vaccinated(16, "HPV", 2, 192),
	"overweight_grade3": popQuery(7, 10,
		"EXISTS (SELECT 1 FROM growth g WHERE g.pid = pop.pid AND g.check_type = 'grade3' AND g.measured_on >= DATE '{Y-1}-08-01' AND g.measured_on < DATE '{Y}-08-01')",
		`(SELECT count(*) > 0 FROM growth g JOIN iotf_cutoff c ON c.sex = pop.sex
		   AND c.age_months = least(216, greatest(24, date_diff('month', make_date(pop.birth_year, pop.birth_month, 1), g.measured_on)))
		  WHERE g.pid = pop.pid AND g.check_type = 'grade3' AND g.measured_on >= DATE '{Y-1}-08-01' AND g.measured_on < DATE '{Y}-08-01'
		    AND g.weight_kg / power(g.height_cm / 100, 2) >= c.bmi25)::INTEGER`),
}

// popQuery: residents of the municipality on 1 January {Y}, alive, aged
// lo–hi ({Y} minus birth year); den and num are expressions on pop.
func popQuery(lo, hi int, den, num string) string {
	return fmt.Sprintf(`WITH pop AS (
  SELECT p.pid, p.sex, p.birth_year, p.birth_month, r.municipality
  FROM person p JOIN residence r ON r.pid = p.pid
  WHERE r.moved_in <= DATE '{Y}-01-01' AND coalesce(r.moved_out, DATE '9999-12-31') > DATE '{Y}-01-01'
    AND coalesce(p.death_month, DATE '9999-12-31') >= DATE '{Y}-01-01'
    AND {Y} - p.birth_year BETWEEN %d AND %d)
SELECT municipality, sex, count(*) AS den, sum(%s) AS num FROM pop WHERE %s GROUP BY municipality, sex`, lo, hi, num, den)
}

func gpPersons(lo, hi int, where string) string {
	return popQuery(lo, hi, "true", "(SELECT count(*) > 0 FROM gp_contact g WHERE g.pid = pop.pid AND year(g.contact_date) = {Y} AND "+where+")::INTEGER")
}

func carePersons(lo int, services string) string {
	return popQuery(lo, 200, "true", "(SELECT count(*) > 0 FROM care_decision c WHERE c.pid = pop.pid AND c.service_type IN ("+services+
		") AND c.decision_start <= DATE '{Y}-12-31' AND coalesce(c.decision_end, DATE '9999-12-31') >= DATE '{Y}-01-01')::INTEGER")
}

func vaccinated(age int, vaccine string, doses, months int) string {
	return popQuery(age, age, "true", fmt.Sprintf(`(SELECT count(DISTINCT v.dose) >= %d FROM vaccination v WHERE v.pid = pop.pid AND v.vaccine = '%s'
		AND v.vaccinated_on < make_date(pop.birth_year, pop.birth_month, 1) + INTERVAL %d MONTH)::INTEGER`, doses, vaccine, months+1))
}

type plainKey struct {
	year      int
	muni, sex string
}

func runPlain(t testing.TB, db *store.DB, id string, year int) map[plainKey][2]int64 {
	t.Helper()
	q := strings.NewReplacer("{Y-1}", fmt.Sprint(year-1), "{Y}", fmt.Sprint(year)).Replace(plain[id])
	rows, err := db.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatalf("%s plain query: %v\n%s", id, err, q)
	}
	defer rows.Close()
	out := map[plainKey][2]int64{}
	for rows.Next() {
		var k plainKey
		var den, num int64
		if err := rows.Scan(&k.muni, &k.sex, &den, &num); err != nil {
			t.Fatal(err)
		}
		k.year = year
		out[k] = [2]int64{num, den}
	}
	return out
}

// TestEngineAgreesWithPlainSQL recomputes every built-in indicator with a
// hand-written query on random extracts and compares numerator and
// denominator for every municipality, sex and period (pooled over three
// years where the indicator smooths).
func TestEngineAgreesWithPlainSQL(t *testing.T) {
	defs, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		if plain[d.ID] == "" {
			t.Errorf("indicator %s has no plain SQL to check it against", d.ID)
		}
	}
	for _, seed := range []float64{0.1, 0.7} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			// One connection, so that setseed governs every random().
			db.SetMaxOpenConns(1)
			if _, err := db.ExecContext(ctx, fmt.Sprintf(randomExtract, seed, 4000)); err != nil {
				t.Fatal(err)
			}
			results, err := Compute(ctx, db, defs, Options{FromYear: 2018, ToYear: 2024})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range results {
				d := r.Definition
				window := 1
				if d.Smoothing == SmoothingMA3 {
					window = 3
				}
				want := map[plainKey][2]int64{}
				for y := 2018 - window + 1; y <= 2024; y++ {
					for k, v := range runPlain(t, db, d.ID, y) {
						want[k] = v
					}
				}
				missing := map[string]bool{}
				for _, p := range r.Missing {
					missing[p] = true
				}
				checked := 0
				for _, v := range r.Values {
					if missing[v.Period] || v.Sex == "_T" || len(v.Geo) != 4 {
						continue
					}
					end := 0
					fmt.Sscan(v.Period[len(v.Period)-4:], &end)
					var num, den int64
					for y := end - window + 1; y <= end; y++ {
						w := want[plainKey{y, v.Geo, v.Sex}]
						num += w[0]
						den += w[1]
					}
					if v.Numerator != num || v.Denominator != den {
						t.Errorf("%s %s %s %s: engine %d/%d, plain SQL %d/%d", d.ID, v.Period, v.Geo, v.Sex, v.Numerator, v.Denominator, num, den)
					}
					checked += int(num)
				}
				if checked == 0 {
					t.Errorf("%s: the random extract gave no numerator at all; the check proves nothing", d.ID)
				}
			}
		})
	}
}
