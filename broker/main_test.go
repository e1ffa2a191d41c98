package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kunnskapskommunen/folkekommune/broker/store"
	"github.com/kunnskapskommunen/folkekommune/broker/synth"
)

// template is a data directory with a small synthetic extract pulled and
// its indicators computed, made once per test binary; each test server
// works on its own copy.
var template string

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "broker tests:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "broker-test-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	if err := prepareTemplate(dir, synth.Small); err != nil {
		return 0, err
	}
	template = dir
	return m.Run(), nil
}

func prepareTemplate(dir string, scale synth.Scale) error {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(dir, DBFile))
	if err != nil {
		return err
	}
	if _, err := PrepareData(ctx, db, dir, DataOptions{Scale: scale, Seed: 7}); err != nil {
		db.Close()
		return err
	}
	if _, err := db.ExecContext(ctx, `CHECKPOINT`); err != nil {
		db.Close()
		return err
	}
	return db.Close()
}

// env is a running test server with the demo users.
type env struct {
	t       testing.TB
	srv     *Server
	db      *store.DB
	http    *httptest.Server
	tokens  map[string]string // role → token
	project int64
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o600)
}

// newEnv starts a server on a copy of the data directory in from.
func newEnv(t testing.TB, from string) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	for _, name := range []string{DBFile, "pseudonym.key"} {
		if err := copyFile(filepath.Join(from, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	db, err := store.Open(ctx, filepath.Join(dir, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := New(ctx, db, Config{DataDir: dir, Addr: "127.0.0.1:0"}, log)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := srv.SeedDemo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	project, err := srv.DemoProject(ctx)
	if err != nil || project == 0 {
		t.Fatalf("demo project: %d, %v", project, err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		db.Close()
	})
	return &env{t: t, srv: srv, db: db, http: hs, tokens: tokens, project: project}
}

// response is an HTTP answer read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request as role ("" for none) with an optional JSON body.
func (e *env) do(role, method, path string, body any, header ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, e.http.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if role != "" {
		tok, ok := e.tokens[role]
		if !ok {
			tok = role // a literal token
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := e.http.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// spec is a request body.
func (e *env) spec(dataset string, dims []string, filters map[string][]string, from, to int) map[string]any {
	s := map[string]any{"project": e.project, "dataset": dataset, "measure": "persons", "dimensions": dims,
		"period": map[string]int{"from": from, "to": to}, "purpose": "Testing the release path"}
	if filters != nil {
		s["filters"] = filters
	}
	return s
}

// submitted is what POST /api/v1/requests answers.
type submitted struct {
	ID          string `json:"id"`
	State       string `json:"state"`
	ReleaseID   string `json:"release_id"`
	Message     string `json:"message"`
	Obligations struct {
		K            int  `json:"k"`
		RoundingBase int  `json:"rounding_base"`
		Perturbation bool `json:"perturbation"`
	} `json:"obligations"`
	Reasons []struct {
		Code    string            `json:"code"`
		Title   string            `json:"title"`
		Message map[string]string `json:"message"`
	} `json:"reasons"`
}

func (e *env) submit(role string, spec map[string]any) submitted {
	e.t.Helper()
	res := e.do(role, "POST", "/api/v1/requests", spec)
	if res.status != http.StatusCreated {
		e.t.Fatalf("POST /api/v1/requests as %s: %d %s", role, res.status, res.body)
	}
	var s submitted
	res.json(e.t, &s)
	return s
}
