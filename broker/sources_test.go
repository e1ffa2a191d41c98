package broker

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/extract"
	"github.com/kunnskapskommunen/folkekommune/broker/sources"
	"github.com/kunnskapskommunen/folkekommune/broker/synth"
)

// withSources configures the server's sources from a sources file's text
// (written beside any files it names); the schedule does not run until
// startSources.
func withSources(t testing.TB, e *env, yaml string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sources.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := sources.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if e.srv.sources.key, err = extract.LoadKey(e.srv.cfg.DataDir); err != nil {
		t.Fatal(err)
	}
	e.srv.sources.configure(f)
}

// startSources runs the schedule until the test ends; stop ends it and
// waits, as Serve does.
func startSources(t testing.TB, e *env) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	e.srv.sources.run(ctx, &wg)
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// fhirTestServer serves the template's extract as a FHIR Bulk Data export
// and writes the broker's client key (0600) for a sources file.
func fhirTestServer(t testing.TB, m synth.Misbehaviour) (url, keyFile string, srv *synth.FHIRServer) {
	t.Helper()
	export := t.TempDir()
	updated := time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC)
	if err := synth.WriteFHIR(context.Background(), filepath.Join(template, "extract"), export, updated.Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile = filepath.Join(t.TempDir(), "fhir-client.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	jwks, err := extract.FHIRPublicJWKS(key, "broker-1")
	if err != nil {
		t.Fatal(err)
	}
	srv = synth.NewFHIRServer(export, updated)
	if err := srv.RegisterClient("folkekommune", jwks); err != nil {
		t.Fatal(err)
	}
	srv.Misbehave(m)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs.URL, keyFile, srv
}

type sourceJSON struct {
	Name, Kind, Location, Schedule string
	Datasets                       []string
	NextRun                        *time.Time `json:"next_run"`
	Running, Queued                bool
	LastFinished                   *time.Time `json:"last_finished"`
	LastError                      string     `json:"last_error"`
	Rows                           map[string]int64
	HighWaterMark                  string `json:"high_water_mark"`
	LastPull                       *struct {
		ID         int64
		Status     string
		RowsLoaded int64 `json:"rows_loaded"`
	} `json:"last_pull"`
}

// settled waits until the source is neither running nor queued and has
// finished a pull.
func (e *env) settled(name string) sourceJSON {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var v sourceJSON
		res := e.do("admin", "GET", "/api/v1/sources/"+name, nil)
		res.json(e.t, &v)
		if res.status != 200 {
			e.t.Fatalf("GET source %s: %d %s", name, res.status, res.body)
		}
		if !v.Running && !v.Queued && v.LastFinished != nil {
			return v
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("source %s did not finish its pull: %+v", name, v)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSourcesArePulledOnRequestThroughTheRunnerAndReported(t *testing.T) {
	if testing.Short() {
		t.Skip("pulls over FHIR")
	}
	e := newEnv(t, template)
	url, keyFile, fhir := fhirTestServer(t, synth.Misbehaviour{})
	withSources(t, e, `sources:
  - name: demo-drop
    kind: filedrop
    folder: `+filepath.Join(template, "extract")+`
    datasets: [care]
  - name: demo-fhir
    kind: fhir
    base_url: `+url+`
    client_id: folkekommune
    key_id: broker-1
    private_key_file: `+keyFile+`
    datasets: [growth, vaccination, gp_contact]
`)
	startSources(t, e)

	var list struct {
		Sources []sourceJSON
	}
	res := e.do("privacy_officer", "GET", "/api/v1/sources", nil)
	res.json(t, &list)
	if res.status != 200 || len(list.Sources) != 2 || list.Sources[1].Location != url || list.Sources[0].Schedule != "on request" ||
		list.Sources[0].LastPull != nil || len(list.Sources[1].Datasets) != 3 {
		t.Fatalf("sources: %d %s", res.status, res.body)
	}
	if strings.Contains(string(res.body), "BEGIN") || strings.Contains(string(res.body), keyFile) {
		t.Error("the sources answer shows the key or its file")
	}

	// The file drop's care decisions load as the source's own rows; the
	// same files again are a no-op.
	for range 2 {
		if res := e.do("admin", "POST", "/api/v1/sources/demo-drop/pull", nil); res.status != 202 {
			t.Fatalf("pull demo-drop: %d %s", res.status, res.body)
		}
		if v := e.settled("demo-drop"); v.LastError != "" || v.LastPull == nil || v.LastPull.ID != 2 || v.LastPull.Status != "loaded" {
			t.Fatalf("demo-drop after its pull: %+v", v)
		}
	}

	// The same data over FHIR loads as a new extract, by the runner.
	if res := e.do("admin", "POST", "/api/v1/sources/demo-fhir/pull", nil); res.status != 202 {
		t.Fatalf("pull demo-fhir: %d %s", res.status, res.body)
	}
	busy := e.do("admin", "POST", "/api/v1/sources/demo-fhir/pull", nil)
	v := e.settled("demo-fhir")
	if v.LastError != "" || v.LastPull == nil || v.LastPull.Status != "loaded" || v.LastPull.ID != 3 || v.LastPull.RowsLoaded == 0 {
		t.Fatalf("demo-fhir after its pull: %+v", v)
	}
	if v.Rows["growth"] == 0 || v.Rows["gp_contact"] == 0 || v.Rows["care_decision"] != 0 {
		t.Errorf("demo-fhir's rows: %v", v.Rows)
	}
	if busy.status != 409 {
		t.Errorf("a second pull while the first ran or waited: %d, want 409", busy.status)
	}
	if st := fhir.Stats(); st.KickOffs != 1 || st.Tokens < 1 {
		t.Errorf("FHIR server saw %+v", st)
	}

	// The registry, filtered by the configured name, with the files and
	// the quarantine counted per reason.
	var ex struct {
		Extracts []sources.Extract
	}
	res = e.do("admin", "GET", "/api/v1/extracts?source=demo-fhir&status=loaded", nil)
	res.json(t, &ex)
	if res.status != 200 || len(ex.Extracts) != 1 || ex.Extracts[0].Connector != "fhir" || ex.Extracts[0].ID != 3 || ex.Extracts[0].SourceName != "demo-fhir" {
		t.Fatalf("extracts of demo-fhir: %d %s", res.status, res.body)
	}
	var d sources.ExtractDetail
	res = e.do("privacy_officer", "GET", "/api/v1/extracts/3", nil)
	res.json(t, &d)
	var quarantined int64
	for _, q := range d.Quarantine {
		quarantined += q.Rows
		if strings.Contains(q.Reason, "duplicate of line") {
			t.Errorf("a duplicate's reason names its line: %+v", q)
		}
	}
	if res.status != 200 || len(d.Files) != 3 || quarantined != d.RowsQuarantined || d.RowsLoaded+d.RowsQuarantined != d.RowsRead {
		t.Errorf("extract 3: %d, %d files, quarantine %d of %d", res.status, len(d.Files), quarantined, d.RowsQuarantined)
	}
	if strings.Contains(string(res.body), "fodselsnummer\":") {
		t.Error("the extract shows a row")
	}
	metrics := e.do("", "GET", "/metrics", nil)
	for _, want := range []string{`folkekommune_source_pulls_total{result="loaded",source="demo-fhir",trigger="request"} 1`,
		`folkekommune_source_pulls_total{result="unchanged",source="demo-drop",trigger="request"} 1`, `folkekommune_source_running{source="demo-fhir"} 0`} {
		if !strings.Contains(string(metrics.body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// The audit log has the system's pull.
	var actor string
	if err := e.db.QueryRow(`SELECT actor FROM audit_log WHERE kind = 'pull' ORDER BY seq DESC LIMIT 1`).Scan(&actor); err != nil || actor == "" {
		t.Errorf("audit of the pull: actor %q, %v", actor, err)
	}
}

func TestSourcesAPIRefusesBadInput(t *testing.T) {
	e := newEnv(t, template)
	tests := []struct {
		path  string
		want  int
		field string
	}{
		{"/api/v1/extracts?status=done", 400, "status"},
		{"/api/v1/extracts?limit=0", 400, "limit"},
		{"/api/v1/extracts?limit=many", 400, "limit"},
		{"/api/v1/extracts/x", 400, "id"},
		{"/api/v1/extracts/999", 404, ""},
		{"/api/v1/sources/nope", 404, ""},
		{"/api/v1/extracts?source=nope", 200, ""},
	}
	for _, tc := range tests {
		res := e.do("admin", "GET", tc.path, nil)
		var body struct{ Field string }
		res.json(t, &body)
		if res.status != tc.want || body.Field != tc.field {
			t.Errorf("GET %s: %d field %q, want %d %q (%s)", tc.path, res.status, body.Field, tc.want, tc.field, firstLine(res.body))
		}
	}
	if res := e.do("admin", "POST", "/api/v1/sources/nope/pull", nil); res.status != 404 {
		t.Errorf("pull of an unknown source: %d", res.status)
	}
}

func TestTheScheduleCatchesUpANeverPulledSourceAtStartAndStopKeepsAPullForResuming(t *testing.T) {
	if testing.Short() {
		t.Skip("pulls over FHIR")
	}
	e := newEnv(t, template)
	// The FHIR export never completes: its pull is in progress when the
	// broker stops.
	url, keyFile, fhir := fhirTestServer(t, synth.Misbehaviour{PollsBeforeDone: 1000, RetryAfter: 1})
	withSources(t, e, `sources:
  - name: nightly-drop
    kind: filedrop
    folder: `+filepath.Join(template, "extract")+`
    datasets: [care]
    schedule: {every: 24h, at: "02:00"}
  - name: slow-fhir
    kind: fhir
    base_url: `+url+`
    client_id: folkekommune
    key_id: broker-1
    private_key_file: `+keyFile+`
    datasets: [growth]
`)
	stop := startSources(t, e)
	v := e.settled("nightly-drop")
	if v.LastPull == nil || v.LastPull.Status != "loaded" || v.NextRun == nil || v.NextRun.Sub(time.Now()) > 24*time.Hour {
		t.Fatalf("nightly-drop, never pulled, was not caught up at start: %+v", v)
	}
	var actor string
	if err := e.db.QueryRow(`SELECT actor FROM audit_log WHERE kind = 'pull' ORDER BY seq DESC LIMIT 1`).Scan(&actor); err != nil || actor != "system" {
		t.Errorf("the scheduled pull's audit actor: %q %v", actor, err)
	}

	if res := e.do("admin", "POST", "/api/v1/sources/slow-fhir/pull", nil); res.status != 202 {
		t.Fatalf("pull slow-fhir: %d %s", res.status, res.body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for fhir.Stats().Polls == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("stopping did not end the pull in progress")
	}
	// A stop is not an abandonment: the source's spool keeps the export's
	// status URL, so the next run continues the same export instead of
	// asking the server for a new one (extract's kill -9 tests pin the
	// resume itself).
	if st := fhir.Stats(); st.Deletes != 0 {
		t.Errorf("the export was cancelled on the server although it is kept for resuming: %+v", st)
	}
	if _, err := os.Stat(filepath.Join(e.srv.sources.spool, "slow-fhir", "export.json")); err != nil {
		t.Errorf("the stopped export is not recorded for resuming: %v", err)
	}
	var running int
	e.db.QueryRow(`SELECT count(*) FROM extract WHERE status = 'running'`).Scan(&running)
	if running != 0 {
		t.Errorf("%d pulls still 'running' in the registry after the stop", running)
	}
	st, _ := e.srv.sources.runner.Status("slow-fhir")
	if st.Running || !strings.Contains(st.LastError, "cancelled") {
		t.Errorf("slow-fhir after the stop: %+v", st)
	}
}
