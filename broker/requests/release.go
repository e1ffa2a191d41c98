package requests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
	"github.com/kunnskapskommunen/folkekommune/broker/disclosure"
	"github.com/kunnskapskommunen/folkekommune/policies"
)

// Release is an immutable, protected table made for a request.
type Release struct {
	ID            string      `json:"id"`
	RequestID     string      `json:"request_id"`
	ProjectID     string      `json:"project_id"`
	Dataset       string      `json:"dataset"`
	SpecSHA256    string      `json:"spec_sha256"`
	PolicyVersion string      `json:"policy_version"`
	DecisionID    string      `json:"decision_id"`
	ExtractID     int64       `json:"extract_id"`
	SHA256        string      `json:"sha256"` // of the table as JSON (cube.WriteJSON)
	Cells         int         `json:"cells"`
	Primary       int         `json:"primary_cells"`
	Secondary     int         `json:"secondary_cells"`
	Reuses        string      `json:"reuses,omitempty"`
	CreatedAt     time.Time   `json:"created_at"`
	Table         *cube.Table `json:"-"`
	tableJSON     []byte
}

// ledgerCell is one cell of a release in the project's ledger.
type ledgerCell struct {
	coords    string
	trueCount int64
	published sql.NullInt64
	status    string
}

// protected is a table made ready for release.
type protected struct {
	release *Release
	ledger  []ledgerCell
}

// protect counts the table for r in DuckDB, applies the obligations
// (suppression, rounding, cell-key perturbation) and passes the LP audit
// on the true counts. The same definition on the same extract for the same
// project repeats the numbers of the earlier release.
func (s *Service) protect(ctx context.Context, r *Request, ob policies.Obligations) (*protected, error) {
	rel := &Release{
		ID: newID("rel-"), RequestID: r.ID, ProjectID: strconv.FormatInt(r.Spec.Project, 10), Dataset: r.Spec.Dataset,
		SpecSHA256: r.Spec.Hash(), PolicyVersion: r.PolicyVersion, DecisionID: r.DecisionID, ExtractID: r.ExtractID,
	}
	var earlier, tableJSON string
	err := s.DB.QueryRowContext(ctx, `SELECT id, table_json FROM release WHERE project_id = ? AND spec_sha256 = ? AND extract_id = ? AND reuses IS NULL ORDER BY created_at LIMIT 1`,
		rel.ProjectID, rel.SpecSHA256, rel.ExtractID).Scan(&earlier, &tableJSON)
	switch {
	case err == nil:
		t, err := DecodeTable([]byte(tableJSON))
		if err != nil {
			return nil, fmt.Errorf("read release %s: %w", earlier, err)
		}
		rel.Reuses, rel.Table, rel.tableJSON = earlier, t, []byte(tableJSON)
		rel.count()
		sum := sha256.Sum256(rel.tableJSON)
		rel.SHA256 = hex.EncodeToString(sum[:])
		return &protected{release: rel}, nil
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("look for an earlier release of the same table: %w", err)
	}

	if err := s.placePopulation(ctx, r.ExtractID, r.Spec.Period.From, r.Spec.Period.To); err != nil {
		return nil, err
	}
	q, err := buildQueryFor(r.Spec, r.ExtractID, ob.Perturbation)
	if err != nil {
		return nil, err
	}
	t, err := queryCube(ctx, s.DB, q, ob.Perturbation)
	if err != nil {
		return nil, err
	}
	truth := make([]int64, len(t.Cells))
	for i, c := range t.Cells {
		truth[i] = c.Count
	}
	opt := disclosure.Options{K: ob.K, RoundingBase: ob.RoundingBase, Rounding: disclosure.RoundNearest}
	if ob.Perturbation {
		opt.CellKey = disclosure.DefaultPTable
	}
	facts, err := s.ledgerFacts(ctx, rel.ProjectID, r, t)
	if err != nil {
		return nil, err
	}
	opt.Facts = facts
	if _, err := disclosure.Protect(ctx, t, opt); err != nil {
		return nil, err
	}
	// The gate: the audit sees the true counts with the final statuses.
	gate := &cube.Table{Dimensions: t.Dimensions, Cells: make([]cube.Cell, len(t.Cells))}
	for i, c := range t.Cells {
		gate.Cells[i] = cube.Cell{Coords: c.Coords, Count: truth[i], Status: c.Status}
	}
	if _, err := disclosure.Audit(ctx, gate, disclosure.Options{K: ob.K, Facts: facts}); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := cube.WriteJSON(&buf, t); err != nil {
		return nil, err
	}
	rel.Table, rel.tableJSON = t, buf.Bytes()
	rel.count()
	sum := sha256.Sum256(rel.tableJSON)
	rel.SHA256 = hex.EncodeToString(sum[:])
	p := &protected{release: rel}
	for i, c := range t.Cells {
		lc := ledgerCell{coords: ledgerCoords(t, c.Coords), trueCount: truth[i], status: string(c.Status)}
		if c.Status == cube.Published {
			lc.published = sql.NullInt64{Int64: c.Count, Valid: true}
		}
		p.ledger = append(p.ledger, lc)
	}
	return p, nil
}

func (r *Release) count() {
	r.Cells, r.Primary, r.Secondary = len(r.Table.Cells), 0, 0
	for _, c := range r.Table.Cells {
		switch c.Status {
		case cube.Primary:
			r.Primary++
		case cube.Secondary:
			r.Secondary++
		}
	}
}

// ledgerCoords names a cell by its non-total coordinates, dimension by
// dimension, so that the same cell is recognised in any later table that
// contains it.
func ledgerCoords(t *cube.Table, coords []string) string {
	var parts []string
	for j, c := range coords {
		if c != cube.Total {
			parts = append(parts, t.Dimensions[j].ID+"="+c)
		}
	}
	return strings.Join(parts, "|")
}

// ledgerDefinition is what a cell counts, apart from its coordinates:
// dataset, measure, filters, period and extract version.
func ledgerDefinition(r *Request) string {
	b, _ := json.Marshal(struct {
		Dataset string              `json:"dataset"`
		Measure string              `json:"measure"`
		Filters map[string][]string `json:"filters,omitempty"`
		Period  Period              `json:"period"`
		Extract int64               `json:"extract"`
	}{r.Spec.Dataset, r.Spec.Measure, r.Spec.Filters, r.Spec.Period, r.ExtractID})
	return string(b)
}

// ledgerFacts turns the cells of the project's earlier releases with the
// same definition that this table also holds into facts: the attacker
// already knows their counts, so the audit must protect this table's
// small cells with those known. This covers repeated cells (the same
// margin published twice); regrouped bands and overlapping filters are
// not yet translated into facts.
func (s *Service) ledgerFacts(ctx context.Context, project string, r *Request, t *cube.Table) ([]disclosure.Fact, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT DISTINCT coords, true_count FROM release_cell
WHERE project_id = ? AND definition = ? AND published IS NOT NULL`, project, ledgerDefinition(r))
	if err != nil {
		return nil, fmt.Errorf("read the project's release ledger: %w", err)
	}
	defer rows.Close()
	known := map[string]int64{}
	for rows.Next() {
		var coords string
		var n int64
		if err := rows.Scan(&coords, &n); err != nil {
			return nil, err
		}
		known[coords] = n
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var facts []disclosure.Fact
	for _, c := range t.Cells {
		if n, ok := known[ledgerCoords(t, c.Coords)]; ok && n == c.Count {
			facts = append(facts, disclosure.Fact{Terms: []disclosure.FactTerm{{Coords: c.Coords, Coef: 1}}, Value: float64(n)})
		}
	}
	return facts, nil
}

// release makes the table for an approved request and stores, in one
// transaction, the request's new state, the release, its ledger cells and
// the audit events; extra (the approving review) joins that transaction.
// A table that cannot be protected leaves no release behind: the request
// is stored as failed with the reason.
func (s *Service) release(ctx context.Context, r *Request, approved Transition, extra func(*sql.Tx) error, actor string) error {
	p, perr := s.protect(ctx, r, r.Obligations)
	next := ActionRelease
	to := StateReleased
	if perr != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !errors.Is(perr, disclosure.ErrUnprotectable) && !errors.Is(perr, disclosure.ErrAuditFailed) {
			return fmt.Errorf("make the release: %w", perr)
		}
		next, to = ActionFail, StateFailed
		r.Message = perr.Error()
	}
	t, err := transition(next, StateApproved, to, BySystem)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if extra != nil {
			if err := extra(tx); err != nil {
				return err
			}
		}
		// The approval (by the policy or the privacy officer) ...
		if err := s.auditTransition(ctx, tx, r, approved, actor, nil); err != nil {
			return err
		}
		// ... then the release or the failure.
		r.State = t.To
		var detail map[string]any
		if p != nil {
			rel := p.release
			rel.CreatedAt = s.now()
			r.ReleaseID = rel.ID
			if err := saveRelease(ctx, tx, rel, p.ledger, ledgerDefinition(r)); err != nil {
				return err
			}
			detail = map[string]any{"release": rel.ID, "sha256": rel.SHA256, "cells": rel.Cells,
				"primary": rel.Primary, "secondary": rel.Secondary, "extract": rel.ExtractID, "policy_version": rel.PolicyVersion}
			if rel.Reuses != "" {
				detail["reuses"] = rel.Reuses
			}
		} else {
			detail = map[string]any{"message": r.Message}
		}
		return s.saveTransition(ctx, tx, r, t, BySystem, detail)
	})
}

func saveRelease(ctx context.Context, tx *sql.Tx, rel *Release, ledger []ledgerCell, definition string) error {
	var reuses any
	if rel.Reuses != "" {
		reuses = rel.Reuses
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO release (id, request_id, project_id, dataset, spec_sha256, policy_version, decision_id, extract_id,
  table_json, sha256, cells, primary_cells, secondary_cells, reuses, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		rel.ID, rel.RequestID, rel.ProjectID, rel.Dataset, rel.SpecSHA256, rel.PolicyVersion, rel.DecisionID, rel.ExtractID,
		string(rel.tableJSON), rel.SHA256, rel.Cells, rel.Primary, rel.Secondary, reuses, rel.CreatedAt)
	if err != nil {
		return fmt.Errorf("save release %s: %w", rel.ID, err)
	}
	if len(ledger) == 0 {
		return nil
	}
	// One statement for the whole ledger: the cells travel as one JSON
	// parameter rather than one round trip each.
	type jcell struct {
		C string `json:"c"`
		T int64  `json:"t"`
		P *int64 `json:"p"`
		S string `json:"s"`
	}
	cells := make([]jcell, len(ledger))
	for i, l := range ledger {
		cells[i] = jcell{C: l.coords, T: l.trueCount, S: l.status}
		if l.published.Valid {
			v := l.published.Int64
			cells[i].P = &v
		}
	}
	js, _ := json.Marshal(cells)
	_, err = tx.ExecContext(ctx, `INSERT INTO release_cell (release_id, project_id, definition, coords, true_count, published, status)
SELECT ?, ?, ?, j->>'c', CAST(j->>'t' AS BIGINT), CAST(j->>'p' AS BIGINT), j->>'s'
FROM (SELECT unnest(from_json(CAST(? AS JSON), '["JSON"]')) AS j)`, rel.ID, rel.ProjectID, definition, string(js))
	if err != nil {
		return fmt.Errorf("save the ledger of release %s: %w", rel.ID, err)
	}
	return nil
}

// GetRelease reads a release with its table.
func (s *Service) GetRelease(ctx context.Context, id string) (*Release, error) {
	rel := &Release{}
	var reuses sql.NullString
	var tableJSON string
	err := s.DB.QueryRowContext(ctx, `SELECT id, request_id, project_id, dataset, spec_sha256, policy_version, decision_id, extract_id,
  table_json, sha256, cells, primary_cells, secondary_cells, reuses, created_at FROM release WHERE id = ?`, id).Scan(
		&rel.ID, &rel.RequestID, &rel.ProjectID, &rel.Dataset, &rel.SpecSHA256, &rel.PolicyVersion, &rel.DecisionID, &rel.ExtractID,
		&tableJSON, &rel.SHA256, &rel.Cells, &rel.Primary, &rel.Secondary, &reuses, &rel.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: no release %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("read release %s: %w", id, err)
	}
	rel.Reuses = reuses.String
	rel.CreatedAt = rel.CreatedAt.UTC()
	sum := sha256.Sum256([]byte(tableJSON))
	if hex.EncodeToString(sum[:]) != rel.SHA256 {
		return nil, fmt.Errorf("release %s does not match its checksum: it was altered after release", id)
	}
	rel.tableJSON = []byte(tableJSON)
	if rel.Table, err = DecodeTable(rel.tableJSON); err != nil {
		return nil, fmt.Errorf("read release %s: %w", id, err)
	}
	return rel, nil
}

// DecodeTable reads a table written by cube.WriteJSON; withheld cells come
// back with count 0 and their status.
func DecodeTable(b []byte) (*cube.Table, error) {
	var j cube.JSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("decode table: %w", err)
	}
	t := &cube.Table{Dimensions: j.Dimensions, CountLabel: j.CountLabel, Measures: j.Measures, Cells: make([]cube.Cell, len(j.Cells))}
	for i, c := range j.Cells {
		cell := cube.Cell{Coords: c.Coords, Status: c.Status}
		if c.Count != nil {
			cell.Count = *c.Count
		}
		for _, v := range c.Values {
			if v == nil {
				cell.Values = append(cell.Values, math.NaN())
			} else {
				cell.Values = append(cell.Values, *v)
			}
		}
		t.Cells[i] = cell
	}
	return t, nil
}
