package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

// openLog opens a file-backed database, so that the anchor file is used.
func openLog(t *testing.T) (*Log, *store.DB) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "folkekommune.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return New(db), db
}

// fill appends n entries of varied kinds.
func fill(t *testing.T, l *Log, n int) []Entry {
	t.Helper()
	kinds := []string{KindDecision, KindRelease, KindDownload, KindApproval, KindPull}
	var out []Entry
	for i := 0; i < n; i++ {
		e, err := l.Append(context.Background(), nil, Event{
			Kind: kinds[i%len(kinds)], Actor: fmt.Sprintf("user-%d", i%3), Object: fmt.Sprintf("req-%d", i),
			Detail: map[string]any{"i": i, "policy_version": "abc", "nested": map[string]any{"b": 1, "a": []any{"x"}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func TestAppendBuildsAnIntactChain(t *testing.T) {
	l, _ := openLog(t)
	entries := fill(t, l, 7)
	for i, e := range entries {
		if e.Seq != int64(i+1) {
			t.Errorf("entry %d has seq %d", i, e.Seq)
		}
		if i > 0 && e.PrevHash != entries[i-1].Hash {
			t.Errorf("entry %d does not link to entry %d", e.Seq, entries[i-1].Seq)
		}
	}
	if entries[0].PrevHash != Genesis {
		t.Errorf("first entry links to %s, want genesis", entries[0].PrevHash)
	}
	rep, err := l.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Entries != 7 || rep.Head.Seq != 7 || rep.Head.Hash != entries[6].Hash {
		t.Fatalf("verify = %+v, want ok with 7 entries and head %s", rep, entries[6].Hash)
	}
	a, ok, err := l.ReadAnchor()
	if err != nil || !ok || a != rep.Head {
		t.Fatalf("anchor = %v %v %v, want %v", a, ok, err, rep.Head)
	}
	fi, err := os.Stat(l.HeadFile())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("anchor file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
}

// TestVerifyDetectsTampering pins down that each way of changing the stored
// log is reported, with the entry it concerns.
func TestVerifyDetectsTampering(t *testing.T) {
	tests := []struct {
		name    string
		tamper  func(t *testing.T, db *store.DB)
		kind    string
		seq     int64
		anchors bool // whether the anchor file is kept
	}{
		{"edited detail", func(t *testing.T, db *store.DB) {
			exec(t, db, `UPDATE audit_log SET detail = '{"i":99}' WHERE seq = 4`)
		}, "altered", 4, true},
		{"edited actor", func(t *testing.T, db *store.DB) {
			exec(t, db, `UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2`)
		}, "altered", 2, true},
		{"edited with recomputed hash", func(t *testing.T, db *store.DB) {
			rehash(t, db, 4, `{"i":99}`)
		}, "broken_link", 5, true},
		{"deleted entry", func(t *testing.T, db *store.DB) {
			exec(t, db, `DELETE FROM audit_log WHERE seq = 3`)
		}, "missing", 3, true},
		{"reordered entries", func(t *testing.T, db *store.DB) {
			// Swap the content of entries 3 and 4, seq staying in place:
			// the log now tells the events in the other order.
			exec(t, db, `CREATE TEMP TABLE swap AS SELECT * FROM audit_log WHERE seq IN (3, 4)`)
			exec(t, db, `UPDATE audit_log SET prev_hash = s.prev_hash, hash = s.hash, logged_at = s.logged_at, kind = s.kind,
				actor = s.actor, object = s.object, detail = s.detail
				FROM swap s WHERE audit_log.seq + s.seq = 7 AND audit_log.seq IN (3, 4)`)
		}, "altered", 3, true},
		{"truncated tail", func(t *testing.T, db *store.DB) {
			exec(t, db, `DELETE FROM audit_log WHERE seq >= 5`)
		}, "truncated", 6, true},
		{"emptied", func(t *testing.T, db *store.DB) {
			exec(t, db, `DELETE FROM audit_log`)
		}, "truncated", 6, true},
		{"suffix rewritten with valid hashes", func(t *testing.T, db *store.DB) {
			rehash(t, db, 4, `{"i":99}`)
			rehash(t, db, 5, "")
			rehash(t, db, 6, "")
		}, "rewritten", 6, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, db := openLog(t)
			fill(t, l, 6)
			tt.tamper(t, db)
			rep, err := l.Verify(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK {
				t.Fatalf("verify passed a tampered log: %+v", rep)
			}
			found := false
			for _, p := range rep.Problems {
				if p.Kind == tt.kind && p.Seq == tt.seq {
					found = true
				}
			}
			if !found {
				t.Fatalf("problems %+v lack %s at entry %d", rep.Problems, tt.kind, tt.seq)
			}
			// A failed verification must not move the anchor to the
			// tampered head.
			if a, _, _ := l.ReadAnchor(); a.Seq != 6 {
				t.Errorf("anchor moved to %v after a failed verification", a)
			}
		})
	}
}

func TestTruncationWithoutAnchorIsUndetectableButExternalHeadCatchesIt(t *testing.T) {
	l, db := openLog(t)
	entries := fill(t, l, 5)
	kept := Head{5, entries[4].Hash}
	exec(t, db, `DELETE FROM audit_log WHERE seq = 5`)
	if err := os.Remove(l.HeadFile()); err != nil {
		t.Fatal(err)
	}
	rep, err := l.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK {
		t.Fatalf("without any anchor a clean cut is consistent; got %+v", rep.Problems)
	}
	os.Remove(l.HeadFile())
	rep, err = l.VerifyWith(context.Background(), kept)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || rep.Problems[0].Kind != "truncated" {
		t.Fatalf("verify against the kept head = %+v, want truncated", rep)
	}
}

func TestAppendInCallerTransactionCommitsWithIt(t *testing.T) {
	l, db := openLog(t)
	ctx := context.Background()
	fill(t, l, 2)
	errBoom := errors.New("boom")
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := l.Append(ctx, tx, Event{Kind: KindRelease, Actor: "u1", Object: "rel-1"}); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatal(err)
	}
	if h, _ := l.Head(ctx); h.Seq != 2 {
		t.Fatalf("rolled-back append left head at %d, want 2", h.Seq)
	}
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := l.Append(ctx, tx, Event{Kind: KindRelease, Actor: "u1", Object: "rel-2"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.List(ctx, Filter{Kind: KindRelease, Object: "rel-2"})
	if err != nil || len(got) != 1 || got[0].Seq != 3 {
		t.Fatalf("list after committed append = %+v, %v", got, err)
	}
	if rep, _ := l.Verify(ctx); !rep.OK {
		t.Fatalf("chain broken after caller transactions: %+v", rep.Problems)
	}
}

func TestConcurrentAppendsStayLinear(t *testing.T) {
	l, _ := openLog(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Go(func() {
			for i := 0; i < 10; i++ {
				if _, err := l.Append(ctx, nil, Event{Kind: KindDownload, Actor: fmt.Sprintf("w%d", w), Object: "rel"}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	rep, err := l.Verify(ctx)
	if err != nil || !rep.OK || rep.Entries != 40 {
		t.Fatalf("verify = %+v, %v; want 40 intact entries", rep, err)
	}
}

func TestAppendRefusesIdentifiers(t *testing.T) {
	l, _ := openLog(t)
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{"fnr-shaped value", Event{Kind: KindDecision, Actor: "u", Detail: map[string]any{"note": "person 15038543226 asked"}}, "detail.note"},
		{"identifier field", Event{Kind: KindDecision, Actor: "u", Detail: map[string]any{"filters": map[string]any{"pid": "x"}}}, "detail.filters.pid"},
		{"fnr in a list", Event{Kind: KindDecision, Actor: "u", Detail: map[string]any{"ids": []any{"a", "01819012365"}}}, "detail.ids[1]"},
		{"fnr as object", Event{Kind: KindRelease, Actor: "u", Object: "15038543226"}, "actor or object"},
		{"fnr as number", Event{Kind: KindDecision, Actor: "u", Detail: map[string]any{"n": int64(15038543226)}}, "detail.n"},
		{"no kind", Event{Actor: "u"}, "no kind"},
		{"no actor", Event{Kind: KindPull}, "no actor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := l.Append(context.Background(), nil, tt.ev)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Append error = %v, want one naming %q", err, tt.want)
			}
		})
	}
	if h, _ := l.Head(context.Background()); h.Seq != 0 {
		t.Fatalf("refused events were written: head %d", h.Seq)
	}
	// Checksums, hashes and ids with digit runs are not identifiers.
	ok := Event{Kind: KindPull, Actor: "system", Object: "extract-12345678901", Detail: map[string]any{
		"sha256":    "a15038543226b" + strings.Repeat("0", 51),
		"digits":    "150385432260",
		"count":     12345678901,
		"bad_check": "15038543227",
	}}
	if _, err := l.Append(context.Background(), nil, ok); err != nil {
		t.Fatalf("harmless detail refused: %v", err)
	}
}

func TestListFilters(t *testing.T) {
	l, _ := openLog(t)
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 6; i++ {
		l.now = func() time.Time { return base.Add(time.Duration(i) * time.Hour) }
		kind := KindDecision
		if i%2 == 1 {
			kind = KindRelease
		}
		if _, err := l.Append(ctx, nil, Event{Kind: kind, Actor: "u", Object: fmt.Sprint(i), Detail: map[string]any{"n": i}}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		f    Filter
		want []int64
	}{
		{"all", Filter{}, []int64{1, 2, 3, 4, 5, 6}},
		{"kind", Filter{Kind: KindRelease}, []int64{2, 4, 6}},
		{"period", Filter{From: base.Add(time.Hour), To: base.Add(3 * time.Hour)}, []int64{2, 3}},
		{"after and limit", Filter{AfterSeq: 2, Limit: 2}, []int64{3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.List(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []int64
			for _, e := range got {
				seqs = append(seqs, e.Seq)
			}
			if fmt.Sprint(seqs) != fmt.Sprint(tt.want) {
				t.Fatalf("seqs = %v, want %v", seqs, tt.want)
			}
		})
	}
	got, _ := l.List(ctx, Filter{Object: "3"})
	if got[0].Detail["n"] != float64(3) || !got[0].Time.Equal(base.Add(3*time.Hour)) {
		t.Fatalf("entry round trip = %+v", got[0])
	}
}

func TestParseHead(t *testing.T) {
	h := Head{42, strings.Repeat("ab", 32)}
	got, err := ParseHead(h.String() + "\n")
	if err != nil || got != h {
		t.Fatalf("ParseHead(%q) = %v, %v", h.String(), got, err)
	}
	for _, bad := range []string{"", "42", "x:" + h.Hash, "42:abc", "-1:" + h.Hash} {
		if _, err := ParseHead(bad); err == nil {
			t.Errorf("ParseHead(%q) accepted", bad)
		}
	}
}

func exec(t *testing.T, db *store.DB, q string) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// rehash rewrites entry seq as a careful attacker would: new detail (if
// given), previous hash taken from the stored entry before it, hash
// recomputed.
func rehash(t *testing.T, db *store.DB, seq int64, detail string) {
	t.Helper()
	ctx := context.Background()
	var r row
	if err := db.QueryRowContext(ctx, `SELECT seq, prev_hash, hash, logged_at, kind, actor, object, detail FROM audit_log WHERE seq = ?`, seq).
		Scan(&r.seq, &r.prev, &r.hash, &r.at, &r.kind, &r.actor, &r.object, &r.detail); err != nil {
		t.Fatal(err)
	}
	if detail != "" {
		r.detail = detail
	}
	if err := db.QueryRowContext(ctx, `SELECT hash FROM audit_log WHERE seq = ?`, seq-1).Scan(&r.prev); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE audit_log SET prev_hash = ?, hash = ?, detail = ? WHERE seq = ?`,
		r.prev, r.computedHash(), r.detail, seq); err != nil {
		t.Fatal(err)
	}
}

// FuzzParseHead: whatever text it is given, ParseHead either refuses it or
// returns a head that prints back to an equivalent text.
func FuzzParseHead(f *testing.F) {
	f.Add("42:" + strings.Repeat("ab", 32))
	f.Add("0:" + Genesis)
	f.Add("x:y")
	f.Add("-5:" + strings.Repeat("0", 64))
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHead(s)
		if err != nil {
			return
		}
		again, err := ParseHead(h.String())
		if err != nil || again != h {
			t.Fatalf("ParseHead(%q) = %v, which does not round-trip (%v, %v)", s, h, again, err)
		}
		if h.Seq < 0 || len(h.Hash) != 64 {
			t.Fatalf("ParseHead(%q) accepted %v", s, h)
		}
	})
}

// TestIdentityNumberCheck pins down which numbers count as personal
// identity numbers: 11 digits with valid check digits, as a word of their own.
func TestIdentityNumberCheck(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"15038543226", true},
		{"fnr=15038543226;", true},
		{"15038543227", false},  // wrong check digit
		{"150385432260", false}, // 12 digits
		{"a15038543226", false}, // part of a longer word, e.g. a hex checksum
		{"1503854322", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := holdsIdentityNumber(tt.s); got != tt.want {
			t.Errorf("holdsIdentityNumber(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}
