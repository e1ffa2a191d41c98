package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/kunnskapskommunen/folkekommune/indicators"
)

const wantCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func TestEveryPageCarriesTheSecurityHeaders(t *testing.T) {
	b := newBrowser(t)
	for _, path := range []string{"/", "/logg-inn", "/finnes-ikke", "/indikatorer"} {
		p := b.get(path)
		h := p.header
		if got := h.Get("Content-Security-Policy"); got != wantCSP {
			t.Errorf("%s: CSP %q, want %q", path, got, wantCSP)
		}
		if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", path, got)
		}
		if got := h.Get("Referrer-Policy"); got != "same-origin" {
			t.Errorf("%s: Referrer-Policy %q", path, got)
		}
	}
}

func TestLoginSetsASafeCookieAndLogoutEndsTheSession(t *testing.T) {
	b := newBrowser(t)
	if p := b.get("/foresporsler"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/logg-inn?neste=") {
		t.Fatalf("signed out, /foresporsler: %d to %q, want 303 to the login page", p.status, p.header.Get("Location"))
	}
	p := b.post("/logg-inn", "/logg-inn", url.Values{"token": {site.tokens["researcher"]}, "neste": {"/foresporsler"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/foresporsler" {
		t.Fatalf("login: %d to %q, want 303 to /foresporsler", p.status, p.header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == "fk_session" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v: want HttpOnly and SameSite=Lax", cookie)
	}
	if home := b.get("/"); !strings.Contains(home.body, "forsker.kari") {
		t.Fatalf("the home page does not name the signed-in user:\n%s", home.body)
	}
	out := b.post("/", "/logg-ut", nil)
	if out.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", out.status)
	}
	if p := b.get("/foresporsler"); p.status != http.StatusSeeOther {
		t.Fatalf("after logout /foresporsler answers %d, want a redirect to the login page", p.status)
	}
	// The old cookie is dead on the server, not only in this browser.
	again := newBrowser(t)
	u, _ := url.Parse(site.http.URL)
	again.client.Jar.SetCookies(u, []*http.Cookie{{Name: "fk_session", Value: cookie.Value}})
	if p := again.get("/foresporsler"); p.status != http.StatusSeeOther {
		t.Fatalf("a logged-out session id still works: %d", p.status)
	}
}

func TestLoginWithABadTokenIsRefusedWithOneMessage(t *testing.T) {
	for _, tok := range []string{"", "fk_nope_0000", "not a token", site.tokens["researcher"] + "x"} {
		b := newBrowser(t)
		p := b.post("/logg-inn", "/logg-inn", url.Values{"token": {tok}})
		if p.status != http.StatusUnauthorized || !strings.Contains(p.body, `id="login-error"`) {
			t.Errorf("token %q: %d, want 401 with the login error", tok, p.status)
		}
	}
}

func TestAFormWithoutItsSessionsCSRFTokenIsRefused(t *testing.T) {
	b := newBrowser(t)
	b.login("researcher")
	other := newBrowser(t)
	otherToken := other.csrf(other.get("/logg-inn"))
	cases := []struct {
		name string
		form url.Values
	}{
		{"no token", url.Values{}},
		{"empty token", url.Values{"csrf": {""}}},
		{"another session's token", url.Values{"csrf": {otherToken}}},
		{"a made-up token", url.Values{"csrf": {strings.Repeat("ab", 32)}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, path := range []string{"/logg-ut", "/foresporsler/ny", "/logg-inn"} {
				p := b.do("POST", path, c.form)
				if p.status != http.StatusForbidden || !strings.Contains(p.body, "Skjemaet er utløpt") {
					t.Errorf("POST %s: %d, want 403 with the CSRF page", path, p.status)
				}
			}
		})
	}
	// Still signed in: a refused logout did nothing.
	if p := b.get("/foresporsler"); p.status != http.StatusOK {
		t.Fatalf("after refused forms /foresporsler answers %d", p.status)
	}
	// And a login form from a browser without a session is refused too.
	fresh := newBrowser(t)
	if p := fresh.do("POST", "/logg-inn", url.Values{"token": {site.tokens["researcher"]}, "csrf": {otherToken}}); p.status != http.StatusForbidden {
		t.Fatalf("login without a session: %d, want 403", p.status)
	}
}

func TestTheLanguageSwitchesToEnglishAndStays(t *testing.T) {
	b := newBrowser(t)
	nb := b.get("/logg-inn")
	if !strings.Contains(nb.body, `<html lang="nb">`) || !strings.Contains(nb.body, "Tilgangstoken") {
		t.Fatalf("default page is not in bokmål:\n%s", nb.body)
	}
	en := b.get("/logg-inn?lang=en")
	if !strings.Contains(en.body, `<html lang="en">`) || !strings.Contains(en.body, "Access token") {
		t.Fatalf("?lang=en page is not in English:\n%s", en.body)
	}
	if again := b.get("/"); !strings.Contains(again.body, `<html lang="en">`) {
		t.Fatal("the language choice is not remembered")
	}
	if back := b.get("/?lang=nb"); !strings.Contains(back.body, `<html lang="nb">`) {
		t.Fatal("cannot switch back to bokmål")
	}
}

func TestARoleThatMayNotActGetsA403Page(t *testing.T) {
	cases := []struct {
		role, method, path string
	}{
		{"fou_contact", "GET", "/foresporsler"},
		{"fou_contact", "GET", "/foresporsler/ny"},
		{"privacy_officer", "GET", "/foresporsler/ny"},
		{"admin", "POST", "/foresporsler/ny"},
	}
	for _, c := range cases {
		b := newBrowser(t)
		b.login(c.role)
		var p page
		if c.method == "GET" {
			p = b.get(c.path)
		} else {
			p = b.post("/", c.path, url.Values{})
		}
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "Rollen din gir ikke tilgang") || !strings.Contains(p.body, "<html") {
			t.Errorf("%s %s as %s: %d, want a 403 page", c.method, c.path, c.role, p.status)
		}
	}
}

func TestTheAPIKeepsItsJSONAnswers(t *testing.T) {
	b := newBrowser(t)
	for _, path := range []string{"/api/v1/nope", "/api/v1/datasets"} {
		p := b.get(path)
		if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: Content-Type %q, want JSON", path, ct)
		}
	}
	if p := b.get("/healthz"); p.status != http.StatusOK {
		t.Errorf("/healthz: %d", p.status)
	}
}

// pagesToCheck are the pages each role can reach, for the whole-site
// checks below.
var pagesToCheck = map[string][]string{
	"":                {"/", "/logg-inn", "/finnes-ikke"},
	"researcher":      {"/", "/indikatorer", "/foresporsler", "/foresporsler/ny", "/foresporsler/ny?dataset=gp_contact"},
	"coordinator":     {"/indikatorer", "/indikatorer?kommune=4628"},
	"privacy_officer": {"/foresporsler"},
}

func TestNoPageHasInlineScriptOrStyle(t *testing.T) {
	for role, paths := range pagesToCheck {
		b := newBrowser(t)
		if role != "" {
			b.login(role)
		}
		for _, path := range append(paths, indicatorPaths(t)...) {
			p := b.get(path)
			if p.status >= 500 {
				t.Errorf("%s as %q: %d", path, role, p.status)
				continue
			}
			for _, problem := range inlineCode(t, p.body) {
				t.Errorf("%s as %q: %s", path, role, problem)
			}
			// Every text comes from the catalogue, in both languages.
			en := b.get(path + sep(path) + "lang=en")
			b.get(path + sep(path) + "lang=nb")
			for _, body := range []string{p.body, en.body} {
				if i := strings.Index(body, "[["); i >= 0 {
					t.Errorf("%s as %q: a message missing from the catalogue: %.60s", path, role, body[i:])
				}
			}
		}
	}
}

// inlineCode parses a page and lists every script without src, event
// handler attribute, javascript: URL, style element or style attribute.
func inlineCode(t *testing.T, body string) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse the page: %v", err)
	}
	var out []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			src := ""
			for _, a := range n.Attr {
				k := strings.ToLower(a.Key)
				switch {
				case k == "src":
					src = a.Val
				case strings.HasPrefix(k, "on"):
					out = append(out, "event handler "+k+" on <"+n.Data+">")
				case k == "style":
					out = append(out, "style attribute on <"+n.Data+">")
				case (k == "href" || k == "action" || k == "formaction") && strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:"):
					out = append(out, "javascript: URL on <"+n.Data+">")
				}
			}
			if n.Data == "script" && (src == "" || n.FirstChild != nil) {
				out = append(out, "inline <script>")
			}
			if n.Data == "style" {
				out = append(out, "<style> element")
			}
			if n.Data == "script" && src != "" && !strings.HasPrefix(src, "/static/") {
				out = append(out, "script from elsewhere: "+src)
			}
			if n.Data == "link" && !hasPrefixAttr(n, "href", "/static/") {
				out = append(out, "link to elsewhere")
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

func hasPrefixAttr(n *html.Node, key, prefix string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return strings.HasPrefix(a.Val, prefix)
		}
	}
	return false
}

// indicatorPaths are the pages of every indicator.
func indicatorPaths(t *testing.T) []string {
	var out []string
	for _, id := range indicatorIDs(t) {
		out = append(out, "/indikatorer/"+id)
	}
	return out
}

func indicatorIDs(t *testing.T) []string {
	t.Helper()
	defs, err := indicators.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range defs {
		out = append(out, d.ID)
	}
	return out
}

func TestEveryFieldHasALabel(t *testing.T) {
	for role, paths := range pagesToCheck {
		b := newBrowser(t)
		if role != "" {
			b.login(role)
		}
		for _, path := range append(paths, indicatorPaths(t)[:2]...) {
			for _, problem := range unlabelled(t, b.get(path).body) {
				t.Errorf("%s as %q: %s", path, role, problem)
			}
		}
	}
}

// unlabelled lists the form fields of a page that no label names: a
// <label for> their id, a wrapping <label>, or aria-label.
func unlabelled(t *testing.T, body string) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	labelFor := map[string]bool{}
	type field struct {
		n       *html.Node
		wrapped bool
	}
	var fields []field
	var walk func(n *html.Node, inLabel bool)
	walk = func(n *html.Node, inLabel bool) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "label":
				labelFor[attr(n, "for")] = true
				inLabel = true
			case "input", "select", "textarea":
				switch attr(n, "type") {
				case "hidden", "submit", "button":
				default:
					fields = append(fields, field{n, inLabel})
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inLabel)
		}
	}
	walk(doc, false)
	var out []string
	for _, f := range fields {
		id := attr(f.n, "id")
		if f.wrapped || (id != "" && labelFor[id]) || attr(f.n, "aria-label") != "" {
			continue
		}
		out = append(out, "<"+f.n.Data+` name="`+attr(f.n, "name")+`"> has no label`)
	}
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func TestThePageChecksCatchWhatTheyLookFor(t *testing.T) {
	if got := unlabelled(t, `<form><input name="a"><label>B <input name="b"></label><label for="c">C</label><input id="c" name="c"><input type="hidden" name="d"></form>`); len(got) != 1 || !strings.Contains(got[0], `name="a"`) {
		t.Errorf("unlabelled found %q, want only field a", got)
	}
	bad := `<html><head><style>p{}</style><script>x()</script><script src="https://cdn.example/x.js"></script></head>` +
		`<body><p style="color:red" onclick="y()"><a href="javascript:z()">z</a></p></body></html>`
	if got := inlineCode(t, bad); len(got) != 6 {
		t.Errorf("inlineCode found %d problems, want 6: %q", len(got), got)
	}
}

func sep(path string) string {
	if strings.Contains(path, "?") {
		return "&"
	}
	return "?"
}

func TestCookiesAreSecureBehindAnHTTPSProxy(t *testing.T) {
	for _, c := range []struct {
		proto  string
		secure bool
	}{{"", false}, {"https", true}} {
		req, _ := http.NewRequest("GET", site.http.URL+"/logg-inn?lang=en", nil)
		if c.proto != "" {
			req.Header.Set("X-Forwarded-Proto", c.proto)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if len(res.Cookies()) < 2 {
			t.Fatalf("want the session and language cookies, got %v", res.Cookies())
		}
		for _, ck := range res.Cookies() {
			if ck.Secure != c.secure || !ck.HttpOnly {
				t.Errorf("X-Forwarded-Proto %q: cookie %s Secure=%v HttpOnly=%v", c.proto, ck.Name, ck.Secure, ck.HttpOnly)
			}
		}
	}
}
