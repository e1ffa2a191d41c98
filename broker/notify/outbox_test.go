package notify_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/notify"
	"github.com/kunnskapskommunen/folkekommune/broker/notify/smtptest"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

func openDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func enqueue(t *testing.T, db *store.DB, now time.Time, msgs ...notify.Message) {
	t.Helper()
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		for _, m := range msgs {
			if err := notify.Enqueue(context.Background(), tx, m, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestDeliverSendsOverSMTPWithEncodedSubjectAndUTF8Body(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	srv := smtptest.Start(t)
	c := &clock{time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)}
	enqueue(t, db, c.t, notify.Message{To: "fou@askoy.kommune.no", Subject: "Ny forskningshenvendelse: Søvn på sykehjem", Body: "Hei!\nSvarfrist: 2025-03-24.", Topic: "inquiry.received", Object: "inquiry/1"})
	m := &notify.Mailer{DB: db.DB, Addr: srv.Addr, From: "kunnskapskommunen@bergen.kommune.no", Now: c.now}
	rep, err := m.Deliver(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep != (notify.Report{Sent: 1}) {
		t.Fatalf("report = %+v, want one sent", rep)
	}
	mails := srv.Mails()
	if len(mails) != 1 || mails[0].To[0] != "fou@askoy.kommune.no" {
		t.Fatalf("server got %+v", mails)
	}
	if !strings.Contains(mails[0].Data, "Svarfrist: 2025-03-24.") || !strings.Contains(mails[0].Data, "=?utf-8?q?") {
		t.Errorf("message not as composed:\n%s", mails[0].Data)
	}
	// A second pass sends nothing more.
	if rep, _ := m.Deliver(ctx); rep != (notify.Report{}) {
		t.Errorf("second pass = %+v, want nothing", rep)
	}
}

func TestDeliverRetriesTemporaryRefusalWithExponentialBackoff(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	srv := smtptest.Start(t)
	srv.RefuseNext(451, 421)
	start := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	c := &clock{start}
	enqueue(t, db, c.t, notify.Message{To: "a@b.no", Subject: "s", Body: "b", Topic: "t"})
	m := &notify.Mailer{DB: db.DB, Addr: srv.Addr, From: "x@y.no", Now: c.now, Backoff: time.Minute, MaxAttempts: 5}

	steps := []struct {
		at   time.Duration
		want notify.Report
	}{
		{0, notify.Report{Deferred: 1}},                   // 451: retry after 1 min
		{30 * time.Second, notify.Report{}},               // not yet due
		{time.Minute, notify.Report{Deferred: 1}},         // 421: retry after 2 min
		{2*time.Minute + 59*time.Second, notify.Report{}}, // still waiting
		{3 * time.Minute, notify.Report{Sent: 1}},         // accepted
	}
	for _, s := range steps {
		c.t = start.Add(s.at)
		rep, err := m.Deliver(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep != s.want {
			t.Fatalf("at +%v: report %+v, want %+v", s.at, rep, s.want)
		}
	}
	st, _ := notify.List(ctx, db.DB, "")
	if st[0].Status != "sent" || st[0].Attempts != 3 {
		t.Errorf("outbox row = %+v, want sent after 3 attempts", st[0])
	}
	if len(srv.Mails()) != 1 {
		t.Errorf("server accepted %d messages, want 1", len(srv.Mails()))
	}
}

func TestDeliverGivesUp(t *testing.T) {
	tests := []struct {
		name     string
		refusals []int
		passes   int
		attempts int
	}{
		{"permanent refusal fails at once", []int{550}, 1, 1},
		{"temporary refusals exhaust the attempts", []int{450, 450, 450}, 3, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := openDB(t)
			srv := smtptest.Start(t)
			srv.RefuseNext(tc.refusals...)
			c := &clock{time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)}
			enqueue(t, db, c.t, notify.Message{To: "a@b.no", Subject: "s", Body: "b", Topic: "t"})
			m := &notify.Mailer{DB: db.DB, Addr: srv.Addr, From: "x@y.no", Now: c.now, Backoff: time.Second, MaxAttempts: 3}
			for i := 0; i < tc.passes; i++ {
				if _, err := m.Deliver(ctx); err != nil {
					t.Fatal(err)
				}
				c.t = c.t.Add(time.Hour)
			}
			st, _ := notify.List(ctx, db.DB, "")
			if st[0].Status != "failed" || st[0].Attempts != tc.attempts || !strings.Contains(st[0].LastError, "refused by test server") {
				t.Errorf("outbox row = %+v", st[0])
			}
		})
	}
}

func TestDeliverDefersWhenServerUnreachable(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	c := &clock{time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)}
	enqueue(t, db, c.t, notify.Message{To: "a@b.no", Subject: "s", Body: "b", Topic: "t"})
	m := &notify.Mailer{DB: db.DB, Addr: "127.0.0.1:1", From: "x@y.no", Now: c.now, Timeout: 2 * time.Second}
	rep, err := m.Deliver(ctx)
	if err != nil || rep != (notify.Report{Deferred: 1}) {
		t.Fatalf("report %+v, err %v; want one deferred", rep, err)
	}
}

func TestRolledBackChangeSendsNothing(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	_ = db.InTx(ctx, func(tx *sql.Tx) error {
		if err := notify.Enqueue(ctx, tx, notify.Message{To: "a@b.no", Subject: "s", Body: "b", Topic: "t"}, time.Now()); err != nil {
			t.Fatal(err)
		}
		return sql.ErrNoRows // any failure of the change
	})
	if st, _ := notify.List(ctx, db.DB, ""); len(st) != 0 {
		t.Fatalf("outbox holds %d messages after rollback", len(st))
	}
}

func TestEnqueueRefusesBadRecipient(t *testing.T) {
	db := openDB(t)
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		return notify.Enqueue(context.Background(), tx, notify.Message{To: "not an address", Topic: "t"}, time.Now())
	})
	if err == nil || !strings.Contains(err.Error(), "not an e-mail address") {
		t.Fatalf("err = %v", err)
	}
}

func TestRunDeliversUntilStopped(t *testing.T) {
	db := openDB(t)
	srv := smtptest.Start(t)
	enqueue(t, db, time.Now(), notify.Message{To: "a@b.no", Subject: "s", Body: "b", Topic: "t"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	m := &notify.Mailer{DB: db.DB, Addr: srv.Addr, From: "x@y.no"}
	go func() { m.Run(ctx, 20*time.Millisecond); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(srv.Mails()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	enqueue(t, db, time.Now(), notify.Message{To: "c@d.no", Subject: "s", Body: "b", Topic: "t"})
	for len(srv.Mails()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if n := len(srv.Mails()); n != 2 {
		t.Fatalf("server got %d mails, want 2", n)
	}
}

func TestConcurrentDeliveriesSendEachMessageOnce(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	srv := smtptest.Start(t)
	var msgs []notify.Message
	for i := 0; i < 12; i++ {
		msgs = append(msgs, notify.Message{To: "a@b.no", Subject: "s", Body: strings.Repeat("x", i), Topic: "t"})
	}
	enqueue(t, db, time.Now().Add(-time.Second), msgs...)
	done := make(chan notify.Report, 3)
	for i := 0; i < 3; i++ {
		go func() {
			m := &notify.Mailer{DB: db.DB, Addr: srv.Addr, From: "x@y.no"}
			rep, err := m.Deliver(ctx)
			if err != nil {
				t.Error(err)
			}
			done <- rep
		}()
	}
	sent := 0
	for i := 0; i < 3; i++ {
		sent += (<-done).Sent
	}
	if sent != 12 || len(srv.Mails()) != 12 {
		t.Fatalf("reported %d sent, server got %d; want 12 each", sent, len(srv.Mails()))
	}
}
