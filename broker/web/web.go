package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/kunnskapskommunen/folkekommune/broker/audit"
	"github.com/kunnskapskommunen/folkekommune/broker/cube"
	"github.com/kunnskapskommunen/folkekommune/broker/inquiry"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
	"github.com/kunnskapskommunen/folkekommune/broker/requests"
	"github.com/kunnskapskommunen/folkekommune/indicators"
	"github.com/kunnskapskommunen/folkekommune/policies"
)

//go:embed templates static
var assets embed.FS

// User is a signed-in person, as the request service knows them.
type User = requests.User

// Deps are the domain services the pages call: the very ones the API
// calls, handed over by the broker (package web must not import it).
type Deps struct {
	Requests   *requests.Service
	Policy     *policies.Engine
	Audit      *audit.Log
	Portfolio  *portfolio.Registry
	Inquiries  *inquiry.Registry
	Indicators []*indicators.Definition

	// ReadIndicator returns an indicator's protected table for u through
	// the API's own code path, the policy's indicator.read check included.
	ReadIndicator func(ctx context.Context, u User, id string) (*cube.Table, error)
	// Authenticate turns a broker token into its user; any error means
	// the token does not sign anyone in.
	Authenticate func(ctx context.Context, token string) (User, error)

	Log *slog.Logger
	// IdleTimeout and AbsoluteTimeout end sessions (defaults 30 min and 8 h).
	IdleTimeout, AbsoluteTimeout time.Duration
	// Now is the clock (tests move it to expire sessions).
	Now func() time.Time
}

// Pages is the web interface: an http.Handler for the page routes.
type Pages struct {
	deps     Deps
	log      *slog.Logger
	sessions *Sessions
	tmpl     map[string]*templateSet
	router   chi.Router
	indByID  map[string]*indicators.Definition
}

// Default session timeouts.
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 8 * time.Hour
)

// New builds the pages over deps: it parses the templates (an error names
// the template) and builds the routes.
func New(deps Deps) (*Pages, error) {
	if deps.Requests == nil || deps.Policy == nil || deps.Authenticate == nil || deps.ReadIndicator == nil {
		return nil, errors.New("web: Requests, Policy, Authenticate and ReadIndicator are required")
	}
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.IdleTimeout <= 0 {
		deps.IdleTimeout = DefaultIdleTimeout
	}
	if deps.AbsoluteTimeout <= 0 {
		deps.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	p := &Pages{deps: deps, log: deps.Log, indByID: map[string]*indicators.Definition{}}
	for _, d := range deps.Indicators {
		p.indByID[d.ID] = d
	}
	p.sessions = NewSessions(deps.IdleTimeout, deps.AbsoluteTimeout, deps.Now)
	var err error
	if p.tmpl, err = parseTemplates(assets); err != nil {
		return nil, err
	}
	p.router = p.routes()
	return p, nil
}

// Sessions is the session store, for tests and a later OIDC login.
func (p *Pages) Sessions() *Sessions { return p.sessions }

// ServeHTTP serves the page routes (and 404 pages for anything else).
func (p *Pages) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.router.ServeHTTP(w, r) }

// Patterns are the route patterns the pages answer, for mounting them on
// the broker's router beside the API without taking over its 404s.
func (p *Pages) Patterns() []string {
	var out []string
	_ = chi.Walk(p.router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		out = append(out, method+" "+route)
		return nil
	})
	return out
}

// handler is a page: it writes its answer or returns an error that
// becomes an error page.
type handler func(w http.ResponseWriter, r *http.Request) error

// Roles.
const (
	roleResearcher  = requests.RoleResearcher
	roleCoordinator = requests.RoleCoordinator
	rolePrivacy     = requests.RolePrivacyOfficer
	roleFoU         = requests.RoleFoUContact
	roleAdmin       = requests.RoleAdmin
)

// anyRole is every signed-in user.
var anyRole = []string{roleResearcher, roleCoordinator, rolePrivacy, roleFoU, roleAdmin}

// routes is the one table of pages. The privacy officer's pages and the
// portfolio/inquiry pages register theirs through privacyRoutes and
// portfolioRoutes (privacy.go, portfolio.go).
func (p *Pages) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(p.securityHeaders, p.language, p.session, p.checkCSRF)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		p.fail(w, r, fmt.Errorf("%w: %s", requests.ErrNotFound, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		p.fail(w, r, errMethod)
	})
	static, _ := fs.Sub(assets, "static")
	r.Handle("/static/*", http.StripPrefix("/static/", staticHandler(static)))

	r.Get("/", p.h(p.home))
	r.Get("/logg-inn", p.h(p.loginForm))
	r.Post("/logg-inn", p.h(p.login))
	r.Post("/logg-ut", p.h(p.logout))

	// Indicators: published aggregates, readable by every role the policy
	// lists for indicator.read, visitors without a sign-in as its role
	// public (indicators.go).
	r.Get("/indikatorer", p.openToPublic(anyRole, p.barometer))
	r.Get("/indikatorer/{id}", p.openToPublic(anyRole, p.indicatorPage))
	r.Get("/indikatorer/{id}/last-ned", p.openToPublic(anyRole, p.indicatorDownload))

	// Requests and releases: researchers (and coordinators for their
	// governance tables) ask; the privacy officer and admin may read.
	requesters := []string{roleResearcher, roleCoordinator}
	seen := []string{roleResearcher, roleCoordinator, rolePrivacy, roleAdmin}
	r.Get("/foresporsler", p.need(seen, p.requestList))
	r.Get("/foresporsler/ny", p.need(requesters, p.requestForm))
	r.Post("/foresporsler/ny", p.need(requesters, p.requestSubmit))
	r.Get("/foresporsler/{id}", p.need(seen, p.requestPage))
	r.Get("/utleveringer/{id}", p.need(seen, p.releasePage))
	r.Get("/utleveringer/{id}/last-ned", p.need(seen, p.releaseDownload))

	p.privacyRoutes(r)
	p.portfolioRoutes(r)
	return r
}

var errMethod = errors.New("method not allowed")

// h adapts a handler: an error becomes an error page.
func (p *Pages) h(fn handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			p.fail(w, r, err)
		}
	}
}

// need lets only signed-in users with one of roles through: anyone else
// is sent to the login page (GET) or shown 401/403 pages.
func (p *Pages) need(roles []string, fn handler) http.HandlerFunc {
	return p.h(func(w http.ResponseWriter, r *http.Request) error {
		u, ok := userFrom(r.Context())
		if !ok {
			if r.Method == http.MethodGet {
				to := "/logg-inn?neste=" + url.QueryEscape(r.URL.RequestURI())
				if expired, _ := r.Context().Value(expiredKey).(bool); expired {
					to += "&utlopt=1"
				}
				http.Redirect(w, r, to, http.StatusSeeOther)
				return nil
			}
			return errSignIn
		}
		for _, role := range roles {
			if u.Role == role {
				return fn(w, r)
			}
		}
		return fmt.Errorf("%w: a %s may not open %s", requests.ErrForbidden, u.Role, r.URL.Path)
	})
}

var errSignIn = errors.New("sign in first")

// staticHandler serves the embedded assets with a content hash-free but
// short cache life, so a new binary's CSS is picked up within the hour.
func staticHandler(fsys fs.FS) http.Handler {
	fh := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") || r.URL.Path == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fh.ServeHTTP(w, r)
	})
}
