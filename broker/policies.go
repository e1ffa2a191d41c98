package broker

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/audit"
	"github.com/kunnskapskommunen/folkekommune/broker/requests"
	"github.com/kunnskapskommunen/folkekommune/policies"
)

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request) error {
	v := s.policy.Current()
	writeJSON(w, http.StatusOK, map[string]any{
		"version": v.Hash, "short": v.Short(), "source": v.Source, "loaded_at": v.LoadedAt,
		"files": v.Files, "tests": map[string]any{"passed": v.Tests.Passed, "failed": v.Tests.Failed, "coverage": v.Tests.Coverage},
		"rules": v.Rules,
	})
	return nil
}

// listDecisions reads the decision log: ?outcome (allow, review, deny),
// ?actor, ?from and ?to (RFC 3339 or YYYY-MM-DD), ?limit (default 100).
func (s *Server) listDecisions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := audit.Filter{Kind: audit.KindDecision, Actor: q.Get("actor")}
	var err error
	if f.From, err = parseTime(q.Get("from"), "from"); err != nil {
		return err
	}
	if f.To, err = parseTime(q.Get("to"), "to"); err != nil {
		return err
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 10000 {
			return &requests.InputError{Field: "limit", Problem: fmt.Sprintf("%q: want a whole number from 1 to 10000", v)}
		}
	}
	outcome := q.Get("outcome")
	switch outcome {
	case "", policies.OutcomeAllow, policies.OutcomeReview, policies.OutcomeDeny:
	default:
		return &requests.InputError{Field: "outcome", Problem: fmt.Sprintf("%q: want allow, review or deny", outcome)}
	}
	entries, err := s.audit.List(r.Context(), f)
	if err != nil {
		return err
	}
	out := []audit.Entry{}
	// Newest first, filtered by outcome, up to the limit.
	for i := len(entries) - 1; i >= 0 && len(out) < limit; i-- {
		e := entries[i]
		if outcome != "" && e.Detail["outcome"] != outcome {
			continue
		}
		out = append(out, e)
	}
	writeJSON(w, http.StatusOK, map[string]any{"decisions": out})
	return nil
}

func parseTime(v, field string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, &requests.InputError{Field: field, Problem: fmt.Sprintf("%q: want an RFC 3339 time or a date (YYYY-MM-DD)", v)}
}

// whatIf evaluates a hypothetical policy input (the document the policy
// reads: subject, action, resource, project, context) without logging it.
func (s *Server) whatIf(w http.ResponseWriter, r *http.Request) error {
	var doc map[string]any
	if err := decodeJSON(r, &doc); err != nil {
		return err
	}
	if doc == nil {
		return &requests.InputError{Field: "body", Problem: "must be a JSON object: the policy input"}
	}
	if _, ok := doc["context"]; !ok {
		doc["context"] = map[string]any{"time": time.Now().UTC().Format(time.RFC3339)}
	}
	d, err := s.policy.WhatIf(r.Context(), doc)
	if err != nil {
		s.log.Warn("what-if evaluation failed", "err", err)
	}
	lang := r.URL.Query().Get("lang")
	writeJSON(w, http.StatusOK, map[string]any{"decision": d, "outcome": d.Outcome(), "explanation": d.Explain(lang)})
	return nil
}

func (s *Server) auditStatus(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.audit.Verify(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
