package extract

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/kunnskapskommunen/folkekommune/broker/store"
	"github.com/kunnskapskommunen/folkekommune/broker/synth"
)

// The SQL replica tests run against a real PostgreSQL server:
// FOLKEKOMMUNE_TEST_POSTGRES is a DSN of a role that may create schemas
// (the fixtures), FOLKEKOMMUNE_TEST_POSTGRES_READER, if set, one that may
// only read them (the source). .ci/setup.d/postgres.sh starts such a
// server and exports both.
func testPostgres(t testing.TB) (owner, reader string) {
	t.Helper()
	owner = os.Getenv("FOLKEKOMMUNE_TEST_POSTGRES")
	if owner == "" {
		const msg = "the SQL replica tests need PostgreSQL: run `source .ci/setup.d/postgres.sh` (or set FOLKEKOMMUNE_TEST_POSTGRES to a DSN) to run them"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	reader = os.Getenv("FOLKEKOMMUNE_TEST_POSTGRES_READER")
	if reader == "" {
		reader = owner
	}
	return owner, reader
}

// replica is a synthetic extract twice: as a file drop, and loaded into
// its own schema of the PostgreSQL test database.
type replica struct {
	schema string
	drop   string
	// ownerDSN and readerDSN reach the schema's tables unqualified.
	ownerDSN, readerDSN string
	queries             map[Dataset]string
}

// replicaTables maps the file drop's files to the replica's tables; kinds
// has one letter per column: t text, d date, n numeric, i smallint.
var replicaTables = []struct {
	file, table string
	cols        []string
	kinds       string
}{
	{synth.FilePopulation, "folkereg_person", []string{"fnr", "fodt", "kjonn", "kommune", "bydel", "flyttet_inn", "flyttet_ut", "dod"}, "tdttttdd"},
	{synth.FileGrowth, "hs_maling", []string{"fnr", "kommune", "kontroll", "maledato", "hoyde", "vekt"}, "ttttnn"},
	{synth.FileVaccination, "hs_vaksine", []string{"fnr", "kommune", "vaksine", "dose", "dato"}, "tttit"},
	{synth.FileContacts, "kuhr_kontakt", []string{"fnr", "kommune", "dato", "diagnose", "tjeneste", "kontakttype"}, "tttttt"},
	{synth.FileCare, "iplos_vedtak", []string{"fnr", "kommune", "tjeneste", "fra", "til"}, "ttttd"},
}

// sharedReplica is the replica the tests share (none of them changes
// it): loaded by the first that needs it, dropped when the last one ends.
var sharedReplica struct {
	mu    sync.Mutex
	users int
	r     *replica
	drop  func()
	err   error
}

// useReplica returns the shared replica and runs the test in parallel
// with the other tests that use it.
func useReplica(t *testing.T) *replica {
	t.Helper()
	ownerDSN, readerDSN := testPostgres(t)
	sr := &sharedReplica
	sr.mu.Lock()
	sr.users++
	sr.mu.Unlock()
	t.Cleanup(func() {
		sr.mu.Lock()
		defer sr.mu.Unlock()
		if sr.users--; sr.users == 0 && sr.drop != nil {
			sr.drop()
			sr.r, sr.drop, sr.err = nil, nil, nil
		}
	})
	t.Parallel()
	sr.mu.Lock()
	defer sr.mu.Unlock()
	if sr.r == nil && sr.err == nil {
		sr.r, sr.drop, sr.err = loadReplica(synth.Options{Seed: 23, BadShare: 0.02, Scale: synth.Small}, ownerDSN, readerDSN)
	}
	if sr.err != nil {
		t.Fatal(sr.err)
	}
	return sr.r
}

// newReplica loads a replica of its own (for the benchmark's scales).
func newReplica(t testing.TB, opt synth.Options) *replica {
	t.Helper()
	ownerDSN, readerDSN := testPostgres(t)
	if opt.Scale == "" {
		opt.Scale = synth.Small
	}
	r, drop, err := loadReplica(opt, ownerDSN, readerDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	return r
}

// loadReplica generates a synthetic extract and loads it into a fresh
// schema; drop removes both.
func loadReplica(opt synth.Options, ownerDSN, readerDSN string) (_ *replica, drop func(), err error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sqlreplica-drop-")
	if err != nil {
		return nil, nil, err
	}
	b := make([]byte, 6)
	rand.Read(b)
	r := &replica{drop: dir, schema: "fk_" + hex.EncodeToString(b)}
	dropSchema := false
	drop = func() {
		os.RemoveAll(dir)
		if dropSchema {
			if conn, err := pgx.Connect(ctx, ownerDSN); err == nil {
				conn.Exec(ctx, `DROP SCHEMA `+r.schema+` CASCADE`)
				conn.Close(ctx)
			}
		}
	}
	defer func() {
		if err != nil {
			drop()
		}
	}()
	opt.Out = dir
	if _, err := synth.Generate(ctx, opt); err != nil {
		return nil, nil, err
	}
	conn, err := pgx.Connect(ctx, ownerDSN)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to the test PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+r.schema); err != nil {
		return nil, nil, err
	}
	dropSchema = true
	if _, err := conn.Exec(ctx, `SET search_path = `+r.schema); err != nil {
		return nil, nil, err
	}
	ddl, err := os.ReadFile("testdata/sqlreplica/schema.sql")
	if err != nil {
		return nil, nil, err
	}
	if _, err := conn.Exec(ctx, string(ddl)); err != nil {
		return nil, nil, fmt.Errorf("create the replica's tables: %w", err)
	}
	for _, tbl := range replicaTables {
		if err := loadReplicaTable(conn, filepath.Join(r.drop, tbl.file+".csv"), tbl.table, tbl.cols, tbl.kinds); err != nil {
			return nil, nil, err
		}
	}
	if _, err := conn.Exec(ctx, `ANALYZE`); err != nil {
		return nil, nil, err
	}
	if r.ownerDSN, err = withSearchPath(ownerDSN, r.schema); err != nil {
		return nil, nil, err
	}
	if r.readerDSN, err = withSearchPath(readerDSN, r.schema); err != nil {
		return nil, nil, err
	}
	if r.queries, err = replicaQueries(); err != nil {
		return nil, nil, err
	}
	return r, drop, nil
}

func withSearchPath(dsn, schema string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("FOLKEKOMMUNE_TEST_POSTGRES must be a postgres:// URL: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// loadReplicaTable copies one CSV file into table with pgx's CopyFrom,
// typed as the replica keeps it; lopenr is the CSV line.
func loadReplicaTable(conn *pgx.Conn, path, table string, cols []string, kinds string) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	cr := csv.NewReader(fh)
	if _, err := cr.Read(); err != nil {
		return err
	}
	line := int64(1)
	row := make([]any, len(cols)+1)
	n, err := conn.CopyFrom(context.Background(), pgx.Identifier{table}, append([]string{"lopenr"}, cols...),
		pgx.CopyFromFunc(func() ([]any, error) {
			rec, err := cr.Read()
			if err == io.EOF {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			line++
			row[0] = line
			for i, f := range rec {
				if f == "" {
					row[i+1] = nil
					continue
				}
				switch kinds[i] {
				case 't':
					row[i+1] = f
				case 'd':
					d, err := time.Parse(time.DateOnly, f)
					if err != nil {
						return nil, fmt.Errorf("%s line %d: %s is not a date: the fixture would change the data", path, line, cols[i])
					}
					row[i+1] = d
				case 'n':
					var num pgtype.Numeric
					if err := num.Scan(f); err != nil {
						return nil, fmt.Errorf("%s line %d: %s: %w", path, line, cols[i], err)
					}
					row[i+1] = num
				case 'i':
					v, err := strconv.ParseInt(f, 10, 16)
					if err != nil {
						return nil, fmt.Errorf("%s line %d: %s: %w", path, line, cols[i], err)
					}
					row[i+1] = int16(v)
				}
			}
			return row, nil
		}))
	if err != nil {
		return fmt.Errorf("load %s into %s: %w", path, table, err)
	}
	if n != line-1 {
		return fmt.Errorf("loaded %d rows of %s, want %d", n, path, line-1)
	}
	return nil
}

// owner is a connection of the replica's owner for one test (a pgx.Conn
// is not safe for concurrent use).
func (r *replica) owner(t testing.TB) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), r.ownerDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// replicaQueries reads testdata/sqlreplica/queries.sql.
func replicaQueries() (map[Dataset]string, error) {
	b, err := os.ReadFile("testdata/sqlreplica/queries.sql")
	if err != nil {
		return nil, err
	}
	out := map[Dataset]string{}
	sections := strings.Split(string(b), "\n-- dataset: ")
	for _, s := range sections[1:] {
		name, q, _ := strings.Cut(s, "\n")
		out[Dataset(strings.TrimSpace(name))] = q
	}
	if len(out) != len(Layouts) {
		return nil, fmt.Errorf("queries.sql has %d queries, want %d", len(out), len(Layouts))
	}
	return out, nil
}

func (r *replica) source(t testing.TB, opt SQLReplicaOptions) *SQLReplica {
	t.Helper()
	if opt.DSN == "" {
		opt.DSN = r.readerDSN
	}
	if opt.Queries == nil {
		opt.Queries = r.queries
	}
	if opt.SpoolDir == "" {
		opt.SpoolDir = t.TempDir()
	}
	src, err := NewSQLReplica(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func withQuery(base map[Dataset]string, ds Dataset, q string) map[Dataset]string {
	out := map[Dataset]string{}
	for k, v := range base {
		out[k] = v
	}
	out[ds] = q
	return out
}

// quarantineSummary counts the quarantine by dataset, field and reason,
// and sums its lines.
var lineNumbers = regexp.MustCompile(`line \d+`)

func quarantineSummary(t testing.TB, db *store.DB) (string, int64) {
	t.Helper()
	rows, err := db.Query(`SELECT dataset, field, reason, count(*) FROM quarantine GROUP BY ALL ORDER BY ALL`)
	// Reasons name lines ("duplicate of line 12"), which differ by one.
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var ds, field, reason string
		var n int64
		if err := rows.Scan(&ds, &field, &reason, &n); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s/%s %s: %d\n", ds, field, lineNumbers.ReplaceAllString(reason, "line N"), n)
	}
	var lines int64
	if err := db.QueryRow(`SELECT coalesce(sum(line), 0) FROM quarantine`).Scan(&lines); err != nil {
		t.Fatal(err)
	}
	return b.String(), lines
}

func TestSQLReplicaPullEqualsTheFileDropPullOfTheSameData(t *testing.T) {
	r := useReplica(t)
	ctx := context.Background()

	fileDB := openDB(t)
	want, err := Pull(ctx, fileDB, NewFileDrop(r.drop), Options{Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	replicaDB := openDB(t)
	src := r.source(t, SQLReplicaOptions{})
	got, err := Pull(ctx, replicaDB, src, Options{Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if got.Quarantined == 0 {
		t.Fatal("the fixture has no bad rows to compare")
	}
	if g, w := tableDigest(t, replicaDB), tableDigest(t, fileDB); g != w {
		t.Errorf("replica pull loaded\n%s\nthe file drop pull\n%s", g, w)
	}
	if got.RowsRead != want.RowsRead || got.Loaded != want.Loaded || got.Quarantined != want.Quarantined {
		t.Errorf("replica pull read/loaded/quarantined %d/%d/%d, file drop %d/%d/%d",
			got.RowsRead, got.Loaded, got.Quarantined, want.RowsRead, want.Loaded, want.Quarantined)
	}
	for i, f := range got.Files {
		w := want.Files[i]
		if f.Dataset != w.Dataset || f.RowsRead != w.RowsRead || f.Quarantined != w.Quarantined {
			t.Errorf("%s: replica read %d quarantined %d, file drop %s read %d quarantined %d",
				f.Name, f.RowsRead, f.Quarantined, w.Name, w.RowsRead, w.Quarantined)
		}
		if f.Name != "sql:"+string(f.Dataset) {
			t.Errorf("part named %q, want sql:%s", f.Name, f.Dataset)
		}
	}
	gq, gl := quarantineSummary(t, replicaDB)
	wq, wl := quarantineSummary(t, fileDB)
	if gq != wq {
		t.Errorf("replica quarantine\n%s\nfile drop quarantine\n%s", gq, wq)
	}
	// The queries keep the file's order; the file's line 1 is its header,
	// the result's row 1 its first record.
	if gl+got.Quarantined != wl {
		t.Errorf("quarantined rows sum to line %d in the replica, %d in the file drop (want one less per row)", gl, wl)
	}
	var connector, location string
	if err := replicaDB.QueryRow(`SELECT connector, source FROM extract WHERE id = ?`, got.ExtractID).Scan(&connector, &location); err != nil {
		t.Fatal(err)
	}
	if connector != "sql" || location != src.Location() || strings.Contains(location, "folkekommune_reader") {
		t.Errorf("extract registry says connector %q source %q", connector, location)
	}
}

func TestSQLReplicaRepullOfAnUnchangedReplicaIsANoOp(t *testing.T) {
	r := useReplica(t)
	ctx := context.Background()
	db := openDB(t)
	first, err := Pull(ctx, db, r.source(t, SQLReplicaOptions{}), Options{Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	digest := tableDigest(t, db)

	// The same rows in another order are the same extract.
	reversed := map[Dataset]string{}
	for ds, q := range r.queries {
		reversed[ds] = strings.Replace(q, "ORDER BY lopenr", "ORDER BY lopenr DESC", 1)
	}
	for name, queries := range map[string]map[Dataset]string{"same queries": r.queries, "rows in reverse order": reversed} {
		res, err := Pull(ctx, db, r.source(t, SQLReplicaOptions{Queries: queries}), Options{Key: testKey})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !res.Unchanged || res.ExtractID != first.ExtractID {
			t.Errorf("%s: re-pull of an unchanged replica gave %+v, want unchanged extract %d", name, res, first.ExtractID)
		}
	}
	if got := tableDigest(t, db); got != digest {
		t.Errorf("tables changed by a no-op pull:\n%s\nwant\n%s", got, digest)
	}

	// One changed value is a new extract.
	changed := withQuery(r.queries, GPContact, strings.Replace(r.queries[GPContact], "diagnose AS icpc2",
		"CASE WHEN lopenr = 2 THEN CASE WHEN diagnose = 'R74' THEN 'R75' ELSE 'R74' END ELSE diagnose END AS icpc2", 1))
	res, err := Pull(ctx, db, r.source(t, SQLReplicaOptions{Queries: changed}), Options{Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if res.Unchanged {
		t.Error("a changed row was taken for an unchanged replica")
	}
}

func TestSQLReplicaWrongColumnsStopThePullAndKeepThePreviousData(t *testing.T) {
	r := useReplica(t)
	ctx := context.Background()
	db := openDB(t)
	if _, err := Pull(ctx, db, r.source(t, SQLReplicaOptions{}), Options{Key: testKey}); err != nil {
		t.Fatal(err)
	}
	digest := tableDigest(t, db)
	password := dsnPassword(t, r.readerDSN)
	care := "fodselsnummer, kommunenummer, tjeneste, vedtak_fra, vedtak_til"
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"missing", `SELECT fnr AS fodselsnummer, kommune AS kommunenummer, tjeneste, fra AS vedtak_fra FROM iplos_vedtak`,
			[]string{"dataset care", "(fodselsnummer, kommunenummer, tjeneste, vedtak_fra)", "needs (" + care + ")", "missing vedtak_til"}},
		{"extra", `SELECT fnr AS fodselsnummer, kommune AS kommunenummer, tjeneste, fra AS vedtak_fra, til AS vedtak_til, lopenr FROM iplos_vedtak`,
			[]string{"dataset care", "needs (" + care + ")", "unexpected lopenr"}},
		{"misnamed", `SELECT fnr AS fodselsnummer, kommune AS kommunenummer, tjeneste, fra AS vedtak_fra, til FROM iplos_vedtak`,
			[]string{"dataset care", "missing vedtak_til; unexpected til"}},
		{"twice", `SELECT fnr AS fodselsnummer, kommune AS kommunenummer, tjeneste, fra AS vedtak_fra, til AS vedtak_til, til AS vedtak_til FROM iplos_vedtak`,
			[]string{"dataset care", "vedtak_til twice"}},
		{"timestamp", `SELECT fnr AS fodselsnummer, kommune AS kommunenummer, tjeneste, fra AS vedtak_fra, til::timestamp AS vedtak_til FROM iplos_vedtak`,
			[]string{"dataset care", "column vedtak_til as timestamp", "cast it to date"}},
		{"boolean", `SELECT fnr AS fodselsnummer, kommune AS kommunenummer, true AS tjeneste, fra AS vedtak_fra, til AS vedtak_til FROM iplos_vedtak`,
			[]string{"dataset care", "column tjeneste as bool", "cast it to text"}},
		{"not a table", `SELECT * FROM iplos_vedtak_finnes_ikke`,
			[]string{"dataset care", "iplos_vedtak_finnes_ikke", "does not exist"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Only the bad query: the pull stops before any other is run.
			src := r.source(t, SQLReplicaOptions{Queries: map[Dataset]string{Care: tc.query}})
			_, err := Pull(ctx, db, src, Options{Key: testKey})
			if err == nil {
				t.Fatal("pull succeeded")
			}
			msg := err.Error()
			want := append([]string{"SQL replica " + src.Location() + ":"}, tc.want...)
			for _, w := range want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
			if strings.Contains(msg, password) || strings.Contains(msg, "\n") {
				t.Errorf("error %q is not one sentence without the password", msg)
			}
			if got := tableDigest(t, db); got != digest {
				t.Errorf("previous data changed by a failed pull:\n%s\nwant\n%s", got, digest)
			}
		})
	}
}

func dsnPassword(t testing.TB, dsn string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Password == "" {
		t.Fatal("the test DSN has no password: the tests could not see one leak")
	}
	return cfg.Password
}

func TestSQLReplicaStatementTimeoutStopsAQueryWithOneSentence(t *testing.T) {
	r := useReplica(t)
	slow := `SELECT fnr AS fodselsnummer, kommune AS kommunenummer, tjeneste, fra AS vedtak_fra, til AS vedtak_til
		FROM iplos_vedtak WHERE (SELECT true FROM pg_sleep(10))`
	src := r.source(t, SQLReplicaOptions{StatementTimeout: 300 * time.Millisecond, Queries: map[Dataset]string{Care: slow}})
	start := time.Now()
	_, err := src.Parts(context.Background())
	if err == nil {
		t.Fatal("a query past its statement timeout succeeded")
	}
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("the statement timeout stopped the query after %s", took)
	}
	want := "SQL replica " + src.Location() + ": the query for dataset care failed: it ran longer than the statement timeout (300ms) and was stopped"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestSQLReplicaConnectionErrorsAreOneSentenceWithoutThePassword(t *testing.T) {
	_, readerDSN := testPostgres(t)
	t.Parallel()
	password := dsnPassword(t, readerDSN)
	good, err := url.Parse(readerDSN)
	if err != nil {
		t.Fatal(err)
	}
	// A port nothing listens on: listen, then close.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	// A server that accepts connections and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()

	variant := func(f func(u *url.URL)) string {
		u := *good
		f(&u)
		return u.String()
	}
	for _, tc := range []struct {
		name    string
		dsn     string
		want    string
		retries int
	}{
		{"refused", variant(func(u *url.URL) { u.Host = fmt.Sprintf("127.0.0.1:%d", closedPort) }),
			"cannot connect after 3 attempts: connection refused", 2},
		{"silent server", variant(func(u *url.URL) {
			u.Host = silent.Addr().String()
			q := u.Query()
			q.Set("connect_timeout", "1")
			u.RawQuery = q.Encode()
		}), "cannot connect after 3 attempts: the server did not answer in time", 2},
		{"wrong password", variant(func(u *url.URL) { u.User = url.UserPassword(u.User.Username(), password+"x") }),
			"cannot connect: the server refused the login", 0},
		{"no such database", variant(func(u *url.URL) { u.Path = "/finnes_ikke" }),
			"cannot connect: the database does not exist", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := NewSQLReplica(SQLReplicaOptions{DSN: tc.dsn, Queries: map[Dataset]string{Care: "SELECT 1"}, SpoolDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			var waits []time.Duration
			src.attempts, src.backoff = 3, time.Millisecond
			src.sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil }
			for name, call := range map[string]func() error{
				"Parts": func() error { _, err := src.Parts(context.Background()); return err },
				"Check": func() error { return src.Check(context.Background()) },
			} {
				waits = nil
				err := call()
				if err == nil {
					t.Fatalf("%s succeeded", name)
				}
				msg := err.Error()
				if !strings.HasPrefix(msg, "SQL replica "+src.Location()+": ") || !strings.Contains(msg, tc.want) {
					t.Errorf("%s: error %q does not say %q", name, msg, tc.want)
				}
				if strings.Contains(msg, password) || strings.Contains(msg, good.User.Username()) {
					t.Errorf("%s: error %q shows credentials", name, msg)
				}
				if len(waits) != tc.retries {
					t.Errorf("%s: %d retries, want %d", name, len(waits), tc.retries)
				}
			}
			if loc := src.Location(); strings.Contains(loc, password) || strings.Contains(loc, "@") || strings.Contains(loc, good.User.Username()) {
				t.Errorf("Location %q shows credentials", loc)
			}
		})
	}
}

func TestSQLReplicaOptionsAreValidatedWithoutShowingThePassword(t *testing.T) {
	q := map[Dataset]string{Care: "SELECT 1"}
	for _, tc := range []struct {
		name string
		opt  SQLReplicaOptions
		want string
	}{
		{"no DSN", SQLReplicaOptions{Queries: q}, "SQL replica: no DSN given"},
		{"bad port", SQLReplicaOptions{DSN: "postgres://u:hemmelig-passord@db.example:port/x", Queries: q}, "SQL replica: the DSN is not a PostgreSQL connection string"},
		{"bad key", SQLReplicaOptions{DSN: "host=db.example password=hemmelig-passord sslmode=sometimes", Queries: q}, "SQL replica: the DSN is not a PostgreSQL connection string"},
		{"URL credentials in key=value", SQLReplicaOptions{DSN: "leser:hemmelig-passord@db.example dbname=x", Queries: q}, `SQL replica: the DSN is not a PostgreSQL connection string: failed to parse as keyword/value (missing "=" after "…"`},
		{"no queries", SQLReplicaOptions{DSN: "postgres://db.example/x"}, "SQL replica: no query is configured"},
		{"unknown dataset", SQLReplicaOptions{DSN: "postgres://db.example/x", Queries: map[Dataset]string{"kontakter": "SELECT 1"}}, `SQL replica: query for unknown dataset "kontakter"`},
		{"empty query", SQLReplicaOptions{DSN: "postgres://db.example/x", Queries: map[Dataset]string{Care: " ; "}}, "SQL replica: the query for dataset care is empty"},
		{"negative timeout", SQLReplicaOptions{DSN: "postgres://db.example/x", Queries: q, StatementTimeout: -time.Second}, "SQL replica: statement timeout -1s is negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSQLReplica(tc.opt)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "hemmelig") {
				t.Errorf("error %q, want %q… without the password", err, tc.want)
			}
		})
	}
	for dsn, want := range map[string]string{
		"postgres://leser:hemmelig@db.example:6543/journal?sslmode=require": "postgres://db.example:6543/journal",
		"host=/run/postgresql dbname=journal user=leser password=hemmelig":  "postgres:///journal?host=%2Frun%2Fpostgresql&port=5432",
	} {
		src, err := NewSQLReplica(SQLReplicaOptions{DSN: dsn, Queries: q})
		if err != nil {
			t.Fatal(err)
		}
		if src.Location() != want || src.Kind() != "sql" {
			t.Errorf("%s: Location %q Kind %q, want %q sql", dsn, src.Location(), src.Kind(), want)
		}
	}
}

func TestSQLReplicaQueriesRunInAReadOnlyTransaction(t *testing.T) {
	r := useReplica(t)
	// The owner may write: the transaction, not the role, must stop it.
	writing := `WITH ny AS (INSERT INTO iplos_vedtak (lopenr, fnr) VALUES (-1, 'x') RETURNING *)
		SELECT fnr AS fodselsnummer, kommune AS kommunenummer, tjeneste, fra AS vedtak_fra, til AS vedtak_til FROM ny`
	src := r.source(t, SQLReplicaOptions{DSN: r.ownerDSN, Queries: withQuery(r.queries, Care, writing)})
	_, err := src.Parts(context.Background())
	want := "SQL replica " + src.Location() + ": the query for dataset care failed: it tries to change data ("
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "), and a replica query may only read") {
		t.Errorf("error %v, want %q", err, want)
	}
	var n int64
	if err := r.owner(t).QueryRow(context.Background(), `SELECT count(*) FROM iplos_vedtak WHERE lopenr = -1`).Scan(&n); err != nil || n != 0 {
		t.Errorf("the query wrote %d rows (%v)", n, err)
	}
	if err := src.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "tries to change data") {
		t.Errorf("Check: %v, want the query refused for writing", err)
	}
}

// spooledRows runs Parts and reads every spooled row of ds back.
func spooledRows(t *testing.T, src *SQLReplica, ds Dataset) [][]string {
	t.Helper()
	parts, err := src.Parts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		if p.Dataset == ds {
			return spooledRowsOf(t, src, p)
		}
	}
	return nil
}

// spooledRowsOf reads a spooled part back, checking the row numbers.
func spooledRowsOf(t *testing.T, src *SQLReplica, p Part) [][]string {
	t.Helper()
	var out [][]string
	err := src.Read(context.Background(), p, func(line int64, rec []string) error {
		if line != int64(len(out)+1) {
			return fmt.Errorf("row %d read as line %d", len(out)+1, line)
		}
		out = append(out, append([]string(nil), rec...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSQLReplicaBindsSinceAsAParameter(t *testing.T) {
	r := useReplica(t)
	owner := r.owner(t)
	ctx := context.Background()
	// Every row changed at the same time in the fixture: a row's lopenr
	// in seconds after it spreads them out.
	var base time.Time
	if err := owner.QueryRow(ctx, `SELECT min(endret) FROM kuhr_kontakt`).Scan(&base); err != nil {
		t.Fatal(err)
	}
	since := base.Add(5 * time.Second)
	changed := `SELECT fnr AS fodselsnummer, kommune AS kommunenummer, dato AS kontaktdato, diagnose AS icpc2, tjeneste, kontakttype
		FROM kuhr_kontakt WHERE endret + lopenr * interval '1 second' > @since ORDER BY lopenr`
	born := `SELECT fnr AS fodselsnummer, fodt AS fodselsdato, kjonn, kommune AS kommunenummer, bydel,
		flyttet_inn AS innflyttet, flyttet_ut AS utflyttet, dod AS dodsdato FROM folkereg_person WHERE fodt > @since`
	queries := map[Dataset]string{GPContact: changed, Population: born}
	var total, bornAfter int64
	if err := owner.QueryRow(ctx, `SELECT (SELECT count(*) FROM kuhr_kontakt), (SELECT count(*) FROM folkereg_person WHERE fodt > '2020-01-01')`).Scan(&total, &bornAfter); err != nil {
		t.Fatal(err)
	}
	if bornAfter == 0 {
		t.Fatal("the fixture has nobody born after 2020")
	}
	want := readRows(t, filepath.Join(r.drop, synth.FileContacts+".csv"))[4:] // lines 6 and on

	got := spooledRows(t, r.source(t, SQLReplicaOptions{Queries: queries, Since: since}), GPContact)
	if len(got) != len(want) || fmt.Sprint(got[0]) != fmt.Sprint(want[0]) {
		t.Errorf("since %s the query returned %d rows, want the %d changed after it", since, len(got), len(want))
	}
	if got := spooledRows(t, r.source(t, SQLReplicaOptions{Queries: queries}), GPContact); int64(len(got)) != total {
		t.Errorf("with no since the query returned %d rows, want all %d", len(got), total)
	}
	// @since compared with a DATE column.
	got = spooledRows(t, r.source(t, SQLReplicaOptions{Queries: queries, Since: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}), Population)
	if int64(len(got)) != bornAfter {
		t.Errorf("born after 2020-01-01: %d rows, want %d", len(got), bornAfter)
	}
}

func TestSQLReplicaSpoolsTheTextAFileDropWouldCarry(t *testing.T) {
	r := useReplica(t)
	// Text, char(n), numeric and date columns, compared with the file.
	q := `SELECT fnr AS fodselsnummer, kommune AS kommunenummer, kontroll, maledato, hoyde AS hoyde_cm, vekt AS vekt_kg
		FROM hs_maling ORDER BY lopenr`
	got := spooledRows(t, r.source(t, SQLReplicaOptions{Queries: map[Dataset]string{Growth: q}}), Growth)
	want := readRows(t, filepath.Join(r.drop, synth.FileGrowth+".csv"))
	if len(got) != len(want) || len(got) == 0 {
		t.Fatalf("spooled %d rows, the file has %d", len(got), len(want))
	}
	for i := range got {
		if strings.Join(got[i], ",") != strings.Join(want[i], ",") {
			t.Fatalf("row %d spooled as %q, the file has %q", i+1, got[i], want[i])
		}
	}
	q = `SELECT fnr AS fodselsnummer, fodt AS fodselsdato, kjonn, kommune AS kommunenummer, bydel,
		flyttet_inn AS innflyttet, flyttet_ut AS utflyttet, dod AS dodsdato FROM folkereg_person ORDER BY lopenr`
	got = spooledRows(t, r.source(t, SQLReplicaOptions{Queries: map[Dataset]string{Population: q}}), Population)
	want = readRows(t, filepath.Join(r.drop, synth.FilePopulation+".csv"))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("population spooled differently from the file")
	}
}

func TestSQLReplicaCancelledPullStopsTheQueryOnTheServer(t *testing.T) {
	r := useReplica(t)
	marker := "cancel_" + r.schema
	slow := `SELECT /* ` + marker + ` */ fnr AS fodselsnummer, kommune AS kommunenummer, tjeneste, fra AS vedtak_fra, til AS vedtak_til
		FROM iplos_vedtak WHERE (SELECT true FROM pg_sleep(60))`
	src := r.source(t, SQLReplicaOptions{Queries: withQuery(r.queries, Care, slow)})
	ctx, cancel := context.WithCancel(context.Background())
	owner := r.owner(t)
	var ownerMu sync.Mutex
	running := func() int64 {
		ownerMu.Lock()
		defer ownerMu.Unlock()
		var n int64
		if err := owner.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()`, marker).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	go func() {
		// Cancel once the query runs on the server.
		for i := 0; i < 100 && running() == 0; i++ {
			time.Sleep(50 * time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	db := openDB(t)
	_, err := Pull(ctx, db, src, Options{Key: testKey})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("pull ended with %v, want a cancelled pull", err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the cancelled pull took %s", took)
	}
	deadline := time.Now().Add(5 * time.Second)
	for running() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the query still runs on the server 5 s after the pull was cancelled")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSQLReplicaCheckReportsEveryBadQuery(t *testing.T) {
	r := useReplica(t)
	ctx := context.Background()
	if err := r.source(t, SQLReplicaOptions{}).Check(ctx); err != nil {
		t.Fatalf("Check of the good queries: %v", err)
	}
	queries := withQuery(r.queries, Care, `SELECT fnr AS fodselsnummer FROM iplos_vedtak`)
	queries = withQuery(queries, Growth, `SELECT * FROM hs_maling_finnes_ikke`)
	want := []string{"dataset growth failed: relation \"hs_maling_finnes_ikke\" does not exist", "dataset care returns the columns (fodselsnummer)"}
	_, readerDSN := testPostgres(t)
	ownerDSN, _ := testPostgres(t)
	if readerDSN != ownerDSN {
		// A table the reader may not read.
		for _, q := range []string{`CREATE TABLE IF NOT EXISTS hemmelig (fnr char(11))`, `REVOKE ALL ON hemmelig FROM PUBLIC`, `REVOKE ALL ON hemmelig FROM folkekommune_reader`} {
			if _, err := r.owner(t).Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		queries = withQuery(queries, Vaccination, `SELECT fnr AS fodselsnummer, '' AS kommunenummer, '' AS vaksine, 1 AS dose, '' AS vaksinasjonsdato FROM hemmelig`)
		want = append(want, "dataset vaccination failed: the replica's account may not read it (permission denied for table hemmelig)")
	}
	src := r.source(t, SQLReplicaOptions{Queries: queries})
	start := time.Now()
	err := src.Check(ctx)
	if err == nil {
		t.Fatal("Check passed bad queries")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Check said\n%v\nwhich does not say %q", err, w)
		}
	}
	if n := len(strings.Split(err.Error(), "\n")); n != len(want) {
		t.Errorf("Check said %d problems, want %d:\n%v", n, len(want), err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("Check took %s: it must not run the queries", time.Since(start))
	}
}

// BenchmarkSQLReplicaPull pulls the small population from the replica and
// from the same records as a CSV file drop (the connector DuckDB reads
// itself, the fastest path) in the same run; the replica's query time is
// in it. FOLKEKOMMUNE_BENCH_SCALE=cluster runs it at cluster scale.
func BenchmarkSQLReplicaPull(b *testing.B) {
	scale := synth.Small
	if s := os.Getenv("FOLKEKOMMUNE_BENCH_SCALE"); s != "" {
		scale = synth.Scale(s)
	}
	r := newReplica(b, synth.Options{Seed: 71, Scale: scale})
	ctx := context.Background()
	var replicaTime, fileTime, partsTime time.Duration
	var rows int64
	for b.Loop() {
		db := benchDB(b)
		src, err := NewSQLReplica(SQLReplicaOptions{DSN: r.readerDSN, Queries: r.queries, SpoolDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := src.Parts(ctx); err != nil {
			b.Fatal(err)
		}
		partsTime += time.Since(start)
		start = time.Now()
		res, err := Pull(ctx, db, src, Options{Key: testKey})
		if err != nil {
			b.Fatal(err)
		}
		replicaTime += time.Since(start)
		src.Close()
		rows = res.RowsRead
		db2 := benchDB(b)
		start = time.Now()
		if _, err := Pull(ctx, db2, NewFileDrop(r.drop), Options{Key: testKey}); err != nil {
			b.Fatal(err)
		}
		fileTime += time.Since(start)
	}
	b.ReportMetric(float64(rows)*float64(b.N)/replicaTime.Seconds(), "replica_rows/s")
	b.ReportMetric(float64(rows)*float64(b.N)/partsTime.Seconds(), "spool_rows/s")
	b.ReportMetric(float64(rows)*float64(b.N)/fileTime.Seconds(), "filedrop_rows/s")
	b.ReportMetric(replicaTime.Seconds()/fileTime.Seconds(), "x_filedrop_time")
}

func TestSQLReplicaWithQueriesForSomeDatasetsPullsOnlyThose(t *testing.T) {
	r := useReplica(t)
	ctx := context.Background()
	fileDB := openDB(t)
	if _, err := Pull(ctx, fileDB, NewFileDrop(r.drop), Options{Key: testKey}); err != nil {
		t.Fatal(err)
	}
	db := openDB(t)
	some := map[Dataset]string{Population: r.queries[Population], GPContact: r.queries[GPContact]}
	res, err := Pull(ctx, db, r.source(t, SQLReplicaOptions{Queries: some}), Options{Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 2 || res.Files[0].Dataset != Population || res.Files[1].Dataset != GPContact {
		t.Fatalf("pulled %+v, want population and gp_contact", res.Files)
	}
	for _, tbl := range []string{"person", "gp_contact"} {
		q := `SELECT count(*) FROM ` + tbl
		if got, want := count(t, db, q), count(t, fileDB, q); got != want || got == 0 {
			t.Errorf("%s: %d rows, the file drop loaded %d", tbl, got, want)
		}
	}
	if n := count(t, db, `SELECT count(*) FROM care_decision`); n != 0 {
		t.Errorf("care_decision has %d rows from a source without a care query", n)
	}
}

func TestRowsHashIgnoresTheOrderOfRowsButNotTheirContent(t *testing.T) {
	sum := func(rows ...[]string) string {
		var h rowsHash
		for _, r := range rows {
			vals := make([][]byte, len(r))
			for i, f := range r {
				vals[i] = []byte(f)
			}
			h.add(vals)
		}
		return h.hex(Care, layoutOf(Care).Header)
	}
	a, b, c := []string{"1", "ab", "c"}, []string{"2", "x", ""}, []string{"3", "y", "z"}
	base := sum(a, b, c)
	for _, tc := range []struct {
		name string
		rows [][]string
		same bool
	}{
		{"the same rows", [][]string{a, b, c}, true},
		{"reordered", [][]string{c, a, b}, true},
		{"a value changed", [][]string{a, b, {"3", "y", "Z"}}, false},
		{"a value moved across a column boundary", [][]string{{"1", "a", "bc"}, b, c}, false},
		{"a row repeated", [][]string{a, b, c, c}, false},
		{"a row left out", [][]string{a, b}, false},
		{"two rows swapped values", [][]string{{"1", "x", ""}, {"2", "ab", "c"}, c}, false},
	} {
		if got := sum(tc.rows...) == base; got != tc.same {
			t.Errorf("%s: same hash %v, want %v", tc.name, got, tc.same)
		}
	}
	var empty rowsHash
	if empty.hex(Care, layoutOf(Care).Header) == empty.hex(Growth, layoutOf(Growth).Header) {
		t.Error("empty parts of two datasets hash alike")
	}
}

func TestSQLReplicaTakesALostSnapshotAgain(t *testing.T) {
	r := useReplica(t)
	marker := "lost_" + r.schema
	slow := `SELECT /* ` + marker + ` */ fnr AS fodselsnummer, kommune AS kommunenummer, tjeneste, fra AS vedtak_fra, til AS vedtak_til
		FROM iplos_vedtak WHERE (SELECT true FROM pg_sleep(0.5)) ORDER BY lopenr`
	// The owner's account, so that the owner may end its backend.
	src := r.source(t, SQLReplicaOptions{DSN: r.ownerDSN, Queries: map[Dataset]string{Care: slow}})
	var waits int
	src.sleep = func(ctx context.Context, d time.Duration) error { waits++; return nil }
	owner := r.owner(t)
	terminated := make(chan error, 1)
	go func() {
		for i := 0; i < 200; i++ {
			var n int
			err := owner.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()`, marker).Scan(&n)
			if err != nil || n > 0 {
				terminated <- err
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		terminated <- errors.New("the query never showed up on the server")
	}()
	parts, err := src.Parts(context.Background())
	if terr := <-terminated; terr != nil {
		t.Fatal(terr)
	}
	if err != nil {
		t.Fatalf("a snapshot lost once was not taken again: %v", err)
	}
	if waits != 1 || len(parts) != 1 {
		t.Errorf("%d retries and %d parts, want 1 and 1", waits, len(parts))
	}
	want := readRows(t, filepath.Join(r.drop, synth.FileCare+".csv"))
	if got := spooledRowsOf(t, src, parts[0]); len(got) != len(want) {
		t.Errorf("the second snapshot spooled %d rows, want %d", len(got), len(want))
	}
}

// FuzzNewSQLReplicaNeverShowsThePassword feeds DSNs, well-formed or not,
// with a password in them: neither the error nor the Location may carry it.
func FuzzNewSQLReplicaNeverShowsThePassword(f *testing.F) {
	for _, seed := range [][2]string{
		{"postgres://leser:%s@db.example:5432/journal", "hemmelig-passord"},
		{"postgres://leser:%s@db.example:port/journal", "hemmelig-passord"},
		{"host=db.example user=leser password=%s dbname=journal", "hemmelig-passord"},
		{"host=db.example password='%s' sslmode=nope", "hemmelig passord"},
		{"postgresql://leser:%s@[::1/journal", "hemmelig-passord"},
		{"postgres://%s@db.example/journal", "hemmelig-passord"},
		{"password=%s host=/run/postgresql port=x", "hemmelig-passord"},
		{"postgres:///:%s@", "00000000"}, // a database named like a password is a database
		{":%s@ 0=", "00000000"},          // pgx quoted this fragment in its reason
		{"postgres:///?:%s@", "00000000"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, format, password string) {
		if len(password) < 8 || strings.ContainsAny(password, "%'\\\" \t\n@/:?#=&[]") || strings.Count(format, "%s") != 1 || strings.Count(format, "%") != 1 {
			t.Skip()
		}
		dsn := fmt.Sprintf(format, password)
		if strings.Count(dsn, password) != 1 || !strings.Contains(dsn, "password="+password) && !strings.Contains(dsn, ":"+password+"@") {
			t.Skip() // the "password" is not one
		}
		src, err := NewSQLReplica(SQLReplicaOptions{DSN: dsn, Queries: map[Dataset]string{Care: "SELECT 1"}})
		if err != nil {
			if strings.Contains(err.Error(), password) {
				t.Fatalf("error %q shows the password", err)
			}
			return
		}
		if src.password == password && strings.Contains(src.Location(), password) {
			t.Fatalf("Location %q shows the password", src.Location())
		}
	})
}

func TestSQLReplicaQueryWithoutRowsGivesAnEmptyPart(t *testing.T) {
	r := useReplica(t)
	none := strings.Replace(r.queries[Care], "FROM iplos_vedtak", "FROM iplos_vedtak WHERE false", 1)
	db := openDB(t)
	res, err := Pull(context.Background(), db, r.source(t, SQLReplicaOptions{Queries: withQuery(r.queries, Care, none)}), Options{Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	last := res.Files[len(res.Files)-1]
	if last.Dataset != Care || last.RowsRead != 0 || count(t, db, `SELECT count(*) FROM care_decision`) != 0 || count(t, db, `SELECT count(*) FROM gp_contact`) == 0 {
		t.Errorf("pulled %+v", res.Files)
	}
}
