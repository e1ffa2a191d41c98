package broker

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
	"github.com/kunnskapskommunen/folkekommune/broker/requests"
	"github.com/kunnskapskommunen/folkekommune/broker/synth"
	"github.com/kunnskapskommunen/folkekommune/indicators"
)

// clusterData is a data directory at cluster scale (about 402 000
// people), prepared on first use and kept between runs in
// $FOLKEKOMMUNE_BENCH_DATA or the OS temp dir, since generating, pulling
// and computing it takes minutes.
func clusterData(b *testing.B) string {
	b.Helper()
	dir := os.Getenv("FOLKEKOMMUNE_BENCH_DATA")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "folkekommune-bench-cluster")
	}
	if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
		return dir
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := prepareTemplate(dir, synth.Cluster); err != nil {
		b.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, "extract"))
	os.WriteFile(filepath.Join(dir, "ready"), nil, 0o600)
	b.Logf("prepared cluster-scale data in %s (%s)", dir, time.Since(start).Round(time.Second))
	return dir
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// BenchmarkRelease3D is a three-dimensional release at cluster scale end
// to end through HTTP (validation, policy decision, cube in DuckDB,
// suppression and LP audit, storage with ledger and audit), beside two
// bare DuckDB queries for the same cube: the honest ceiling, the cube
// written by hand on the extract's own tables (person, residence, the
// events), and the broker's own statement on its placed population
// (release_person_year, with the events folded in). Both must give the
// release's true counts, cell by cell. Earlier releases are removed between
// iterations (outside the timer) so that every iteration computes afresh
// and the project stays under its release cap.
func BenchmarkRelease3D(b *testing.B) {
	data := clusterData(b)
	for _, tc := range []struct {
		name     string
		dataset  string
		dims     []string
		from, to int
		raw      string
	}{
		{"population-municipality-sex-age", "population", []string{"municipality", "sex", "age_broad"}, 2024, 2024, rawPopulation2024},
		{"gp-contact-persons-municipality-sex-year-5y", "gp_contact", []string{"municipality", "sex", "year"}, 2020, 2024, rawGPPersons2020to2024},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e := newEnv(b, data)
			releaseBench(b, e, e.spec(tc.dataset, tc.dims, nil, tc.from, tc.to), tc.raw)
		})
	}
}

// rawPopulation2024 is the population cube on the extract's tables: a
// person counts where the residence covering 1 January 2024 is, if alive
// then.
const rawPopulation2024 = `
WITH py AS (
  SELECT r.municipality, p.sex, 2024 - p.birth_year AS age
  FROM residence r JOIN person p ON p.pid = r.pid
  WHERE r.moved_in <= DATE '2024-01-01' AND (r.moved_out IS NULL OR r.moved_out > DATE '2024-01-01')
    AND (p.death_month IS NULL OR p.death_month >= DATE '2024-01-01')),
leaf AS (
  SELECT municipality, sex, CASE WHEN age <= 17 THEN '0-17' WHEN age <= 66 THEN '18-66' WHEN age <= 79 THEN '67-79' ELSE '80+' END AS band,
         count(*) AS n
  FROM py GROUP BY ALL)
SELECT municipality, sex, band, sum(n) FROM leaf GROUP BY ROLLUP(municipality), ROLLUP(sex), ROLLUP(band)`

// rawGPPersons2020to2024 is the GP-contact cube on the extract's tables:
// the people with a contact in a year, placed by their residence on
// 1 January of that year, if alive then.
const rawGPPersons2020to2024 = `
WITH c AS (
  SELECT DISTINCT pid, year(contact_date) AS y FROM gp_contact
  WHERE contact_date >= DATE '2020-01-01' AND contact_date < DATE '2025-01-01'),
py AS (
  SELECT r.municipality, p.sex, c.y
  FROM c JOIN residence r ON r.pid = c.pid AND r.moved_in <= make_date(c.y, 1, 1) AND (r.moved_out IS NULL OR r.moved_out > make_date(c.y, 1, 1))
  JOIN person p ON p.pid = c.pid
  WHERE p.death_month IS NULL OR p.death_month >= make_date(c.y, 1, 1)),
leaf AS (SELECT municipality, sex, CAST(y AS VARCHAR) AS y, count(*) AS n FROM py GROUP BY ALL)
SELECT municipality, sex, y, sum(n) FROM leaf GROUP BY ROLLUP(municipality), ROLLUP(sex), ROLLUP(y)`

// cubeCounts runs a three-dimensional cube statement and returns its
// counts by cell, a total (NULL) as cube.Total, and how long it took.
func cubeCounts(b *testing.B, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) (map[[3]string]int64, time.Duration) {
	t0 := time.Now()
	rows, err := db.QueryContext(context.Background(), query, args...)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	out := map[[3]string]int64{}
	for rows.Next() {
		var c [3]sql.NullString
		var n int64
		if err := rows.Scan(&c[0], &c[1], &c[2], &n); err != nil {
			b.Fatal(err)
		}
		var k [3]string
		for i := range c {
			k[i] = cube.Total
			if c[i].Valid {
				k[i] = c[i].String
			}
		}
		out[k] = n
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return out, time.Since(t0)
}

func releaseBench(b *testing.B, e *env, spec map[string]any, raw string) {
	ctx := context.Background()
	var rs requests.Spec
	js, _ := json.Marshal(spec)
	json.Unmarshal(js, &rs)
	extractID, err := requests.LatestExtract(ctx, e.db)
	if err != nil {
		b.Fatal(err)
	}
	query, args, err := requests.Query(rs, extractID, false)
	if err != nil {
		b.Fatal(err)
	}
	// The first release on an extract places its population in the years
	// asked for, once; it is reported apart from the steady state.
	t0 := time.Now()
	if got := e.submit("researcher", spec); got.State != "released" {
		b.Fatalf("first release: %s %s", got.State, got.Message)
	}
	first := time.Since(t0)
	// The broker's counts are the hand-written cube's, cell by cell.
	want, _ := cubeCounts(b, e.db, raw)
	got, _ := cubeCounts(b, e.db, query, args...)
	for k, n := range want {
		if got[k] != n {
			b.Fatalf("cell %v: the broker counts %d, the extract's tables %d", k, got[k], n)
		}
	}
	var ceiling, index, full []time.Duration
	cells := len(want)
	for b.Loop() {
		b.StopTimer()
		if _, err := e.db.ExecContext(ctx, `DELETE FROM release_cell; DELETE FROM release`); err != nil {
			b.Fatal(err)
		}
		_, d := cubeCounts(b, e.db, raw)
		ceiling = append(ceiling, d)
		_, d = cubeCounts(b, e.db, query, args...)
		index = append(index, d)
		b.StartTimer()
		t1 := time.Now()
		got := e.submit("researcher", spec)
		full = append(full, time.Since(t1))
		if got.State != "released" {
			b.Fatalf("state %s: %s", got.State, got.Message)
		}
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(percentile(full, 0.95)), "p95-ms")
	b.ReportMetric(ms(percentile(full, 0.5)), "p50-ms")
	b.ReportMetric(ms(percentile(ceiling, 0.5)), "bare-query-p50-ms")
	b.ReportMetric(float64(percentile(full, 0.5))/float64(percentile(ceiling, 0.5)), "overhead-ratio")
	b.ReportMetric(ms(percentile(index, 0.5)), "index-query-p50-ms")
	b.ReportMetric(float64(cells), "cube-rows")
	b.ReportMetric(float64(first.Milliseconds()), "first-release-ms")
}

// BenchmarkIndicatorValuesUnderLoad reads one indicator's values through
// HTTP from many concurrent clients, beside the ceiling of encoding the
// same table to JSON in memory with the same concurrency.
func BenchmarkIndicatorValuesUnderLoad(b *testing.B) {
	dir := os.Getenv("FOLKEKOMMUNE_BENCH_DATA")
	from := template
	if dir != "" || os.Getenv("FOLKEKOMMUNE_BENCH_CLUSTER") != "" {
		from = clusterData(b)
	}
	e := newEnv(b, from)
	const clients = 32
	path := e.http.URL + "/api/v1/indicators/mmr_age2/values?municipality=4601,4621&sex=_T"
	tok := e.tokens["coordinator"]
	transport := &http.Transport{MaxIdleConnsPerHost: clients}
	client := &http.Client{Transport: transport}
	def := e.srv.indicators[0]
	for _, d := range e.srv.indicators {
		if d.ID == "mmr_age2" {
			def = d
		}
	}
	tab, err := indicators.Table(context.Background(), e.db, def, 0)
	if err != nil {
		b.Fatal(err)
	}
	// The ceiling: the encoding alone, same concurrency.
	ceilStart := time.Now()
	ceilN := 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				cube.WriteJSON(io.Discard, tab)
			}
			mu.Lock()
			ceilN += 200
			mu.Unlock()
		}()
	}
	wg.Wait()
	ceiling := float64(ceilN) / time.Since(ceilStart).Seconds()

	var lat []time.Duration
	b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			req, _ := http.NewRequest("GET", path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			t0 := time.Now()
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			var buf bytes.Buffer
			io.Copy(&buf, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Errorf("status %d: %s", res.StatusCode, buf.String())
				return
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	rps := float64(len(lat)) / elapsed.Seconds()
	b.ReportMetric(rps, "req/s")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(ceiling, "ceiling-encodes/s")
	b.ReportMetric(rps/ceiling, "ratio-to-ceiling")
}
