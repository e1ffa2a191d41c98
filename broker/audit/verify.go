package audit

import (
	"context"
	"fmt"
)

// Problem is one way the log differs from an intact chain.
type Problem struct {
	Seq     int64  `json:"seq"`
	Kind    string `json:"kind"` // altered, broken_link, missing, truncated, rewritten
	Message string `json:"message"`
}

// VerifyReport is the outcome of a verification.
type VerifyReport struct {
	Entries  int64     `json:"entries"`
	Head     Head      `json:"head"`
	Anchors  []Head    `json:"anchors,omitempty"`
	OK       bool      `json:"ok"`
	Problems []Problem `json:"problems,omitempty"`
}

// Verify walks the whole chain and checks it against the anchor file. When
// the log is intact, the anchor is advanced to the current head.
func (l *Log) Verify(ctx context.Context) (VerifyReport, error) {
	return l.VerifyWith(ctx)
}

// VerifyWith is Verify with further anchors, typically heads the privacy
// officer kept outside the database's reach.
func (l *Log) VerifyWith(ctx context.Context, anchors ...Head) (VerifyReport, error) {
	if a, ok, err := l.ReadAnchor(); err != nil {
		return VerifyReport{}, err
	} else if ok {
		anchors = append([]Head{a}, anchors...)
	}
	rep := VerifyReport{Anchors: anchors, Head: Head{0, Genesis}}
	rows, err := l.db.QueryContext(ctx, `SELECT seq, prev_hash, hash, logged_at, kind, actor, object, detail FROM audit_log ORDER BY seq`)
	if err != nil {
		return rep, fmt.Errorf("verify audit log: %w", err)
	}
	defer rows.Close()
	hashAt := map[int64]string{}
	expect, prev := int64(1), Genesis
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return rep, err
		}
		rep.Entries++
		if r.seq != expect {
			if r.seq > expect {
				rep.problem(expect, "missing", fmt.Sprintf("entries %d to %d are missing (deleted)", expect, r.seq-1))
			} else {
				rep.problem(r.seq, "missing", fmt.Sprintf("entry %d appears out of order after entry %d", r.seq, expect-1))
			}
		}
		if r.prev != prev {
			rep.problem(r.seq, "broken_link", fmt.Sprintf("entry %d does not follow the entry before it: its previous hash does not match (an entry was deleted, moved or altered)", r.seq))
		}
		if got := r.computedHash(); got != r.hash {
			rep.problem(r.seq, "altered", fmt.Sprintf("entry %d was altered after it was written: its content no longer matches its hash", r.seq))
		}
		hashAt[r.seq] = r.hash
		prev, expect = r.hash, r.seq+1
		rep.Head = Head{r.seq, r.hash}
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("verify audit log: %w", err)
	}
	for _, a := range anchors {
		if a.Seq == 0 {
			continue
		}
		h, ok := hashAt[a.Seq]
		switch {
		case a.Seq > rep.Head.Seq:
			rep.problem(a.Seq, "truncated", fmt.Sprintf("the log ends at entry %d but was anchored at entry %d: entries were cut off the end", rep.Head.Seq, a.Seq))
		case !ok:
			rep.problem(a.Seq, "truncated", fmt.Sprintf("anchored entry %d is missing", a.Seq))
		case h != a.Hash:
			rep.problem(a.Seq, "rewritten", fmt.Sprintf("entry %d no longer has the anchored hash %s…: the log was rewritten up to or past it", a.Seq, a.Hash[:12]))
		}
	}
	rep.OK = len(rep.Problems) == 0
	if rep.OK {
		if err := l.writeAnchor(rep.Head); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func (r *VerifyReport) problem(seq int64, kind, msg string) {
	r.Problems = append(r.Problems, Problem{Seq: seq, Kind: kind, Message: msg})
}
