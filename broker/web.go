package broker

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
	"github.com/kunnskapskommunen/folkekommune/broker/requests"
	"github.com/kunnskapskommunen/folkekommune/broker/web"
)

// mountWeb mounts the server-rendered pages (broker/web) on r: each of the
// pages' routes is registered here, so the API's own routes and its JSON
// 404s stay as they are.
func (s *Server) mountWeb(r chi.Router) {
	pages, err := s.webPages()
	if err != nil {
		// The templates are embedded and checked by the web tests; a
		// failure here is a programming error, not a configuration one.
		panic(fmt.Sprintf("broker: build the web pages: %v", err))
	}
	// The pages route the request again on their own router; a fresh
	// route context keeps the broker's (its pattern names the route in the
	// metrics and logs) from being extended by the pages' routing.
	own := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		pages.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), chi.RouteCtxKey, nil)))
	})
	for _, mp := range pages.Patterns() {
		method, pattern, _ := strings.Cut(mp, " ")
		r.Method(method, pattern, own)
	}
	// Any other GET: a browser gets the pages' HTML 404, an API client
	// its JSON one.
	r.Get("/*", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/api/") {
			s.writeError(w, req, fmt.Errorf("%w: no route %s %s", requests.ErrNotFound, req.Method, req.URL.Path))
			return
		}
		own.ServeHTTP(w, req)
	}))
}

// webPages builds the pages over the server's own services.
func (s *Server) webPages() (*web.Pages, error) {
	return web.New(web.Deps{
		Requests: s.requests, Policy: s.policy, Audit: s.audit,
		Portfolio: s.portfolio, Inquiries: s.inquiries, Indicators: s.indicators,
		ReadIndicator: s.readIndicator,
		Authenticate:  s.authenticateToken,
		Log:           s.log,
	})
}

// readIndicator is the API's path to an indicator's values, for the pages:
// the same policy check (mayReadIndicators) and the same cached table. u
// is the signed-in user, or the pages' anonymous visitor (role public),
// whom the policy decides on like anyone else: no role is let through
// here. The API itself stays closed without a token (DESIGN.md: 401
// without a valid token), so only the pages reach this without one.
func (s *Server) readIndicator(ctx context.Context, u User, id string) (*cube.Table, error) {
	for _, d := range s.indicators {
		if d.ID != id {
			continue
		}
		if err := s.mayReadIndicators(ctx, u); err != nil {
			return nil, err
		}
		return s.indicatorTable(ctx, d)
	}
	return nil, fmt.Errorf("%w: no indicator %q", requests.ErrNotFound, id)
}

// authenticateToken checks a broker token typed into the login form
// through the same authenticators as the API's bearer tokens.
func (s *Server) authenticateToken(ctx context.Context, token string) (User, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	if err != nil {
		return User{}, err
	}
	r.Header.Set("Authorization", "Bearer "+token)
	for _, a := range s.auth {
		u, err := a.Authenticate(r)
		if err == ErrNoCredentials {
			continue
		}
		return u, err
	}
	return User{}, errBadToken
}
