package extract

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

// SourceState is what the extract registry knows of one source: its
// latest attempt and its latest loaded extract, whose mark is where the
// next incremental pull starts.
type SourceState struct {
	Name string // the configured source's name; "" for one-off pulls
	// The latest attempt, whatever its outcome (zero when none).
	LastID       int64
	LastStatus   string // running, loaded or failed
	LastStarted  time.Time
	LastFinished time.Time // zero while running
	LastMessage  string
	// The latest loaded extract (zero when none).
	LoadedID    int64
	LoadedAt    time.Time
	Mode        string // full or incremental
	Fingerprint string // of the loaded parts: the same parts again are a no-op
	// Mark is the high-water mark of the loaded data (FHIR: the
	// transactionTime of the last loaded export): the _since of the next
	// incremental pull, "" when the next pull must be full.
	Mark     string
	Datasets []Dataset // the datasets the source provided in its last load
	// Rows counts the source's rows in the pulled tables now, by table.
	Rows map[string]int64
}

// pulledTables are the tables a pull fills, each with its rid (migration
// 0007) and sid (0009) columns.
var pulledTables = []string{"person", "residence", "growth", "vaccination", "gp_contact", "care_decision"}

// ReadSourceState reads the registry's state of the source called name
// ("" for one-off pulls from the command line). A source never pulled
// has a zero state (LastID 0) and no error.
func ReadSourceState(ctx context.Context, db *store.DB, name string) (SourceState, error) {
	st := SourceState{Name: name, Rows: map[string]int64{}}
	var finished sql.NullTime
	err := db.QueryRowContext(ctx, `SELECT id, status, started_at, finished_at, message FROM extract
		WHERE coalesce(source_name, '') = ? ORDER BY id DESC LIMIT 1`, name).
		Scan(&st.LastID, &st.LastStatus, &st.LastStarted, &finished, &st.LastMessage)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("read extract registry of source %q: %w", name, err)
	}
	st.LastFinished = finished.Time
	var loaded sql.NullTime
	var datasets string
	err = db.QueryRowContext(ctx, `SELECT id, finished_at, coalesce(mode, 'full'), fingerprint, coalesce(mark, ''), coalesce(datasets, '') FROM extract
		WHERE coalesce(source_name, '') = ? AND status = 'loaded' ORDER BY id DESC LIMIT 1`, name).
		Scan(&st.LoadedID, &loaded, &st.Mode, &st.Fingerprint, &st.Mark, &datasets)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("read extract registry of source %q: %w", name, err)
	}
	st.LoadedAt = loaded.Time
	for _, d := range strings.Split(datasets, ",") {
		if d != "" {
			st.Datasets = append(st.Datasets, Dataset(d))
		}
	}
	for _, t := range pulledTables {
		var n int64
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+t+` WHERE sid = (SELECT sid FROM source_key WHERE name = ?)`, name).Scan(&n); err != nil {
			return st, fmt.Errorf("count the rows of source %q: %w", name, err)
		}
		if n > 0 {
			st.Rows[t] = n
		}
	}
	return st, nil
}

// SourceStates reads the state of every source the registry has seen, by
// name.
func SourceStates(ctx context.Context, db *store.DB) ([]SourceState, error) {
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT coalesce(source_name, '') AS n FROM extract ORDER BY n`)
	if err != nil {
		return nil, fmt.Errorf("read extract registry: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read extract registry: %w", err)
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read extract registry: %w", err)
	}
	out := make([]SourceState, 0, len(names))
	for _, n := range names {
		st, err := ReadSourceState(ctx, db, n)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}
