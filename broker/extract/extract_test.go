package extract

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/kunnskapskommunen/folkekommune/broker/audit"
	"github.com/kunnskapskommunen/folkekommune/broker/fnr"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
	"github.com/kunnskapskommunen/folkekommune/broker/synth"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func openDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func generate(t *testing.T, opt synth.Options) (string, synth.Summary) {
	t.Helper()
	if opt.Out == "" {
		opt.Out = t.TempDir()
	}
	if opt.Scale == "" {
		opt.Scale = synth.Small
	}
	sum, err := synth.Generate(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	return opt.Out, sum
}

func count(t *testing.T, db *store.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// tableDigest summarises the pulled tables so that "unchanged" can be
// asserted exactly.
func tableDigest(t *testing.T, db *store.DB) string {
	t.Helper()
	var parts []string
	for _, tbl := range pulledTables {
		// Whole rows, sid and rid included: unlike Digest, a row that
		// changed owner changes this.
		var n int64
		var h sql.NullString
		if err := db.QueryRow(`SELECT count(*), bit_xor(hash(t))::VARCHAR FROM `+tbl+` t`).Scan(&n, &h); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, fmt.Sprintf("%s=%d/%s", tbl, n, h.String))
	}
	return strings.Join(parts, " ")
}

func TestPullLoadsCleanRowsAndQuarantinesEveryBrokenRow(t *testing.T) {
	dir, sum := generate(t, synth.Options{Seed: 11, BadShare: 0.02})
	db := openDB(t)
	res, err := Pull(context.Background(), db, NewFileDrop(dir), Options{Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	var written int64
	for _, n := range sum.Files {
		written += n
	}
	if res.RowsRead != written {
		t.Errorf("rows read = %d, generator wrote %d", res.RowsRead, written)
	}
	if res.Loaded+res.Quarantined != res.RowsRead {
		t.Errorf("loaded %d + quarantined %d != read %d", res.Loaded, res.Quarantined, res.RowsRead)
	}
	// Every broken row of each kind shows up with the reason for that kind.
	reasons := map[string]string{
		synth.BrokenCheckDigit: `field = 'fodselsnummer' AND reason = 'check digits do not match'`,
		synth.BrokenCode:       `reason IN ('is not a municipality of the collaboration', 'has an unknown code', 'is not an ICPC-2 symptom or diagnosis code')`,
		synth.BrokenDate:       `reason = 'is not a calendar date'`,
		synth.BrokenMissing:    `reason = 'is missing'`,
	}
	for _, l := range Layouts {
		for kind, cond := range reasons {
			want := sum.Broken[l.File+"/"+kind]
			got := count(t, db, `SELECT count(*) FROM quarantine WHERE dataset = ? AND `+cond, string(l.Dataset))
			if got != want {
				t.Errorf("%s: %d rows quarantined as %s, generator broke %d", l.File, got, kind, want)
			}
		}
		// Injected duplicates are all caught; a few rows may repeat by
		// chance in the synthetic data too, and are equally duplicates.
		want := sum.Broken[l.File+"/"+synth.BrokenDuplicate]
		got := count(t, db, `SELECT count(*) FROM quarantine WHERE dataset = ? AND reason LIKE 'duplicate of line %'`, string(l.Dataset))
		if got < want || got > want+want/2+5 {
			t.Errorf("%s: %d duplicates quarantined, generator duplicated %d", l.File, got, want)
		}
	}
	if q := count(t, db, `SELECT count(*) FROM quarantine`); q != res.Quarantined {
		t.Errorf("quarantine holds %d rows, result says %d", q, res.Quarantined)
	}
	if n := count(t, db, `SELECT count(*) FROM person`); n < 4000 || n > 7000 {
		t.Errorf("person count %d, want about 5 000", n)
	}
	if n := count(t, db, `SELECT count(*) FROM extract WHERE status = 'loaded'`); n != 1 {
		t.Errorf("%d loaded extracts registered, want 1", n)
	}
}

func TestQuarantineAndTablesHoldNoRawIdentifier(t *testing.T) {
	dir, _ := generate(t, synth.Options{Seed: 12, BadShare: 0.05})
	db := openDB(t)
	if _, err := Pull(context.Background(), db, NewFileDrop(dir), Options{Key: testKey}); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT dataset || file || line || field || reason FROM quarantine`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var s string
		rows.Scan(&s)
		if m := elevenDigits.FindString(s); m != "" {
			t.Fatalf("quarantine row carries an 11-digit number %s: %q", m, s)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no quarantined rows to inspect")
	}
	// No value of any pulled table is an 11-digit number. (Pseudonyms are
	// 64-bit integers of up to 20 digits; one of exactly 11 would need a
	// chance of about 1e-8.)
	for _, tbl := range []string{"person", "residence", "growth", "vaccination", "gp_contact", "care_decision"} {
		if c := count(t, db, `SELECT count(*) FROM `+tbl+` t WHERE regexp_matches(t::VARCHAR, '(^|[^0-9])[0-9]{11}([^0-9]|$)')`); c != 0 {
			t.Errorf("%d rows of %s contain an 11-digit number", c, tbl)
		}
	}
}

func TestPseudonymsAreStableAcrossPullsAndDependOnTheKey(t *testing.T) {
	// Two different extracts of the same people: with and without broken rows.
	a, _ := generate(t, synth.Options{Seed: 21, BadShare: 0.01})
	b, _ := generate(t, synth.Options{Seed: 21, BadShare: -1})
	people := readRows(t, filepath.Join(b, FilePopulation+".csv"))
	ps := NewPseudonymiser(testKey)
	sample := map[uint64]bool{}
	for i := 0; i < len(people); i += 97 {
		sample[ps.PID(people[i][0])] = true
	}
	for _, dir := range []string{a, b} {
		db := openDB(t)
		if _, err := Pull(context.Background(), db, NewFileDrop(dir), Options{Key: testKey}); err != nil {
			t.Fatal(err)
		}
		found := 0
		for pid := range sample {
			found += int(count(t, db, `SELECT count(*) FROM person WHERE pid = ?::UBIGINT`, strconv.FormatUint(pid, 10)))
		}
		// A sampled person may have had their only register row broken in a.
		if found < len(sample)*9/10 {
			t.Errorf("pull of %s: %d of %d sampled pseudonyms present", dir, found, len(sample))
		}
	}
	other := NewPseudonymiser([]byte("another key, another key, another"))
	for i := 0; i < 50; i++ {
		id := people[i][0]
		if other.PID(id) == ps.PID(id) {
			t.Fatalf("pseudonym of person %d is the same under two keys", i)
		}
	}
	if ps.RecordKey(1) == ps.RecordKey(2) {
		t.Error("record keys of two persons coincide")
	}
}

func readRows(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if i > 0 {
			rows = append(rows, strings.Split(line, ","))
		}
	}
	return rows
}

func TestPullingTheSameFilesAgainIsANoOp(t *testing.T) {
	dir, _ := generate(t, synth.Options{Seed: 31})
	db := openDB(t)
	first, err := Pull(context.Background(), db, NewFileDrop(dir), Options{Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	before := tableDigest(t, db)
	again, err := Pull(context.Background(), db, NewFileDrop(dir), Options{Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Unchanged || again.ExtractID != first.ExtractID {
		t.Fatalf("second pull = %+v, want unchanged extract %d", again, first.ExtractID)
	}
	if n := count(t, db, `SELECT count(*) FROM extract`); n != 1 {
		t.Errorf("%d extracts registered after a no-op pull, want 1", n)
	}
	if after := tableDigest(t, db); after != before {
		t.Errorf("tables changed by a no-op pull:\n%s\n%s", before, after)
	}
}

func TestFailedPullLeavesThePreviousDataUntouched(t *testing.T) {
	first, _ := generate(t, synth.Options{Seed: 41})
	second, _ := generate(t, synth.Options{Seed: 42})
	db := openDB(t)
	if _, err := Pull(context.Background(), db, NewFileDrop(first), Options{Key: testKey}); err != nil {
		t.Fatal(err)
	}
	before := tableDigest(t, db)
	quarantined := count(t, db, `SELECT count(*) FROM quarantine`)

	injected := errors.New("disk full (injected)")
	_, err := Pull(context.Background(), db, NewFileDrop(second), Options{Key: testKey,
		beforeCommit: func(ctx context.Context, tx *sql.Tx) error {
			// The new data is in place inside the transaction...
			var n int64
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM quarantine`).Scan(&n); err != nil {
				return err
			}
			if n <= quarantined {
				return fmt.Errorf("hook ran before the new quarantine was written")
			}
			return injected // ...and is thrown away.
		}})
	if !errors.Is(err, injected) {
		t.Fatalf("pull error = %v, want the injected failure", err)
	}
	if after := tableDigest(t, db); after != before {
		t.Errorf("failed pull changed the tables:\n%s\n%s", before, after)
	}
	if n := count(t, db, `SELECT count(*) FROM quarantine`); n != quarantined {
		t.Errorf("quarantine grew from %d to %d after a failed pull", quarantined, n)
	}
	var status, msg string
	if err := db.QueryRow(`SELECT status, message FROM extract ORDER BY id DESC LIMIT 1`).Scan(&status, &msg); err != nil {
		t.Fatal(err)
	}
	if status != "failed" || !strings.Contains(msg, "disk full") {
		t.Errorf("last extract = %s %q, want failed with the reason", status, msg)
	}
	// The failed files can be pulled afterwards: a failure is not "already loaded".
	res, err := Pull(context.Background(), db, NewFileDrop(second), Options{Key: testKey})
	if err != nil || res.Unchanged {
		t.Fatalf("retry after failure: %+v, %v", res, err)
	}
}

func TestCancelledPullLeavesThePreviousDataUntouched(t *testing.T) {
	first, _ := generate(t, synth.Options{Seed: 51})
	second, _ := generate(t, synth.Options{Seed: 52})
	db := openDB(t)
	if _, err := Pull(context.Background(), db, NewFileDrop(first), Options{Key: testKey}); err != nil {
		t.Fatal(err)
	}
	before := tableDigest(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Pull(ctx, db, NewFileDrop(second), Options{Key: testKey, Progress: func(done, total int64) {
		if done > total/3 {
			cancel()
		}
	}})
	if err == nil {
		t.Fatal("cancelled pull succeeded")
	}
	if after := tableDigest(t, db); after != before {
		t.Errorf("cancelled pull changed the tables")
	}
	if n := count(t, db, `SELECT count(*) FROM extract WHERE status = 'failed'`); n != 1 {
		t.Errorf("%d failed extracts registered, want 1", n)
	}
}

func TestParquetAndStreamingPathsLoadTheSameAsCSV(t *testing.T) {
	csvDir, _ := generate(t, synth.Options{Seed: 61, BadShare: 0.01})
	pqDir, _ := generate(t, synth.Options{Seed: 61, BadShare: 0.01, Format: synth.Parquet})
	want := ""
	for i, src := range []Source{NewFileDrop(csvDir), NewFileDrop(pqDir), streamOnly{NewFileDrop(csvDir)}} {
		db := openDB(t)
		res, err := Pull(context.Background(), db, src, Options{Key: testKey})
		if err != nil {
			t.Fatalf("source %d: %v", i, err)
		}
		got := tableDigest(t, db) + fmt.Sprintf(" q=%d", res.Quarantined)
		// Quarantined lines: CSV counts the header as line 1, Parquet rows from 1.
		lines := count(t, db, `SELECT sum(line) FROM quarantine`)
		if i == 1 {
			lines += res.Quarantined
		}
		got += fmt.Sprintf(" lines=%d", lines)
		if i == 0 {
			want = got
		} else if got != want {
			t.Errorf("source %d loaded\n%s\nwant\n%s", i, got, want)
		}
	}
}

// streamOnly hides FileDrop's LocalFile so that the pull takes the
// record-by-record path every non-file connector uses.
type streamOnly struct{ Source }

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBadFilesAreRefusedWholeWithTheFileNamed(t *testing.T) {
	tests := []struct {
		name   string
		breakf func(t *testing.T, dir string)
		want   string
	}{
		{"missing folder", func(t *testing.T, dir string) { os.RemoveAll(filepath.Join(dir, "iplos")) }, "has no folder iplos"},
		{"missing file", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, FileGrowth+".csv")) }, "has no file helsestasjon/vekst.csv"},
		{"unknown file", func(t *testing.T, dir string) { writeFile(t, dir, "kuhr/notes.txt", "hello\n") }, "kuhr/notes.txt is not part of the extract layout"},
		{"unknown format", func(t *testing.T, dir string) {
			os.Rename(filepath.Join(dir, FileCare+".csv"), filepath.Join(dir, FileCare+".xlsx"))
		}, `iplos/vedtak.xlsx is in an unknown format ".xlsx"`},
		{"truncated file", func(t *testing.T, dir string) {
			p := filepath.Join(dir, FileContacts+".csv")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-7], 0o644)
		}, "kuhr/kontakter.csv is truncated"},
		{"header mismatch", func(t *testing.T, dir string) {
			p := filepath.Join(dir, FileVaccination+".csv")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), "vaksine,dose", "vaccine,dose", 1)), 0o644)
		}, "helsestasjon/vaksinasjon.csv: header"},
		{"wrong number of fields", func(t *testing.T, dir string) {
			p := filepath.Join(dir, FileCare+".csv")
			b, _ := os.ReadFile(p)
			lines := strings.SplitN(string(b), "\n", 4)
			lines[2] += ",extra"
			os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644)
		}, "iplos/vedtak.csv"},
		{"empty file", func(t *testing.T, dir string) { os.WriteFile(filepath.Join(dir, FileGrowth+".csv"), nil, 0o644) }, "helsestasjon/vekst.csv is empty"},
		{"damaged parquet", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, FileCare+".csv"))
			writeFile(t, dir, FileCare+".parquet", "PAR1 this is not parquet")
		}, "iplos/vedtak.parquet is not a readable Parquet file"},
	}
	good, _ := generate(t, synth.Options{Seed: 71})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(good)); err != nil {
				t.Fatal(err)
			}
			tc.breakf(t, dir)
			db := openDB(t)
			_, err := Pull(context.Background(), db, NewFileDrop(dir), Options{Key: testKey})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if elevenDigits.MatchString(err.Error()) {
				t.Errorf("error carries an identity number: %q", err)
			}
			if n := count(t, db, `SELECT count(*) FROM person`) + count(t, db, `SELECT count(*) FROM gp_contact`); n != 0 {
				t.Errorf("%d rows loaded from a refused extract", n)
			}
		})
	}
}

func TestLoadKeyCreatesAPrivateKeyAndRefusesAnExposedOne(t *testing.T) {
	t.Setenv(KeyEnv, "")
	dir := filepath.Join(t.TempDir(), "data")
	k1, err := LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", st.Mode().Perm(), err)
	}
	k2, err := LoadKey(dir)
	if err != nil || string(k1) != string(k2) || len(k1) != 32 {
		t.Fatalf("second load gave another key or failed: %v", err)
	}
	os.Chmod(filepath.Join(dir, KeyFile), 0o644)
	if _, err := LoadKey(dir); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Fatalf("exposed key file accepted: %v", err)
	}
	t.Setenv(KeyEnv, strings.Repeat("ab", 32))
	k3, err := LoadKey(dir)
	if err != nil || len(k3) != 32 || k3[0] != 0xab {
		t.Fatalf("key from environment: %x, %v", k3, err)
	}
	t.Setenv(KeyEnv, "abcd")
	if _, err := LoadKey(dir); err == nil {
		t.Fatal("short key from environment accepted")
	}
}

func TestPullsAreAuditedAndAFailedPullLeavesNoLoadedEntry(t *testing.T) {
	first, _ := generate(t, synth.Options{Seed: 81})
	second, _ := generate(t, synth.Options{Seed: 82})
	db := openDB(t)
	log := audit.New(db)
	res, err := Pull(context.Background(), db, NewFileDrop(first), Options{Key: testKey, Audit: log, Actor: "admin-1"})
	if err != nil {
		t.Fatal(err)
	}
	injected := errors.New("injected")
	if _, err := Pull(context.Background(), db, NewFileDrop(second), Options{Key: testKey, Audit: log,
		beforeCommit: func(context.Context, *sql.Tx) error { return injected }}); !errors.Is(err, injected) {
		t.Fatalf("error = %v", err)
	}
	entries, err := log.List(context.Background(), audit.Filter{Kind: audit.KindPull})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("%d pull entries, want one loaded and one failed", len(entries))
	}
	loaded, failed := entries[0], entries[1]
	if loaded.Actor != "admin-1" || loaded.Object != fmt.Sprintf("extract/%d", res.ExtractID) ||
		loaded.Detail["status"] != "loaded" || loaded.Detail["rows_loaded"] != float64(res.Loaded) {
		t.Errorf("loaded entry = %+v", loaded)
	}
	if failed.Actor != "system" || failed.Detail["status"] != "failed" || !strings.Contains(fmt.Sprint(failed.Detail["message"]), "injected") {
		t.Errorf("failed entry = %+v", failed)
	}
	rep, err := log.Verify(context.Background())
	if err != nil {
		t.Fatalf("audit chain does not verify after pulls: %v (%+v)", err, rep)
	}
}

// The generator writes the layout the pull reads; it keeps its own copy
// (it cannot import this package's tests' dependencies without a cycle),
// so the two are pinned together here.
func TestGeneratorWritesThePullsLayout(t *testing.T) {
	for _, l := range Layouts {
		h, ok := synth.Headers[l.File]
		if !ok {
			t.Errorf("generator writes no %s", l.File)
			continue
		}
		if strings.Join(h, ",") != strings.Join(l.Header, ",") {
			t.Errorf("%s: generator header %v, pull expects %v", l.File, h, l.Header)
		}
	}
	if len(synth.FileOrder) != len(Layouts) {
		t.Errorf("generator writes %d files, layout has %d", len(synth.FileOrder), len(Layouts))
	}
}

// TestPullIdentityAnswersOnlyUnderThePullsContext pins down the SQL function
// that pseudonymises inside DuckDB: it gives what the Go Pseudonymiser and
// fnr.Parse give, and a statement run without the pull's context, on the
// pull's connection or another, cannot call it, so it is no pseudonym
// oracle for anyone else sharing the database.
func TestPullIdentityAnswersOnlyUnderThePullsContext(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := duckdb.RegisterScalarUDF(conn, "pull_identity", &identityFunc{}); err != nil {
		t.Fatal(err)
	}
	ps := NewPseudonymiser(testKey)
	birth := time.Date(1987, 11, 30, 0, 0, 0, 0, time.UTC)
	id, err := fnr.NewSynthesizer().New(birth, true)
	if err != nil {
		t.Fatal(err)
	}
	badCheck := id[:10] + string('0'+(id[10]-'0'+1)%10)
	const q = `SELECT id.pid::VARCHAR, id.problem, id.birth, id.male, id.record_key FROM (SELECT pull_identity(?) AS id)`
	tests := []struct {
		name    string
		fnr     string
		problem string
	}{
		{"a valid number", id, ""},
		{"wrong check digits", badCheck, fnr.ErrCheckDigit.Error()},
		{"too short", "1234", fnr.ErrLength.Error()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rk sql.NullInt64
			var problem sql.NullString
			var gotBirth sql.NullTime
			var male sql.NullBool
			var upid any
			if err := conn.QueryRowContext(withPseudonymiser(ctx, ps), q, tc.fnr).
				Scan(&upid, &problem, &gotBirth, &male, &rk); err != nil {
				t.Fatal(err)
			}
			if tc.problem != "" {
				if problem.String != tc.problem || upid != nil || rk.Valid || gotBirth.Valid || male.Valid {
					t.Errorf("got pid %v problem %q birth %v male %v, want only the problem %q", upid, problem.String, gotBirth, male, tc.problem)
				}
				return
			}
			want := ps.PID(tc.fnr)
			if s, _ := upid.(string); s != strconv.FormatUint(want, 10) || problem.Valid {
				t.Fatalf("pid %v problem %v, want pid %d and no problem", upid, problem, want)
			}
			if !gotBirth.Valid || !gotBirth.Time.Equal(birth) || !male.Bool || rk.Int64 != int64(ps.RecordKey(want)) {
				t.Errorf("birth %v male %v record key %d, want %v true %d", gotBirth.Time, male.Bool, rk.Int64, birth, ps.RecordKey(want))
			}
		})
	}
	// Without the pull's context the statement cannot be planned.
	if err := conn.QueryRowContext(ctx, q, id).Scan(new(any), new(any), new(any), new(any), new(any)); err == nil || !strings.Contains(err.Error(), errNoPseudonymiser.Error()) {
		t.Errorf("pull_identity without the pull's context: err %v, want %q", err, errNoPseudonymiser)
	}
	if err := db.QueryRowContext(ctx, q, id).Scan(new(any), new(any), new(any), new(any), new(any)); err == nil {
		t.Error("pull_identity answered on another connection of the database")
	}
}

// TestTwoIdentitiesWithOnePseudonymAreCounted plants an identity whose
// pseudonym another number of the extract will get: the pull must see the
// collision rather than merge two people.
func TestTwoIdentitiesWithOnePseudonymAreCounted(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, sqlFile("prepare.sql", "")); err != nil {
		t.Fatal(err)
	}
	ps := NewPseudonymiser(testKey)
	a, _ := fnr.NewSynthesizer().New(time.Date(1950, 1, 2, 0, 0, 0, 0, time.UTC), false)
	b, _ := fnr.NewSynthesizer().New(time.Date(1960, 3, 4, 0, 0, 0, 0, time.UTC), true)
	for _, l := range Layouts {
		if _, err := conn.ExecContext(ctx, `CREATE TEMP TABLE `+rawTable(l.Dataset)+` (fodselsnummer VARCHAR)`); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO raw_population VALUES (?), (?), (NULL), ('')`, a, b); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO raw_gp_contact VALUES (?), (?)`, a, a); err != nil {
		t.Fatal(err)
	}
	if err := loadIdentities(ctx, conn, ps); err != nil {
		t.Fatal(err)
	}
	if ps.Collisions != 0 {
		t.Fatalf("%d collisions among two distinct numbers", ps.Collisions)
	}
	if n := countConn(t, conn, `SELECT count(*) FROM ident`); n != 2 {
		t.Fatalf("ident holds %d numbers, want the 2 distinct ones", n)
	}
	// ident keeps a: it stands in for a second number whose pseudonym is b's.
	if _, err := conn.ExecContext(ctx, `UPDATE ident SET fnr = 'planted', pid = ?::UBIGINT WHERE fnr = ?`, strconv.FormatUint(ps.PID(b), 10), a); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `DELETE FROM ident WHERE fnr = ?`, b); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `DELETE FROM raw_population WHERE fodselsnummer = ?`, a); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `DELETE FROM raw_gp_contact`); err != nil {
		t.Fatal(err)
	}
	if err := loadIdentities(ctx, conn, ps); err != nil {
		t.Fatal(err)
	}
	if ps.Collisions != 1 {
		t.Errorf("%d collisions counted, want 1", ps.Collisions)
	}
}

func countConn(t *testing.T, conn *sql.Conn, q string) int64 {
	t.Helper()
	var n int64
	if err := conn.QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}
