package indicators

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/extract"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
	"github.com/kunnskapskommunen/folkekommune/broker/synth"
)

// benchDB opens a copy of the database of a data directory holding a
// pulled synthetic extract at the given scale: the one named by
// FOLKEKOMMUNE_BENCH_DATA_<SCALE> (e.g. FOLKEKOMMUNE_BENCH_DATA_CLUSTER),
// or, for the cluster scale, one the benchmark generates and pulls itself
// the first time and keeps in the temp folder. The national extract takes
// many minutes and tens of gigabytes to make, so it is only used when named.
func benchDB(b *testing.B, scale string) *store.DB {
	b.Helper()
	env := "FOLKEKOMMUNE_BENCH_DATA_" + upper(scale)
	given := os.Getenv(env)
	if given == "" && scale == string(synth.Cluster) {
		given = pulledBenchData(b, synth.Cluster)
	}
	if given == "" {
		b.Skipf("set %s to a data directory holding a pulled %s-scale extract (folkekommune generate --scale %s, then pull)", env, scale, scale)
	}
	dbPath := filepath.Join(b.TempDir(), "folkekommune.duckdb")
	src, err := os.ReadFile(filepath.Join(given, "folkekommune.duckdb"))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(dbPath, src, 0o600); err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(context.Background(), dbPath)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// pulledBenchData generates and pulls a synthetic extract once per machine.
func pulledBenchData(b *testing.B, scale synth.Scale) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "folkekommune-bench-data-"+string(scale))
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir
	}
	ctx := context.Background()
	os.RemoveAll(dir)
	drop := filepath.Join(dir, "drop")
	if _, err := synth.Generate(ctx, synth.Options{Out: drop, Seed: 1, Scale: scale}); err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(ctx, filepath.Join(dir, "folkekommune.duckdb"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := extract.Pull(ctx, db, extract.NewFileDrop(drop), extract.Options{Key: make([]byte, 32)}); err != nil {
		b.Fatal(err)
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	os.RemoveAll(drop)
	if err := os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

func upper(s string) string {
	out := []byte(s)
	for i, c := range out {
		if c >= 'a' && c <= 'z' {
			out[i] = c - 'a' + 'A'
		}
	}
	return string(out)
}

// handPopulation is the hand-written population by year: the honest
// ceiling's own version of who lives where on 1 January ({F}–{T}).
const handPopulation = `CREATE OR REPLACE TEMP TABLE hand_pop AS
SELECT y AS year, p.pid, p.sex, r.municipality, r.district, y - p.birth_year AS age
FROM residence r JOIN person p USING (pid), unnest(generate_series({F}, {T})) AS g(y)
WHERE y > year(r.moved_in - 1) AND (r.moved_out IS NULL OR y <= year(r.moved_out - 1))
  AND (p.death_month IS NULL OR p.death_month >= make_date(y, 1, 1))`

// handStrata is, per indicator, the hand-written query an analyst would
// write for the same strata the engine counts (year, municipality,
// district, sex, 5-year band → denominator, numerator) over {F}–{T}.
var handStrata = map[string]string{
	"psych_15_29":            handGP(15, 29, "substr(icpc2, 1, 1) = 'P'"),
	"musculoskeletal_15_29":  handGP(15, 29, "substr(icpc2, 1, 1) = 'L'"),
	"musculoskeletal_45_74":  handGP(45, 74, "substr(icpc2, 1, 1) = 'L'"),
	"diabetes2_30_74":        handGP(30, 74, "icpc2 = 'T90'"),
	"asthma_copd_45_74":      handGP(45, 74, "icpc2 IN ('R95', 'R96')"),
	"respiratory_infections": handGP(0, 999, "icpc2 IN ('R74', 'R75', 'R76', 'R77', 'R78', 'R80', 'R81', 'R83')"),
	"fractures_75plus":       handGP(75, 999, "icpc2 IN ('L72', 'L73', 'L74', 'L75', 'L76')"),
	"emergency_room_contacts": `SELECT b.year, b.municipality, b.district, b.sex, least(b.age // 5, 18), count(*), sum(coalesce(e.n, 0))
FROM hand_pop b LEFT JOIN (SELECT pid, year(contact_date) AS year, count(*) AS n FROM gp_contact WHERE service = 'emergency'
  AND contact_date >= make_date({F}, 1, 1) AND contact_date < make_date({T} + 1, 1, 1) GROUP BY ALL) e USING (pid, year)
GROUP BY ALL`,
	"home_care_80plus":         handCare("'home_nursing', 'practical_assistance'"),
	"nursing_home_long_80plus": handCare("'long_term_nursing_home'"),
	"mmr_age2":                 handVaccine(2, "MMR", 1, 24),
	"mmr_age9":                 handVaccine(9, "MMR", 1, 108),
	"hpv_age16":                handVaccine(16, "HPV", 2, 192),
	"overweight_grade3": `SELECT b.year, b.municipality, b.district, b.sex, least(b.age // 5, 18), count(*), count(*) FILTER (WHERE e.over)
FROM hand_pop b JOIN (
  SELECT g.pid, year(g.measured_on + INTERVAL 5 MONTH) AS year, bool_or(g.weight_kg / (g.height_cm * g.height_cm / 10000.0) >= c.bmi25) AS over
  FROM growth g JOIN person p USING (pid)
  JOIN iotf_cutoff c ON c.sex = p.sex AND c.age_months = least(greatest(year(g.measured_on) * 12 + month(g.measured_on) - (p.birth_year * 12 + p.birth_month), 24), 216)
  WHERE g.check_type = 'grade3' GROUP BY ALL) e USING (pid, year)
WHERE b.age BETWEEN 7 AND 10
GROUP BY ALL`,
}

func handGP(lo, hi int, where string) string {
	return fmt.Sprintf(`SELECT b.year, b.municipality, b.district, b.sex, least(b.age // 5, 18), count(*), count(e.pid)
FROM hand_pop b LEFT JOIN (SELECT DISTINCT pid, year(contact_date) AS year FROM gp_contact WHERE %s
  AND contact_date >= make_date({F}, 1, 1) AND contact_date < make_date({T} + 1, 1, 1)) e USING (pid, year)
WHERE b.age BETWEEN %d AND %d
GROUP BY ALL`, where, lo, hi)
}

func handCare(services string) string {
	return fmt.Sprintf(`SELECT b.year, b.municipality, b.district, b.sex, least(b.age // 5, 18), count(*), count(e.pid)
FROM hand_pop b LEFT JOIN (SELECT DISTINCT c.pid, y AS year FROM care_decision c, unnest(generate_series({F}, {T})) AS g(y)
  WHERE c.service_type IN (%s) AND c.decision_start < make_date(y + 1, 1, 1) AND (c.decision_end IS NULL OR c.decision_end >= make_date(y, 1, 1))) e USING (pid, year)
WHERE b.age >= 80
GROUP BY ALL`, services)
}

func handVaccine(age int, vaccine string, doses, months int) string {
	return fmt.Sprintf(`SELECT b.year, b.municipality, b.district, b.sex, 0, count(*), count(e.pid)
FROM hand_pop b LEFT JOIN (SELECT v.pid FROM vaccination v JOIN person p USING (pid)
  WHERE v.vaccine = '%s' AND v.vaccinated_on < make_date(p.birth_year, p.birth_month, 1) + INTERVAL %d MONTH
  GROUP BY v.pid HAVING count(DISTINCT v.dose) >= %d) e USING (pid)
WHERE b.age = %d
GROUP BY ALL`, vaccine, months+1, doses, age)
}

// benchmarkScale computes every built-in indicator with the engine
// (coverage, counting, rates, intervals, comparison, disclosure control,
// storage) and, in the same iteration, the same strata with hand-written
// SQL (handPopulation and handStrata), the honest ceiling for the
// counting. It reports both times, their ratio, and the engine's time
// split into counting in DuckDB, disclosure control and storing.
func benchmarkScale(b *testing.B, scale string) {
	db := benchDB(b, scale)
	ctx := context.Background()
	defs, err := Builtin()
	if err != nil {
		b.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	var engine, hand, count, protect, storing, engineCPU, handCPU time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start, cpu := time.Now(), cpuTime()
		results, err := Compute(ctx, db, defs, Options{})
		if err != nil {
			b.Fatal(err)
		}
		engine += time.Since(start)
		engineCPU += cpuTime() - cpu
		for _, r := range results {
			count += r.CountTime
			protect += r.ProtectTime
			storing += r.StoreTime
		}
		// The same years the engine counted: the periods, and the two years
		// before them that the moving averages pool.
		last := results[0].Periods[len(results[0].Periods)-1]
		to, _ := strconv.Atoi(last[len(last)-4:])
		years := strings.NewReplacer("{F}", strconv.Itoa(to-11), "{T}", strconv.Itoa(to))
		start, cpu = time.Now(), cpuTime()
		if _, err := conn.ExecContext(ctx, years.Replace(handPopulation)); err != nil {
			b.Fatal(err)
		}
		for _, d := range defs {
			rows, err := conn.QueryContext(ctx, years.Replace(handStrata[d.ID]))
			if err != nil {
				b.Fatalf("%s: %v", d.ID, err)
			}
			n := 0
			for rows.Next() {
				n++
			}
			rows.Close()
			if n == 0 {
				b.Fatalf("%s: hand-written SQL found nothing", d.ID)
			}
		}
		hand += time.Since(start)
		handCPU += cpuTime() - cpu
	}
	n := float64(b.N)
	b.ReportMetric(engine.Seconds()/n, "engine_s/op")
	b.ReportMetric(hand.Seconds()/n, "handsql_s/op")
	b.ReportMetric(engine.Seconds()/hand.Seconds(), "engine/handsql")
	b.ReportMetric(count.Seconds()/n, "count_s/op")
	b.ReportMetric(protect.Seconds()/n, "protect_s/op")
	b.ReportMetric(storing.Seconds()/n, "store_s/op")
	// CPU time (user + system, all threads) is what the wall time would be
	// on one idle core; it stays comparable when other work shares the
	// machine.
	b.ReportMetric(engineCPU.Seconds()/n, "engine_cpu_s/op")
	b.ReportMetric(handCPU.Seconds()/n, "handsql_cpu_s/op")
	b.ReportMetric(engineCPU.Seconds()/handCPU.Seconds(), "engine/handsql_cpu")
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkIndicatorsSmall(b *testing.B)    { benchmarkScale(b, "small") }
func BenchmarkIndicatorsCluster(b *testing.B)  { benchmarkScale(b, "cluster") }
func BenchmarkIndicatorsNational(b *testing.B) { benchmarkScale(b, "national") }
