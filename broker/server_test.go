package broker

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestShutdownFinishesRequestsInFlight(t *testing.T) {
	e := newEnv(t, template)
	release := make(chan struct{})
	e.srv.router.Get("/test/slow", func(w http.ResponseWriter, r *http.Request) {
		close(release)
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "finished")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve(ctx, ln) }()
	got := make(chan string, 1)
	go func() {
		res, err := http.Get("http://" + ln.Addr().String() + "/test/slow")
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		got <- string(b)
	}()
	<-release
	cancel()
	if body := <-got; body != "finished" {
		t.Errorf("request in flight: %q", body)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Error("still accepting connections after shutdown")
	}
}

func TestMetricsCountRequestsDecisionsAndPulls(t *testing.T) {
	e := newEnv(t, template)
	e.submit("researcher", e.spec("population", []string{"sex"}, nil, 2024, 2024))
	e.submit("researcher", e.spec("population", []string{"district", "age_5y"}, nil, 2024, 2024))
	// Web pages are counted by the broker's pattern for them, as routes are.
	e.do("", "GET", "/", nil)
	e.do("", "GET", "/indikatorer", nil)
	res := e.do("", "GET", "/metrics", nil)
	body := string(res.body)
	for _, want := range []string{
		`folkekommune_http_requests_total{code="201",method="POST",route="/api/v1/requests"} 2`,
		`folkekommune_policy_decisions_total{outcome="allow"} 1`,
		`folkekommune_policy_decisions_total{outcome="deny"} 1`,
		`folkekommune_releases_total 1`,
		`folkekommune_extract_pulls{status="loaded"} 1`,
		`folkekommune_http_request_duration_seconds_bucket{method="POST",route="/api/v1/requests"`,
		`folkekommune_http_requests_total{code="200",method="GET",route="/"} 1`,
		`folkekommune_http_requests_total{code="200",method="GET",route="/indikatorer"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Ids never become labels.
	if strings.Contains(body, "req-") || strings.Contains(body, "rel-") {
		t.Error("a request or release id leaked into the metrics")
	}
}

func TestExampleRequestsInTestdataGetTheirOutcome(t *testing.T) {
	e := newEnv(t, template)
	files, err := filepath.Glob("../testdata/api/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// The examples name project 1, the demo's FolkeKommune.
		want := strings.TrimSuffix(filepath.Base(f), ".json")
		want = want[strings.LastIndex(want, "-")+1:]
		got := e.submit("researcher", mustJSON(t, b))
		if got.State != want {
			t.Errorf("%s: state %s, want %s (%+v)", f, got.State, want, got.Reasons)
		}
	}
}

func mustJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := jsonUnmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
