// Package notify is the registries' e-mail outbox: a notification is written
// to the outbox table in the same transaction as the change that causes it
// (so a rolled-back change sends nothing and a committed one is never lost),
// and a separate Deliver pass sends due messages over SMTP, retrying
// temporary failures with exponential backoff up to a bound.
package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one notification e-mail.
type Message struct {
	To      string
	Subject string
	Body    string
	Topic   string // what caused it, e.g. "inquiry.accepted"
	Object  string // what it is about, e.g. "inquiry/12"
}

// Enqueue writes msg to the outbox inside tx; it becomes due at now.
func Enqueue(ctx context.Context, tx *sql.Tx, msg Message, now time.Time) error {
	if _, err := mail.ParseAddress(msg.To); err != nil {
		return fmt.Errorf("notification %q: recipient %q is not an e-mail address", msg.Topic, msg.To)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO outbox
		(recipient, subject, body, topic, object, status, attempts, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)`,
		msg.To, msg.Subject, msg.Body, msg.Topic, msg.Object, now, now)
	if err != nil {
		return fmt.Errorf("enqueue notification %q to outbox: %w", msg.Topic, err)
	}
	return nil
}

// Mailer delivers the outbox over SMTP.
type Mailer struct {
	DB          *sql.DB
	Addr        string        // SMTP server host:port
	From        string        // envelope and header sender
	MaxAttempts int           // after this many failures a message is marked failed; default 5
	Backoff     time.Duration // wait after the first failure, doubled after each; default 1 minute
	Now         func() time.Time
	Timeout     time.Duration // per-message dial and send timeout; default 30 s
}

// Report counts what one Deliver pass did.
type Report struct {
	Sent     int `json:"sent"`
	Deferred int `json:"deferred"` // temporary failure, will be retried
	Failed   int `json:"failed"`   // permanent failure or attempts exhausted
}

type queued struct {
	id       int64
	to       string
	subject  string
	body     string
	attempts int
}

func (m *Mailer) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Deliver sends every pending message that is due. A 4xx reply or a network
// error defers the message by Backoff·2^(attempts-1); a 5xx reply, or running
// out of attempts, marks it failed. Each message's outcome is recorded as
// soon as it is known, so a crash repeats at most one send.
func (m *Mailer) Deliver(ctx context.Context) (Report, error) {
	var rep Report
	maxAttempts, backoff := m.MaxAttempts, m.Backoff
	if maxAttempts <= 0 {
		maxAttempts = 5
	}
	if backoff <= 0 {
		backoff = time.Minute
	}
	now := m.now()
	rows, err := m.DB.QueryContext(ctx, `SELECT id, recipient, subject, body, attempts FROM outbox
		WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id`, now)
	if err != nil {
		return rep, fmt.Errorf("read outbox: %w", err)
	}
	var due []queued
	for rows.Next() {
		var q queued
		if err := rows.Scan(&q.id, &q.to, &q.subject, &q.body, &q.attempts); err != nil {
			rows.Close()
			return rep, fmt.Errorf("read outbox: %w", err)
		}
		due = append(due, q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("read outbox: %w", err)
	}
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	for _, q := range due {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		// Claim the message by moving its next attempt past the send's
		// timeout, so that a second Deliver running at the same time (the
		// service's loop and a command, say) skips it rather than sends it
		// twice.
		res, err := m.DB.ExecContext(ctx, `UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND status = 'pending' AND next_attempt_at <= ?`,
			m.now().Add(2*timeout), q.id, now)
		if err != nil {
			continue // another pass changed it first
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue
		}
		sendErr := m.send(ctx, q)
		now := m.now()
		// What happened at the SMTP server must be recorded even when ctx
		// ended meanwhile (shutdown): a sent message recorded as pending
		// would be sent again at the next start.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		switch {
		case sendErr == nil:
			rep.Sent++
			_, err = m.DB.ExecContext(rctx, `UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?, last_error = '' WHERE id = ?`, now, q.id)
		case permanent(sendErr) || q.attempts+1 >= maxAttempts:
			rep.Failed++
			_, err = m.DB.ExecContext(rctx, `UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?`, sendErr.Error(), q.id)
		default:
			rep.Deferred++
			wait := backoff << q.attempts
			_, err = m.DB.ExecContext(rctx, `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?`, now.Add(wait), sendErr.Error(), q.id)
		}
		cancel()
		if err != nil {
			return rep, fmt.Errorf("record delivery of outbox message %d: %w", q.id, err)
		}
	}
	return rep, nil
}

// permanent reports whether the server refused for good (5xx).
func permanent(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code/100 == 5
}

func (m *Mailer) send(ctx context.Context, q queued) error {
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.Addr)
	if err != nil {
		return fmt.Errorf("connect to SMTP server %s: %w", m.Addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.SendMail(m.From, []string{q.to}, strings.NewReader(compose(m.From, q, m.now()))); err != nil {
		return err
	}
	return c.Quit()
}

// compose renders a plain-text UTF-8 message with encoded headers.
func compose(from string, q queued, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: %s\r\n", q.to)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", q.subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <outbox-%d@folkekommune>\r\n", q.id)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	body := strings.ReplaceAll(q.body, "\r\n", "\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	b.WriteString("\r\n")
	return b.String()
}

// EraseRecipient removes every outbox message to or mentioning address, sent
// or not, inside tx: a person's erasure must also reach mail not yet sent
// and the copies of mail already sent. It returns how many were removed.
func EraseRecipient(ctx context.Context, tx *sql.Tx, address string) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE lower(recipient) = lower(?) OR contains(lower(body), lower(?))`, address, address)
	if err != nil {
		return 0, fmt.Errorf("erase outbox messages: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// Status is an outbox row as seen by tests and the command line.
type Status struct {
	ID        int64  `json:"id"`
	Recipient string `json:"recipient"`
	Subject   string `json:"subject"`
	Topic     string `json:"topic"`
	Object    string `json:"object"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error,omitempty"`
}

// List returns the outbox in id order, optionally only one topic prefix.
func List(ctx context.Context, db *sql.DB, topicPrefix string) ([]Status, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, recipient, subject, topic, object, status, attempts, last_error
		FROM outbox WHERE starts_with(topic, ?) ORDER BY id`, topicPrefix)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	defer rows.Close()
	var out []Status
	for rows.Next() {
		var s Status
		if err := rows.Scan(&s.ID, &s.Recipient, &s.Subject, &s.Topic, &s.Object, &s.Status, &s.Attempts, &s.LastError); err != nil {
			return nil, fmt.Errorf("list outbox: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Run delivers the outbox every interval until ctx ends, as the serving
// broker does; a failed pass is logged and retried at the next tick.
func (m *Mailer) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if rep, err := m.Deliver(ctx); err != nil && ctx.Err() == nil {
			slog.Error("deliver notification e-mails", "err", err)
		} else if rep != (Report{}) {
			slog.Info("delivered notification e-mails", "sent", rep.Sent, "deferred", rep.Deferred, "failed", rep.Failed)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
