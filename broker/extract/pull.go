package extract

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/audit"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

// sqlFile returns an embedded SQL file, or the statement under a
// "-- name: X" line of it when name is given.
func sqlFile(file, name string) string {
	b, err := sqlFiles.ReadFile("sql/" + file)
	if err != nil {
		panic(err) // embedded at build time; a missing file is a build error
	}
	s := string(b)
	if name == "" {
		return s
	}
	_, rest, ok := strings.Cut(s, "-- name: "+name+"\n")
	if !ok {
		panic("extract: no statement " + name + " in " + file)
	}
	if i := strings.Index(rest, "-- name: "); i >= 0 {
		rest = rest[:i]
	}
	return rest
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
	// Audit, if set, records every pull that loads or fails in the audit
	// log; a loaded pull's entry commits in the same transaction as its data.
	Audit *audit.Log
	// Actor is who asked for the pull ("system" for the schedule).
	Actor string
	// SourceName is the configured source's name (the sources file); empty
	// for a one-off pull from the command line. A pull replaces or updates
	// only the rows of its source; the registry, the no-op check and the
	// high-water mark are per source.
	SourceName string
	// Datasets, if set, limits the pull to these datasets of the source
	// (a source that provides only some); the others' rows stay as they are.
	Datasets []Dataset
	// Full makes an incremental source export everything and replace its
	// rows, as on its first pull.
	Full bool
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
	Unchanged   bool   // the same files were already loaded; nothing was done
	Incremental bool   // a change set upserted by record id, not a full snapshot
	Mark        string // the source's high-water mark after this pull
	Files       []FileResult
	RowsRead    int64
	Loaded      int64
	Quarantined int64
	Duration    time.Duration
}

// Pull reads src, validates and pseudonymises every record and loads the
// result as the rows of the source opt.SourceName, in one transaction: a
// full snapshot replaces the source's rows of the datasets it provides; a
// change set of an IncrementalSource (every pull after its first) replaces
// only the rows of the records it carries. Other sources' rows and other
// datasets stay. Pulling parts that were already loaded is a no-op
// (Result.Unchanged). A failed pull leaves the previous data as it was and
// is recorded in the extract registry with its reason; so is a pull the
// broker was killed in, when the source is next pulled.
func Pull(ctx context.Context, db *store.DB, src Source, opt Options) (Result, error) {
	if len(opt.Key) < 32 {
		return Result{}, errors.New("pull: pseudonymisation key missing or shorter than 32 bytes")
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	started := now()
	st, err := ReadSourceState(ctx, db, opt.SourceName)
	if err != nil {
		return Result{}, err
	}
	// Whatever pull of this source was running when the broker stopped
	// never committed: its data are not there, and the registry says so.
	if _, err := db.ExecContext(ctx, `UPDATE extract SET status = 'failed', finished_at = ?, message = 'interrupted: the broker stopped during the pull'
		WHERE status = 'running' AND coalesce(source_name, '') = ?`, started, opt.SourceName); err != nil {
		return Result{}, fmt.Errorf("update extract registry: %w", err)
	}
	inc, _ := src.(IncrementalSource)
	keyed, _ := src.(KeyedSource)
	since := ""
	if inc != nil && !opt.Full && st.LoadedID != 0 && st.Mark != "" && st.Rows != nil && len(st.Rows) > 0 {
		since = st.Mark
	}
	var parts []Part
	for {
		if inc != nil {
			if err := inc.SetSince(since); err != nil {
				return Result{}, err
			}
		}
		parts, err = src.Parts(ctx)
		if err != nil {
			return Result{}, err
		}
		if len(opt.Datasets) > 0 {
			parts = slices.DeleteFunc(parts, func(p Part) bool { return !slices.Contains(opt.Datasets, p.Dataset) })
		}
		if len(parts) == 0 {
			return Result{}, fmt.Errorf("source %s provides no dataset to pull", src.Location())
		}
		// A change set holds only what changed in the datasets loaded
		// before: a dataset the source did not provide then needs a full
		// export first.
		if since != "" && !sameDatasets(parts, st.Datasets) {
			since = ""
			continue
		}
		break
	}
	incremental := since != ""
	mode := "full"
	if incremental {
		mode = "incremental"
	}
	mark := ""
	if inc != nil {
		mark = inc.Mark()
	}
	fp := fingerprint(parts)
	if st.LoadedID != 0 && st.Fingerprint == fp && st.Mode == mode || incremental && emptyParts(parts) {
		if r, ok := src.(Resumable); ok {
			r.Done()
		}
		return Result{ExtractID: st.LoadedID, Unchanged: true, Duration: now().Sub(started)}, nil
	}
	var id int64
	if err := db.QueryRowContext(ctx, `INSERT INTO extract (source, connector, fingerprint, status, started_at, source_name, mode, mark, datasets)
		VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?) RETURNING id`,
		src.Location(), src.Kind(), fp, started, opt.SourceName, mode, mark, datasetList(parts)).Scan(&id); err != nil {
		return Result{}, fmt.Errorf("register extract: %w", err)
	}
	res, err := load(ctx, db, src, parts, id, now, opt, keyed, incremental)
	res.ExtractID, res.Incremental, res.Mark = id, incremental, mark
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
		if opt.Audit != nil {
			if _, aerr := opt.Audit.Append(rctx, nil, pullEvent(opt, src, id, fp, "failed", res, err.Error())); aerr != nil {
				return res, fmt.Errorf("%w (and auditing the failure failed: %v)", err, aerr)
			}
		}
		// A download kept for resuming is for a pull the broker was
		// stopped in; one refused is not loaded again from the spool: the
		// next pull asks the source anew.
		if r, ok := src.(Resumable); ok && ctx.Err() == nil {
			if derr := r.Done(); derr != nil {
				slog.Warn("pull: spool not removed", "extract", id, "err", derr)
			}
		}
		return res, err
	}
	if r, ok := src.(Resumable); ok {
		if err := r.Done(); err != nil {
			slog.Warn("pull: spool not removed", "extract", id, "err", err)
		}
	}
	return res, nil
}

func sameDatasets(parts []Part, loaded []Dataset) bool {
	if len(parts) != len(loaded) {
		return false
	}
	for _, p := range parts {
		if !slices.Contains(loaded, p.Dataset) {
			return false
		}
	}
	return true
}

func emptyParts(parts []Part) bool {
	for _, p := range parts {
		if p.Bytes > 0 {
			return false
		}
	}
	return true
}

func datasetList(parts []Part) string {
	var ds []string
	for _, p := range parts {
		ds = append(ds, string(p.Dataset))
	}
	return strings.Join(ds, ",")
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

func load(ctx context.Context, db *store.DB, src Source, parts []Part, id int64, now func() time.Time, opt Options, keyed KeyedSource, incremental bool) (Result, error) {
	res := Result{}
	sid, err := sourceKey(ctx, db, opt.SourceName)
	if err != nil {
		return res, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return res, fmt.Errorf("pull: %w", err)
	}
	defer conn.Close()
	// The working tables are temporary to this connection; drop them
	// however the pull ends, since the pool keeps the connection alive.
	defer conn.ExecContext(context.WithoutCancel(ctx), sqlFile("load.sql", "cleanup"))
	defer dropRecordIDs(context.WithoutCancel(ctx), conn)
	if _, err := conn.ExecContext(ctx, sqlFile("prepare.sql", "")); err != nil {
		return res, fmt.Errorf("prepare pull: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO pull_ctx VALUES (?)`, now()); err != nil {
		return res, fmt.Errorf("prepare pull: %w", err)
	}
	if err := defineCodeMacros(ctx, conn); err != nil {
		return res, err
	}

	var total int64
	for _, p := range parts {
		total += p.Bytes
	}
	stageStart := time.Now()
	progress := func(done int64) {
		if opt.Progress != nil {
			opt.Progress(done, total)
		}
		slog.Debug("pull stage", "extract", id, "done_bytes", done, "elapsed", time.Since(stageStart))
	}
	// Stage 1 (about half the work): every part into a raw text table.
	var done int64
	for _, p := range parts {
		if err := loadRaw(ctx, conn, src, p); err != nil {
			return res, err
		}
		if keyed != nil {
			if err := loadRecordIDs(ctx, conn, keyed, p); err != nil {
				return res, err
			}
		}
		done += p.Bytes / 2
		progress(done)
		testHook("raw " + string(p.Dataset))
	}
	// The datasets the source does not provide are staged empty, so that
	// every later stage finds its tables; they are not loaded.
	for _, l := range Layouts {
		if !slices.ContainsFunc(parts, func(p Part) bool { return p.Dataset == l.Dataset }) {
			if err := loadRaw(ctx, conn, emptySource{}, Part{Dataset: l.Dataset, Name: "none"}); err != nil {
				return res, err
			}
		}
	}
	refs := false
	if pr, ok := src.(PersonReferencing); ok {
		if refs, err = loadPersonRefs(ctx, conn, pr); err != nil {
			return res, err
		}
	}
	if incremental && keyed != nil && slices.ContainsFunc(parts, func(p Part) bool { return p.Dataset == GPContact }) {
		if _, err := conn.ExecContext(ctx, sqlFile("merge.sql", "keep diagnoses"), sid); err != nil {
			return res, fmt.Errorf("keep the diagnoses of changed contacts: %w", err)
		}
	}
	// From here on every row carries its line, so DuckDB may reorder rows
	// freely: that lets it build the working tables in parallel.
	if _, err := conn.ExecContext(ctx, `SET preserve_insertion_order = false`); err != nil {
		return res, fmt.Errorf("prepare pull: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `RESET preserve_insertion_order`)
	// Stage 2: identities checked and pseudonymised once per person.
	ps := NewPseudonymiser(opt.Key)
	if err := loadIdentities(ctx, conn, ps); err != nil {
		return res, err
	}
	if ps.Collisions > 0 {
		return res, fmt.Errorf("pull refused: %d pseudonym collisions between distinct identities; rotate to a new key", ps.Collisions)
	}
	if refs {
		if _, err := conn.ExecContext(ctx, sqlFile("merge.sql", "person refs")); err != nil {
			return res, fmt.Errorf("identify the persons the records refer to: %w", err)
		}
		if _, err := conn.ExecContext(ctx, `DROP TABLE temp.person_ref`); err != nil {
			return res, fmt.Errorf("identify the persons the records refer to: %w", err)
		}
	}
	if incremental {
		if _, err := conn.ExecContext(ctx, sqlFile("merge.sql", "resolve patients"), opt.SourceName); err != nil {
			return res, fmt.Errorf("resolve the patients of a change set: %w", err)
		}
		if _, err := conn.ExecContext(ctx, sqlFile("merge.sql", "unresolved patients")); err != nil {
			return res, fmt.Errorf("resolve the patients of a change set: %w", err)
		}
	}
	// Stage 3: every row checked in SQL against the code lists and rules
	// (the empty stand-ins too: the duplicate search reads every table).
	for _, l := range Layouts {
		p := Part{Dataset: l.Dataset, Name: l.File}
		if i := slices.IndexFunc(parts, func(p Part) bool { return p.Dataset == l.Dataset }); i >= 0 {
			p = parts[i]
		}
		if _, err := conn.ExecContext(ctx, sqlFile("check.sql", string(p.Dataset))); err != nil {
			return res, fmt.Errorf("validate %s: %w", p.Name, err)
		}
		done += p.Bytes / 4
		progress(done)
	}
	// The raw text is no longer needed: free its memory before the load.
	if _, err := conn.ExecContext(ctx, sqlFile("load.sql", "drop raw")); err != nil {
		return res, fmt.Errorf("drop raw tables: %w", err)
	}
	if _, err := conn.ExecContext(ctx, sqlFile("load.sql", "duplicates")); err != nil {
		return res, fmt.Errorf("find duplicate rows: %w", err)
	}
	slog.Debug("pull stage duplicates", "elapsed", time.Since(stageStart))
	for _, p := range parts {
		fr := FileResult{Part: p}
		chk := "chk_" + string(p.Dataset)
		if err := conn.QueryRowContext(ctx, `SELECT count(*), count(problem) + (SELECT count(*) FROM dup WHERE dataset = ?) FROM `+chk,
			string(p.Dataset)).Scan(&fr.RowsRead, &fr.Quarantined); err != nil {
			return res, fmt.Errorf("count %s: %w", p.Name, err)
		}
		fr.Loaded = fr.RowsRead - fr.Quarantined
		res.Files = append(res.Files, fr)
		res.RowsRead += fr.RowsRead
		res.Loaded += fr.Loaded
		res.Quarantined += fr.Quarantined
	}

	slog.Debug("pull stage counted", "elapsed", time.Since(stageStart))
	// Stage 4: one transaction replaces the data and records the extract.
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("begin load: %w", err)
	}
	defer tx.Rollback()
	if err := checkPopulationOwner(ctx, tx, parts, sid); err != nil {
		return res, err
	}
	if err := merge(ctx, tx, parts, sid, keyed != nil, incremental); err != nil {
		return res, err
	}
	if refs {
		if err := mergePersonRefs(ctx, tx, opt.SourceName, incremental); err != nil {
			return res, err
		}
	}
	slog.Debug("pull stage merged", "elapsed", time.Since(stageStart))
	testHook("merged")
	for _, f := range res.Files {
		chk := "chk_" + string(f.Dataset)
		if _, err := tx.ExecContext(ctx, `INSERT INTO quarantine (extract_id, dataset, file, line, field, reason)
			SELECT ?, ?, ?, line, split_part(problem, '|', 1), problem[strpos(problem, '|') + 1:]
			FROM `+chk+` WHERE problem IS NOT NULL
			UNION ALL
			SELECT ?, ?, ?, line, '', 'duplicate of line ' || first FROM dup WHERE dataset = ?`,
			id, string(f.Dataset), f.Name, id, string(f.Dataset), f.Name, string(f.Dataset)); err != nil {
			return res, fmt.Errorf("record quarantine of %s: %w", f.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO extract_file (extract_id, dataset, path, sha256, bytes, rows_read, rows_loaded, rows_quarantined)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, string(f.Dataset), f.Name, f.SHA256, f.Bytes, f.RowsRead, f.Loaded, f.Quarantined); err != nil {
			return res, fmt.Errorf("record extract file %s: %w", f.Name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE extract SET status = 'loaded', finished_at = ?, rows_read = ?, rows_loaded = ?, rows_quarantined = ?, message = ? WHERE id = ?`,
		now(), res.RowsRead, res.Loaded, res.Quarantined, summary(res), id); err != nil {
		return res, fmt.Errorf("record extract: %w", err)
	}
	if opt.Audit != nil {
		if _, err := opt.Audit.Append(ctx, tx, pullEvent(opt, src, id, fingerprint(parts), "loaded", res, "")); err != nil {
			return res, fmt.Errorf("audit pull: %w", err)
		}
	}
	if opt.beforeCommit != nil {
		if err := opt.beforeCommit(ctx, tx); err != nil {
			return res, err
		}
	}
	slog.Debug("pull stage recorded", "elapsed", time.Since(stageStart))
	testHook("commit")
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("commit pull: %w", err)
	}
	progress(total)
	return res, nil
}

// pullEvent describes a pull for the audit log: counts and checksums, never
// a row.
func pullEvent(opt Options, src Source, id int64, fp, status string, res Result, message string) audit.Event {
	actor := opt.Actor
	if actor == "" {
		actor = "system"
	}
	files := make([]any, 0, len(res.Files))
	for _, f := range res.Files {
		files = append(files, map[string]any{
			"path": f.Name, "sha256": f.SHA256, "rows_read": f.RowsRead,
			"rows_loaded": f.Loaded, "rows_quarantined": f.Quarantined,
		})
	}
	detail := map[string]any{
		"status": status, "connector": src.Kind(), "source": src.Location(), "fingerprint": fp,
		"rows_read": res.RowsRead, "rows_loaded": res.Loaded, "rows_quarantined": res.Quarantined, "files": files,
	}
	if message != "" {
		detail["message"] = message
	}
	return audit.Event{Kind: audit.KindPull, Actor: actor, Object: fmt.Sprintf("extract/%d", id), Detail: detail}
}

func summary(r Result) string {
	return fmt.Sprintf("%d rows read, %d loaded, %d quarantined", r.RowsRead, r.Loaded, r.Quarantined)
}
