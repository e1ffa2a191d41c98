package extract

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FHIROptions configure a FHIR Bulk Data source.
type FHIROptions struct {
	// BaseURL is the FHIR server's base ("https://ehr.example/fhir").
	BaseURL string
	// Group, if set, exports that Group's members (Group/[id]/$export);
	// otherwise the whole system ($export).
	Group string
	// Since, if set, asks only for resources changed after it (_since).
	// Pull sets the _since itself (SetSince, from the source's high-water
	// mark in the registry) and upserts the change set; Since is for other
	// users of the source and is overridden by SetSince.
	Since time.Time
	// Datasets, if set, limits the export to the resource types of these
	// datasets (a source that provides only some).
	Datasets []Dataset
	// ClientID is the broker's client id at the server; Key its private
	// key (EC P-384 signs ES384, RSA signs RS384) and KeyID the key's id
	// in the JWKS the server holds.
	ClientID string
	Key      crypto.Signer
	KeyID    string
	// TokenURL is the token endpoint; empty means discover it from
	// [base]/.well-known/smart-configuration.
	TokenURL string
	// Scope requested; default "system/*.read".
	Scope string
	// HTTPClient; default http.DefaultClient.
	HTTPClient *http.Client
	// SpoolDir is where outputs are downloaded to; default the system's
	// temporary folder.
	SpoolDir string
	// Resume makes SpoolDir this source's own folder, kept across runs:
	// the export's status URL and every output downloaded and verified are
	// recorded there, so that a pull the broker was stopped in (kill -9
	// included) continues the same export on the next run instead of
	// starting again, while the server still has it. Close keeps the
	// folder; Done (called by Pull once the data are committed) empties it.
	Resume bool
	// Attempts bounds the tries of one request (default 6); Backoff is the
	// first wait, doubled each retry up to MaxBackoff (defaults 500 ms and
	// 30 s), with jitter. A Retry-After longer than MaxRetryAfter (default
	// 5 min) fails the pull instead of waiting.
	Attempts                  int
	Backoff, MaxBackoff       time.Duration
	MaxRetryAfter             time.Duration
	PollInterval, PollTimeout time.Duration // default 2 s and 6 h
	// StallTimeout is how long a download may go without a byte before
	// it is abandoned and tried again (default 2 min).
	StallTimeout time.Duration
	Progress     func(progress string)
	Sleep        func(ctx context.Context, d time.Duration) error // tests
	Now          func() time.Time                                 // tests
}

// FHIRSource pulls an extract from a FHIR server through the Bulk Data
// Access protocol ($export kick-off, status polling that honours
// Retry-After and reports X-Progress, NDJSON downloads) with SMART Backend
// Services authorisation. Parts runs the export and streams every output
// to a spool folder on disk, hashing it; Read maps the spooled resources
// back into the file drop's records, so that they go through exactly the
// same validation, pseudonymisation and atomic load. An export that is
// abandoned (an error, a cancelled context) is cancelled on the server
// with DELETE. Close removes the spool.
//
// Mapping: Patient → population (one record per address with its period;
// the municipality and district from the no-basis municipalitycode and
// urban-district extensions), Observation with height (LOINC 8302-2) and
// weight (29463-7) → growth, Immunization → vaccination, Encounter with
// its ICPC-2 Condition → gp_contact, EpisodeOfCare → care. A value in a
// code system the broker does not know arrives as "system|code" and is
// quarantined by the code-list checks; JSON that is not a resource of the
// expected type stops the pull, naming the output and line.
//
// Resources are decoded into the few elements the datasets need with
// github.com/goccy/go-json, a drop-in for encoding/json already in the
// module graph that decodes the spool about three times faster
// (BenchmarkFHIRRead). The Go FHIR model libraries were not a fit: one is
// unmaintained (samply/golang-fhir-models), the other a tree of generated
// protobuf (google/fhir/go) far heavier than the mapping. The manifest and
// protocol bodies are small and use encoding/json.
type FHIRSource struct {
	opt    FHIROptions
	http   *http.Client
	tokens *tokenSource

	mu        sync.Mutex
	tokenURLs string
	spool     string
	txTime    string
	work      string            // a folder of the reads' own (record ids, person references)
	since     string            // the _since of the next export: SetSince's mark, or opt.Since
	delta     bool              // the spooled export is a change set (it had a _since)
	patients  map[string]string // Patient id → fødselsnummer, built on first need
	encICPC   *diagnoses        // Encounter → ICPC-2 code of its Condition
	Skipped   map[string]int64  // resources that are not dataset records, by type
}

// fhirDatasets says which resource types fill which dataset.
var fhirDatasets = []struct {
	Dataset Dataset
	Types   []string
}{
	{Population, []string{"Patient"}},
	{Growth, []string{"Observation"}},
	{Vaccination, []string{"Immunization"}},
	{GPContact, []string{"Encounter", "Condition"}},
	{Care, []string{"EpisodeOfCare"}},
}

// NewFHIRSource returns a source exporting from opt.BaseURL.
func NewFHIRSource(opt FHIROptions) (*FHIRSource, error) {
	u, err := url.Parse(opt.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("FHIR base URL %q is not an http(s) URL", opt.BaseURL)
	}
	if u.User != nil {
		return nil, errors.New("FHIR base URL must not carry credentials")
	}
	opt.BaseURL = strings.TrimRight(opt.BaseURL, "/")
	if opt.ClientID == "" || opt.Key == nil {
		return nil, errors.New("FHIR source needs a client id and a private key for SMART Backend Services")
	}
	if _, err := signingAlg(opt.Key); err != nil {
		return nil, fmt.Errorf("FHIR client key: %w", err)
	}
	if opt.Scope == "" {
		opt.Scope = "system/*.read"
	}
	if opt.Attempts <= 0 {
		opt.Attempts = 6
	}
	if opt.Backoff <= 0 {
		opt.Backoff = 500 * time.Millisecond
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 30 * time.Second
	}
	if opt.MaxRetryAfter <= 0 {
		opt.MaxRetryAfter = 5 * time.Minute
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = 2 * time.Second
	}
	if opt.PollTimeout <= 0 {
		opt.PollTimeout = 6 * time.Hour
	}
	if opt.StallTimeout <= 0 {
		opt.StallTimeout = 2 * time.Minute
	}
	if opt.Sleep == nil {
		opt.Sleep = sleepCtx
	}
	if opt.Resume && opt.SpoolDir == "" {
		return nil, errors.New("FHIR source: resuming downloads needs a spool folder of its own")
	}
	for _, d := range opt.Datasets {
		if len(typesOf(d)) == 0 {
			return nil, fmt.Errorf("FHIR source: no resource types fill dataset %q", d)
		}
	}
	s := &FHIRSource{opt: opt, http: opt.HTTPClient, tokenURLs: opt.TokenURL}
	if !opt.Since.IsZero() {
		s.since = opt.Since.UTC().Format(time.RFC3339)
	}
	if s.http == nil {
		s.http = http.DefaultClient
	}
	s.tokens = &tokenSource{c: s}
	return s, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (s *FHIRSource) now() time.Time {
	if s.opt.Now != nil {
		return s.opt.Now()
	}
	return time.Now()
}

// Kind implements Source.
func (s *FHIRSource) Kind() string { return "fhir" }

// Location implements Source.
func (s *FHIRSource) Location() string {
	if s.opt.Group != "" {
		return s.opt.BaseURL + "/Group/" + s.opt.Group
	}
	return s.opt.BaseURL
}

// TransactionTime is the last export's transactionTime, the _since of
// the next incremental pull.
func (s *FHIRSource) TransactionTime() string { return s.txTime }

// SetSince implements IncrementalSource: the next export asks for the
// resources changed after mark (a FHIR instant, sent as it was received:
// the server's own transactionTime), or for everything when mark is "".
func (s *FHIRSource) SetSince(mark string) error {
	if mark != "" {
		if _, err := time.Parse(time.RFC3339Nano, mark); err != nil {
			return fmt.Errorf("FHIR source: high-water mark %q is not an instant", mark)
		}
	}
	s.since = mark
	return nil
}

// Mark implements IncrementalSource: the transactionTime of the export
// the last Parts fetched.
func (s *FHIRSource) Mark() string { return s.txTime }

// Close frees what the source holds in memory and removes the spooled
// outputs, unless they are kept for resuming (Resume).
func (s *FHIRSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.patients, s.encICPC = nil, nil
	if err := s.dropWork(); err != nil {
		return err
	}
	if s.spool == "" || s.opt.Resume {
		return nil
	}
	err := os.RemoveAll(s.spool)
	s.spool = ""
	return err
}

// Done implements Resumable: the pull is over, the spool (kept for
// resuming) is emptied.
func (s *FHIRSource) Done() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.patients, s.encICPC = nil, nil
	if err := s.dropWork(); err != nil {
		return err
	}
	if !s.opt.Resume {
		return nil
	}
	s.spool = ""
	return clearDir(s.opt.SpoolDir)
}

// workDir is where Read writes what it tells Pull besides the records,
// made on first use beside the spool. The caller holds no lock.
func (s *FHIRSource) workDir() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.work == "" {
		d, err := os.MkdirTemp(s.opt.SpoolDir, "fhir-work-")
		if err != nil {
			return "", fmt.Errorf("FHIR spool: %w", err)
		}
		s.work = d
	}
	return s.work, nil
}

// dropWork removes the work folder; the caller holds the lock.
func (s *FHIRSource) dropWork() error {
	if s.work == "" {
		return nil
	}
	err := os.RemoveAll(s.work)
	s.work = ""
	return err
}

// clearDir removes what dir holds, keeping dir.
func clearDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func (s *FHIRSource) tokenURL(ctx context.Context) (string, error) {
	if s.tokenURLs != "" {
		return s.tokenURLs, nil
	}
	var conf struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	u := s.opt.BaseURL + "/.well-known/smart-configuration"
	err := s.do(ctx, "SMART configuration", false, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		req.Header.Set("Accept", "application/json")
		return req, err
	}, func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("FHIR server %s has no SMART configuration (%s)", s.opt.BaseURL, resp.Status)
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&conf); err != nil || conf.TokenEndpoint == "" {
			return fmt.Errorf("FHIR server %s: SMART configuration names no token_endpoint", s.opt.BaseURL)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	s.tokenURLs = conf.TokenEndpoint
	return s.tokenURLs, nil
}

// retryable marks an error a new attempt may cure (a cut connection).
type retryable struct{ error }

func (r retryable) Unwrap() error { return r.error }

// do sends a request built by build, authorised with the current access
// token if auth, and hands a response that is not to be retried to accept
// (the body is closed afterwards). Network errors, 429, 500, 502, 503
// and 504 are retried up to Attempts times with exponential backoff and
// jitter, or after Retry-After when the server says; a 401 gets one new
// token and one more try.
func (s *FHIRSource) do(ctx context.Context, what string, auth bool, build func() (*http.Request, error), accept func(*http.Response) error) error {
	renewed := false
	var last error
	for attempt := 0; attempt < s.opt.Attempts; attempt++ {
		if attempt > 0 {
			slog.Debug("fhir retry", "what", what, "attempt", attempt+1, "cause", last)
		}
		req, err := build()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if auth {
			tok, err := s.tokens.get(ctx, false)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := s.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			last = err
			if err := s.wait(ctx, attempt, 0); err != nil {
				return err
			}
			continue
		}
		switch {
		case resp.StatusCode == http.StatusUnauthorized && auth:
			drain(resp)
			if renewed {
				return fmt.Errorf("%s: FHIR server %s refused the broker's access token (401)", what, s.opt.BaseURL)
			}
			renewed = true
			if _, err := s.tokens.get(ctx, true); err != nil {
				return err
			}
			attempt--
			continue
		case retryStatus[resp.StatusCode]:
			ra, err := s.retryAfter(resp.Header, what)
			drain(resp)
			if err != nil {
				return err
			}
			last = fmt.Errorf("%s", resp.Status)
			if attempt+1 >= s.opt.Attempts {
				continue
			}
			if err := s.wait(ctx, attempt, ra); err != nil {
				return err
			}
			continue
		}
		err = accept(resp)
		resp.Body.Close()
		var r retryable
		if err != nil && errors.As(err, &r) && ctx.Err() == nil {
			last = err
			if err := s.wait(ctx, attempt, 0); err != nil {
				return err
			}
			continue
		}
		return err
	}
	return fmt.Errorf("%s: FHIR server %s failed %d times, last with %v", what, s.opt.BaseURL, s.opt.Attempts, last)
}

// retryStatus are the answers a later attempt may get past.
var retryStatus = map[int]bool{http.StatusTooManyRequests: true, http.StatusInternalServerError: true,
	http.StatusBadGateway: true, http.StatusServiceUnavailable: true, http.StatusGatewayTimeout: true}

func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// retryAfter reads Retry-After as seconds or an HTTP date; it refuses a
// wait longer than MaxRetryAfter rather than hang a pull for hours.
func (s *FHIRSource) retryAfter(h http.Header, what string) (time.Duration, error) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, nil
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(s.now())
	} else {
		return 0, nil
	}
	if d > s.opt.MaxRetryAfter {
		return 0, fmt.Errorf("%s: FHIR server %s asks to retry after %s, longer than the %s the broker waits", what, s.opt.BaseURL, d, s.opt.MaxRetryAfter)
	}
	return max(d, 0), nil
}

// wait sleeps before retry number attempt+1: the larger of the server's
// Retry-After and an exponential backoff with full jitter over its upper
// half.
func (s *FHIRSource) wait(ctx context.Context, attempt int, retryAfter time.Duration) error {
	d := s.opt.Backoff << min(attempt, 20)
	if d > s.opt.MaxBackoff || d <= 0 {
		d = s.opt.MaxBackoff
	}
	d = d/2 + rand.N(d/2+1)
	return s.opt.Sleep(ctx, max(d, retryAfter))
}

// manifest is the completed export's status body.
type manifest struct {
	TransactionTime     string `json:"transactionTime"`
	RequiresAccessToken bool   `json:"requiresAccessToken"`
	Output              []struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	} `json:"output"`
	Error []struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	} `json:"error"`
	// Deleted lists, in a change set, Bundles of the resources deleted
	// since _since, as DELETE requests (Bulk Data 2.0).
	Deleted []struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	} `json:"deleted"`
}

// deletedOutput names the spool file of a change set's deletions.
const deletedOutput = "deleted"

// Parts implements Source: it runs the export and downloads its outputs
// to the spool, one file per resource type; each dataset's part carries
// the SHA-256 of its resource types' content. With Resume, an export
// recorded in the spool by an earlier run that did not finish is taken
// up again: outputs already downloaded and still matching their recorded
// checksums are kept, the rest fetched from the same export; when the
// server no longer has it, a new export starts.
func (s *FHIRSource) Parts(ctx context.Context) (parts []Part, err error) {
	if s.opt.Resume {
		s.mu.Lock()
		s.patients, s.encICPC = nil, nil
		if err := s.dropWork(); err != nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("remove old FHIR work folder: %w", err)
		}
		s.spool = s.opt.SpoolDir
		s.Skipped = map[string]int64{}
		s.mu.Unlock()
		if err := os.MkdirAll(s.spool, 0o700); err != nil {
			return nil, fmt.Errorf("create FHIR spool: %w", err)
		}
	} else {
		if err := s.Close(); err != nil {
			return nil, fmt.Errorf("remove old FHIR spool: %w", err)
		}
		var spool string
		if spool, err = os.MkdirTemp(s.opt.SpoolDir, "fhir-spool-"); err != nil {
			return nil, fmt.Errorf("create FHIR spool: %w", err)
		}
		s.mu.Lock()
		s.spool = spool
		s.Skipped = map[string]int64{}
		s.mu.Unlock()
		defer func() {
			if err != nil {
				s.Close()
			}
		}()
	}
	want := exportState{Location: s.Location(), Types: s.types(), Since: s.since, Done: map[string]spooledOutput{}}
	state, resumed := s.resumeState(want)
	if !resumed {
		if err := clearDir(s.spool); err != nil {
			return nil, fmt.Errorf("clear FHIR spool: %w", err)
		}
		state = want
	}
	if !state.Complete {
		if err := s.export(ctx, &state, resumed); err != nil {
			return nil, err
		}
	}
	s.txTime = state.TransactionTime
	s.delta = state.Since != ""
	for _, d := range fhirDatasets {
		if !s.provides(d.Dataset) {
			continue
		}
		var hs []string
		var n int64
		for _, t := range d.Types {
			hs = append(hs, t+":"+state.Done[t].SHA256)
			n += state.Done[t].Bytes
		}
		// A change set's deletions belong to every part: a pull of nothing
		// but deletions is not a no-op.
		if del, ok := state.Done[deletedOutput]; ok {
			hs = append(hs, deletedOutput+":"+del.SHA256)
			n += del.Bytes
		}
		h := sha256.Sum256([]byte(strings.Join(hs, "\n")))
		parts = append(parts, Part{Dataset: d.Dataset, Name: "fhir:" + strings.Join(d.Types, "+"), SHA256: hex.EncodeToString(h[:]), Bytes: n})
	}
	return parts, nil
}

// export runs (or, resumed, continues) the export state describes and
// downloads every output not yet in the spool, recording each as it is
// verified.
func (s *FHIRSource) export(ctx context.Context, state *exportState, resumed bool) error {
	var man manifest
	if resumed {
		// The server may have dropped the export (a restart, a timeout):
		// then it starts again.
		m, err := s.poll(ctx, state.Status)
		var gone exportGone
		switch {
		case errors.As(err, &gone):
			slog.Info("fhir export to resume is gone on the server; starting a new one", "status", state.Status)
			if err := clearDir(s.spool); err != nil {
				return fmt.Errorf("clear FHIR spool: %w", err)
			}
			*state = exportState{Location: state.Location, Types: state.Types, Since: state.Since, Done: map[string]spooledOutput{}}
			return s.export(ctx, state, false)
		case err != nil:
			return err
		}
		man = m
	} else {
		status, err := s.kickOff(ctx)
		if err != nil {
			return err
		}
		state.Status = status
		if s.opt.Resume {
			if err := s.saveState(*state); err != nil {
				return err
			}
		}
	}
	abandon := true
	defer func() {
		// A finished export is deleted too: that tells the server it may
		// drop the files. An abandoned one is cancelled the same way,
		// except when the broker is stopping and the spool is kept for
		// resuming: the next run takes it up.
		if abandon && s.opt.Resume && ctx.Err() != nil {
			return
		}
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if derr := s.delete(dctx, state.Status); derr != nil {
			slog.Warn("fhir export not deleted on the server", "status", state.Status, "err", derr)
		}
	}()
	if !resumed {
		m, err := s.poll(ctx, state.Status)
		if err != nil {
			return err
		}
		man = m
	}
	state.TransactionTime = man.TransactionTime
	if err := s.checkErrors(ctx, man); err != nil {
		return err
	}
	for _, typ := range state.Types {
		if _, ok := state.Done[typ]; ok {
			continue
		}
		var urls []string
		for _, o := range man.Output {
			if o.Type == typ {
				urls = append(urls, o.URL)
			}
		}
		sum, n, err := s.download(ctx, typ, urls, man.RequiresAccessToken)
		if err != nil {
			return err
		}
		state.Done[typ] = spooledOutput{SHA256: sum, Bytes: n}
		if s.opt.Resume {
			if err := s.saveState(*state); err != nil {
				return err
			}
		}
		testHook("download " + typ)
	}
	if _, ok := state.Done[deletedOutput]; !ok && len(man.Deleted) > 0 {
		var urls []string
		for _, o := range man.Deleted {
			urls = append(urls, o.URL)
		}
		sum, n, err := s.download(ctx, deletedOutput, urls, man.RequiresAccessToken)
		if err != nil {
			return err
		}
		state.Done[deletedOutput] = spooledOutput{SHA256: sum, Bytes: n}
	}
	state.Complete = true
	if s.opt.Resume {
		if err := s.saveState(*state); err != nil {
			return err
		}
	}
	abandon = false
	return nil
}

// exportState is what the spool records of its export, for resuming.
type exportState struct {
	Location        string                   `json:"location"`
	Types           []string                 `json:"types"`
	Since           string                   `json:"since"`
	Status          string                   `json:"status"`
	TransactionTime string                   `json:"transaction_time"`
	Done            map[string]spooledOutput `json:"done"`
	Complete        bool                     `json:"complete"`
}

type spooledOutput struct {
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

const exportStateFile = "export.json"

// resumeState reads the spool's record of an unfinished export and keeps
// it when it is the export now wanted (same server, types and _since),
// with only the outputs whose files still match their checksums.
func (s *FHIRSource) resumeState(want exportState) (exportState, bool) {
	if !s.opt.Resume {
		return exportState{}, false
	}
	b, err := os.ReadFile(filepath.Join(s.spool, exportStateFile))
	if err != nil {
		return exportState{}, false
	}
	var st exportState
	if json.Unmarshal(b, &st) != nil || st.Status == "" || st.Location != want.Location || st.Since != want.Since ||
		strings.Join(st.Types, ",") != strings.Join(want.Types, ",") {
		return exportState{}, false
	}
	if st.Done == nil {
		st.Done = map[string]spooledOutput{}
	}
	for typ, o := range st.Done {
		sum, n, err := checksum(context.Background(), filepath.Join(s.spool, typ+".ndjson"))
		if err != nil || sum != o.SHA256 || n != o.Bytes {
			delete(st.Done, typ)
			st.Complete = false
		}
	}
	slog.Info("fhir export resumed from the spool", "status", st.Status, "outputs_kept", len(st.Done), "complete", st.Complete)
	return st, true
}

func (s *FHIRSource) saveState(st exportState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.spool, exportStateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("FHIR spool: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(s.spool, exportStateFile)); err != nil {
		return fmt.Errorf("FHIR spool: %w", err)
	}
	return nil
}

// types are the resource types the source exports, in fhirDatasets order:
// the Patients always, since the other resources refer to them.
func (s *FHIRSource) types() []string {
	var out []string
	for _, d := range fhirDatasets {
		if s.provides(d.Dataset) || d.Dataset == Population {
			out = append(out, d.Types...)
		}
	}
	return out
}

func (s *FHIRSource) provides(d Dataset) bool {
	return len(s.opt.Datasets) == 0 || slices.Contains(s.opt.Datasets, d)
}

func typesOf(d Dataset) []string {
	for _, x := range fhirDatasets {
		if x.Dataset == d {
			return x.Types
		}
	}
	return nil
}

func fhirTypes() []string {
	var out []string
	for _, d := range fhirDatasets {
		out = append(out, d.Types...)
	}
	return out
}

func (s *FHIRSource) kickOff(ctx context.Context) (string, error) {
	u := s.opt.BaseURL + "/$export"
	if s.opt.Group != "" {
		u = s.opt.BaseURL + "/Group/" + url.PathEscape(s.opt.Group) + "/$export"
	}
	q := url.Values{"_type": {strings.Join(s.types(), ",")}, "_outputFormat": {"application/fhir+ndjson"}}
	if s.since != "" {
		q.Set("_since", s.since)
	}
	u += "?" + q.Encode()
	var status string
	err := s.do(ctx, "FHIR export kick-off", true, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err == nil {
			req.Header.Set("Accept", "application/fhir+json")
			req.Header.Set("Prefer", "respond-async")
		}
		return req, err
	}, func(resp *http.Response) error {
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("FHIR server %s refused the export kick-off (%s)%s", s.opt.BaseURL, resp.Status, diagnostics(resp))
		}
		status = resp.Header.Get("Content-Location")
		if status == "" {
			return fmt.Errorf("FHIR server %s accepted the export but gave no status URL (Content-Location)", s.opt.BaseURL)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	ref, err := url.Parse(status)
	if err != nil {
		return "", fmt.Errorf("FHIR server %s gave a status URL that is not a URL: %q", s.opt.BaseURL, status)
	}
	base, _ := url.Parse(u)
	return base.ResolveReference(ref).String(), nil
}

// diagnostics returns ": <text>" from an OperationOutcome body, or "".
func diagnostics(resp *http.Response) string {
	var oo struct {
		ResourceType string `json:"resourceType"`
		Issue        []struct {
			Severity    string `json:"severity"`
			Diagnostics string `json:"diagnostics"`
		} `json:"issue"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &oo) != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
		return ""
	}
	return ": " + oo.Issue[0].Diagnostics
}

type inProgress struct{ wait time.Duration }

// exportGone is a status URL the server no longer knows.
type exportGone struct{ error }

func (inProgress) Error() string { return "export in progress" }

func (s *FHIRSource) poll(ctx context.Context, status string) (manifest, error) {
	var man manifest
	var waited time.Duration
	interval := s.opt.PollInterval
	for {
		err := s.do(ctx, "FHIR export status", true, func() (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, status, nil)
			if err == nil {
				req.Header.Set("Accept", "application/json")
			}
			return req, err
		}, func(resp *http.Response) error {
			switch resp.StatusCode {
			case http.StatusAccepted:
				if p := resp.Header.Get("X-Progress"); p != "" {
					slog.Debug("fhir export in progress", "status", status, "progress", p)
					if s.opt.Progress != nil {
						s.opt.Progress(p)
					}
				}
				ra, err := s.retryAfter(resp.Header, "FHIR export status")
				if err != nil {
					return err
				}
				return inProgress{ra}
			case http.StatusOK:
			case http.StatusNotFound, http.StatusGone:
				return exportGone{fmt.Errorf("FHIR export at %s is gone (%s)", s.opt.BaseURL, resp.Status)}
			default:
				return fmt.Errorf("FHIR export at %s failed (%s)%s", s.opt.BaseURL, resp.Status, diagnostics(resp))
			}
			ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
			if ct != "application/json" && ct != "application/fhir+json" {
				return fmt.Errorf("FHIR server %s answered the export status with %s, not a JSON manifest", s.opt.BaseURL, orNone(ct))
			}
			if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&man); err != nil {
				return fmt.Errorf("FHIR server %s sent an export manifest that is not valid JSON: %v", s.opt.BaseURL, err)
			}
			return nil
		})
		var ip inProgress
		if !errors.As(err, &ip) {
			return man, err
		}
		d := max(ip.wait, interval)
		if ip.wait == 0 {
			interval = min(interval*2, s.opt.MaxBackoff)
		}
		if waited+d > s.opt.PollTimeout {
			return man, fmt.Errorf("FHIR export at %s did not finish within %s", s.opt.BaseURL, s.opt.PollTimeout)
		}
		if err := s.opt.Sleep(ctx, d); err != nil {
			return man, err
		}
		waited += d
	}
}

func orNone(ct string) string {
	if ct == "" {
		return "no content type"
	}
	return ct
}

func (s *FHIRSource) delete(ctx context.Context, status string) error {
	return s.do(ctx, "FHIR export delete", true, func() (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodDelete, status, nil)
	}, func(resp *http.Response) error {
		if resp.StatusCode >= 300 && resp.StatusCode != http.StatusNotFound {
			return fmt.Errorf("FHIR server %s refused to delete the export (%s)", s.opt.BaseURL, resp.Status)
		}
		return nil
	})
}

// checkErrors reads the manifest's error outputs (OperationOutcomes).
// An issue of severity error or fatal means resources are missing from
// the export, so loading it would lose data: the pull stops, naming the
// first. Warnings and information are logged.
func (s *FHIRSource) checkErrors(ctx context.Context, man manifest) error {
	for _, e := range man.Error {
		var stop error
		err := s.get(ctx, e.URL, man.RequiresAccessToken, func(r io.Reader) error {
			dec := json.NewDecoder(io.LimitReader(r, 64<<20))
			for line := 1; ; line++ {
				var oo struct {
					ResourceType string `json:"resourceType"`
					Issue        []struct {
						Severity    string `json:"severity"`
						Code        string `json:"code"`
						Diagnostics string `json:"diagnostics"`
					} `json:"issue"`
				}
				if err := dec.Decode(&oo); err == io.EOF {
					return nil
				} else if err != nil {
					return fmt.Errorf("FHIR error output %s line %d is not JSON: %v", e.URL, line, err)
				}
				for _, is := range oo.Issue {
					switch is.Severity {
					case "fatal", "error":
						if stop == nil {
							stop = fmt.Errorf("FHIR export at %s reported an error, so the extract is incomplete: %s (%s)", s.opt.BaseURL, is.Diagnostics, is.Code)
						}
					default:
						slog.Warn("fhir export issue", "source", s.opt.BaseURL, "severity", is.Severity, "diagnostics", is.Diagnostics)
					}
				}
			}
		})
		if err != nil {
			return err
		}
		if stop != nil {
			return stop
		}
	}
	return nil
}

// get downloads url and hands the body to fn; a cut connection is retried.
func (s *FHIRSource) get(ctx context.Context, u string, auth bool, fn func(io.Reader) error) error {
	// Each attempt has its own context, cancelled by a watchdog when no
	// byte arrives for StallTimeout: a stalled connection is retried like
	// a cut one instead of hanging the pull.
	var w *stallWatch
	defer func() {
		if w != nil {
			w.stop()
		}
	}()
	return s.do(ctx, "FHIR download", auth, func() (*http.Request, error) {
		if w != nil {
			w.stop()
		}
		w = newStallWatch(ctx, s.opt.StallTimeout)
		req, err := http.NewRequestWithContext(w.ctx, http.MethodGet, u, nil)
		if err == nil {
			req.Header.Set("Accept", "application/fhir+ndjson")
		}
		return req, err
	}, func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("FHIR output %s could not be downloaded (%s)", u, resp.Status)
		}
		ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		switch ct {
		case "application/fhir+ndjson", "application/ndjson", "application/x-ndjson", "application/octet-stream", "":
		default:
			return fmt.Errorf("FHIR output %s is %s, not NDJSON", u, ct)
		}
		return fn(w.reader(resp.Body))
	})
}

// stallWatch cancels a request when its body stops flowing.
type stallWatch struct {
	ctx     context.Context
	cancel  context.CancelFunc
	timer   *time.Timer
	d       time.Duration
	stalled atomic.Bool
}

func newStallWatch(parent context.Context, d time.Duration) *stallWatch {
	w := &stallWatch{d: d}
	w.ctx, w.cancel = context.WithCancel(parent)
	w.timer = time.AfterFunc(d, func() { w.stalled.Store(true); w.cancel() })
	return w
}

func (w *stallWatch) stop() { w.timer.Stop(); w.cancel() }

func (w *stallWatch) reader(r io.Reader) io.Reader { return &stallReader{w, r} }

type stallReader struct {
	w *stallWatch
	r io.Reader
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.w.timer.Reset(s.w.d)
	}
	if err != nil && s.w.stalled.Load() {
		err = fmt.Errorf("no data for %s", s.w.d)
	}
	return n, err
}

// download streams the outputs of one resource type into one spool file,
// hashing as it goes; a cut download is started again.
func (s *FHIRSource) download(ctx context.Context, typ string, urls []string, auth bool) (string, int64, error) {
	path := filepath.Join(s.spool, typ+".ndjson")
	f, err := os.Create(path)
	if err != nil {
		return "", 0, fmt.Errorf("FHIR spool: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	var total int64
	for _, u := range urls {
		// Outputs are concatenated, so one that does not end its last line
		// gets a line end before the next; the last output's is left as
		// sent, for Read to tell a truncated line.
		if total > 0 {
			var last [1]byte
			if _, err := f.ReadAt(last[:], total-1); err == nil && last[0] != '\n' {
				if _, err := f.WriteAt([]byte{'\n'}, total); err != nil {
					return "", 0, fmt.Errorf("FHIR spool: %w", err)
				}
				total++
			}
		}
		start := total
		err := s.get(ctx, u, auth, func(r io.Reader) error {
			// A retried download starts the file's part again.
			if _, err := f.Seek(start, io.SeekStart); err != nil {
				return err
			}
			if err := f.Truncate(start); err != nil {
				return err
			}
			var first [1]byte
			n, err := io.Copy(f, &sniff{r: &ctxReader{ctx, r}, first: &first})
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return retryable{fmt.Errorf("FHIR output %s was cut off after %d bytes: %v", u, n, err)}
			}
			if n > 0 && first[0] != '{' {
				return fmt.Errorf("FHIR output %s (%s) is not NDJSON: it does not start with a JSON object", u, typ)
			}
			total = start + n
			return nil
		})
		if err != nil {
			return "", 0, err
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", 0, err
	}
	if _, err := io.Copy(h, f); err != nil {
		return "", 0, fmt.Errorf("FHIR spool: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", 0, fmt.Errorf("FHIR spool: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), total, nil
}

// sniff remembers the first non-space byte read.
type sniff struct {
	r     io.Reader
	first *[1]byte
	seen  bool
}

func (s *sniff) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if !s.seen {
		for _, c := range p[:n] {
			if c != ' ' && c != '\n' && c != '\r' && c != '\t' {
				s.first[0], s.seen = c, true
				break
			}
		}
	}
	return n, err
}
