package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestOpenAppliesEveryMigrationOnceAndRecordsItsVersion(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fk.duckdb")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	all, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("no embedded migrations")
	}
	for i := 1; i < len(all); i++ {
		if all[i].Version <= all[i-1].Version {
			t.Fatalf("migrations out of order: %d after %d", all[i].Version, all[i-1].Version)
		}
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil || v != all[len(all)-1].Version {
		t.Fatalf("schema version = %d, %v; want %d", v, err, all[len(all)-1].Version)
	}
	var rows int
	db.QueryRow(`SELECT count(*) FROM schema_migration`).Scan(&rows)
	if rows != len(all) {
		t.Fatalf("%d migrations recorded, want %d", rows, len(all))
	}
	if _, err := db.Exec(`INSERT INTO extract (source, connector, fingerprint, status, started_at) VALUES ('x', 'filedrop', 'f', 'loaded', now())`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// Reopening applies nothing again and keeps the data.
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.QueryRow(`SELECT count(*) FROM schema_migration`).Scan(&rows)
	if rows != len(all) {
		t.Fatalf("reopen recorded %d migrations, want %d", rows, len(all))
	}
	var n int
	db.QueryRow(`SELECT count(*) FROM extract`).Scan(&n)
	if n != 1 {
		t.Fatalf("reopen lost data: %d extracts", n)
	}
}

func TestInTxRollsBackOnErrorAndCommitsOnSuccess(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	insert := func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO extract (source, connector, fingerprint, status, started_at) VALUES ('x', 'filedrop', 'f', 'loaded', now())`)
		return err
	}
	boom := errors.New("boom")
	if err := db.InTx(ctx, func(tx *sql.Tx) error {
		if err := insert(tx); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("InTx error = %v, want boom", err)
	}
	var n int
	db.QueryRow(`SELECT count(*) FROM extract`).Scan(&n)
	if n != 0 {
		t.Fatalf("rolled-back insert visible: %d rows", n)
	}
	if err := db.InTx(ctx, insert); err != nil {
		t.Fatal(err)
	}
	db.QueryRow(`SELECT count(*) FROM extract`).Scan(&n)
	if n != 1 {
		t.Fatalf("committed insert not visible: %d rows", n)
	}
}

// TestMigrationsReachTheDataFileAtOnce: a fresh database leaves no
// write-ahead log behind its migrations, so a broker killed right after
// opening (before DuckDB's own checkpoint) reopens without replaying
// schema changes DuckDB cannot replay.
func TestMigrationsReachTheDataFileAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fk.duckdb")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if fi, err := os.Stat(path + ".wal"); err == nil && fi.Size() > 0 {
		t.Fatalf("the write-ahead log holds %d bytes after the migrations", fi.Size())
	}
	v, err := db.SchemaVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v < 7 {
		t.Fatalf("schema version %d after Open, want every migration", v)
	}
}

// TestInTxRetryRunsALoserOfAWriteConflictAgain: two transactions take the
// same next number of a chain; the one that commits second loses the
// race, is recognised as a conflict and runs again on the new head, so
// the chain has both entries in order; an error of fn's own is returned
// at once, without a retry.
func TestInTxRetryRunsALoserOfAWriteConflictAgain(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "fk.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE chain (seq INTEGER PRIMARY KEY, who VARCHAR)`); err != nil {
		t.Fatal(err)
	}
	next := func(tx *sql.Tx, who string) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO chain SELECT coalesce(max(seq), 0) + 1, ? FROM chain`, who)
		return err
	}
	// The first writer takes the next number and commits while the second,
	// which took the same number, is still inside its transaction.
	first, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := next(first, "first"); err != nil {
		t.Fatal(err)
	}
	attempts := 0
	err = db.InTxRetry(ctx, func(tx *sql.Tx) error {
		attempts++
		if err := next(tx, "second"); err != nil {
			return err
		}
		if attempts == 1 {
			return first.Commit()
		}
		return nil
	})
	if err != nil {
		t.Fatalf("the second writer did not get through: %v", err)
	}
	if attempts != 2 {
		t.Errorf("the second writer ran %d time(s); it should have lost the race once", attempts)
	}
	var got string
	if err := db.QueryRowContext(ctx, `SELECT string_agg(seq || who, ',' ORDER BY seq) FROM chain`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "1first,2second" {
		t.Errorf("chain %q, want 1first,2second", got)
	}

	own := errors.New("the change itself is wrong")
	calls := 0
	if err := db.InTxRetry(ctx, func(*sql.Tx) error { calls++; return own }); !errors.Is(err, own) || calls != 1 {
		t.Errorf("fn's own error: %v after %d calls, want it at once", err, calls)
	}
}
