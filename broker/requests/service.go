package requests

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/audit"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
	"github.com/kunnskapskommunen/folkekommune/policies"
)

// User is who acts on a request.
type User struct {
	ID           string
	Role         string
	Municipality string
}

// Roles.
const (
	RoleResearcher     = "researcher"
	RoleCoordinator    = "coordinator"
	RolePrivacyOfficer = "privacy_officer"
	RoleFoUContact     = "fou_contact"
	RoleAdmin          = "admin"
)

// ProjectLookup returns the project as the policy reads it; an unknown
// project is an error wrapping ErrNotFound.
type ProjectLookup func(ctx context.Context, id int64) (policies.Project, error)

// Service takes requests from specification to release.
type Service struct {
	DB       *store.DB
	Policy   *policies.Engine
	Audit    *audit.Log
	Projects ProjectLookup
	Now      func() time.Time
	// OnDecision, if set, observes each decision's outcome (metrics).
	OnDecision func(outcome string)

	// writes serialises this service's write transactions; retries on
	// conflict cover the broker's other writers of the audit chain.
	writes sync.Mutex
	// placing serialises placing the population (population.go).
	placing sync.Mutex
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Review is one privacy officer's verdict.
type Review struct {
	Reviewer   string    `json:"reviewer"`
	Verdict    string    `json:"verdict"`
	Comment    string    `json:"comment"`
	ReviewedAt time.Time `json:"reviewed_at"`
}

// Request is a stored request with its decision and state.
type Request struct {
	ID              string               `json:"id"`
	Requester       string               `json:"requester"`
	RequesterRole   string               `json:"requester_role"`
	Spec            Spec                 `json:"spec"`
	State           string               `json:"state"`
	DecisionID      string               `json:"decision_id"`
	PolicyVersion   string               `json:"policy_version"`
	Outcome         string               `json:"outcome"`
	Reasons         []policies.Finding   `json:"reasons"`
	Obligations     policies.Obligations `json:"obligations"`
	ApprovalsNeeded int                  `json:"approvals_needed"`
	Reviews         []Review             `json:"reviews"`
	ExtractID       int64                `json:"extract_id"`
	ReleaseID       string               `json:"release_id,omitempty"`
	Message         string               `json:"message,omitempty"`
	CreatedAt       time.Time            `json:"created_at"`
	UpdatedAt       time.Time            `json:"updated_at"`
}

func newID(prefix string) string {
	var b [10]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// LatestExtract is the newest loaded extract version, 0 when none.
func LatestExtract(ctx context.Context, db *store.DB) (int64, error) {
	var id sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(id) FROM extract WHERE status = 'loaded'`).Scan(&id); err != nil {
		return 0, fmt.Errorf("find the current extract: %w", err)
	}
	return id.Int64, nil
}

// policyInput validates spec and builds the policy's input for u asking
// for it now: the one place Submit and Preview take it from, so that a
// preview is the decision the request would get.
func (s *Service) policyInput(ctx context.Context, u User, spec Spec) (policies.Input, Spec, int64, error) {
	var action string
	switch u.Role {
	case RoleResearcher:
		action = policies.ActionReleaseRequest
	case RoleCoordinator:
		action = policies.ActionGovernanceRequest
	default:
		return policies.Input{}, Spec{}, 0, fmt.Errorf("%w: a %s cannot request tables", ErrForbidden, u.Role)
	}
	spec, err := spec.Validate()
	if err != nil {
		return policies.Input{}, Spec{}, 0, err
	}
	project, err := s.Projects(ctx, spec.Project)
	if errors.Is(err, ErrNotFound) {
		return policies.Input{}, Spec{}, 0, &InputError{Field: "project", Problem: fmt.Sprintf("there is no project %d", spec.Project)}
	}
	if err != nil {
		return policies.Input{}, Spec{}, 0, fmt.Errorf("read project %d: %w", spec.Project, err)
	}
	extractID, err := LatestExtract(ctx, s.DB)
	if err != nil {
		return policies.Input{}, Spec{}, 0, err
	}
	if extractID == 0 {
		return policies.Input{}, Spec{}, 0, ErrNoExtract
	}
	releases, err := s.releaseTimes(ctx, project.ID)
	if err != nil {
		return policies.Input{}, Spec{}, 0, err
	}
	now := s.now()
	filters := map[string][]string{}
	for k, v := range spec.Filters {
		filters[k] = v
	}
	if ch := spec.Filters["icpc2_chapter"]; len(ch) > 0 {
		// The policy reads diagnosis filters under icpc2 (chapters or codes).
		filters["icpc2"] = ch
	}
	in := policies.Input{
		Subject: policies.Subject{ID: u.ID, Roles: []string{u.Role}, Municipality: u.Municipality},
		Action:  action,
		Resource: policies.Resource{
			Dataset: spec.Dataset, Dimensions: spec.Dimensions, Filters: filters,
			Period:             &policies.Period{From: fmt.Sprintf("%04d-01-01", spec.Period.From), To: fmt.Sprintf("%04d-12-31", spec.Period.To)},
			SmallestPopulation: spec.smallestPopulation(),
		},
		Project: &project,
		Context: policies.Context{Time: now, Releases: releases},
	}
	return in, spec, extractID, nil
}

// Submit validates spec, asks the policy, and acts on its decision: a
// denied request is stored with every reason, a request for review waits
// in the privacy officer's queue, and an allowed one is released at once.
func (s *Service) Submit(ctx context.Context, u User, spec Spec) (Request, error) {
	in, spec, extractID, err := s.policyInput(ctx, u, spec)
	if err != nil {
		return Request{}, err
	}
	now := in.Context.Time
	// The decision is logged in the audit chain in a transaction of its
	// own; taking it under this service's write lock keeps it from racing
	// the service's own audited writes for the chain's head.
	s.writes.Lock()
	d, derr := s.Policy.Decide(ctx, in)
	s.writes.Unlock()
	if derr != nil {
		slog.Error("policy decision failed; the request is denied", "err", derr)
	}
	if s.OnDecision != nil {
		s.OnDecision(d.Outcome())
	}
	r := Request{
		ID: newID("req-"), Requester: u.ID, RequesterRole: u.Role, Spec: spec,
		DecisionID: d.ID, PolicyVersion: d.PolicyVersion, Outcome: d.Outcome(),
		Reasons: append(append([]policies.Finding{}, d.Deny...), d.ReviewReasons...), Obligations: d.Obligations,
		ExtractID: extractID, CreatedAt: now, UpdatedAt: now, Reviews: []Review{},
	}
	switch d.Outcome() {
	case policies.OutcomeDeny:
		t, err := transition(ActionDeny, StateNew, StateDenied, BySystem)
		if err != nil {
			return Request{}, err
		}
		r.State = t.To
		return r, s.write(ctx, func(tx *sql.Tx) error { return s.saveTransition(ctx, tx, &r, t, BySystem, nil) })
	case policies.OutcomeReview:
		t, err := transition(ActionReview, StateNew, StateReview, BySystem)
		if err != nil {
			return Request{}, err
		}
		r.State = t.To
		r.ApprovalsNeeded = approvalsNeeded(d)
		return r, s.write(ctx, func(tx *sql.Tx) error { return s.saveTransition(ctx, tx, &r, t, BySystem, nil) })
	}
	t, err := transition(ActionAllow, StateNew, StateApproved, BySystem)
	if err != nil {
		return Request{}, err
	}
	r.State = t.To
	return r, s.release(ctx, &r, t, nil, BySystem)
}

// approvalsNeeded is how many independent approvals a reviewed request
// needs: the largest "approvals" any review finding asks for in its
// detail, at least one.
func approvalsNeeded(d policies.Decision) int {
	n := 1
	for _, f := range d.ReviewReasons {
		switch v := f.Detail["approvals"].(type) {
		case json.Number:
			if k, err := v.Int64(); err == nil && int(k) > n {
				n = int(k)
			}
		case float64:
			n = max(n, int(v))
		case int:
			n = max(n, v)
		}
	}
	return n
}

// Decide is the privacy officer's approve or reject. Nobody reviews their
// own request, nobody reviews twice, and the last approval needed
// releases the table.
func (s *Service) Decide(ctx context.Context, u User, id, verdict, comment string) (Request, error) {
	if u.Role != RolePrivacyOfficer {
		return Request{}, fmt.Errorf("%w: only a privacy officer reviews requests", ErrForbidden)
	}
	comment = strings.TrimSpace(comment)
	if comment == "" {
		return Request{}, &InputError{Field: "comment", Problem: "is required: say why"}
	}
	if len(comment) > MaxPurpose {
		return Request{}, &InputError{Field: "comment", Problem: fmt.Sprintf("is longer than %d bytes", MaxPurpose)}
	}
	r, err := s.Get(ctx, id)
	if err != nil {
		return Request{}, err
	}
	if r.Requester == u.ID {
		return Request{}, fmt.Errorf("%w: nobody reviews their own request", ErrForbidden)
	}
	for _, rv := range r.Reviews {
		if rv.Reviewer == u.ID {
			return Request{}, fmt.Errorf("%w: %s has already reviewed this request; another privacy officer must", ErrState, u.ID)
		}
	}
	review := Review{Reviewer: u.ID, Verdict: verdict, Comment: comment, ReviewedAt: s.now()}
	saveReview := func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO request_review (request_id, reviewer, verdict, comment, reviewed_at) VALUES (?, ?, ?, ?, ?)`,
			r.ID, review.Reviewer, review.Verdict, review.Comment, review.ReviewedAt)
		return err
	}
	r.Reviews = append(r.Reviews, review)
	r.UpdatedAt = review.ReviewedAt
	approvals := 0
	for _, rv := range r.Reviews {
		if rv.Verdict == ActionApprove {
			approvals++
		}
	}
	switch verdict {
	case ActionReject:
		t, err := transition(ActionReject, r.State, StateRejected, ByPrivacyOfficer)
		if err != nil {
			return Request{}, err
		}
		r.State = t.To
		return r, s.write(ctx, func(tx *sql.Tx) error {
			if err := saveReview(tx); err != nil {
				return err
			}
			return s.saveTransition(ctx, tx, &r, t, u.ID, map[string]any{"verdict": verdict})
		})
	case ActionApprove:
		if approvals < r.ApprovalsNeeded {
			t, err := transition(ActionApprove, r.State, StateReview, ByPrivacyOfficer)
			if err != nil {
				return Request{}, err
			}
			return r, s.write(ctx, func(tx *sql.Tx) error {
				if err := saveReview(tx); err != nil {
					return err
				}
				return s.saveTransition(ctx, tx, &r, t, u.ID, map[string]any{"verdict": verdict, "approvals": approvals, "needed": r.ApprovalsNeeded})
			})
		}
		t, err := transition(ActionApprove, r.State, StateApproved, ByPrivacyOfficer)
		if err != nil {
			return Request{}, err
		}
		r.State = t.To
		return r, s.release(ctx, &r, t, saveReview, u.ID)
	}
	return Request{}, &InputError{Field: "verdict", Problem: fmt.Sprintf("%q: want approve or reject", verdict)}
}

// write runs fn in a transaction, again when it loses a write conflict
// (the audit chain's head is shared with the broker's other writers).
func (s *Service) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.writes.Lock()
	defer s.writes.Unlock()
	return s.DB.InTxRetry(ctx, fn)
}

// saveTransition stores r in its new state and records the transition's
// audit event in the same transaction.
func (s *Service) saveTransition(ctx context.Context, tx *sql.Tx, r *Request, t Transition, actor string, detail map[string]any) error {
	if err := saveRequest(ctx, tx, r); err != nil {
		return err
	}
	return s.auditTransition(ctx, tx, r, t, actor, detail)
}

// auditTransition records t's audit event for r.
func (s *Service) auditTransition(ctx context.Context, tx *sql.Tx, r *Request, t Transition, actor string, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	detail["action"] = t.Action
	detail["from"] = stateName(t.From)
	detail["to"] = t.To
	detail["decision_id"] = r.DecisionID
	detail["project"] = strconv.FormatInt(r.Spec.Project, 10)
	detail["dataset"] = r.Spec.Dataset
	codes := []any{}
	for _, f := range r.Reasons {
		codes = append(codes, f.Code)
	}
	detail["reasons"] = codes
	if actor == BySystem {
		actor = "system"
	}
	_, err := s.Audit.Append(ctx, tx, audit.Event{Kind: t.Audit, Actor: actor, Object: r.ID, Detail: detail})
	return err
}

func saveRequest(ctx context.Context, tx *sql.Tx, r *Request) error {
	spec, _ := json.Marshal(r.Spec)
	reasons, _ := json.Marshal(r.Reasons)
	obligations, _ := json.Marshal(r.Obligations)
	var release any
	if r.ReleaseID != "" {
		release = r.ReleaseID
	}
	_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO data_request (id, requester, requester_role, project_id, dataset, spec, spec_sha256, purpose,
  state, decision_id, policy_version, outcome, reasons, obligations, approvals_needed, extract_id, release_id, message, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Requester, r.RequesterRole, strconv.FormatInt(r.Spec.Project, 10), r.Spec.Dataset, string(spec), r.Spec.Hash(), r.Spec.Purpose,
		r.State, r.DecisionID, r.PolicyVersion, r.Outcome, string(reasons), string(obligations), r.ApprovalsNeeded, r.ExtractID, release, r.Message,
		r.CreatedAt, r.UpdatedAt)
	if err != nil {
		return fmt.Errorf("save request %s: %w", r.ID, err)
	}
	return nil
}

const requestColumns = `id, requester, requester_role, spec, state, decision_id, policy_version, outcome, reasons, obligations,
  approvals_needed, extract_id, coalesce(release_id, ''), message, created_at, updated_at`

func scanRequest(sc interface{ Scan(...any) error }) (Request, error) {
	var r Request
	var spec, reasons, obligations string
	if err := sc.Scan(&r.ID, &r.Requester, &r.RequesterRole, &spec, &r.State, &r.DecisionID, &r.PolicyVersion, &r.Outcome,
		&reasons, &obligations, &r.ApprovalsNeeded, &r.ExtractID, &r.ReleaseID, &r.Message, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(spec), &r.Spec); err != nil {
		return r, fmt.Errorf("request %s: stored spec: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(reasons), &r.Reasons); err != nil {
		return r, fmt.Errorf("request %s: stored reasons: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(obligations), &r.Obligations); err != nil {
		return r, fmt.Errorf("request %s: stored obligations: %w", r.ID, err)
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, nil
}

// Get reads one request with its reviews.
func (s *Service) Get(ctx context.Context, id string) (Request, error) {
	r, err := scanRequest(s.DB.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM data_request WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Request{}, fmt.Errorf("%w: no request %s", ErrNotFound, id)
	}
	if err != nil {
		return Request{}, fmt.Errorf("read request %s: %w", id, err)
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT reviewer, verdict, comment, reviewed_at FROM request_review WHERE request_id = ? ORDER BY reviewed_at`, id)
	if err != nil {
		return Request{}, fmt.Errorf("read reviews of %s: %w", id, err)
	}
	defer rows.Close()
	r.Reviews = []Review{}
	for rows.Next() {
		var rv Review
		if err := rows.Scan(&rv.Reviewer, &rv.Verdict, &rv.Comment, &rv.ReviewedAt); err != nil {
			return Request{}, fmt.Errorf("read reviews of %s: %w", id, err)
		}
		rv.ReviewedAt = rv.ReviewedAt.UTC()
		r.Reviews = append(r.Reviews, rv)
	}
	return r, rows.Err()
}

// ListFilter selects requests.
type ListFilter struct {
	Requester string // "" for everyone's
	State     string
	Limit     int
}

// List returns requests, newest first.
func (s *Service) List(ctx context.Context, f ListFilter) ([]Request, error) {
	q := `SELECT ` + requestColumns + ` FROM data_request WHERE 1 = 1`
	var args []any
	if f.Requester != "" {
		q += ` AND requester = ?`
		args = append(args, f.Requester)
	}
	if f.State != "" {
		q += ` AND state = ?`
		args = append(args, f.State)
	}
	q += ` ORDER BY created_at DESC, id`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := s.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	defer rows.Close()
	out := []Request{}
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("list requests: %w", err)
		}
		r.Reviews = nil
		out = append(out, r)
	}
	return out, rows.Err()
}

// MayView reports whether u may see request r (and its release).
func MayView(u User, r Request) bool {
	return r.Requester == u.ID || u.Role == RolePrivacyOfficer || u.Role == RoleAdmin
}

func (s *Service) releaseTimes(ctx context.Context, project string) ([]time.Time, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT created_at FROM release WHERE project_id = ? ORDER BY created_at`, project)
	if err != nil {
		return nil, fmt.Errorf("read the project's releases: %w", err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var t time.Time
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t.UTC())
	}
	return out, rows.Err()
}

// RecordDownload audits that u downloaded a release in a format.
func (s *Service) RecordDownload(ctx context.Context, u User, rel *Release, format string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := s.Audit.Append(ctx, tx, audit.Event{Kind: audit.KindDownload, Actor: u.ID, Object: rel.ID,
			Detail: map[string]any{"format": format, "sha256": rel.SHA256, "project": rel.ProjectID}})
		return err
	})
}
