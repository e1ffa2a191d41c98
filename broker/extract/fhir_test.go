package extract

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/synth"
)

// fhirFixture is one synthetic extract as a file drop and as the FHIR
// export of the same records, shared by the FHIR tests (building it is
// the slow part).
type fhirFixture struct {
	drop, export string
	key          *ecdsa.PrivateKey
	jwks         []byte
}

var updated = time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC)

func newFHIRFixture(t *testing.T) *fhirFixture {
	t.Helper()
	drop, _ := generate(t, synth.Options{Seed: 61, BadShare: 0.02})
	export := t.TempDir()
	if err := synth.WriteFHIR(context.Background(), drop, export, updated.Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := FHIRPublicJWKS(key, "broker-1")
	if err != nil {
		t.Fatal(err)
	}
	return &fhirFixture{drop: drop, export: export, key: key, jwks: jwks}
}

// sleeps records the waits the client asked for instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
	// after, if set, is called with the number of waits so far.
	after func(n int) error
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	n := len(s.d)
	s.mu.Unlock()
	if s.after != nil {
		if err := s.after(n); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (s *sleeps) atLeast(d time.Duration) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, x := range s.d {
		if x >= d {
			n++
		}
	}
	return n
}

// serve starts a FHIR test server over dir with the fixture's client
// registered, and a source pulling from it.
func (f *fhirFixture) serve(t *testing.T, dir string, m synth.Misbehaviour, opt FHIROptions) (*synth.FHIRServer, *FHIRSource, *sleeps) {
	t.Helper()
	srv := synth.NewFHIRServer(dir, updated)
	if err := srv.RegisterClient("folkekommune", f.jwks); err != nil {
		t.Fatal(err)
	}
	srv.Misbehave(m)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	sl := &sleeps{}
	opt.BaseURL = hs.URL
	if opt.ClientID == "" {
		opt.ClientID = "folkekommune"
	}
	if opt.Key == nil {
		opt.Key = f.key
	}
	opt.KeyID = "broker-1"
	opt.SpoolDir = t.TempDir()
	opt.Sleep = sl.sleep
	src, err := NewFHIRSource(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return srv, src, sl
}

func TestFHIRBulkDataConnector(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a synthetic FHIR export")
	}
	f := newFHIRFixture(t)
	ctx := context.Background()

	t.Run("a FHIR pull yields the same tables and quarantine as the file-drop pull", func(t *testing.T) {
		fileDB := openDB(t)
		fileRes, err := Pull(ctx, fileDB, NewFileDrop(f.drop), Options{Key: testKey})
		if err != nil {
			t.Fatal(err)
		}
		srv, src, _ := f.serve(t, f.export, synth.Misbehaviour{}, FHIROptions{})
		fhirDB := openDB(t)
		res, err := Pull(ctx, fhirDB, src, Options{Key: testKey})
		if err != nil {
			t.Fatal(err)
		}
		if a, b := dataDigest(t, fileDB), dataDigest(t, fhirDB); a != b {
			t.Errorf("tables differ:\nfile drop %s\nFHIR      %s", a, b)
		}
		if res.Loaded != fileRes.Loaded || res.Quarantined != fileRes.Quarantined {
			t.Errorf("FHIR pull loaded %d and quarantined %d, file drop %d and %d", res.Loaded, res.Quarantined, fileRes.Loaded, fileRes.Quarantined)
		}
		for _, l := range Layouts {
			q := `SELECT count(*) FROM quarantine WHERE dataset = ? AND reason NOT LIKE 'duplicate of line %'`
			if a, b := count(t, fileDB, q, string(l.Dataset)), count(t, fhirDB, q, string(l.Dataset)); a != b || a == 0 {
				t.Errorf("%s: %d rows quarantined from the file drop, %d from FHIR", l.Dataset, a, b)
			}
		}
		if n := count(t, fhirDB, `SELECT count(*) FROM extract WHERE connector = 'fhir' AND status = 'loaded' AND source = ?`, src.Location()); n != 1 {
			t.Errorf("%d loaded FHIR extracts registered, want 1", n)
		}
		st := srv.Stats()
		if st.KickOffs != 1 || st.Deletes != 1 || st.Tokens != 1 {
			t.Errorf("server saw %+v, want one kick-off, one token and the finished export deleted", st)
		}
		for _, typ := range []string{"Patient", "Observation", "Immunization", "Encounter", "Condition", "EpisodeOfCare"} {
			if !strings.Contains(st.LastKickOff, typ) {
				t.Errorf("kick-off %s does not ask for %s", st.LastKickOff, typ)
			}
		}
		if !strings.HasPrefix(st.LastKickOff, "/$export?") {
			t.Errorf("system-level kick-off went to %s", st.LastKickOff)
		}

		again, err := Pull(ctx, fhirDB, src, Options{Key: testKey})
		if err != nil {
			t.Fatal(err)
		}
		if !again.Unchanged || again.ExtractID != res.ExtractID {
			t.Errorf("pulling the same export again = %+v, want unchanged extract %d", again, res.ExtractID)
		}
		spool := src.spool
		src.Close()
		if _, err := os.Stat(spool); !os.IsNotExist(err) {
			t.Errorf("spool %s left behind after Close", spool)
		}
	})

	// partsRun runs only the export and download, which is what the
	// misbehaviours are about.
	type partsCase struct {
		name    string
		mis     synth.Misbehaviour
		opt     FHIROptions
		wantErr string // "" for success
		check   func(t *testing.T, st synth.FHIRStats, sl *sleeps, parts []Part)
	}
	clean := func() []Part {
		_, src, _ := f.serve(t, f.export, synth.Misbehaviour{}, FHIROptions{})
		parts, err := src.Parts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return parts
	}()
	sameParts := func(t *testing.T, parts []Part) {
		t.Helper()
		if len(parts) != len(clean) {
			t.Fatalf("%d parts, want %d", len(parts), len(clean))
		}
		for i := range parts {
			if parts[i] != clean[i] {
				t.Errorf("part %d = %+v, want %+v as from a clean export", i, parts[i], clean[i])
			}
		}
	}
	var progress []string
	cases := []partsCase{
		{name: "group-level kick-off carries _type and _since", opt: FHIROptions{Group: "kommune-4601", Since: updated.Add(-time.Hour)},
			check: func(t *testing.T, st synth.FHIRStats, _ *sleeps, parts []Part) {
				if !strings.HasPrefix(st.LastKickOff, "/Group/kommune-4601/$export?") || !strings.Contains(st.LastKickOff, "_since=2025-01-31T11%3A00%3A00Z") ||
					!strings.Contains(st.LastKickOff, "_type=Patient%2CObservation") {
					t.Errorf("kick-off was %s", st.LastKickOff)
				}
				sameParts(t, parts)
			}},
		{name: "a _since after every change exports nothing", opt: FHIROptions{Since: updated.Add(time.Hour)},
			check: func(t *testing.T, _ synth.FHIRStats, _ *sleeps, parts []Part) {
				for _, p := range parts {
					if p.Bytes != 0 {
						t.Errorf("%s has %d bytes, want none", p.Name, p.Bytes)
					}
				}
			}},
		{name: "polling honours Retry-After and reports X-Progress", mis: synth.Misbehaviour{PollsBeforeDone: 3, RetryAfter: 7},
			opt: FHIROptions{Progress: func(p string) { progress = append(progress, p) }},
			check: func(t *testing.T, st synth.FHIRStats, sl *sleeps, parts []Part) {
				if got := sl.atLeast(7 * time.Second); got != 3 {
					t.Errorf("%d waits of at least 7 s, want 3 (waits %v)", got, sl.d)
				}
				if len(progress) != 3 || progress[0] != "25% (1 of 4)" {
					t.Errorf("progress reported %q", progress)
				}
				if st.Polls != 4 {
					t.Errorf("%d polls, want 4", st.Polls)
				}
				sameParts(t, parts)
			}},
		{name: "429 and 503 are retried after Retry-After", mis: synth.Misbehaviour{Throttle: 2, Unavailable: 2, RetryAfter: 3},
			check: func(t *testing.T, st synth.FHIRStats, sl *sleeps, parts []Part) {
				if got := sl.atLeast(3 * time.Second); got != 4 {
					t.Errorf("%d waits of at least 3 s, want 4 (waits %v)", got, sl.d)
				}
				sameParts(t, parts)
			}},
		{name: "retries are bounded", mis: synth.Misbehaviour{Unavailable: 1000},
			wantErr: "failed 6 times, last with 503 Service Unavailable",
			check: func(t *testing.T, st synth.FHIRStats, sl *sleeps, _ []Part) {
				if st.Refused != 6 || len(sl.d) != 5 {
					t.Errorf("%d refused requests and %d waits, want 6 and 5", st.Refused, len(sl.d))
				}
				for i := 1; i < len(sl.d); i++ {
					if sl.d[i] > 30*time.Second {
						t.Errorf("wait %d is %s, above the cap", i, sl.d[i])
					}
				}
			}},
		{name: "a Retry-After beyond the limit fails instead of hanging", mis: synth.Misbehaviour{Throttle: 1, RetryAfter: 3600},
			wantErr: "asks to retry after 1h0m0s"},
		{name: "a download cut off mid-file is fetched again", mis: synth.Misbehaviour{CutFiles: 2},
			check: func(t *testing.T, st synth.FHIRStats, _ *sleeps, parts []Part) {
				if st.Downloads != 6+2 {
					t.Errorf("%d downloads, want the 6 outputs and 2 retries", st.Downloads)
				}
				sameParts(t, parts)
			}},
		{name: "a download that stalls is abandoned and fetched again", mis: synth.Misbehaviour{StallFiles: 1},
			opt: FHIROptions{StallTimeout: 300 * time.Millisecond},
			check: func(t *testing.T, st synth.FHIRStats, _ *sleeps, parts []Part) {
				if st.Downloads != 6+1 {
					t.Errorf("%d downloads, want the 6 outputs and 1 retry", st.Downloads)
				}
				sameParts(t, parts)
			}},
		{name: "an expired token is renewed once", mis: synth.Misbehaviour{ExpireTokens: 1},
			check: func(t *testing.T, st synth.FHIRStats, _ *sleeps, parts []Part) {
				if st.Tokens != 2 {
					t.Errorf("%d tokens issued, want 2", st.Tokens)
				}
				sameParts(t, parts)
			}},
		{name: "a token refused twice stops the pull", mis: synth.Misbehaviour{ExpireTokens: 100},
			wantErr: "refused the broker's access token (401)"},
		{name: "a client key the server does not know is refused", opt: FHIROptions{Key: mustKey(t)},
			wantErr: "refused the broker (400 Bad Request): invalid_client"},
		{name: "an unknown client id is refused", opt: FHIROptions{ClientID: "someone-else"},
			wantErr: "invalid_client unknown client"},
		{name: "HTML instead of NDJSON stops the pull", mis: synth.Misbehaviour{HTMLFiles: true},
			wantErr: "is text/html, not NDJSON",
			check: func(t *testing.T, st synth.FHIRStats, _ *sleeps, _ []Part) {
				if st.Deletes != 1 {
					t.Errorf("%d DELETEs, want the abandoned export cancelled", st.Deletes)
				}
			}},
		{name: "HTML instead of a manifest stops the pull", mis: synth.Misbehaviour{HTMLManifest: true},
			wantErr: "answered the export status with text/html, not a JSON manifest"},
		{name: "an error output stops the pull naming the issue", mis: synth.Misbehaviour{ErrorOutput: "error"},
			wantErr: "reported an error, so the extract is incomplete: Observation/obs17 could not be exported"},
		{name: "a warning output does not", mis: synth.Misbehaviour{ErrorOutput: "warning"},
			check: func(t *testing.T, _ synth.FHIRStats, _ *sleeps, parts []Part) { sameParts(t, parts) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, src, sl := f.serve(t, f.export, c.mis, c.opt)
			parts, err := src.Parts(ctx)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("Parts: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("Parts error = %v, want one containing %q", err, c.wantErr)
			}
			if c.wantErr != "" && src.spool != "" {
				t.Errorf("spool %s kept after a failed export", src.spool)
			}
			if c.check != nil {
				c.check(t, srv.Stats(), sl, parts)
			}
		})
	}

	t.Run("an abandoned pull cancels the export with DELETE", func(t *testing.T) {
		srv, src, sl := f.serve(t, f.export, synth.Misbehaviour{PollsBeforeDone: 1000, RetryAfter: 1}, FHIROptions{})
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		sl.after = func(n int) error {
			if n == 3 {
				cancel()
			}
			return nil
		}
		db := openDB(t)
		_, err := Pull(cctx, db, src, Options{Key: testKey})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Pull error = %v, want context.Canceled", err)
		}
		if st := srv.Stats(); st.Deletes != 1 || st.Polls != 3 {
			t.Errorf("server saw %d polls and %d DELETEs, want 3 and 1", st.Polls, st.Deletes)
		}
	})

	// Broken exports: each stops the pull naming the output and line, and
	// leaves the previously loaded data as it was.
	db := openDB(t)
	_, src, _ := f.serve(t, f.export, synth.Misbehaviour{}, FHIROptions{})
	if _, err := Pull(ctx, db, src, Options{Key: testKey}); err != nil {
		t.Fatal(err)
	}
	before := tableDigest(t, db)
	broken := []struct {
		name    string
		mis     synth.Misbehaviour
		wantErr string
	}{
		{"a truncated NDJSON line", synth.Misbehaviour{TruncateType: "Encounter"}, "is truncated (half a resource)"},
		{"a line that is not JSON", synth.Misbehaviour{CorruptType: "Observation", CorruptLine: "<html>oops</html>"},
			"FHIR output Observation line 2 is not valid JSON"},
		{"a resource with an element of the wrong type", synth.Misbehaviour{CorruptType: "Immunization",
			CorruptLine: `{"resourceType":"Immunization","id":"imm-x","status":"completed","occurrenceDateTime":20200101}`},
			"FHIR output Immunization line 2 is not a JSON resource (Immunization/imm-x)"},
		{"a resource of another type", synth.Misbehaviour{CorruptType: "Patient", CorruptLine: `{"resourceType":"Basic","id":"b1"}`},
			"FHIR output Patient line 2 holds Basic/b1, not a Patient resource"},
	}
	for _, c := range broken {
		t.Run(c.name+" stops the pull and keeps the previous data", func(t *testing.T) {
			_, src, _ := f.serve(t, f.export, c.mis, FHIROptions{})
			_, err := Pull(ctx, db, src, Options{Key: testKey, Full: true})
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("Pull error = %v, want one containing %q", err, c.wantErr)
			}
			if after := tableDigest(t, db); after != before {
				t.Errorf("tables changed by a failed pull")
			}
			if n := count(t, db, `SELECT count(*) FROM extract WHERE status = 'failed' AND message LIKE ?`, "%"+c.wantErr+"%"); n != 1 {
				t.Errorf("%d failed extracts registered with the reason, want 1", n)
			}
		})
	}

	t.Run("resources in unknown code systems are quarantined at their line", func(t *testing.T) {
		dir := t.TempDir()
		for _, typ := range synth.FHIRTypes {
			b, err := os.ReadFile(filepath.Join(f.export, typ+".ndjson"))
			if err != nil {
				t.Fatal(err)
			}
			lines := bytes.SplitAfter(b, []byte("\n"))
			switch typ {
			case "Immunization":
				lines[2] = bytes.Replace(lines[2], []byte(synth.FHIRSystemVaccine), []byte("http://snomed.info/sct"), 1)
			case "Condition":
				lines[0] = bytes.Replace(lines[0], []byte(synth.FHIRSystemICPC2), []byte("http://hl7.org/fhir/sid/icd-10"), 1)
			}
			if err := os.WriteFile(filepath.Join(dir, typ+".ndjson"), bytes.Join(lines, nil), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, src, _ := f.serve(t, dir, synth.Misbehaviour{}, FHIROptions{})
		db := openDB(t)
		if _, err := Pull(ctx, db, src, Options{Key: testKey}); err != nil {
			t.Fatal(err)
		}
		for _, q := range []struct {
			dataset string
			line    int64
			reason  string
		}{
			{"vaccination", 3, "has an unknown code"},
			{"gp_contact", 1, "is not an ICPC-2 symptom or diagnosis code"},
		} {
			if n := count(t, db, `SELECT count(*) FROM quarantine WHERE dataset = ? AND line = ? AND reason = ? AND file LIKE 'fhir:%'`, q.dataset, q.line, q.reason); n != 1 {
				t.Errorf("%s line %d not quarantined as %q", q.dataset, q.line, q.reason)
			}
		}
	})
}

func mustKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRetryAfterIsReadAsSecondsOrDateAndBounded(t *testing.T) {
	now := time.Date(2025, 2, 1, 12, 0, 0, 0, time.UTC)
	src := spooled(t, t.TempDir())
	src.opt.Now = func() time.Time { return now }
	for _, c := range []struct {
		header  string
		want    time.Duration
		wantErr bool
	}{
		{"", 0, false},
		{"7", 7 * time.Second, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, false},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, false},
		{"soon", 0, false},
		{"301", 0, true},
	} {
		h := http.Header{}
		if c.header != "" {
			h.Set("Retry-After", c.header)
		}
		got, err := src.retryAfter(h, "test")
		if got != c.want || (err != nil) != c.wantErr {
			t.Errorf("Retry-After %q = %s, %v; want %s (error %v)", c.header, got, err, c.want, c.wantErr)
		}
	}
}
