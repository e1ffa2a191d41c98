package indicators

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/extract"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
	"github.com/kunnskapskommunen/folkekommune/broker/synth"
)

// benchData prepares (once per process) a data directory holding a pulled
// synthetic extract at the given scale. FOLKEKOMMUNE_BENCH_DATA_<SCALE>
// (e.g. FOLKEKOMMUNE_BENCH_DATA_CLUSTER) names a data directory that
// already holds one, to skip the minutes of generating and pulling; the
// benchmark works on a copy of its database.
var benchData sync.Map // scale → string

func benchDB(b *testing.B, scale synth.Scale) *store.DB {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	dbPath := filepath.Join(dir, "folkekommune.duckdb")
	if given := os.Getenv("FOLKEKOMMUNE_BENCH_DATA_" + upper(string(scale))); given != "" {
		src, err := os.ReadFile(filepath.Join(given, "folkekommune.duckdb"))
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(dbPath, src, 0o600); err != nil {
			b.Fatal(err)
		}
	} else if cached, ok := benchData.Load(scale); ok {
		src, err := os.ReadFile(cached.(string))
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(dbPath, src, 0o600); err != nil {
			b.Fatal(err)
		}
	} else {
		drop := filepath.Join(dir, "drop")
		if _, err := synth.Generate(ctx, synth.Options{Out: drop, Seed: 1, Scale: scale, BadShare: -1}); err != nil {
			b.Fatal(err)
		}
		db, err := store.Open(ctx, dbPath)
		if err != nil {
			b.Fatal(err)
		}
		key := make([]byte, 32)
		for i := range key {
			key[i] = byte(i)
		}
		if _, err := extract.Pull(ctx, db, extract.NewFileDrop(drop), extract.Options{Key: key}); err != nil {
			b.Fatal(err)
		}
		db.Close()
		os.RemoveAll(drop)
		keep := filepath.Join(b.TempDir(), "cached.duckdb")
		src, _ := os.ReadFile(dbPath)
		os.WriteFile(keep, src, 0o600)
		benchData.Store(scale, keep)
	}
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
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

// benchmarkScale computes every built-in indicator with the engine
// (counting, rates, intervals, comparison, disclosure control, storage)
// and, in the same iteration, the same numerators and denominators with the
// hand-written plain SQL of independent_test.go, one query per indicator
// and year. It reports both times and their ratio, and the engine's time
// split into counting in DuckDB, disclosure control and storing.
func benchmarkScale(b *testing.B, scale synth.Scale) {
	db := benchDB(b, scale)
	ctx := context.Background()
	defs, err := Builtin()
	if err != nil {
		b.Fatal(err)
	}
	var engine, hand, count, protect, store time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		results, err := Compute(ctx, db, defs, Options{})
		if err != nil {
			b.Fatal(err)
		}
		engine += time.Since(start)
		for _, r := range results {
			count += r.CountTime
			protect += r.ProtectTime
			store += r.StoreTime
		}
		start = time.Now()
		for _, r := range results {
			window := 1
			if r.Definition.Smoothing == SmoothingMA3 {
				window = 3
			}
			first, last := 0, 0
			for _, p := range []string{r.Periods[0], r.Periods[len(r.Periods)-1]} {
				var y int
				for _, c := range p[len(p)-4:] {
					y = y*10 + int(c-'0')
				}
				if first == 0 {
					first = y
				}
				last = y
			}
			for y := first - window + 1; y <= last; y++ {
				runPlain(b, db, r.Definition.ID, y)
			}
		}
		hand += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(engine.Seconds()/n, "engine_s/op")
	b.ReportMetric(hand.Seconds()/n, "handsql_s/op")
	b.ReportMetric(engine.Seconds()/hand.Seconds(), "engine/handsql")
	b.ReportMetric(count.Seconds()/n, "count_s/op")
	b.ReportMetric(protect.Seconds()/n, "protect_s/op")
	b.ReportMetric(store.Seconds()/n, "store_s/op")
	b.ReportMetric(count.Seconds()/hand.Seconds(), "count/handsql")
}

func BenchmarkIndicatorsSmall(b *testing.B)    { benchmarkScale(b, synth.Small) }
func BenchmarkIndicatorsCluster(b *testing.B)  { benchmarkScale(b, synth.Cluster) }
func BenchmarkIndicatorsNational(b *testing.B) { benchmarkScale(b, synth.National) }
