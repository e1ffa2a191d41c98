// Package store opens the broker's DuckDB database and keeps its schema
// current with embedded, versioned SQL migrations.
//
// One DuckDB file in the data directory holds the pulled (pseudonymised)
// tables, the computed indicators and the registries. Migrations are files
// named NNNN_name.sql in migrations/; each is applied in its own transaction
// together with the row that records its version, so a crash can never leave
// a migration half-applied or applied but unrecorded.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"golang.org/x/sys/unix"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DB is the broker's database. It embeds *sql.DB for queries and keeps the
// connector so that bulk loaders can open appenders on a raw connection.
type DB struct {
	*sql.DB
	connector *duckdb.Connector
	path      string
}

// Open opens (creating if needed) the DuckDB database at path and applies
// every pending migration. An empty path opens a private in-memory database,
// which tests use.
func Open(ctx context.Context, dbPath string) (*DB, error) {
	return open(ctx, dbPath, math.MaxInt)
}

// open is Open with the migrations applied up to version upTo only, which
// is how tests make the database an older broker left.
func open(ctx context.Context, dbPath string, upTo int) (*DB, error) {
	// A new file takes DuckDB's newest storage format: with the default
	// (compatible back to v0.10.2) every string column is analysed for the
	// old dictionary and FSST codecs as well as their successor DICT_FSST,
	// which made writing a pull's 12 million contact rows 4.6 s instead of
	// 2.8 s for the same file size. The file is then readable only by
	// DuckDB 1.5 or newer, which is the driver the broker is built with.
	// An existing file keeps the format it was created with.
	connector, err := duckdb.NewConnector(dbPath+"?storage_compatibility_version=latest", nil)
	if err != nil {
		return nil, fmt.Errorf("open database %q: %w", dbPath, err)
	}
	db := &DB{DB: sql.OpenDB(connector), connector: connector, path: dbPath}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %q: %w", dbPath, err)
	}
	if limit := memoryLimit(); limit != "" {
		if _, err := db.ExecContext(ctx, `SET memory_limit = '`+limit+`'`); err != nil {
			db.Close()
			return nil, fmt.Errorf("set DuckDB memory limit %q (from %s): %w", limit, MemoryLimitEnv, err)
		}
	}
	if err := db.migrate(ctx, upTo); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// MemoryLimitEnv overrides DuckDB's memory limit, e.g. "8GiB".
const MemoryLimitEnv = "FOLKEKOMMUNE_DUCKDB_MEMORY_LIMIT"

// memoryLimit is the limit to give DuckDB: the environment's, or half the
// machine's memory. DuckDB's own default (80 %) leaves too little for the
// Go side of the broker on the same machine (a national pull's identity
// cache, HTTP buffers), and past its limit DuckDB spills to disk instead
// of the process being killed.
func memoryLimit() string {
	if v := os.Getenv(MemoryLimitEnv); v != "" {
		if !memoryLimitPattern.MatchString(v) {
			return ""
		}
		return v
	}
	var info unix.Sysinfo_t
	if err := unix.Sysinfo(&info); err != nil || info.Totalram == 0 {
		return ""
	}
	total := uint64(info.Totalram) * uint64(info.Unit)
	return strconv.FormatUint(total/2>>20, 10) + "MiB"
}

var memoryLimitPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$`)

// Path is the file the database lives in ("" for in-memory).
func (db *DB) Path() string { return db.path }

// Close closes the pool and the underlying DuckDB instance.
func (db *DB) Close() error {
	err := db.DB.Close()
	if cerr := db.connector.Close(); err == nil {
		err = cerr
	}
	return err
}

// InTx runs fn in one transaction: committed when fn returns nil, rolled
// back otherwise (and on panic).
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
		if err != nil {
			tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// conflictAttempts bounds how often InTxRetry runs a transaction that
// keeps losing write conflicts.
const conflictAttempts = 8

// InTxRetry runs fn in a transaction like InTx, and again on a fresh
// transaction when it loses a write conflict. DuckDB's concurrency is
// optimistic, and every change that is audited appends to the audit
// chain, whose head all writers touch: of two simultaneous changes one
// fails (on the chain's next seq or on commit) and simply runs again on
// the new head. fn must be safe to run more than once: it may not carry
// state from one attempt to the next.
func (db *DB) InTxRetry(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var err error
	for attempt := 1; attempt <= conflictAttempts; attempt++ {
		if err = db.InTx(ctx, fn); err == nil || !IsConflict(err) {
			return err
		}
		wait := time.Duration(1<<attempt+rand.IntN(1<<attempt)) * time.Millisecond
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	return fmt.Errorf("gave up after %d write conflicts: %w", conflictAttempts, err)
}

// IsConflict reports whether err is a lost optimistic-concurrency race
// (DuckDB's transaction conflict, or a duplicate key taken by a
// transaction that committed first) rather than a fault of the change
// itself. Errors that do not come from DuckDB are never conflicts.
func IsConflict(err error) bool {
	var de *duckdb.Error
	if !errors.As(err, &de) {
		return false
	}
	switch de.Type {
	case duckdb.ErrorTypeTransaction:
		return true
	case duckdb.ErrorTypeConstraint:
		return strings.Contains(strings.ToLower(de.Msg), "duplicate key")
	}
	return strings.Contains(strings.ToLower(de.Msg), "conflict")
}

// AppenderTarget names a table to append to: Catalog is "" for the
// database's own tables and "temp" for the connection's temporary tables.
type AppenderTarget struct {
	Catalog, Table string
}

// WithAppenders gives fn one DuckDB appender per target, all on the
// dedicated connection conn (so that they see its temporary tables). They
// are flushed and closed when fn returns nil. They are opened together
// because a connection lends out its driver connection once at a time.
func WithAppenders(ctx context.Context, conn *sql.Conn, targets []AppenderTarget, fn func(a []*duckdb.Appender) error) error {
	return conn.Raw(func(driverConn any) error {
		dc, ok := driverConn.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("appender: connection is %T, not DuckDB", driverConn)
		}
		apps := make([]*duckdb.Appender, 0, len(targets))
		closeAll := func() {
			for _, a := range apps {
				a.Close()
			}
		}
		for _, t := range targets {
			schema := ""
			if t.Catalog != "" {
				schema = "main"
			}
			a, err := duckdb.NewAppender(dc, t.Catalog, schema, t.Table)
			if err != nil {
				closeAll()
				return fmt.Errorf("appender on %s: %w", t.Table, err)
			}
			apps = append(apps, a)
		}
		if err := fn(apps); err != nil {
			closeAll()
			return err
		}
		for i, a := range apps {
			if err := a.CloseWithCancel(ctx); err != nil {
				for _, rest := range apps[i+1:] {
					rest.Close()
				}
				return fmt.Errorf("flush appender on %s: %w", targets[i].Table, err)
			}
		}
		return nil
	})
}

// Migration is one embedded schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations lists the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %s: name must be NNNN_description.sql", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migration files %s and %s share version %d", other, name, v)
		}
		seen[v] = name
		body, err := migrationFiles.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: rest, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// SchemaVersion is the highest migration applied to the database.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migration`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return int(v.Int64), nil
}

func (db *DB) migrate(ctx context.Context, upTo int) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migration (
		version INTEGER PRIMARY KEY,
		name VARCHAR NOT NULL,
		applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)`); err != nil {
		return fmt.Errorf("create schema_migration: %w", err)
	}
	current, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	all, err := Migrations()
	if err != nil {
		return err
	}
	applied := 0
	for _, m := range all {
		if m.Version <= current || m.Version > upTo {
			continue
		}
		applied++
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migration (version, name) VALUES (?, ?)`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("apply migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	// Schema changes go to the data file at once: DuckDB cannot replay
	// some of them from its write-ahead log (ALTER TABLE … ADD COLUMN on a
	// table with a nextval() default), so a broker killed before its next
	// checkpoint could not open its database again.
	if applied > 0 && db.path != "" {
		if _, err := db.ExecContext(ctx, `CHECKPOINT`); err != nil {
			return fmt.Errorf("checkpoint after migrations: %w", err)
		}
	}
	return nil
}
