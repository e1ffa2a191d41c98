package extract

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/store"
	"github.com/kunnskapskommunen/folkekommune/broker/synth"
)

func benchExport(b *testing.B) (drop, export string) {
	b.Helper()
	drop = b.TempDir()
	if _, err := synth.Generate(context.Background(), synth.Options{Out: drop, Seed: 71, BadShare: -1}); err != nil {
		b.Fatal(err)
	}
	export = b.TempDir()
	if err := synth.WriteFHIR(context.Background(), drop, export, "2025-01-31T12:00:00Z"); err != nil {
		b.Fatal(err)
	}
	return drop, export
}

// BenchmarkFHIRRead maps the spooled export of the small population into
// records and compares with reading the same records from the CSV file
// drop in the same run (the ceiling: no JSON, no joins).
func BenchmarkFHIRRead(b *testing.B) {
	drop, export := benchExport(b)
	ctx := context.Background()
	fd := NewFileDrop(drop)
	parts, err := fd.Parts(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var fhirTime, csvTime time.Duration
	var records int64
	for b.Loop() {
		records = 0
		start := time.Now()
		src := spooled(b, export)
		for _, l := range Layouts {
			if err := src.Read(ctx, Part{Dataset: l.Dataset}, func(int64, []string) error { records++; return nil }); err != nil {
				b.Fatal(err)
			}
		}
		fhirTime += time.Since(start)
		start = time.Now()
		for _, p := range parts {
			if err := fd.Read(ctx, p, func(int64, []string) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
		csvTime += time.Since(start)
	}
	b.ReportMetric(float64(records)*float64(b.N)/fhirTime.Seconds(), "fhir_records/s")
	b.ReportMetric(float64(records)*float64(b.N)/csvTime.Seconds(), "csv_records/s")
	b.ReportMetric(fhirTime.Seconds()/csvTime.Seconds(), "x_csv_time")
}

// BenchmarkFHIRExport runs the whole Bulk Data exchange over loopback
// HTTP (token, kick-off, poll, download to the spool with hashing) and
// compares with plainly GETting the same files to disk in the same run.
func BenchmarkFHIRExport(b *testing.B) {
	_, export := benchExport(b)
	hs, key := benchFHIRServer(b, export)
	plain := httptest.NewServer(http.FileServer(http.Dir(export)))
	defer plain.Close()
	ctx := context.Background()
	spool := b.TempDir()
	var exportTime, plainTime time.Duration
	var bytes int64
	for b.Loop() {
		start := time.Now()
		src, err := NewFHIRSource(FHIROptions{BaseURL: hs.URL, ClientID: "broker", Key: key, KeyID: "k", SpoolDir: spool})
		if err != nil {
			b.Fatal(err)
		}
		parts, err := src.Parts(ctx)
		if err != nil {
			b.Fatal(err)
		}
		bytes = 0
		for _, p := range parts {
			bytes += p.Bytes
		}
		src.Close()
		exportTime += time.Since(start)
		start = time.Now()
		for _, typ := range synth.FHIRTypes {
			resp, err := http.Get(plain.URL + "/" + typ + ".ndjson")
			if err != nil {
				b.Fatal(err)
			}
			f, _ := os.Create(filepath.Join(spool, "plain"))
			io.Copy(f, resp.Body)
			f.Close()
			resp.Body.Close()
		}
		plainTime += time.Since(start)
	}
	b.ReportMetric(float64(bytes)*float64(b.N)/exportTime.Seconds()/1e6, "export_MB/s")
	b.ReportMetric(float64(bytes)*float64(b.N)/plainTime.Seconds()/1e6, "plain_get_MB/s")
	b.ReportMetric(exportTime.Seconds()/plainTime.Seconds(), "x_plain_time")
}

// BenchmarkFHIRPull runs whole pulls of the small population from the
// FHIR test server and from the same records as a CSV file drop (the
// connector DuckDB reads itself, the fastest path) in the same run.
func BenchmarkFHIRPull(b *testing.B) {
	drop, export := benchExport(b)
	hs, key := benchFHIRServer(b, export)
	ctx := context.Background()
	var fhirTime, fileTime time.Duration
	var rows int64
	for b.Loop() {
		db := benchDB(b)
		src, err := NewFHIRSource(FHIROptions{BaseURL: hs.URL, ClientID: "broker", Key: key, KeyID: "k", SpoolDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		res, err := Pull(ctx, db, src, Options{Key: testKey})
		if err != nil {
			b.Fatal(err)
		}
		fhirTime += time.Since(start)
		src.Close()
		rows = res.RowsRead
		db2 := benchDB(b)
		start = time.Now()
		if _, err := Pull(ctx, db2, NewFileDrop(drop), Options{Key: testKey}); err != nil {
			b.Fatal(err)
		}
		fileTime += time.Since(start)
	}
	b.ReportMetric(float64(rows)*float64(b.N)/fhirTime.Seconds(), "fhir_rows/s")
	b.ReportMetric(float64(rows)*float64(b.N)/fileTime.Seconds(), "filedrop_rows/s")
	b.ReportMetric(fhirTime.Seconds()/fileTime.Seconds(), "x_filedrop_time")
}

// benchFHIRExport writes (once per machine, cached in the temp folder
// beside benchExtract's drop) the FHIR export of the drop at scale, and
// counts its resources.
func benchFHIRExport(b *testing.B, scale synth.Scale) (drop, export string, resources int64) {
	b.Helper()
	drop = benchExtract(b, scale)
	export = drop + "-fhir"
	if _, err := os.Stat(filepath.Join(export, ".complete")); err != nil {
		os.RemoveAll(export)
		if err := synth.WriteFHIR(context.Background(), drop, export, "2025-01-31T12:00:00Z"); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(export, ".complete"), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for _, typ := range synth.FHIRTypes {
		f, err := os.Open(filepath.Join(export, typ+".ndjson"))
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 1<<20)
		for {
			n, err := f.Read(buf)
			resources += int64(bytes.Count(buf[:n], []byte{'\n'}))
			if err != nil {
				break
			}
		}
		f.Close()
	}
	return drop, export, resources
}

// BenchmarkFHIRClusterPull pulls the cluster population (about 402 000
// persons, 26 million resources) from the FHIR Bulk Data test server over
// loopback HTTP (token, kick-off, poll, NDJSON download to the spool,
// mapping, validation, pseudonymisation, load) into a fresh database
// file, and in the same run pulls the file drop the export was made from
// (the connector DuckDB reads itself, the fastest path) into another. It
// reports resources/s over FHIR, rows/s for both, and the ratio of their
// times. The export (about 6 GB) is cached in the temp folder.
//
//	go test ./broker/extract -run XXX -bench FHIRClusterPull -benchtime 1x
func BenchmarkFHIRClusterPull(b *testing.B) {
	drop, export, resources := benchFHIRExport(b, synth.Cluster)
	hs, key := benchFHIRServer(b, export)
	ctx := context.Background()
	pullKey := make([]byte, 32)
	var fhirTime, fileTime, fhirCPU, fileCPU time.Duration
	var rows int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		db, err := store.Open(ctx, filepath.Join(dir, "fhir.duckdb"))
		if err != nil {
			b.Fatal(err)
		}
		src, err := NewFHIRSource(FHIROptions{BaseURL: hs.URL, ClientID: "broker", Key: key, KeyID: "k", SpoolDir: dir, PollInterval: 100 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start, cpu := time.Now(), processCPU()
		res, err := Pull(ctx, db, src, Options{Key: pullKey})
		if err != nil {
			b.Fatal(err)
		}
		fhirTime += time.Since(start)
		fhirCPU += processCPU() - cpu
		b.StopTimer()
		src.Close()
		db.Close()
		rows = res.RowsRead

		db2, err := store.Open(ctx, filepath.Join(dir, "filedrop.duckdb"))
		if err != nil {
			b.Fatal(err)
		}
		start, cpu = time.Now(), processCPU()
		fres, err := Pull(ctx, db2, NewFileDrop(drop), Options{Key: pullKey})
		if err != nil {
			b.Fatal(err)
		}
		fileTime += time.Since(start)
		fileCPU += processCPU() - cpu
		db2.Close()
		if fres.Loaded != res.Loaded {
			b.Errorf("FHIR pull loaded %d rows, the file drop %d", res.Loaded, fres.Loaded)
		}
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(resources)*n/fhirTime.Seconds(), "fhir_resources/s")
	b.ReportMetric(float64(rows)*n/fhirTime.Seconds(), "fhir_rows/s")
	b.ReportMetric(float64(rows)*n/fileTime.Seconds(), "filedrop_rows/s")
	b.ReportMetric(fhirTime.Seconds()/fileTime.Seconds(), "x_filedrop_time")
	b.ReportMetric(fhirCPU.Seconds()/fileCPU.Seconds(), "x_filedrop_cpu")
	b.ReportMetric(fhirTime.Seconds()/n, "fhir_pull_s")
}

func benchDB(b *testing.B) *store.DB {
	db, err := store.Open(context.Background(), "")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// benchFHIRServer serves export through the Bulk Data test server on
// loopback, with the broker registered as client "broker" under key id
// "k"; the server stops with the benchmark.
func benchFHIRServer(b *testing.B, export string) (*httptest.Server, *ecdsa.PrivateKey) {
	b.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	jwks, err := FHIRPublicJWKS(key, "k")
	if err != nil {
		b.Fatal(err)
	}
	srv := synth.NewFHIRServer(export, time.Now())
	srv.RegisterClient("broker", jwks)
	hs := httptest.NewServer(srv)
	b.Cleanup(hs.Close)
	return hs, key
}
