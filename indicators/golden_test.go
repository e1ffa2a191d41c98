package indicators

import (
	"bytes"
	"context"
	"database/sql"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/indicators")

// fixtureDB is an in-memory database holding testdata/indicators/extract.sql.
func fixtureDB(t testing.TB) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b, err := os.ReadFile(filepath.Join("..", "testdata", "indicators", "extract.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, string(b)); err != nil {
		t.Fatalf("load fixture: %v", err)
	}
	return db
}

func computeFixture(t testing.TB) (*store.DB, map[string]*Result) {
	t.Helper()
	db := fixtureDB(t)
	defs, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	results, err := Compute(context.Background(), db, defs, Options{FromYear: 2022, ToYear: 2024})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*Result{}
	for _, r := range results {
		byID[r.Definition.ID] = r
	}
	if len(byID) != len(defs) {
		t.Fatalf("computed %d of %d indicators", len(byID), len(defs))
	}
	return db, byID
}

func (r *Result) value(period, geo, sex string) (Value, bool) {
	for _, v := range r.Values {
		if v.Period == period && v.Geo == geo && v.Sex == sex {
			return v, true
		}
	}
	return Value{}, false
}

func near(got, want float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return math.Abs(got-want) <= 1e-6*math.Max(1, math.Abs(want))
}

// TestGoldenValues pins values worked out by hand from the fixture (see
// testdata/indicators/extract.sql). NaN means "not computed".
func TestGoldenValues(t *testing.T) {
	_, results := computeFixture(t)
	nan := math.NaN()
	tests := []struct {
		name                   string
		id, period, geo, sex   string
		num, den               int64
		crude, std, lower, upp float64
		status                 cube.Status
	}{
		// Crude rate and Wilson interval: 10 of 50 in Arna → 200 per 1 000.
		// p = 0.2, n = 50, z² = 3.8415: centre (0.2 + 0.038415) / 1.076829
		// = 0.221404; half-width 1.820123 × √(0.0032 + 0.00038415) = 0.108966;
		// interval 0.112438–0.330370 → 112.44–330.37 per 1 000.
		{"crude rate with Wilson interval", "home_care_80plus", "2024", "460101", "_T", 10, 50, 200, nan, 112.4375001577611, 330.37105932225415, cube.Published},
		// Age- and sex-standardised rate pooled over three years: every year
		// 10 of 100 men aged 40-42 (band 40-44) and 30 of 100 women aged
		// 60-62 (band 60-64). ESP 2013 over 30-74 sums to 57 500; each sex
		// gets half: 0.1 × 7000/115000 + 0.3 × 6000/115000 = 2500/115000
		// = 21.739 per 1 000 (crude 120/600 = 200 per 1 000).
		{"standardised rate, both sexes, 3-year pool", "diabetes2_30_74", "2022-2024", "4621", "_T", 120, 600, 200, 21.73913043478261, 18.015418879158844, 26.03077142030987, cube.Published},
		// Men alone: 0.1 × 7000/57500 = 12.174 per 1 000.
		{"standardised rate, men", "diabetes2_30_74", "2022-2024", "4621", "M", 30, 300, 100, 12.173913043478262, 8.213688008692543, 17.379017841371223, cube.Published},
		// Moving average: overweight 2, 3 and 4 of 10 children in school
		// years 2022, 2023, 2024 → 9/30 = 30 %; boys 5 of 15.
		{"3-year moving average", "overweight_grade3", "2022-2024", "4621", "_T", 9, 30, 30, nan, 16.66474826824379, 47.875787458714946, cube.Published},
		{"3-year moving average, boys", "overweight_grade3", "2022-2024", "4621", "M", 5, 15, 100.0 / 3, nan, 15.176324439714731, 58.28645226148023, cube.Published},
		// Cohort coverage: 18 of 20; the girl vaccinated in April 2024 (born
		// March 2022, limit end of March 2024) does not count.
		{"MMR by 24 months", "mmr_age2", "2024", "460102", "_T", 18, 20, 90, nan, 69.89663547715128, 97.21335187862319, cube.Published},
		{"MMR by 24 months, girls", "mmr_age2", "2024", "460102", "F", 8, 10, 80, nan, 49.016247153664175, 94.33178485456249, cube.Published},
		// Events count by residence: Voss's three emergency-room contacts,
		// one registered by Bergen, over 230 residents; standardised: 3 of
		// 100 men in band 40-44, weight 7000/200000 → 1.05 per 1 000.
		{"events by residence", "emergency_room_contacts", "2024", "4621", "_T", 3, 230, 3000.0 / 230, 1.05, 0.21653524301346044, 20.979958907552575, cube.Published},
		// Bergen has none of them. Zero events: the gamma upper limit is
		// wm × (−ln 0.025) = 3.688879 × wm, wm the largest weight per person:
		// the 10 boys aged 2 (band 0-4, ESP 5000/100000, half per sex) give
		// 0.025/10 = 0.0025 → 9.2222 per 1 000.
		{"events by residence, not by the recording unit", "emergency_room_contacts", "2024", "4601", "_T", 0, 70, 0, 0, 0, 9.2222, cube.Published},
		// Suppressed: two long-term residents of 30 men in Arna.
		{"numerator below threshold", "nursing_home_long_80plus", "2024", "460101", "M", 2, 30, 200.0 / 30, nan, 1.847702379127035, 21.323458362616915, cube.Primary},
		// Missing source data are missing, not zero.
		{"care data missing for 2023", "home_care_80plus", "2023", "460101", "_T", 0, 0, nan, nan, nan, nan, StatusMissing},
		{"vaccination data missing for 2022", "mmr_age2", "2022", "_T", "_T", 0, 0, nan, nan, nan, nan, StatusMissing},
		{"moving average needs all three years", "diabetes2_30_74", "2021-2023", "4621", "_T", 0, 0, nan, nan, nan, nan, StatusMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := results[tc.id]
			v, ok := r.value(tc.period, tc.geo, tc.sex)
			if !ok {
				t.Fatalf("%s has no value for %s %s %s (periods %v)", tc.id, tc.period, tc.geo, tc.sex, r.Periods)
			}
			if v.Numerator != tc.num || v.Denominator != tc.den {
				t.Errorf("numerator/denominator %d/%d, want %d/%d", v.Numerator, v.Denominator, tc.num, tc.den)
			}
			for _, f := range []struct {
				name      string
				got, want float64
			}{{"crude", v.Crude, tc.crude}, {"std", v.Std, tc.std}, {"lower", v.Lower, tc.lower}} {
				if !near(f.got, f.want) {
					t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
				}
			}
			// Upper limits are pinned to 4 significant digits, enough for the
			// hand-computed zero-event limit.
			if math.IsNaN(tc.upp) != math.IsNaN(v.Upper) || (!math.IsNaN(tc.upp) && math.Abs(v.Upper-tc.upp) > 1e-4*math.Max(1, tc.upp)) {
				t.Errorf("upper = %v, want %v", v.Upper, tc.upp)
			}
			if v.Status != tc.status {
				t.Errorf("status %s, want %s", v.Status, tc.status)
			}
		})
	}
}

// TestResultsAreStoredPerExtract reads the stored rows back: missing
// periods have no numbers, and a recompute on a new extract version keeps
// the old one for comparison.
func TestResultsAreStoredPerExtract(t *testing.T) {
	ctx := context.Background()
	db, _ := computeFixture(t)
	var num, den sql.NullInt64
	var crude sql.NullFloat64
	var status string
	err := db.QueryRowContext(ctx, `SELECT numerator, denominator, crude_rate, status FROM indicator_value
		WHERE extract_id = 1 AND indicator = 'home_care_80plus' AND period = '2023' AND geo = '460101' AND sex = '_T'`).Scan(&num, &den, &crude, &status)
	if err != nil {
		t.Fatal(err)
	}
	if num.Valid || den.Valid || crude.Valid || status != "missing" {
		t.Errorf("missing period stored as %v/%v rate %v status %s, want NULLs and missing", num, den, crude, status)
	}
	// A second pull: one more Arna man gets home nursing in 2024.
	if _, err := db.ExecContext(ctx, `INSERT INTO extract (id, source, connector, fingerprint, status, started_at) VALUES (2, 'x', 'filedrop', 'second', 'loaded', now());
		INSERT INTO care_decision (pid, municipality, service_type, decision_start, decision_end) VALUES (3020, '4601', 'home_nursing', DATE '2024-03-01', NULL)`); err != nil {
		t.Fatal(err)
	}
	defs, _ := Builtin()
	d, _ := findDef(defs, "home_care_80plus")
	if _, err := Compute(ctx, db, []*Definition{d}, Options{FromYear: 2022, ToYear: 2024}); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, `SELECT extract_id, numerator FROM indicator_value
		WHERE indicator = 'home_care_80plus' AND period = '2024' AND geo = '460101' AND sex = '_T' ORDER BY extract_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got [][2]int64
	for rows.Next() {
		var x, n int64
		if err := rows.Scan(&x, &n); err != nil {
			t.Fatal(err)
		}
		got = append(got, [2]int64{x, n})
	}
	if len(got) != 2 || got[0] != [2]int64{1, 10} || got[1] != [2]int64{2, 11} {
		t.Errorf("stored per extract: %v, want [[1 10] [2 11]]", got)
	}
	if x, err := LatestExtract(ctx, db, "home_care_80plus"); err != nil || x != 2 {
		t.Errorf("latest extract %d, %v; want 2", x, err)
	}
	// What changed: 2024 in Arna (both sexes and men), Bergen and the
	// cluster, 10 → 11 of 50 and 5 → 6 of 30; nothing in 2022 or 2023.
	changes, err := Changes(ctx, db, d, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	got2 := map[string][2]float64{}
	for _, c := range changes {
		if c.Period != "2024" {
			t.Errorf("change in %s: %+v", c.Period, c)
		}
		got2[c.Geo+"/"+c.Sex] = [2]float64{c.Before, c.After}
	}
	for _, k := range []string{"460101/_T", "4601/_T", "_T/_T"} {
		if got2[k] != [2]float64{200, 220} {
			t.Errorf("change %s = %v, want 200 → 220 per 1 000", k, got2[k])
		}
	}
	if got2["460101/M"] != [2]float64{5.0 / 30 * 1000, 6.0 / 30 * 1000} {
		t.Errorf("change Arna men = %v, want 166.7 → 200", got2["460101/M"])
	}
	if len(changes) != 6 {
		t.Errorf("%d changes, want 6 (Arna, Bergen, cluster × both sexes and men): %+v", len(changes), changes)
	}
}

func findDef(defs []*Definition, id string) (*Definition, bool) {
	for _, d := range defs {
		if d.ID == id {
			return d, true
		}
	}
	return nil, false
}

// TestExportTableGolden writes one indicator's stored table as CSV for
// Norwegian Excel and compares it with the golden file: withheld and
// missing values are empty.
func TestExportTableGolden(t *testing.T) {
	ctx := context.Background()
	db, results := computeFixture(t)
	tab, err := Table(ctx, db, results["nursing_home_long_80plus"].Definition, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(tab.Cells); got != 3*18*3 {
		t.Errorf("table has %d cells, want 3 periods × 18 areas × 3 sexes", got)
	}
	var buf bytes.Buffer
	if err := cube.WriteCSV(&buf, tab, cube.CSVOptions{Separator: ';', DecimalComma: true}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "testdata", "indicators", "nursing_home_long_80plus.csv")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("export differs from %s:\n%s", path, buf.Bytes())
	}
	if bytes.Contains(buf.Bytes(), []byte(";2;30;")) {
		t.Error("the suppressed numerator 2 of 30 is in the export")
	}
}

// TestSecondarySuppressionHidesComplements adds ten long-term residents in
// Voss so that the cluster total can be published, and checks that Arna's
// two men cannot be recovered: in every sum (districts → Bergen,
// municipalities → cluster, sexes → both) either no term or at least two
// are withheld.
func TestSecondarySuppressionHidesComplements(t *testing.T) {
	ctx := context.Background()
	db := fixtureDB(t)
	if _, err := db.ExecContext(ctx, `
		INSERT INTO person (pid, birth_year, birth_month, sex, death_month, record_key) SELECT 6000 + i, 1940, 6, CASE WHEN i < 6 THEN 'M' ELSE 'F' END, NULL, 1 FROM range(40) t(i);
		INSERT INTO residence (pid, municipality, district, moved_in, moved_out) SELECT pid, '4621', NULL, DATE '1980-01-01', NULL FROM person WHERE pid BETWEEN 6000 AND 6039;
		INSERT INTO care_decision (pid, municipality, service_type, decision_start, decision_end) SELECT pid, '4621', 'long_term_nursing_home', DATE '2023-05-01', NULL FROM person WHERE pid BETWEEN 6000 AND 6009`); err != nil {
		t.Fatal(err)
	}
	defs, _ := Builtin()
	d, _ := findDef(defs, "nursing_home_long_80plus")
	res, err := Compute(ctx, db, []*Definition{d}, Options{FromYear: 2024, ToYear: 2024})
	if err != nil {
		t.Fatal(err)
	}
	status := map[[2]string]cube.Status{}
	secondary := 0
	for _, v := range res[0].Values {
		status[[2]string{v.Geo, v.Sex}] = v.Status
		if v.Status == cube.Secondary {
			secondary++
		}
	}
	if status[[2]string{"460101", "M"}] != cube.Primary {
		t.Fatalf("Arna men: %s, want primary", status[[2]string{"460101", "M"}])
	}
	if status[[2]string{"_T", "_T"}] != cube.Published {
		t.Errorf("cluster total %s, want published", status[[2]string{"_T", "_T"}])
	}
	if secondary == 0 {
		t.Error("no secondary suppression")
	}
	withheld := func(geo, sex string) bool {
		s := status[[2]string{geo, sex}]
		return s == cube.Primary || s == cube.Secondary
	}
	geos := Geography()
	for _, sex := range []string{"_T", "M", "F"} {
		for _, parent := range []string{"_T", "4601"} {
			n := 0
			if withheld(parent, sex) {
				n++
			}
			for _, g := range geos {
				if g.Parent == parent && withheld(g.Code, sex) {
					n++
				}
			}
			if n == 1 {
				t.Errorf("sum %s/%s has exactly one withheld term: it can be recovered", parent, sex)
			}
		}
	}
	for _, g := range geos {
		n := 0
		for _, sex := range []string{"_T", "M", "F"} {
			if withheld(g.Code, sex) {
				n++
			}
		}
		if n == 1 {
			t.Errorf("sexes of %s have exactly one withheld term", g.Code)
		}
	}
}
