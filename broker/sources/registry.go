package sources

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The extract registry as admins read it: every pull with its counts, its
// files, and how many rows were quarantined for which reason — never a
// row's content.

// Extract is one pull in the registry.
type Extract struct {
	ID              int64      `json:"id"`
	SourceName      string     `json:"source"`         // the configured source; "" for a one-off pull
	Location        string     `json:"location"`       // where it came from (no credentials)
	Connector       string     `json:"connector"`      // filedrop, fhir, sql
	Mode            string     `json:"mode"`           // full or incremental
	Mark            string     `json:"mark,omitempty"` // the source's high-water mark after the pull
	Status          string     `json:"status"`         // running, loaded, failed, unchanged
	StartedAt       time.Time  `json:"started_at"`
	FinishedAt      *time.Time `json:"finished_at,omitempty"`
	RowsRead        int64      `json:"rows_read"`
	RowsLoaded      int64      `json:"rows_loaded"`
	RowsQuarantined int64      `json:"rows_quarantined"`
	Message         string     `json:"message"`
}

// ExtractFile is one part of a pull.
type ExtractFile struct {
	Dataset         string `json:"dataset"`
	Path            string `json:"path"`
	SHA256          string `json:"sha256"`
	Bytes           int64  `json:"bytes"`
	RowsRead        int64  `json:"rows_read"`
	RowsLoaded      int64  `json:"rows_loaded"`
	RowsQuarantined int64  `json:"rows_quarantined"`
}

// QuarantineCount is how many rows of a file were quarantined for one
// reason in one field.
type QuarantineCount struct {
	Dataset string `json:"dataset"`
	File    string `json:"file"`
	Field   string `json:"field"`
	Reason  string `json:"reason"`
	Rows    int64  `json:"rows"`
}

// ExtractDetail is a pull with its files and quarantine counts.
type ExtractDetail struct {
	Extract
	Files      []ExtractFile     `json:"files"`
	Quarantine []QuarantineCount `json:"quarantine"`
}

// Statuses a pull can have in the registry.
var Statuses = []string{"running", "loaded", "failed", "unchanged"}

// ExtractFilter narrows ListExtracts.
type ExtractFilter struct {
	Source *string // this configured source ("" for one-off pulls); nil: all
	Status string
	Limit  int // default 50
}

// ErrNoExtract is a registry id that does not exist.
var ErrNoExtract = errors.New("no such extract")

const extractColumns = `id, coalesce(source_name, ''), source, connector, coalesce(mode, 'full'), coalesce(mark, ''), status, started_at, finished_at, rows_read, rows_loaded, rows_quarantined, message`

// ListExtracts returns the newest pulls first.
func ListExtracts(ctx context.Context, db *sql.DB, f ExtractFilter) ([]Extract, error) {
	var where []string
	var args []any
	if f.Source != nil {
		where = append(where, "coalesce(source_name, '') = ?")
		args = append(args, *f.Source)
	}
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, f.Status)
	}
	q := `SELECT ` + extractColumns + ` FROM extract`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, f.Limit)
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read the extract registry: %w", err)
	}
	defer rows.Close()
	out := []Extract{}
	for rows.Next() {
		e, err := scanExtract(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func scanExtract(row interface{ Scan(...any) error }) (Extract, error) {
	var e Extract
	var fin sql.NullTime
	if err := row.Scan(&e.ID, &e.SourceName, &e.Location, &e.Connector, &e.Mode, &e.Mark, &e.Status, &e.StartedAt, &fin, &e.RowsRead, &e.RowsLoaded, &e.RowsQuarantined, &e.Message); err != nil {
		return e, fmt.Errorf("read the extract registry: %w", err)
	}
	e.StartedAt = e.StartedAt.UTC()
	if fin.Valid {
		t := fin.Time.UTC()
		e.FinishedAt = &t
	}
	return e, nil
}

// GetExtract returns one pull with its files and quarantine counts.
func GetExtract(ctx context.Context, db *sql.DB, id int64) (ExtractDetail, error) {
	e, err := scanExtract(db.QueryRowContext(ctx, `SELECT `+extractColumns+` FROM extract WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return ExtractDetail{}, fmt.Errorf("%w: %d", ErrNoExtract, id)
	}
	if err != nil {
		return ExtractDetail{}, err
	}
	d := ExtractDetail{Extract: e, Files: []ExtractFile{}, Quarantine: []QuarantineCount{}}
	rows, err := db.QueryContext(ctx, `SELECT dataset, path, sha256, bytes, rows_read, rows_loaded, rows_quarantined
		FROM extract_file WHERE extract_id = ? ORDER BY dataset, path`, id)
	if err != nil {
		return d, fmt.Errorf("read the extract's files: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var f ExtractFile
		if err := rows.Scan(&f.Dataset, &f.Path, &f.SHA256, &f.Bytes, &f.RowsRead, &f.RowsLoaded, &f.RowsQuarantined); err != nil {
			return d, fmt.Errorf("read the extract's files: %w", err)
		}
		d.Files = append(d.Files, f)
	}
	if err := rows.Err(); err != nil {
		return d, err
	}
	// A duplicate's reason names the line it repeats; counted together.
	qrows, err := db.QueryContext(ctx, `SELECT dataset, file, field,
			CASE WHEN reason LIKE 'duplicate of line %' THEN 'duplicate of an earlier line' ELSE reason END AS why, count(*)
		FROM quarantine WHERE extract_id = ? GROUP BY ALL ORDER BY dataset, file, count(*) DESC, field, why`, id)
	if err != nil {
		return d, fmt.Errorf("read the extract's quarantine: %w", err)
	}
	defer qrows.Close()
	for qrows.Next() {
		var q QuarantineCount
		if err := qrows.Scan(&q.Dataset, &q.File, &q.Field, &q.Reason, &q.Rows); err != nil {
			return d, fmt.Errorf("read the extract's quarantine: %w", err)
		}
		d.Quarantine = append(d.Quarantine, q)
	}
	return d, qrows.Err()
}

// LastPull is a source's newest pull in the registry, if any.
func LastPull(ctx context.Context, db *sql.DB, s *Source) (*Extract, error) {
	list, err := ListExtracts(ctx, db, ExtractFilter{Source: &s.Name, Limit: 1})
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return &list[0], nil
}

// HighWaterMark is the mark of the source's last loaded pull: where its
// next incremental pull starts ("" when the next pull is full).
func HighWaterMark(ctx context.Context, db *sql.DB, name string) (string, error) {
	var mark string
	err := db.QueryRowContext(ctx, `SELECT coalesce(mark, '') FROM extract
		WHERE coalesce(source_name, '') = ? AND status = 'loaded' ORDER BY id DESC LIMIT 1`, name).Scan(&mark)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the extract registry: %w", err)
	}
	return mark, nil
}
