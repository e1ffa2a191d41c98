package synth

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// Misbehaviour tells a FHIRServer how to fail, so that tests and the demo
// can show what the broker's connector does with a server that is slow,
// overloaded, cut off or confused. Counters count down as they are used.
type Misbehaviour struct {
	// PollsBeforeDone is how many status polls answer 202 "in progress"
	// (with X-Progress and Retry-After) before the manifest.
	PollsBeforeDone int
	// RetryAfter is what Retry-After says, in seconds, on 202, 429 and 503.
	RetryAfter int
	// Throttle answers the next N requests (kick-off, status or file) 429.
	Throttle int
	// Unavailable answers the next N requests 503.
	Unavailable int
	// CutFiles cuts the next N file downloads off halfway through.
	CutFiles int
	// StallFiles stops sending the next N file downloads halfway through
	// and keeps the connection open until the client gives up.
	StallFiles int
	// TruncateType's output file ends in half a line.
	TruncateType string
	// ExpireTokens answers the next N requests with a valid token 401, as
	// if the token had expired.
	ExpireTokens int
	// HTMLFiles answers every file download with an HTML page.
	HTMLFiles bool
	// HTMLManifest answers the completed status poll with an HTML page.
	HTMLManifest bool
	// ErrorOutput, if set, adds an error file to the manifest with one
	// OperationOutcome issue of this severity ("error", "warning").
	ErrorOutput string
	// Corrupt replaces line 2 of this type's output with this text.
	CorruptType, CorruptLine string
}

// FHIRStats counts what a FHIRServer was asked.
type FHIRStats struct {
	Tokens, KickOffs, Polls, Downloads, Deletes, Refused int
	LastKickOff                                          string // path and query of the last kick-off
}

// FHIRServer serves a synthetic export (WriteFHIR's folder) through the
// FHIR Bulk Data Access protocol (system and Group level $export, status
// polling, NDJSON outputs, DELETE) behind SMART Backend Services
// authorisation: the client proves itself with a JWT signed by a key whose
// public half was registered, and gets a short-lived bearer token.
type FHIRServer struct {
	dir      string
	TokenTTL time.Duration
	// Updated is the server's transactionTime: the time of its latest
	// change (SetUpdated). A _since exports the resources whose
	// meta.lastUpdated is after it, so a _since at or after Updated
	// exports nothing.
	Updated time.Time

	mu      sync.Mutex
	deleted []deletion
	clients map[string]jwk.Set
	tokens  map[string]time.Time
	jobs    map[string]*exportJob
	mis     Misbehaviour
	stats   FHIRStats
}

type exportJob struct {
	types     []string
	since     time.Time
	polls     int
	deleted   bool
	createdAt time.Time
}

// NewFHIRServer serves the NDJSON files WriteFHIR wrote to dir.
func NewFHIRServer(dir string, updated time.Time) *FHIRServer {
	return &FHIRServer{dir: dir, TokenTTL: 5 * time.Minute, Updated: updated,
		clients: map[string]jwk.Set{}, tokens: map[string]time.Time{}, jobs: map[string]*exportJob{}}
}

// RegisterClient registers a backend client by its id and its public
// keys as a JWKS document.
func (s *FHIRServer) RegisterClient(id string, jwks []byte) error {
	set, err := jwk.Parse(jwks)
	if err != nil {
		return fmt.Errorf("client %s: JWKS: %w", id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[id] = set
	return nil
}

// deletion is a resource the source system deleted.
type deletion struct {
	typ, id string
	at      time.Time
}

// Delete records that the resource typ/id was deleted at at (the test
// removes it from the files): exports with a _since before at list it
// in the manifest's deleted outputs, as Bulk Data 2.0 has it (Bundles of
// DELETE requests).
func (s *FHIRServer) Delete(typ, id string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleted = append(s.deleted, deletion{typ, id, at})
}

// deletedSince is the NDJSON of the deletions after since, one Bundle each.
func (s *FHIRServer) deletedSince(since time.Time, types []string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []byte
	for _, d := range s.deleted {
		if !d.at.After(since) || !slices.Contains(types, d.typ) {
			continue
		}
		b, _ := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction",
			"entry": []any{map[string]any{"request": map[string]any{"method": "DELETE", "url": d.typ + "/" + d.id}}}})
		out = append(append(out, b...), '\n')
	}
	return out
}

// SetUpdated says the exports now reflect the data as of t: the test
// changed the files and their resources' meta.lastUpdated.
func (s *FHIRServer) SetUpdated(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Updated = t
}

// Misbehave sets how the server fails from now on.
func (s *FHIRServer) Misbehave(m Misbehaviour) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mis = m
}

// Stats returns what the server was asked so far.
func (s *FHIRServer) Stats() FHIRStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// ServeHTTP implements http.Handler.
func (s *FHIRServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/.well-known/smart-configuration":
		writeJSON(w, 200, map[string]any{
			"token_endpoint":                                   baseURL(r) + "/auth/token",
			"token_endpoint_auth_methods_supported":            []string{"private_key_jwt"},
			"token_endpoint_auth_signing_alg_values_supported": []string{"ES384", "RS384"},
			"grant_types_supported":                            []string{"client_credentials"},
			"scopes_supported":                                 []string{"system/*.read"},
		})
	case p == "/auth/token" && r.Method == http.MethodPost:
		s.token(w, r)
	case strings.HasSuffix(p, "/$export") && r.Method == http.MethodGet:
		if p != "/$export" && !strings.HasPrefix(p, "/Group/") {
			outcome(w, 404, "not-found", "no such export endpoint")
			return
		}
		if s.guard(w, r) {
			s.kickOff(w, r)
		}
	case strings.HasPrefix(p, "/status/"):
		if s.guard(w, r) {
			s.status(w, r, strings.TrimPrefix(p, "/status/"))
		}
	case strings.HasPrefix(p, "/files/") && r.Method == http.MethodGet:
		if s.guard(w, r) {
			s.file(w, r, strings.TrimPrefix(p, "/files/"))
		}
	default:
		outcome(w, 404, "not-found", "unknown path "+p)
	}
}

func baseURL(r *http.Request) string { return "http://" + r.Host }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func outcome(w http.ResponseWriter, code int, issue, text string) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"resourceType": "OperationOutcome",
		"issue": []any{map[string]any{"severity": "error", "code": issue, "diagnostics": text}}})
}

// guard checks the bearer token and plays the throttling, unavailability
// and expiry misbehaviours; it answers and returns false when the request
// must not go on.
func (s *FHIRServer) guard(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	retry := strconv.Itoa(s.mis.RetryAfter)
	switch {
	case s.mis.Throttle > 0:
		s.mis.Throttle--
		s.stats.Refused++
		w.Header().Set("Retry-After", retry)
		outcome(w, http.StatusTooManyRequests, "throttled", "too many requests")
		return false
	case s.mis.Unavailable > 0:
		s.mis.Unavailable--
		s.stats.Refused++
		w.Header().Set("Retry-After", retry)
		outcome(w, http.StatusServiceUnavailable, "transient", "server busy")
		return false
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	exp, known := s.tokens[tok]
	if !ok || !known || time.Now().After(exp) {
		s.stats.Refused++
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		outcome(w, http.StatusUnauthorized, "login", "no valid access token")
		return false
	}
	if s.mis.ExpireTokens > 0 {
		s.mis.ExpireTokens--
		delete(s.tokens, tok)
		s.stats.Refused++
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="token expired"`)
		outcome(w, http.StatusUnauthorized, "expired", "access token expired")
		return false
	}
	return true
}

func (s *FHIRServer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, 400, map[string]string{"error": "invalid_request"})
		return
	}
	fail := func(e, desc string) {
		writeJSON(w, 400, map[string]string{"error": e, "error_description": desc})
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		fail("unsupported_grant_type", "want client_credentials")
		return
	}
	if r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		fail("invalid_client", "want a jwt-bearer client assertion")
		return
	}
	assertion := []byte(r.PostForm.Get("client_assertion"))
	unverified, err := jwt.ParseInsecure(assertion)
	if err != nil {
		fail("invalid_client", "client assertion is not a JWT")
		return
	}
	iss, _ := unverified.Issuer()
	s.mu.Lock()
	keys, ok := s.clients[iss]
	s.mu.Unlock()
	if !ok {
		fail("invalid_client", "unknown client")
		return
	}
	tok, err := jwt.Parse(assertion, jwt.WithKeySet(keys, jws.WithInferAlgorithmFromKey(true)), jwt.WithValidate(true),
		jwt.WithIssuer(iss), jwt.WithSubject(iss), jwt.WithAudience(baseURL(r)+"/auth/token"))
	if err != nil {
		fail("invalid_client", "client assertion does not verify: "+err.Error())
		return
	}
	if exp, ok := tok.Expiration(); !ok || exp.After(time.Now().Add(5*time.Minute+30*time.Second)) {
		fail("invalid_client", "client assertion must expire within five minutes")
		return
	}
	b := make([]byte, 16)
	rand.Read(b)
	access := hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[access] = time.Now().Add(s.TokenTTL)
	s.stats.Tokens++
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"access_token": access, "token_type": "bearer",
		"expires_in": int(s.TokenTTL.Seconds()), "scope": "system/*.read"})
}

func (s *FHIRServer) kickOff(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Prefer") != "respond-async" {
		outcome(w, 400, "invalid", "Prefer: respond-async is required")
		return
	}
	q := r.URL.Query()
	if f := q.Get("_outputFormat"); f != "" && f != "application/fhir+ndjson" && f != "application/ndjson" && f != "ndjson" {
		outcome(w, 400, "invalid", "unsupported _outputFormat "+f)
		return
	}
	types := FHIRTypes
	if t := q.Get("_type"); t != "" {
		types = nil
		for _, x := range strings.Split(t, ",") {
			if !slices.Contains(FHIRTypes, x) {
				outcome(w, 400, "not-supported", "unsupported _type "+x)
				return
			}
			types = append(types, x)
		}
	}
	job := &exportJob{types: types, createdAt: time.Now()}
	if v := q.Get("_since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			outcome(w, 400, "invalid", "_since is not an instant: "+v)
			return
		}
		job.since = t
	}
	b := make([]byte, 8)
	rand.Read(b)
	id := hex.EncodeToString(b)
	s.mu.Lock()
	s.jobs[id] = job
	s.stats.KickOffs++
	s.stats.LastKickOff = r.URL.RequestURI()
	s.mu.Unlock()
	w.Header().Set("Content-Location", baseURL(r)+"/status/"+id)
	w.WriteHeader(http.StatusAccepted)
}

func (s *FHIRServer) status(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	job, ok := s.jobs[id]
	if !ok || job.deleted {
		s.mu.Unlock()
		outcome(w, 404, "not-found", "no export "+id)
		return
	}
	if r.Method == http.MethodDelete {
		job.deleted = true
		s.stats.Deletes++
		s.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	s.stats.Polls++
	mis := s.mis
	updated := s.Updated
	if job.polls < mis.PollsBeforeDone {
		job.polls++
		s.mu.Unlock()
		w.Header().Set("X-Progress", fmt.Sprintf("%d%% (%d of %d)", 100*job.polls/(mis.PollsBeforeDone+1), job.polls, mis.PollsBeforeDone+1))
		w.Header().Set("Retry-After", strconv.Itoa(mis.RetryAfter))
		w.WriteHeader(http.StatusAccepted)
		return
	}
	s.mu.Unlock()
	if mis.HTMLManifest {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><body><h1>Login</h1></body></html>")
		return
	}
	type file struct {
		Type  string `json:"type"`
		URL   string `json:"url"`
		Count int    `json:"count,omitempty"`
	}
	out := []file{}
	if job.since.IsZero() || job.since.Before(updated) {
		for _, t := range job.types {
			out = append(out, file{Type: t, URL: baseURL(r) + "/files/" + id + "/" + t + ".ndjson"})
		}
	}
	var deleted []file
	if !job.since.IsZero() && len(s.deletedSince(job.since, job.types)) > 0 {
		deleted = append(deleted, file{Type: "Bundle", URL: baseURL(r) + "/files/" + id + "/deleted.ndjson"})
	}
	errs := []file{}
	if mis.ErrorOutput != "" {
		errs = append(errs, file{Type: "OperationOutcome", URL: baseURL(r) + "/files/" + id + "/OperationOutcome.ndjson"})
	}
	man := map[string]any{
		"transactionTime":     updated.UTC().Format(time.RFC3339),
		"request":             baseURL(r) + "/$export",
		"requiresAccessToken": true,
		"output":              out,
		"error":               errs,
	}
	if deleted != nil {
		man["deleted"] = deleted
	}
	writeJSON(w, 200, man)
}

func (s *FHIRServer) file(w http.ResponseWriter, r *http.Request, rest string) {
	id, name, _ := strings.Cut(rest, "/")
	typ := strings.TrimSuffix(name, ".ndjson")
	s.mu.Lock()
	job, ok := s.jobs[id]
	mis := s.mis
	cut, stall := false, false
	if ok && s.mis.CutFiles > 0 && typ != "OperationOutcome" {
		s.mis.CutFiles--
		cut = true
	} else if ok && s.mis.StallFiles > 0 && typ != "OperationOutcome" {
		s.mis.StallFiles--
		cut, stall = true, true
	}
	s.stats.Downloads++
	s.mu.Unlock()
	if ok && !job.deleted && typ == "deleted" && !job.since.IsZero() {
		w.Header().Set("Content-Type", "application/fhir+ndjson")
		w.Write(s.deletedSince(job.since, job.types))
		return
	}
	if !ok || job.deleted || (typ != "OperationOutcome" && !slices.Contains(job.types, typ)) {
		outcome(w, 404, "not-found", "no file "+rest)
		return
	}
	if mis.HTMLFiles {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!DOCTYPE html><html><body><p>Service temporarily moved</p></body></html>\n")
		return
	}
	w.Header().Set("Content-Type", "application/fhir+ndjson")
	if typ == "OperationOutcome" {
		b, _ := json.Marshal(map[string]any{"resourceType": "OperationOutcome", "issue": []any{map[string]any{
			"severity": mis.ErrorOutput, "code": "processing", "diagnostics": "Observation/obs17 could not be exported: storage error"}}})
		w.Write(append(b, '\n'))
		return
	}
	path := filepath.Join(s.dir, typ+".ndjson")
	if !cut && mis.CorruptType != typ && mis.TruncateType != typ && job.since.IsZero() {
		f, err := os.Open(path)
		if err != nil {
			outcome(w, 500, "exception", "export file missing")
			return
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
		}
		io.Copy(w, f)
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		outcome(w, 500, "exception", "export file missing")
		return
	}
	if !job.since.IsZero() {
		b = changedSince(b, job.since)
	}
	if mis.CorruptType == typ {
		lines := strings.SplitAfterN(string(b), "\n", 3)
		if len(lines) == 3 {
			b = []byte(lines[0] + mis.CorruptLine + "\n" + lines[2])
		}
	}
	if mis.TruncateType == typ && len(b) > 10 {
		b = b[:len(b)-len(b)/7-1]
		if b[len(b)-1] == '\n' {
			b = b[:len(b)-1]
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if cut {
		// Half the promised body, then the connection closes: the client
		// sees an unexpected EOF.
		w.Write(b[:len(b)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		if stall {
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
		}
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
			}
		}
		return
	}
	w.Write(b)
}

// changedSince keeps the NDJSON lines whose resource's meta.lastUpdated
// is after since (and those it cannot tell: better twice than never).
func changedSince(b []byte, since time.Time) []byte {
	var out []byte
	for len(b) > 0 {
		line := b
		if i := slices.Index(b, '\n'); i >= 0 {
			line, b = b[:i+1], b[i+1:]
		} else {
			b = nil
		}
		var r struct {
			Meta struct {
				LastUpdated string `json:"lastUpdated"`
			} `json:"meta"`
		}
		if json.Unmarshal(line, &r) == nil {
			if t, err := time.Parse(time.RFC3339Nano, r.Meta.LastUpdated); err == nil && !t.After(since) {
				continue
			}
		}
		out = append(out, line...)
	}
	return out
}
