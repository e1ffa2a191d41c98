package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/kunnskapskommunen/folkekommune/broker/audit"
	"github.com/kunnskapskommunen/folkekommune/broker/inquiry"
	"github.com/kunnskapskommunen/folkekommune/broker/notify"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
	portfolioapi "github.com/kunnskapskommunen/folkekommune/broker/portfolio/api"
	"github.com/kunnskapskommunen/folkekommune/broker/requests"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
	"github.com/kunnskapskommunen/folkekommune/indicators"
	"github.com/kunnskapskommunen/folkekommune/policies"
)

// Server is the broker service: the domain packages behind one router.
type Server struct {
	cfg        Config
	db         *store.DB
	log        *slog.Logger
	audit      *audit.Log
	policy     *policies.Engine
	tokens     *TokenStore
	auth       []Authenticator
	requests   *requests.Service
	portfolio  *portfolio.Registry
	inquiries  *inquiry.Registry
	indicators []*indicators.Definition
	indCache   *indicatorCache
	metrics    *metrics
	router     chi.Router
	ready      atomic.Bool
	openapiDoc map[string]any
	sources    *sourceRunner // the configured sources and their schedule (sources.go)
}

// New wires the service over an open database: it loads the policy
// (embedded, or cfg.PolicyDir), the indicator definitions and the
// registries, and builds the router.
func New(ctx context.Context, db *store.DB, cfg Config, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{cfg: cfg, db: db, log: log, audit: audit.New(db)}
	def := DefaultConfig()
	if cfg.MaxBody <= 0 {
		s.cfg.MaxBody = def.MaxBody
	}
	if cfg.ShutdownTimeout <= 0 {
		s.cfg.ShutdownTimeout = def.ShutdownTimeout
	}
	var err error
	if cfg.PolicyDir != "" {
		s.policy, err = policies.LoadDir(ctx, cfg.PolicyDir)
	} else {
		s.policy, err = policies.LoadEmbedded(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("load the policy: %w", err)
	}
	s.policy.SetAudit(s.audit)
	if s.indicators, err = indicators.Builtin(); err != nil {
		return nil, fmt.Errorf("load the indicator definitions: %w", err)
	}
	s.indCache = newIndicatorCache()
	s.tokens = &TokenStore{DB: db}
	s.auth = []Authenticator{s.tokens}
	s.portfolio = portfolio.New(db, portfolio.AuditLog(s.audit))
	s.inquiries = inquiry.New(s.portfolio)
	s.metrics = newMetrics(db)
	s.requests = &requests.Service{
		DB: db, Policy: s.policy, Audit: s.audit, Projects: s.project,
		OnDecision: func(outcome string) { s.metrics.decisions.WithLabelValues(outcome).Inc() },
	}
	if s.sources, err = newSourceRunner(ctx, s); err != nil {
		return nil, err
	}
	s.openapiDoc = OpenAPI()
	s.router = s.buildRouter()
	s.ready.Store(true)
	return s, nil
}

// Policy is the running policy engine.
func (s *Server) Policy() *policies.Engine { return s.policy }

// Portfolio is the project registry.
func (s *Server) Portfolio() *portfolio.Registry { return s.portfolio }

// Inquiries is the inquiry registry.
func (s *Server) Inquiries() *inquiry.Registry { return s.inquiries }

// Tokens is the token store.
func (s *Server) Tokens() *TokenStore { return s.tokens }

// Audit is the audit log.
func (s *Server) Audit() *audit.Log { return s.audit }

// Requests is the request service.
func (s *Server) Requests() *requests.Service { return s.requests }

// project reads a project's data-access approval as the policy reads it.
func (s *Server) project(ctx context.Context, id int64) (policies.Project, error) {
	ap, err := s.portfolio.AccessApproval(ctx, id)
	var nf *portfolio.NotFoundError
	if errors.As(err, &nf) {
		return policies.Project{}, fmt.Errorf("%w: project %d", requests.ErrNotFound, id)
	}
	if err != nil {
		return policies.Project{}, err
	}
	return policies.Project(ap.ForPolicy()), nil
}

// Handler is the service's HTTP handler.
func (s *Server) Handler() http.Handler { return s.router }

// route is one endpoint of the API: its method and pattern, who may call
// it, what it does. The router and the OpenAPI document are both built
// from routes, and a test checks the router against the document.
type route struct {
	method, pattern string
	roles           []string // nil: anyone, without signing in
	summary         string
	tag             string
	tables          bool // answers in the table formats (CSV, JSON, JSON-stat, Arrow, Parquet)
	handle          func(s *Server) handlerFunc
}

type handlerFunc func(http.ResponseWriter, *http.Request) error

var (
	anyRole     = Roles
	requesters  = []string{requests.RoleResearcher, requests.RoleCoordinator}
	reviewers   = []string{requests.RolePrivacyOfficer}
	requestSeen = []string{requests.RoleResearcher, requests.RoleCoordinator, requests.RolePrivacyOfficer, requests.RoleAdmin}
	overseers   = []string{requests.RolePrivacyOfficer, requests.RoleAdmin}
)

// routes is the broker's own API; the portfolio and inquiry registries
// bring theirs (broker/portfolio/api).
var routes = []route{
	{"GET", "/healthz", nil, "Liveness: 200 while the process serves", "service", false, func(s *Server) handlerFunc { return s.healthz }},
	{"GET", "/readyz", nil, "Readiness: 200 when the database answers and the policy is loaded", "service", false, func(s *Server) handlerFunc { return s.readyz }},
	{"GET", "/metrics", nil, "Prometheus metrics", "service", false, nil},
	{"GET", "/api/v1/openapi.json", nil, "This document", "service", false, func(s *Server) handlerFunc { return s.openapi }},
	{"GET", "/api/v1/datasets", anyRole, "The dataset catalogue: measures, dimensions with code lists and hierarchies, sensitivity", "catalogue", false, func(s *Server) handlerFunc { return s.listDatasets }},
	{"GET", "/api/v1/datasets/{id}", anyRole, "One dataset with its dimensions' code lists", "catalogue", false, func(s *Server) handlerFunc { return s.getDataset }},
	{"POST", "/api/v1/requests", requesters, "Request a table for a project: validated, decided by the policy, released when allowed", "requests", false, func(s *Server) handlerFunc { return s.submitRequest }},
	{"GET", "/api/v1/requests", requestSeen, "Requests: your own, or everyone's for the privacy officer and admin (?state)", "requests", false, func(s *Server) handlerFunc { return s.listRequests }},
	{"GET", "/api/v1/requests/{id}", requestSeen, "One request with its decision, reasons and reviews", "requests", false, func(s *Server) handlerFunc { return s.getRequest }},
	{"POST", "/api/v1/requests/{id}/approve", reviewers, "Approve a request under review: {comment}", "requests", false, func(s *Server) handlerFunc { return s.reviewRequest(requests.ActionApprove) }},
	{"POST", "/api/v1/requests/{id}/reject", reviewers, "Reject a request under review: {comment}", "requests", false, func(s *Server) handlerFunc { return s.reviewRequest(requests.ActionReject) }},
	{"GET", "/api/v1/request-workflow", anyRole, "The request states and who may move a request between them", "requests", false, func(s *Server) handlerFunc { return s.requestWorkflow }},
	{"GET", "/api/v1/releases/{id}", requestSeen, "A release's table (Accept or ?format=csv|json|jsonstat|arrow|parquet); checksum in X-Release-SHA256", "releases", true, func(s *Server) handlerFunc { return s.getRelease }},
	{"GET", "/api/v1/releases/{id}/meta", requestSeen, "A release's metadata: request, policy and extract versions, checksum, cell counts", "releases", false, func(s *Server) handlerFunc { return s.getReleaseMeta }},
	{"GET", "/api/v1/indicators", anyRole, "Indicator definitions and metadata", "indicators", false, func(s *Server) handlerFunc { return s.listIndicators }},
	{"GET", "/api/v1/indicators/{id}/values", anyRole, "An indicator's protected values (?municipality, ?district, ?year, ?sex; Accept or ?format)", "indicators", true, func(s *Server) handlerFunc { return s.indicatorValues }},
	{"GET", "/api/v1/policies", overseers, "The running policy: rules with annotations, tests and coverage", "policies", false, func(s *Server) handlerFunc { return s.getPolicy }},
	{"GET", "/api/v1/policies/decisions", overseers, "The decision log (?outcome, ?actor, ?from, ?to, ?limit)", "policies", false, func(s *Server) handlerFunc { return s.listDecisions }},
	{"POST", "/api/v1/policies/what-if", overseers, "Evaluate a hypothetical policy input without logging or releasing", "policies", false, func(s *Server) handlerFunc { return s.whatIf }},
	{"GET", "/api/v1/audit/status", overseers, "Verify the audit chain: entries, head, problems", "audit", false, func(s *Server) handlerFunc { return s.auditStatus }},
}

func (s *Server) buildRouter() chi.Router {
	r := chi.NewRouter()
	r.Use(s.recoverer, s.observe, s.limitBody, s.authenticate)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, fmt.Errorf("%w: no route %s %s", requests.ErrNotFound, r.Method, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, apiError{Error: fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path), Melding: "Metoden er ikke tillatt her."})
	})
	for _, rt := range allRoutes() {
		var h http.Handler
		if rt.pattern == "/metrics" {
			h = s.metrics.handler()
		} else {
			fn := rt.handle(s)
			h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := fn(w, r); err != nil {
					s.writeError(w, r, err)
				}
			})
		}
		if rt.roles != nil {
			h = s.requireRoles(rt.roles, h)
		}
		r.Method(rt.method, rt.pattern, h)
	}
	// The registries' API answers its own routes with its own rules.
	reg := portfolioapi.New(s.portfolio, s.inquiries, s.portfolioActor)
	for path, item := range portfolioapi.OpenAPIPaths() {
		for method := range item.(map[string]any) {
			r.Method(strings.ToUpper(method), path, reg)
		}
	}
	// The web pages (broker/web) share the domain services, never a second
	// path around the policies.
	s.mountWeb(r)
	return r
}

// allRoutes is the broker's own API table: the core routes and the
// source-administration routes (sources.go).
func allRoutes() []route {
	return append(append([]route(nil), routes...), sourceRoutes...)
}

// portfolioActor authenticates for the registries' API: the public
// without credentials, an error for credentials that fail.
func (s *Server) portfolioActor(r *http.Request) (portfolio.Actor, error) {
	if u, ok := UserFrom(r.Context()); ok {
		return portfolio.Actor{ID: u.ID, Role: u.Role, Municipality: u.Municipality}, nil
	}
	return portfolio.Actor{}, nil
}

func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
		}
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a panic into a 500 with a JSON body; the panic goes to
// the log, never to the caller.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(r.Context(), "panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
				writeJSON(w, http.StatusInternalServerError, apiError{Error: "internal error", Melding: "Intern feil."})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if !s.ready.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "starting"})
		return nil
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.log.Warn("readiness: database", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
		return nil
	}
	extract, err := requests.LatestExtract(ctx, s.db)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "policy_version": s.policy.Current().Hash, "extract": extract})
	return nil
}

// dailyChores sends the inquiry deadline reminders and applies the
// registries' retention rule at start and then once a day; both are
// idempotent, so a restart that repeats them does no harm.
func (s *Server) dailyChores(ctx context.Context) {
	t := time.NewTicker(24 * time.Hour)
	defer t.Stop()
	for {
		if rep, err := s.inquiries.SendReminders(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("send inquiry deadline reminders", "err", err)
		} else {
			s.log.Info("inquiry deadline reminders", "report", rep)
		}
		if n, err := s.inquiries.ApplyRetention(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("apply retention rule", "err", err)
		} else if n > 0 {
			s.log.Info("retention rule applied", "erased", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Serve serves on ln until ctx ends, then stops taking connections and
// lets requests in flight finish (up to cfg.ShutdownTimeout).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.router,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if s.cfg.PolicyDir != "" {
		go s.policy.Watch(ctx, s.cfg.PolicyDir, 2*time.Second, func(err error) {
			s.log.Error("policy reload refused; the running version keeps serving", "dir", s.cfg.PolicyDir, "err", err)
		})
	}
	// Background work ends with ctx; Serve waits for it, so a delivery in
	// progress finishes and is recorded before the process exits.
	var background sync.WaitGroup
	defer background.Wait()
	s.sources.run(ctx, &background)
	if s.cfg.SMTPAddr != "" {
		mailer := &notify.Mailer{DB: s.db.DB, Addr: s.cfg.SMTPAddr, From: s.cfg.MailFrom}
		background.Go(func() { mailer.Run(ctx, time.Minute) })
		background.Go(func() { s.dailyChores(ctx) })
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.log.Info("serving", "addr", ln.Addr().String(), "policy", s.policy.Current().Short())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.ready.Store(false)
	s.log.Info("shutting down; finishing requests in flight", "timeout", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	s.log.Info("stopped")
	return nil
}
