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
