package broker

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/notify/smtptest"
)

// TestServeDeliversTheOutboxWhenSMTPIsConfigured: the demo seed routes
// inquiries to R&D contacts, which queues notification e-mails; a serving
// broker with --smtp delivers them to a real SMTP server without anyone
// running a command.
func TestServeDeliversTheOutboxWhenSMTPIsConfigured(t *testing.T) {
	mail := smtptest.Start(t)
	e := newEnv(t, template)
	e.srv.cfg.SMTPAddr = mail.Addr
	e.srv.cfg.MailFrom = "fou@example.no"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve(ctx, ln) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(mail.Mails()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	got := mail.Mails()
	if len(got) == 0 {
		t.Fatal("no notification e-mail delivered within 10 s")
	}
	if got[0].From != "fou@example.no" || len(got[0].To) == 0 {
		t.Errorf("first mail from %q to %v", got[0].From, got[0].To)
	}
	var sent int
	if err := e.db.QueryRow(`SELECT count(*) FROM outbox WHERE status = 'sent'`).Scan(&sent); err != nil {
		t.Fatal(err)
	}
	if sent != len(got) {
		t.Errorf("outbox records %d messages as sent, the SMTP server received %d", sent, len(got))
	}
}
