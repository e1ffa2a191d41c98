package extract

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/store"
	"github.com/kunnskapskommunen/folkekommune/broker/synth"
)

// benchExtract generates (once per machine, cached in the temp folder) the
// synthetic extract at the given scale.
func benchExtract(b *testing.B, scale synth.Scale) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "folkekommune-bench-"+string(scale)+"-seed1")
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir
	}
	os.RemoveAll(dir)
	if _, err := synth.Generate(context.Background(), synth.Options{Out: dir, Seed: 1, Scale: scale}); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkPullCluster pulls the cluster-scale extract (about 15 million
// rows) into a fresh database file, and in the same run has DuckDB read the
// same CSV files into tables with its own reader: the honest ceiling for
// getting these bytes into DuckDB at all. It reports rows/s for both and
// the ratio, in wall-clock time and in CPU time: on a machine shared with
// other work the CPU ratio is the steadier of the two (the pull and the
// ceiling both use every core they get).
//
//	go test ./broker/extract -run XXX -bench PullCluster -benchtime 1x
func BenchmarkPullCluster(b *testing.B) {
	if testing.Verbose() {
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	dir := benchExtract(b, synth.Cluster)
	ctx := context.Background()
	key := make([]byte, 32)
	var pullRows int64
	var pullTime, readTime, pullCPU, readCPU time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dbDir := b.TempDir()
		db, err := store.Open(ctx, filepath.Join(dbDir, "pull.duckdb"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start, cpu := time.Now(), processCPU()
		res, err := Pull(ctx, db, NewFileDrop(dir), Options{Key: key})
		if err != nil {
			b.Fatal(err)
		}
		pullTime += time.Since(start)
		pullCPU += processCPU() - cpu
		pullRows += res.RowsRead
		b.StopTimer()
		db.Close()

		ceil, err := store.Open(ctx, filepath.Join(dbDir, "ceiling.duckdb"))
		if err != nil {
			b.Fatal(err)
		}
		start, cpu = time.Now(), processCPU()
		for j, l := range Layouts {
			if _, err := ceil.ExecContext(ctx, `CREATE TABLE t`+string(rune('0'+j))+` AS SELECT * FROM read_csv(?)`,
				filepath.Join(dir, l.File+".csv")); err != nil {
				b.Fatal(err)
			}
		}
		readTime += time.Since(start)
		readCPU += processCPU() - cpu
		ceil.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(pullRows)/pullTime.Seconds(), "pull_rows/s")
	b.ReportMetric(float64(pullRows)/readTime.Seconds(), "duckdb_read_rows/s")
	b.ReportMetric(pullTime.Seconds()/readTime.Seconds(), "ratio")
	b.ReportMetric(pullTime.Seconds()/float64(b.N), "pull_s")
	b.ReportMetric(pullCPU.Seconds()/readCPU.Seconds(), "cpu_ratio")
	b.ReportMetric(pullCPU.Seconds()/float64(b.N), "pull_cpu_s")
}

// processCPU is the CPU time this process has used, DuckDB's threads
// included.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
