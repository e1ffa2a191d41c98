package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/requests"
)

// templateSet is one page's template: the layout, the shared partials and
// the page's own file, which defines "title" and "content".
type templateSet struct{ t *template.Template }

// parseTemplates parses templates/layout.html and templates/partials/*.html
// once, then every other templates/**/*.html on a clone of them, named by
// its path without templates/ and .html ("indicators/page").
func parseTemplates(fsys fs.FS) (map[string]*templateSet, error) {
	base := template.New("layout").Funcs(funcs)
	base, err := base.ParseFS(fsys, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse the page layout: %w", err)
	}
	out := map[string]*templateSet{}
	err = fs.WalkDir(fsys, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		if p == "templates/layout.html" || strings.HasPrefix(p, "templates/partials/") {
			return nil
		}
		t, err := base.Clone()
		if err != nil {
			return err
		}
		if _, err := t.ParseFS(fsys, p); err != nil {
			return fmt.Errorf("parse template %s: %w", p, err)
		}
		out[strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")] = &templateSet{t: t}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// view is what every template gets: the language, the user, the session's
// CSRF token, navigation, and the page's own Data.
type view struct {
	Lang      string
	OtherLang string
	Path      string
	Title     string
	User      *User
	CSRF      string
	Nav       []navItem
	Notice    string // a one-line message at the top (already translated)
	Data      any
}

// T translates key into the page's language.
func (v *view) T(key string, args ...any) string { return translate(v.Lang, key, args...) }

// LangURL is the current page in the other language.
func (v *view) LangURL() string {
	u, _ := url.Parse(v.Path)
	if u == nil {
		return "/?lang=" + v.OtherLang
	}
	q := u.Query()
	q.Set("lang", v.OtherLang)
	u.RawQuery = q.Encode()
	return u.String()
}

// Num writes x with d decimals, Norwegian style in bokmål (decimal comma,
// a space between thousands).
func (v *view) Num(x float64, d int) string { return formatNum(v.Lang, x, d) }

// Int writes n with thousands separated.
func (v *view) Int(n int64) string { return formatNum(v.Lang, float64(n), 0) }

// Date writes t as a date (ISO 8601, as the design asks).
func (v *view) Date(t time.Time) string { return t.UTC().Format("2006-01-02") }

// Time writes t as date and time in UTC.
func (v *view) Time(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") + " UTC" }

// Pick chooses the text of a two-language label.
func (v *view) Pick(nb, en string) string {
	if v.Lang == langEN && en != "" {
		return en
	}
	return nb
}

// HasRole reports whether the user has one of roles.
func (v *view) HasRole(roles ...string) bool {
	if v.User == nil {
		return false
	}
	for _, r := range roles {
		if v.User.Role == r {
			return true
		}
	}
	return false
}

func formatNum(lang string, x float64, d int) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	s := strconv.FormatFloat(x, 'f', d, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	sep, dec := ",", "."
	if lang != langEN {
		sep, dec = "\u00a0", ","
	}
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	out := b.String()
	if frac != "" {
		out += dec + frac
	}
	if neg {
		out = "−" + out
	}
	return out
}

var funcs = template.FuncMap{
	"join": strings.Join,
	"contains": func(xs []string, x string) bool {
		for _, y := range xs {
			if y == x {
				return true
			}
		}
		return false
	},
	"short": func(s string, n int) string {
		if len(s) > n {
			return s[:n]
		}
		return s
	},
	"add": func(a, b int) int { return a + b },
}

// navItem is one link of the navigation.
type navItem struct {
	Href, Key string
	Current   bool
}

// nav is the navigation for u: every group's pages the role may open.
func nav(u *User, current string) []navItem {
	items := []navItem{{"/", "nav.home", false}}
	has := func(roles ...string) bool {
		if u == nil {
			return false
		}
		for _, r := range roles {
			if u.Role == r {
				return true
			}
		}
		return false
	}
	// Published indicators are open to visitors without a sign-in too, as
	// long as the policy lists its role public for indicator.read; if it
	// stops doing so, the link leads to the login page.
	items = append(items, navItem{Href: "/indikatorer", Key: "nav.indicators"})
	if has(roleResearcher, roleCoordinator, rolePrivacy, roleAdmin) {
		items = append(items, navItem{Href: "/foresporsler", Key: "nav.requests"})
	}
	if has(rolePrivacy, roleAdmin) {
		items = append(items, navItem{Href: "/personvern", Key: "nav.privacy"})
	}
	items = append(items, navItem{Href: "/henvendelser/ny", Key: "nav.inquiry_form"})
	if has(roleFoU, roleAdmin) {
		items = append(items, navItem{Href: "/henvendelser", Key: "nav.inbox"})
	}
	if u != nil {
		items = append(items, navItem{Href: "/prosjekter", Key: "nav.portfolio"})
	}
	for i := range items {
		h := items[i].Href
		items[i].Current = current == h || (h != "/" && strings.HasPrefix(current, h+"/"))
	}
	return items
}

// newView is the view of r with data.
func (p *Pages) newView(r *http.Request, titleKey string, data any) *view {
	lang := langFrom(r.Context())
	v := &view{Lang: lang, OtherLang: langEN, Path: r.URL.RequestURI(), Data: data}
	if lang == langEN {
		v.OtherLang = langNB
	}
	if ss := sessionFrom(r.Context()); ss != nil {
		v.CSRF = ss.CSRF
		v.User = ss.User
	}
	v.Title = v.T(titleKey)
	v.Nav = nav(v.User, r.URL.Path)
	return v
}

// render writes page name with status. Pages with a form call
// ensureSession first, so v.CSRF is set.
func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) error {
	ts := p.tmpl[name]
	if ts == nil {
		return fmt.Errorf("no template %s", name)
	}
	var buf bytes.Buffer
	if err := ts.t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// page renders a page that shows a form: it makes sure the browser has a
// session whose CSRF token the form carries.
func (p *Pages) page(w http.ResponseWriter, r *http.Request, status int, name, titleKey string, data any) error {
	ss := p.ensureSession(w, r)
	v := p.newView(r, titleKey, data)
	v.CSRF = ss.CSRF
	return p.render(w, r, status, name, v)
}

// errorMapper maps an error of a domain the core does not know (the
// registries) to a status and a message key; ok false passes it on.
// portfolio.go and privacy.go add theirs in init().
type errorMapper func(err error) (status int, key string, ok bool)

var errorMappers []errorMapper

// errorPage is the data of the error page.
type errorPage struct {
	Status  int
	Message string // translated
	Detail  string // the error's own sentence for 400s (English)
}

// fail answers err with an error page: the one place where errors become
// statuses for the pages. Anything unknown is a 500 whose detail goes to
// the log only.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, key := http.StatusInternalServerError, "error.internal"
	var ie *requests.InputError
	switch {
	case errors.As(err, &ie):
		status, key = http.StatusBadRequest, "error.input"
	case errors.Is(err, errCSRF):
		status, key = http.StatusForbidden, "error.csrf"
	case errors.Is(err, errSignIn):
		status, key = http.StatusUnauthorized, "error.signin"
	case errors.Is(err, requests.ErrForbidden):
		status, key = http.StatusForbidden, "error.forbidden"
	case errors.Is(err, requests.ErrNotFound):
		status, key = http.StatusNotFound, "error.notfound"
	case errors.Is(err, requests.ErrState):
		status, key = http.StatusConflict, "error.state"
	case errors.Is(err, requests.ErrNoExtract):
		status, key = http.StatusServiceUnavailable, "error.noextract"
	case errors.Is(err, errMethod):
		status, key = http.StatusMethodNotAllowed, "error.method"
	default:
		for _, m := range errorMappers {
			if s, k, ok := m(err); ok {
				status, key = s, k
				break
			}
		}
	}
	if status == http.StatusInternalServerError {
		p.log.ErrorContext(r.Context(), "page failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	v := p.newView(r, "error.title", nil)
	ep := errorPage{Status: status, Message: v.T(key)}
	if ie != nil {
		ep.Detail = ie.Error()
	}
	v.Data = ep
	if rerr := p.render(w, r, status, "error", v); rerr != nil {
		p.log.ErrorContext(r.Context(), "render the error page", "err", rerr)
		http.Error(w, ep.Message, status)
	}
}

// safeNext keeps a post-login redirect on this site: a path, never a URL
// to another host.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return path.Clean("/"+strings.SplitN(next, "?", 2)[0]) + queryOf(next)
}

func queryOf(s string) string {
	if i := strings.Index(s, "?"); i >= 0 {
		return s[i:]
	}
	return ""
}
