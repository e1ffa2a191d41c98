package extract

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

func sqlFile(name string) string {
	b, err := sqlFiles.ReadFile("sql/" + name)
	if err != nil {
		panic(err) // embedded at build time; a missing file is a build error
	}
	return string(b)
}

// Options configure a pull.
type Options struct {
	// Key is the pseudonymisation key (LoadKey).
	Key []byte
	// Progress, if set, is called now and then with the bytes read so far
	// and the extract's total.
	Progress func(done, total int64)
	// Now is the clock; nil means time.Now. Dates after it are impossible.
	Now func() time.Time
	// beforeCommit lets tests inject a failure at the last moment.
	beforeCommit func(ctx context.Context, tx *sql.Tx) error
}

// FileResult counts one file of a pull.
type FileResult struct {
	Part
	RowsRead    int64
	Loaded      int64
	Quarantined int64
}

// Result says what a pull did.
type Result struct {
	ExtractID   int64
	Unchanged   bool // the same files were already loaded; nothing was done
	Files       []FileResult
	RowsRead    int64
	Loaded      int64
	Quarantined int64
	Duration    time.Duration
}

// Pull reads src, validates and pseudonymises every record and replaces
// the pulled tables with the result in one transaction. Pulling files
// that were already loaded is a no-op (Result.Unchanged). A failed pull
// leaves the previous data as it was and is recorded in the extract
// registry with its reason.
func Pull(ctx context.Context, db *store.DB, src Source, opt Options) (Result, error) {
	if len(opt.Key) < 32 {
		return Result{}, errors.New("pull: pseudonymisation key missing or shorter than 32 bytes")
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	started := now()
	parts, err := src.Parts(ctx)
	if err != nil {
		return Result{}, err
	}
	fp := fingerprint(parts)
	var lastID int64
	var lastFP string
	err = db.QueryRowContext(ctx, `SELECT id, fingerprint FROM extract WHERE status = 'loaded' ORDER BY id DESC LIMIT 1`).Scan(&lastID, &lastFP)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Result{}, fmt.Errorf("read extract registry: %w", err)
	}
	if lastFP == fp {
		return Result{ExtractID: lastID, Unchanged: true, Duration: now().Sub(started)}, nil
	}
	if _, err := db.ExecContext(ctx, `UPDATE extract SET status = 'failed', finished_at = ?, message = 'interrupted: the broker stopped during the pull' WHERE status = 'running'`, started); err != nil {
		return Result{}, fmt.Errorf("update extract registry: %w", err)
	}
	var id int64
	if err := db.QueryRowContext(ctx, `INSERT INTO extract (source, connector, fingerprint, status, started_at) VALUES (?, ?, ?, 'running', ?) RETURNING id`,
		src.Location(), src.Kind(), fp, started).Scan(&id); err != nil {
		return Result{}, fmt.Errorf("register extract: %w", err)
	}
	res, err := load(ctx, db, src, parts, id, now, opt)
	res.ExtractID = id
	res.Duration = now().Sub(started)
	if err != nil {
		// The pull's own context may be the reason it failed; the failure
		// must still be recorded.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, rerr := db.ExecContext(rctx, `UPDATE extract SET status = 'failed', finished_at = ?, rows_read = ?, message = ? WHERE id = ?`,
			now(), res.RowsRead, err.Error(), id); rerr != nil {
			return res, fmt.Errorf("%w (and recording the failure failed: %v)", err, rerr)
		}
		return res, err
	}
	return res, nil
}

func fingerprint(parts []Part) string {
	lines := make([]string, 0, len(parts))
	for _, p := range parts {
		lines = append(lines, p.Name+":"+p.SHA256)
	}
	sort.Strings(lines)
	h := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(h[:])
}

var stagingTable = map[Dataset]string{
	Population:  "stg_population",
	Growth:      "stg_growth",
	Vaccination: "stg_vaccination",
	GPContact:   "stg_gp_contact",
	Care:        "stg_care",
}

func load(ctx context.Context, db *store.DB, src Source, parts []Part, id int64, now func() time.Time, opt Options) (Result, error) {
	res := Result{}
	conn, err := db.Conn(ctx)
	if err != nil {
		return res, fmt.Errorf("pull: %w", err)
	}
	defer conn.Close()
	// Staging tables are temporary to this connection; drop them however
	// the pull ends, since the pool keeps the connection alive.
	defer conn.ExecContext(context.WithoutCancel(ctx), sqlFile("cleanup.sql"))
	if _, err := conn.ExecContext(ctx, sqlFile("staging.sql")); err != nil {
		return res, fmt.Errorf("create staging tables: %w", err)
	}

	var total int64
	for _, p := range parts {
		total += p.Bytes
	}
	ps := NewPseudonymiser(opt.Key)
	v := newValidator(ps, now())
	var done int64
	for _, p := range parts {
		fr := FileResult{Part: p}
		targets := []store.AppenderTarget{{Catalog: "temp", Table: stagingTable[p.Dataset]}, {Catalog: "temp", Table: "stg_quarantine"}}
		err := store.WithAppenders(ctx, conn, targets, func(apps []*duckdb.Appender) error {
			a, qa := apps[0], apps[1]
			{
				var bytes int64
				return src.Read(ctx, p, func(line int64, rec []string) error {
					fr.RowsRead++
					for _, f := range rec {
						bytes += int64(len(f)) + 1
					}
					if fr.RowsRead%(1<<16) == 0 && opt.Progress != nil {
						opt.Progress(done+min(bytes, p.Bytes), total)
					}
					if prob := v.validate(p.Dataset, line, rec); prob != nil {
						fr.Quarantined++
						return qa.AppendRow(string(p.Dataset), p.Name, line, prob.field, prob.reason)
					}
					return a.AppendRow(v.row...)
				})
			}
		})
		if err != nil {
			res.RowsRead += fr.RowsRead
			return res, err
		}
		done += p.Bytes
		if opt.Progress != nil {
			opt.Progress(done, total)
		}
		res.Files = append(res.Files, fr)
		res.RowsRead += fr.RowsRead
	}
	if ps.Collisions > 0 {
		return res, fmt.Errorf("pull refused: %d pseudonym collisions between distinct identities; rotate to a new key", ps.Collisions)
	}
	if _, err := conn.ExecContext(ctx, sqlFile("duplicates.sql")); err != nil {
		return res, fmt.Errorf("find duplicate rows: %w", err)
	}
	dups := map[Dataset]int64{}
	rows, err := conn.QueryContext(ctx, `SELECT dataset, count(*) FROM stg_duplicate GROUP BY dataset`)
	if err != nil {
		return res, fmt.Errorf("count duplicate rows: %w", err)
	}
	for rows.Next() {
		var ds string
		var n int64
		if err := rows.Scan(&ds, &n); err != nil {
			rows.Close()
			return res, fmt.Errorf("count duplicate rows: %w", err)
		}
		dups[Dataset(ds)] = n
	}
	rows.Close()
	for i := range res.Files {
		f := &res.Files[i]
		f.Quarantined += dups[f.Dataset]
		f.Loaded = f.RowsRead - f.Quarantined
		res.Loaded += f.Loaded
		res.Quarantined += f.Quarantined
	}

	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("begin load: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, sqlFile("replace.sql")); err != nil {
		return res, fmt.Errorf("load pulled tables: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO quarantine (extract_id, dataset, file, line, field, reason)
		SELECT ?, dataset, file, line, field, reason FROM stg_quarantine`, id); err != nil {
		return res, fmt.Errorf("record quarantine: %w", err)
	}
	for _, f := range res.Files {
		if _, err := tx.ExecContext(ctx, `INSERT INTO quarantine (extract_id, dataset, file, line, field, reason)
			SELECT ?, dataset, ?, line, '', 'duplicate of line ' || first FROM stg_duplicate WHERE dataset = ?`,
			id, f.Name, string(f.Dataset)); err != nil {
			return res, fmt.Errorf("record duplicates of %s: %w", f.Name, err)
		}
	}
	for _, f := range res.Files {
		if _, err := tx.ExecContext(ctx, `INSERT INTO extract_file (extract_id, dataset, path, sha256, bytes, rows_read, rows_loaded, rows_quarantined)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, string(f.Dataset), f.Name, f.SHA256, f.Bytes, f.RowsRead, f.Loaded, f.Quarantined); err != nil {
			return res, fmt.Errorf("record extract file %s: %w", f.Name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE extract SET status = 'loaded', finished_at = ?, rows_read = ?, rows_loaded = ?, rows_quarantined = ?, message = ? WHERE id = ?`,
		now(), res.RowsRead, res.Loaded, res.Quarantined, summary(res), id); err != nil {
		return res, fmt.Errorf("record extract: %w", err)
	}
	if opt.beforeCommit != nil {
		if err := opt.beforeCommit(ctx, tx); err != nil {
			return res, err
		}
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("commit pull: %w", err)
	}
	return res, nil
}

func summary(r Result) string {
	return fmt.Sprintf("%d rows read, %d loaded, %d quarantined", r.RowsRead, r.Loaded, r.Quarantined)
}
