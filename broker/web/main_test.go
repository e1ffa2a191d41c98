package web_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kunnskapskommunen/folkekommune/broker"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
	"github.com/kunnskapskommunen/folkekommune/broker/synth"
)

// site is the one broker every test of this package talks to: the real
// service (broker.New) on a small synthetic extract with its indicators
// computed and the demo users seeded, served by httptest. It is made once
// per test binary; tests that change state make their own requests and
// never depend on each other's.
var site struct {
	srv     *broker.Server
	db      *store.DB
	http    *httptest.Server
	tokens  map[string]string // role → token
	project int64
}

func TestMain(m *testing.M) {
	flag.Parse()
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "web tests:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "web-test-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(dir, broker.DBFile))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if _, err := broker.PrepareData(ctx, db, dir, broker.DataOptions{Scale: synth.Small, Seed: 7}); err != nil {
		return 0, err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	srv, err := broker.New(ctx, db, broker.Config{DataDir: dir, Addr: "127.0.0.1:0"}, log)
	if err != nil {
		return 0, err
	}
	tokens, err := srv.SeedDemo(ctx)
	if err != nil {
		return 0, err
	}
	project, err := srv.DemoProject(ctx)
	if err != nil || project == 0 {
		return 0, fmt.Errorf("demo project: %d, %v", project, err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	site.srv, site.db, site.http, site.tokens, site.project = srv, db, hs, tokens, project
	code := m.Run()
	closeBrowser()
	return code, nil
}

// browser is one person's HTTP client: a cookie jar, no redirects
// followed unless asked, so tests see every answer.
type browser struct {
	t      testing.TB
	client *http.Client
	base   string
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: site.http.URL, client: &http.Client{
		Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// page is an answer read whole.
type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) get(path string) page {
	b.t.Helper()
	return b.do("GET", path, nil)
}

func (b *browser) do(method, path string, form url.Values) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: res.StatusCode, header: res.Header, body: string(raw)}
}

var csrfPattern = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// csrf is the CSRF token of the first form on p.
func (b *browser) csrf(p page) string {
	b.t.Helper()
	m := csrfPattern.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("no CSRF field on the page:\n%s", p.body)
	}
	return m[1]
}

// post sends a form from the page at from, with that page's CSRF token.
func (b *browser) post(from, path string, form url.Values) page {
	b.t.Helper()
	p := b.get(from)
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", b.csrf(p))
	return b.do("POST", path, form)
}

// login signs in as role's demo user and checks it worked.
func (b *browser) login(role string) {
	b.t.Helper()
	p := b.post("/logg-inn", "/logg-inn", url.Values{"token": {site.tokens[role]}})
	if p.status != http.StatusSeeOther {
		b.t.Fatalf("login as %s: %d\n%s", role, p.status, p.body)
	}
}

// follow GETs the Location of a redirect.
func (b *browser) follow(p page) page {
	b.t.Helper()
	loc := p.header.Get("Location")
	if loc == "" {
		b.t.Fatalf("no redirect (%d):\n%s", p.status, p.body)
	}
	return b.get(loc)
}
