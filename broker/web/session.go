package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Sessions keeps the browser sessions in memory: a restart signs everyone
// out, which is acceptable for one broker process. Several replicas would
// keep them in the shared PostgreSQL registry instead (DESIGN.md).
//
// A session exists before sign-in too (anonymous), so that the login form
// and the public forms carry a CSRF token tied to the browser; signing in
// replaces it with a new session id (no session fixation).
type Sessions struct {
	mu        sync.Mutex
	m         map[string]*Session
	idle, abs time.Duration
	now       func() time.Time
	lastSweep time.Time
}

// Session is one browser's session.
type Session struct {
	ID      string
	CSRF    string
	User    *User // nil before sign-in
	Created time.Time
	Seen    time.Time
	// Via names how the user signed in: "token" today, "oidc" later.
	Via string
}

// maxSessions bounds the store, anonymous sessions included, so that a
// flood of visitors cannot exhaust memory (a variable for the tests).
var maxSessions = 100_000

// NewSessions makes a store whose sessions end after idle without use or
// abs after they began, whichever comes first.
func NewSessions(idle, abs time.Duration, now func() time.Time) *Sessions {
	return &Sessions{m: map[string]*Session{}, idle: idle, abs: abs, now: now}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// New starts a session for u (nil: anonymous).
func (s *Sessions) New(u *User, via string) *Session {
	now := s.now()
	ss := &Session{ID: randomHex(32), CSRF: randomHex(32), User: u, Created: now, Seen: now, Via: via}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	s.m[ss.ID] = ss
	return ss
}

// Get returns the live session with id and marks it used; expired says
// whether id named a session that has just run out.
func (s *Sessions) Get(id string) (ss *Session, expired bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss = s.m[id]
	if ss == nil {
		return nil, false
	}
	if s.dead(ss, now) {
		delete(s.m, id)
		return nil, ss.User != nil
	}
	ss.Seen = now
	return ss, false
}

// End removes a session.
func (s *Sessions) End(id string) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

// Len is the number of sessions held.
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func (s *Sessions) dead(ss *Session, now time.Time) bool {
	return now.Sub(ss.Seen) > s.idle || now.Sub(ss.Created) > s.abs
}

// sweep drops expired sessions at most once a minute. When the store is
// still full it drops a tenth of it at once, anonymous sessions first and
// the least recently seen first, so that a flood of visitors costs one
// sort per maxSessions/10 new sessions and does not sign people out.
func (s *Sessions) sweep(now time.Time) {
	if now.Sub(s.lastSweep) > time.Minute || len(s.m) >= maxSessions {
		s.lastSweep = now
		for id, ss := range s.m {
			if s.dead(ss, now) {
				delete(s.m, id)
			}
		}
	}
	if len(s.m) < maxSessions {
		return
	}
	all := make([]*Session, 0, len(s.m))
	for _, ss := range s.m {
		all = append(all, ss)
	}
	sort.Slice(all, func(i, j int) bool {
		if (all[i].User == nil) != (all[j].User == nil) {
			return all[i].User == nil
		}
		return all[i].Seen.Before(all[j].Seen)
	})
	for _, ss := range all[:len(all)/10+1] {
		delete(s.m, ss.ID)
	}
}

const sessionCookie = "fk_session"

type ctxKey int

const (
	sessionKey ctxKey = iota
	langKey
	expiredKey
)

func sessionFrom(ctx context.Context) *Session {
	ss, _ := ctx.Value(sessionKey).(*Session)
	return ss
}

func userFrom(ctx context.Context) (User, bool) {
	if ss := sessionFrom(ctx); ss != nil && ss.User != nil {
		return *ss.User, true
	}
	return User{}, false
}

// session puts the browser's live session, if any, in the context; a
// cookie naming a session that has run out is cleared, and the login page
// says why.
func (p *Pages) session(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err == nil {
			ss, expired := p.sessions.Get(c.Value)
			switch {
			case ss != nil:
				r = r.WithContext(context.WithValue(r.Context(), sessionKey, ss))
			case expired:
				p.clearCookie(w, r)
				r = r.WithContext(context.WithValue(r.Context(), expiredKey, true))
			default:
				p.clearCookie(w, r)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// ensureSession returns the request's session, starting an anonymous one
// (and setting its cookie) when there is none: pages with a form call it
// so the form can carry a CSRF token.
func (p *Pages) ensureSession(w http.ResponseWriter, r *http.Request) *Session {
	if ss := sessionFrom(r.Context()); ss != nil {
		return ss
	}
	ss := p.sessions.New(nil, "")
	p.setCookie(w, r, ss)
	return ss
}

// SignIn starts a signed-in session for u and sets its cookie, ending the
// browser's previous session. The token login calls it; an OIDC callback
// would call it the same way with the user mapped from the ID token.
func (p *Pages) SignIn(w http.ResponseWriter, r *http.Request, u User, via string) *Session {
	if old := sessionFrom(r.Context()); old != nil {
		p.sessions.End(old.ID)
	}
	ss := p.sessions.New(&u, via)
	p.setCookie(w, r, ss)
	return ss
}

func (p *Pages) setCookie(w http.ResponseWriter, r *http.Request, ss *Session) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: ss.ID, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: isHTTPS(r),
	})
}

func (p *Pages) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: isHTTPS(r),
	})
}

// csrfField is the name of the hidden field every form carries.
const csrfField = "csrf"

// errCSRF is a form whose CSRF token is missing or not its session's.
var errCSRF = errors.New("the form's security token is missing or out of date")

// checkCSRF refuses every state-changing request whose form token is not
// the session's own (synchronizer token): a 403 page.
func (p *Pages) checkCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		ss := sessionFrom(r.Context())
		got := r.PostFormValue(csrfField)
		if ss == nil || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(ss.CSRF)) != 1 {
			p.fail(w, r, errCSRF)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// csp forbids inline script and every other host: the pages need nothing
// beyond the broker itself.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func (p *Pages) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		if isHTTPS(r) {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// isHTTPS reports whether the browser reached the broker over HTTPS: on
// its own TLS, or through a proxy that ends TLS and says so. Believing a
// forged header only makes a cookie Secure, which hurts nobody but the
// forger.
func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}
