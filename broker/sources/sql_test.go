package sources

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kunnskapskommunen/folkekommune/broker/extract"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

// postgresDSN is the test server's DSN, or a skip (a failure under CI).
func postgresDSN(t *testing.T) string {
	dsn := os.Getenv("FOLKEKOMMUNE_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("FOLKEKOMMUNE_TEST_POSTGRES is not set under CI; .ci/run sources .ci/setup.d/postgres.sh")
		}
		t.Skip("no PostgreSQL: run `source .ci/setup.d/postgres.sh` (or set FOLKEKOMMUNE_TEST_POSTGRES to a DSN) to run the sql source tests")
	}
	return dsn
}

// TestAnSQLSourceReadsItsPasswordFromAFileAndPulls configures an sql
// source as an admin would — the DSN without its password in the sources
// file, the password in a 0600 file — and checks and pulls it from a real
// PostgreSQL.
func TestAnSQLSourceReadsItsPasswordFromAFileAndPulls(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	schema := fmt.Sprintf("sources_test_%d", time.Now().UnixNano())
	for _, q := range []string{
		`CREATE SCHEMA ` + schema,
		`CREATE TABLE ` + schema + `.vedtak (fnr text, kommune text, tjeneste text, fra date, til date)`,
		`INSERT INTO ` + schema + `.vedtak VALUES ('01010112345', '4601', 'hjemmesykepleie', '2024-01-01', NULL), ('02020212345', '4621', 'dagaktivitet', '2023-05-01', '2023-12-31')`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { conn.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`) })

	u, _ := url.Parse(dsn)
	password, _ := u.User.Password()
	u.User = url.User(u.User.Username())
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "replica.password"), []byte(password+"\n"), 0o600)
	yaml := `sources:
  - name: replica
    kind: sql
    dsn: ` + u.String() + `
    password_file: replica.password
    datasets:
      care: >
        SELECT fnr AS fodselsnummer, kommune AS kommunenummer, tjeneste,
               fra AS vedtak_fra, til AS vedtak_til FROM ` + schema + `.vedtak
`
	path := filepath.Join(dir, "sources.yaml")
	os.WriteFile(path, []byte(yaml), 0o644)
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	src := f.Sources[0]
	if strings.Contains(src.Location(), password) {
		t.Fatal("the location shows the password")
	}
	note, err := Check(ctx, src, BuildOptions{SpoolDir: dir})
	if err != nil || !strings.Contains(note, "1 queries") {
		t.Fatalf("check: %q %v", note, err)
	}
	db, err := store.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := []byte(strings.Repeat("k", 32))
	res, err := Pull(ctx, db, src, PullOptions{Key: key, Actor: "test", SpoolDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsRead != 2 || len(res.Files) != 1 || res.Files[0].Dataset != extract.Care {
		t.Errorf("pull: %+v", res)
	}
	st, err := extract.ReadSourceState(ctx, db, "replica")
	if err != nil || st.LoadedID != res.ExtractID || st.Datasets[0] != extract.Care {
		t.Errorf("the registry's state of the source: %+v %v", st, err)
	}

	// A wrong password in the file: one clear sentence, never the DSN.
	os.WriteFile(filepath.Join(dir, "replica.password"), []byte("wrong-"+password), 0o600)
	_, err = Check(ctx, src, BuildOptions{SpoolDir: dir})
	if err == nil || strings.Contains(err.Error(), password) || !strings.HasPrefix(err.Error(), `source "replica": `) {
		t.Errorf("check with a wrong password: %v", err)
	}
}
