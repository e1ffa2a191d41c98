// Package smtptest runs a real SMTP server (go-smtp's) on 127.0.0.1 for
// tests: it records every message it accepts and can be told to refuse the
// next messages with a given reply code, so that retry paths run against the
// real protocol rather than a stand-in for the sender.
package smtptest

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Mail is one accepted message.
type Mail struct {
	From string
	To   []string
	Data string
}

// Server is a running test SMTP server.
type Server struct {
	Addr string

	mu       sync.Mutex
	mails    []Mail
	refusals []int // reply codes for the next DATA commands, consumed in order
}

// Start starts a server on a free local port and stops it when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{}
	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for test SMTP server: %v", err)
	}
	s.Addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// RefuseNext makes the server refuse the next len(codes) messages at DATA
// with these reply codes (4xx temporary, 5xx permanent).
func (s *Server) RefuseNext(codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refusals = append(s.refusals, codes...)
}

// Mails returns the messages accepted so far.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s    *Server
	from string
	to   []string
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error { x.from = from; return nil }
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error   { x.to = append(x.to, to); return nil }
func (x *session) Reset()                                      { x.from, x.to = "", nil }
func (x *session) Logout() error                               { return nil }

func (x *session) Data(r io.Reader) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	if len(x.s.refusals) > 0 {
		code := x.s.refusals[0]
		x.s.refusals = x.s.refusals[1:]
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: "refused by test server"}
	}
	if x.from == "" || len(x.to) == 0 {
		return errors.New("no envelope")
	}
	x.s.mails = append(x.s.mails, Mail{From: x.from, To: append([]string(nil), x.to...), Data: string(body)})
	return nil
}
