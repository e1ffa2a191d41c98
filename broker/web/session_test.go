package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
	"github.com/kunnskapskommunen/folkekommune/broker/web"
)

// clock is a time the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// pagesWithClock serves the pages alone, over the shared broker's services,
// with a clock the test moves.
func pagesWithClock(t *testing.T, c *clock) *browser {
	t.Helper()
	srv := site.srv
	pages, err := web.New(web.Deps{
		Requests: srv.Requests(), Policy: srv.Policy(), Audit: srv.Audit(),
		Portfolio: srv.Portfolio(), Inquiries: srv.Inquiries(),
		Authenticate: func(ctx context.Context, token string) (web.User, error) {
			r := httptest.NewRequestWithContext(ctx, "GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+token)
			return srv.Tokens().Authenticate(r)
		},
		ReadIndicator: func(context.Context, web.User, string) (*cube.Table, error) {
			return nil, errors.New("not used")
		},
		IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 8 * time.Hour, Now: c.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(pages)
	t.Cleanup(hs.Close)
	b := newBrowser(t)
	b.base = hs.URL
	return b
}

func TestSessionsExpireWhenIdleAndAfterTheirAbsoluteLifetime(t *testing.T) {
	cases := []struct {
		name string
		// steps moves the clock between uses of the session.
		steps   []time.Duration
		expired bool
	}{
		{"used within the idle timeout", []time.Duration{29 * time.Minute}, false},
		{"idle too long", []time.Duration{31 * time.Minute}, true},
		{"kept busy, within the absolute lifetime", []time.Duration{25 * time.Minute, 25 * time.Minute, 25 * time.Minute}, false},
		{"kept busy past the absolute lifetime", append(repeat(20*time.Minute, 23), 25*time.Minute), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := &clock{t: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
			b := pagesWithClock(t, clk)
			b.login("researcher")
			for i, d := range c.steps {
				clk.add(d)
				if i == len(c.steps)-1 {
					break
				}
				if p := b.get("/"); p.status != http.StatusOK || !strings.Contains(p.body, "forsker.kari") {
					t.Fatalf("after %d steps the session has ended early (%d)", i+1, p.status)
				}
			}
			p := b.get("/foresporsler")
			if !c.expired {
				if p.status != http.StatusOK {
					t.Fatalf("a live session: /foresporsler answers %d", p.status)
				}
				return
			}
			if p.status != http.StatusSeeOther {
				t.Fatalf("an expired session: /foresporsler answers %d, want a redirect to the login page", p.status)
			}
			if login := b.follow(p); !strings.Contains(login.body, "Økten din er utløpt") {
				t.Fatalf("the login page after expiry:\n%s", login.body)
			}
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func TestAnExpiredSessionSaysSoOnTheLoginPage(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	b := pagesWithClock(t, clk)
	b.login("coordinator")
	clk.add(time.Hour)
	p := b.get("/logg-inn")
	if !strings.Contains(p.body, "Økten din er utløpt") {
		t.Fatalf("the login page does not say the session expired:\n%s", p.body)
	}
	// Signing in again works, with a new session.
	b.login("coordinator")
	if p := b.get("/"); !strings.Contains(p.body, "koordinator.bergen") {
		t.Fatal("cannot sign in again after expiry")
	}
}

func TestSigningInReplacesTheAnonymousSession(t *testing.T) {
	b := newBrowser(t)
	form := b.get("/logg-inn")
	u, _ := url.Parse(site.http.URL)
	var before string
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "fk_session" {
			before = c.Value
		}
	}
	if before == "" {
		t.Fatal("the login page set no session cookie for its CSRF token")
	}
	b.do("POST", "/logg-inn", url.Values{"csrf": {b.csrf(form)}, "token": {site.tokens["researcher"]}})
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "fk_session" && c.Value == before {
			t.Fatal("the session id did not change at sign-in (session fixation)")
		}
	}
}
