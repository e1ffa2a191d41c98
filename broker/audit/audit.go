// Package audit is the broker's append-only, hash-chained log of everything
// it decides and does: policy decisions, releases, downloads, approvals,
// pulls, policy changes and project updates. The privacy officer reviews it,
// and `folkekommune audit verify` proves that no entry was edited, deleted,
// reordered or cut off since it was written.
//
// Each entry's hash is SHA-256 over a canonical encoding of (seq, previous
// hash, time, kind, actor, object, detail), so an entry cannot change without
// its hash changing, and it cannot be removed or moved without breaking the
// link from the entry after it.
//
// Threat model. The chain alone proves consistency, not completeness: someone
// with write access to the database can cut entries off the end, or rewrite
// a suffix of the log and recompute every hash after the change. The anchor
// closes that gap: after each append in its own transaction, and after each
// successful verification, the log writes its head (seq and hash) to the file
// audit.head beside the database, and prints it so that it can be copied
// somewhere the database's writer cannot reach (a ticket, an e-mail to the
// privacy officer, a WORM store). Verification fails when the entry the
// anchor names is gone or has a different hash. An attacker who can write
// both the database and the anchor file undetected defeats this; keeping a
// copy of the head elsewhere is what stops them. Entries appended inside a
// caller's transaction are anchored by the next own-transaction append or
// verification, since the log cannot see the caller's commit.
//
// Nothing in the log may identify a person: Append refuses detail that holds
// a field named like an identifier or a Norwegian personal identity number
// (11 digits with valid check digits, standing as a word of its own).
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

// Kinds of event the broker records. Other kinds are allowed; these are the
// ones the review pages know.
const (
	KindDecision      = "decision"
	KindRelease       = "release"
	KindDownload      = "download"
	KindApproval      = "approval"
	KindPull          = "pull"
	KindPolicyChange  = "policy.change"
	KindProjectUpdate = "project.update"
)

// Genesis is the previous hash of the first entry.
var Genesis = strings.Repeat("0", 64)

// timeLayout fixes the time's text so that the hash survives a round trip
// through the database.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// Event is what a caller records.
type Event struct {
	Kind   string         // "decision", "release", "download", "approval", "pull", "policy.change", "project.update", ...
	Actor  string         // user id or "system"
	Object string         // what it is about (request id, release id, project id, extract id)
	Detail map[string]any // no raw identifiers, no row-level values
}

// Entry is a recorded event with its place in the chain.
type Entry struct {
	Seq      int64          `json:"seq"`
	PrevHash string         `json:"prev_hash"`
	Hash     string         `json:"hash"`
	Time     time.Time      `json:"time"`
	Kind     string         `json:"kind"`
	Actor    string         `json:"actor"`
	Object   string         `json:"object"`
	Detail   map[string]any `json:"detail"`
}

// Head names the last entry of the chain.
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

func (h Head) String() string { return fmt.Sprintf("%d:%s", h.Seq, h.Hash) }

// ParseHead reads a head in the form "seq:hash", as String writes it.
func ParseHead(s string) (Head, error) {
	seq, hash, ok := strings.Cut(strings.TrimSpace(s), ":")
	n, err := strconv.ParseInt(seq, 10, 64)
	if _, herr := hex.DecodeString(hash); !ok || err != nil || n < 0 || len(hash) != 64 || herr != nil {
		return Head{}, fmt.Errorf("audit head %q: want seq:sha256-hex", s)
	}
	return Head{Seq: n, Hash: strings.ToLower(hash)}, nil
}

// Log appends to and reads the audit log in the broker's database.
type Log struct {
	db       *store.DB
	headFile string
	mu       sync.Mutex // serialises appends so that the chain stays linear
	now      func() time.Time
}

// New returns the log of db. For a database file, the anchor is kept in
// audit.head beside it; an in-memory database has no anchor file.
func New(db *store.DB) *Log {
	l := &Log{db: db, now: time.Now}
	if p := db.Path(); p != "" {
		l.headFile = filepath.Join(filepath.Dir(p), "audit.head")
	}
	return l
}

// HeadFile is the path of the anchor file, "" if there is none.
func (l *Log) HeadFile() string { return l.headFile }

// SetHeadFile moves the anchor file; "" turns anchoring off.
func (l *Log) SetHeadFile(path string) { l.headFile = path }

// Append records e as the next entry. With a nil tx it runs in its own
// transaction and advances the anchor; otherwise the entry commits or rolls
// back with the caller's change. Two callers' transactions that append at
// the same time conflict on the entry's seq: one commit fails and must be
// retried (store.InTxRetry), so the chain never forks; with a nil tx Append
// retries itself.
func (l *Log) Append(ctx context.Context, tx *sql.Tx, e Event) (Entry, error) {
	if err := validateEvent(e); err != nil {
		return Entry{}, err
	}
	detail := e.Detail
	if detail == nil {
		detail = map[string]any{}
	}
	// encoding/json sorts map keys, which makes the text canonical; the
	// hash covers this exact text, so later readers never re-encode it.
	detailJSON, err := json.Marshal(detail)
	if err != nil {
		return Entry{}, fmt.Errorf("audit %s event: detail is not JSON: %w", e.Kind, err)
	}
	var normal map[string]any
	if err := json.Unmarshal(detailJSON, &normal); err != nil {
		return Entry{}, fmt.Errorf("audit %s event: detail is not a JSON object: %w", e.Kind, err)
	}

	l.mu.Lock()
	defer l.mu.Unlock()

	var entry Entry
	appendIn := func(tx *sql.Tx) error {
		head, err := headOf(ctx, tx)
		if err != nil {
			return err
		}
		t := l.now().UTC().Truncate(time.Microsecond)
		entry = Entry{
			Seq: head.Seq + 1, PrevHash: head.Hash, Time: t,
			Kind: e.Kind, Actor: e.Actor, Object: e.Object, Detail: normal,
		}
		entry.Hash = hashEntry(entry.Seq, entry.PrevHash, t.Format(timeLayout), e.Kind, e.Actor, e.Object, string(detailJSON))
		_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (seq, prev_hash, hash, logged_at, kind, actor, object, detail)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			entry.Seq, entry.PrevHash, entry.Hash, t.Format(timeLayout), e.Kind, e.Actor, e.Object, string(detailJSON))
		if err != nil {
			return fmt.Errorf("append audit entry %d (%s): %w", entry.Seq, e.Kind, err)
		}
		return nil
	}
	if tx != nil {
		return entry, appendIn(tx)
	}
	// On its own, an append that lost the head to a caller's transaction
	// committing first simply runs again on the new head.
	if err := l.db.InTxRetry(ctx, appendIn); err != nil {
		return Entry{}, err
	}
	if err := l.writeAnchor(Head{entry.Seq, entry.Hash}); err != nil {
		return entry, err
	}
	return entry, nil
}

// headOf reads the last entry's seq and hash (0 and Genesis when empty).
func headOf(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (Head, error) {
	var h Head
	err := q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&h.Seq, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return Head{0, Genesis}, nil
	}
	if err != nil {
		return Head{}, fmt.Errorf("read audit head: %w", err)
	}
	return h, nil
}

// Head is the last committed entry.
func (l *Log) Head(ctx context.Context) (Head, error) { return headOf(ctx, l.db) }

// hashEntry is the chain's hash. The fields are encoded as a JSON array so
// that no choice of field contents can make two different entries encode
// alike.
func hashEntry(seq int64, prev, at, kind, actor, object, detailJSON string) string {
	enc, _ := json.Marshal([]any{seq, prev, at, kind, actor, object, json.RawMessage(detailJSON)})
	sum := sha256.Sum256(enc)
	return hex.EncodeToString(sum[:])
}

var (
	// token splits text into words; a personal identity number is a word
	// of its own, never part of a longer one such as a hex checksum.
	token = regexp.MustCompile(`[0-9A-Za-z]+`)
	// identifierKeys are detail fields that by their name carry a person's
	// identifier.
	identifierKeys = map[string]bool{
		"fnr": true, "fodselsnummer": true, "fødselsnummer": true, "personnummer": true,
		"pid": true, "ssn": true, "national_id": true, "dnummer": true, "d_number": true,
	}
)

func validateEvent(e Event) error {
	if strings.TrimSpace(e.Kind) == "" {
		return errors.New("audit event has no kind")
	}
	if strings.TrimSpace(e.Actor) == "" {
		return fmt.Errorf("audit %s event has no actor (use \"system\" for the broker itself)", e.Kind)
	}
	for _, s := range []string{e.Actor, e.Object} {
		if holdsIdentityNumber(s) {
			return fmt.Errorf("audit %s event: actor or object looks like a personal identity number; record a pseudonymous reference instead", e.Kind)
		}
	}
	return checkDetail(e.Kind, "detail", e.Detail)
}

// checkDetail refuses anything that looks like a raw identifier, so that a
// careless caller cannot put one into a log that is kept for years.
func checkDetail(kind, path string, v any) error {
	switch x := v.(type) {
	case map[string]any:
		for k, vv := range x {
			if identifierKeys[strings.ToLower(k)] {
				return fmt.Errorf("audit %s event: field %s.%s names a personal identifier; record a pseudonymous reference instead", kind, path, k)
			}
			if err := checkDetail(kind, path+"."+k, vv); err != nil {
				return err
			}
		}
	case []any:
		for i, vv := range x {
			if err := checkDetail(kind, fmt.Sprintf("%s[%d]", path, i), vv); err != nil {
				return err
			}
		}
	case []string:
		for i, vv := range x {
			if err := checkDetail(kind, fmt.Sprintf("%s[%d]", path, i), vv); err != nil {
				return err
			}
		}
	case string:
		if holdsIdentityNumber(x) {
			return fmt.Errorf("audit %s event: field %s holds a personal identity number; record a pseudonymous reference instead", kind, path)
		}
	case int64, int, uint64, float64:
		if holdsIdentityNumber(fmt.Sprintf("%.0f", toFloat(x))) {
			return fmt.Errorf("audit %s event: field %s holds a personal identity number; record a pseudonymous reference instead", kind, path)
		}
	}
	return nil
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case int:
		return float64(x)
	case uint64:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

// holdsIdentityNumber reports whether s contains, as a word of its own, an
// 11-digit number with valid mod-11 check digits: a fødselsnummer, D-number
// or synthetic number. Checksums and ids that merely contain digit runs are
// not flagged, so hashes can be logged.
func holdsIdentityNumber(s string) bool {
	for _, w := range token.FindAllString(s, -1) {
		if len(w) == 11 && validCheckDigits(w) {
			return true
		}
	}
	return false
}

func validCheckDigits(w string) bool {
	var d [11]int
	for i := range 11 {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
		d[i] = int(w[i] - '0')
	}
	check := func(weights []int) int {
		sum := 0
		for i, wt := range weights {
			sum += wt * d[i]
		}
		k := 11 - sum%11
		if k == 11 {
			k = 0
		}
		return k
	}
	k1 := check([]int{3, 7, 6, 1, 8, 9, 4, 5, 2})
	k2 := check([]int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2})
	return k1 == d[9] && k2 == d[10]
}

// Filter selects entries for List. Zero fields select everything.
type Filter struct {
	Kind     string
	Actor    string
	Object   string
	From, To time.Time // From inclusive, To exclusive
	AfterSeq int64
	Limit    int
}

// List returns the entries f selects, in chain order.
func (l *Log) List(ctx context.Context, f Filter) ([]Entry, error) {
	var (
		where []string
		args  []any
	)
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, f.Kind)
	}
	if f.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, f.Actor)
	}
	if f.Object != "" {
		where, args = append(where, "object = ?"), append(args, f.Object)
	}
	// The stored time text sorts like the time it names.
	if !f.From.IsZero() {
		where, args = append(where, "logged_at >= ?"), append(args, f.From.UTC().Format(timeLayout))
	}
	if !f.To.IsZero() {
		where, args = append(where, "logged_at < ?"), append(args, f.To.UTC().Format(timeLayout))
	}
	if f.AfterSeq > 0 {
		where, args = append(where, "seq > ?"), append(args, f.AfterSeq)
	}
	q := `SELECT seq, prev_hash, hash, logged_at, kind, actor, object, detail FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := l.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return nil, err
		}
		e, err := r.entry()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	return out, nil
}

// row is an entry as stored.
type row struct {
	seq                                         int64
	prev, hash, at, kind, actor, object, detail string
}

func scanRow(rows *sql.Rows) (row, error) {
	var r row
	if err := rows.Scan(&r.seq, &r.prev, &r.hash, &r.at, &r.kind, &r.actor, &r.object, &r.detail); err != nil {
		return r, fmt.Errorf("read audit entry: %w", err)
	}
	return r, nil
}

func (r row) entry() (Entry, error) {
	t, err := time.Parse(timeLayout, r.at)
	if err != nil {
		return Entry{}, fmt.Errorf("audit entry %d: time %q: %w", r.seq, r.at, err)
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(r.detail), &d); err != nil {
		return Entry{}, fmt.Errorf("audit entry %d: detail is not JSON: %w", r.seq, err)
	}
	return Entry{Seq: r.seq, PrevHash: r.prev, Hash: r.hash, Time: t, Kind: r.kind, Actor: r.actor, Object: r.object, Detail: d}, nil
}

func (r row) computedHash() string {
	return hashEntry(r.seq, r.prev, r.at, r.kind, r.actor, r.object, r.detail)
}

// ReadAnchor reads the anchor file; ok is false when there is none yet.
func (l *Log) ReadAnchor() (h Head, ok bool, err error) {
	if l.headFile == "" {
		return Head{}, false, nil
	}
	b, err := os.ReadFile(l.headFile)
	if errors.Is(err, os.ErrNotExist) {
		return Head{}, false, nil
	}
	if err != nil {
		return Head{}, false, fmt.Errorf("read audit anchor: %w", err)
	}
	h, err = ParseHead(string(b))
	if err != nil {
		return Head{}, false, fmt.Errorf("audit anchor %s: %w", l.headFile, err)
	}
	return h, true, nil
}

// writeAnchor replaces the anchor file atomically. It never moves the anchor
// backwards: a head older than the anchored one means someone else appended
// meanwhile, and their head is the newer truth.
func (l *Log) writeAnchor(h Head) error {
	if l.headFile == "" {
		return nil
	}
	if old, ok, err := l.ReadAnchor(); err == nil && ok && old.Seq > h.Seq {
		return nil
	}
	tmp := l.headFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(h.String()+"\n"), 0o600); err != nil {
		return fmt.Errorf("write audit anchor: %w", err)
	}
	if err := os.Rename(tmp, l.headFile); err != nil {
		return fmt.Errorf("write audit anchor: %w", err)
	}
	return nil
}
