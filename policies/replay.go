package policies

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/audit"
)

// Flip is a logged decision that a candidate policy would take differently.
type Flip struct {
	Seq        int64     `json:"seq"` // audit entry
	DecisionID string    `json:"decision_id"`
	Time       time.Time `json:"time"`
	Actor      string    `json:"actor"`
	From       string    `json:"from"` // allow, review, deny
	To         string    `json:"to"`
	// Added are the rules that fire under the candidate and did not before;
	// Removed the codes that fired before and no longer do.
	Added   []Finding `json:"added,omitempty"`
	Removed []string  `json:"removed,omitempty"`
	Now     Decision  `json:"now"`
}

// ReplayReport is the impact of a candidate policy on a period's decisions.
type ReplayReport struct {
	From       time.Time      `json:"from"`
	To         time.Time      `json:"to"`
	Candidate  string         `json:"candidate"` // policy version hash
	Decisions  int            `json:"decisions"`
	Unchanged  int            `json:"unchanged"`
	Flips      []Flip         `json:"flips"`
	Directions map[string]int `json:"directions"` // "allow→deny": n
	Skipped    int            `json:"skipped"`    // entries without a replayable input
}

// Replay re-evaluates the decisions logged in [from, to) against candidate
// and reports those whose outcome would change, with the rules behind the
// change. Nothing is logged and nothing released. Logged inputs are masked,
// consistently, so rules that compare masked fields (membership) replay
// faithfully; a rule reading the content of a masked field would not.
func Replay(ctx context.Context, candidate *Version, log *audit.Log, from, to time.Time) (ReplayReport, error) {
	rep := ReplayReport{From: from, To: to, Candidate: candidate.Hash, Directions: map[string]int{}}
	entries, err := log.List(ctx, audit.Filter{Kind: audit.KindDecision, From: from, To: to})
	if err != nil {
		return rep, err
	}
	for _, e := range entries {
		in, ok := e.Detail["input"].(map[string]any)
		was, ok2 := e.Detail["outcome"].(string)
		if !ok || !ok2 {
			rep.Skipped++
			continue
		}
		rep.Decisions++
		now, err := candidate.Evaluate(ctx, in)
		if err != nil {
			return rep, fmt.Errorf("replay audit entry %d: %w", e.Seq, err)
		}
		before := map[string]bool{}
		for _, key := range []string{"deny", "review_reasons"} {
			list, _ := e.Detail[key].([]any)
			for _, c := range list {
				if s, ok := c.(string); ok {
					before[s] = true
				}
			}
		}
		if now.Outcome() == was {
			rep.Unchanged++
			continue
		}
		f := Flip{Seq: e.Seq, DecisionID: e.Object, Time: e.Time, Actor: e.Actor, From: was, To: now.Outcome(), Now: now}
		after := map[string]bool{}
		for _, fd := range append(slices.Clone(now.Deny), now.ReviewReasons...) {
			after[fd.Code] = true
			if !before[fd.Code] {
				f.Added = append(f.Added, fd)
			}
		}
		for c := range before {
			if !after[c] {
				f.Removed = append(f.Removed, c)
			}
		}
		slices.Sort(f.Removed)
		rep.Flips = append(rep.Flips, f)
		rep.Directions[was+"→"+f.To]++
	}
	return rep, nil
}
