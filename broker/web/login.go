package web

import (
	"net/http"
	"strings"
)

// The login seam: today a broker token pasted into the form signs a person
// in (Deps.Authenticate, backed by the broker's token store). An OIDC login
// (Feide, HelseID) would add a "/logg-inn/oidc" redirect and a callback
// route that maps the ID token's claims to a User and calls Pages.SignIn,
// exactly as login does below; nothing else in the pages changes.

type loginData struct {
	Next    string
	Failed  bool
	Expired bool
}

func (p *Pages) loginForm(w http.ResponseWriter, r *http.Request) error {
	expired, _ := r.Context().Value(expiredKey).(bool)
	return p.page(w, r, http.StatusOK, "login", "login.title",
		loginData{Next: safeNext(r.URL.Query().Get("neste")), Expired: expired || r.URL.Query().Get("utlopt") == "1"})
}

func (p *Pages) login(w http.ResponseWriter, r *http.Request) error {
	tok := strings.TrimSpace(r.PostFormValue("token"))
	next := safeNext(r.PostFormValue("neste"))
	u, err := p.deps.Authenticate(r.Context(), tok)
	if tok == "" || err != nil {
		// One message for every failure: the form tells nobody which
		// tokens exist.
		return p.page(w, r, http.StatusUnauthorized, "login", "login.title", loginData{Next: next, Failed: true})
	}
	p.SignIn(w, r, u, "token")
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (p *Pages) logout(w http.ResponseWriter, r *http.Request) error {
	if ss := sessionFrom(r.Context()); ss != nil {
		p.sessions.End(ss.ID)
	}
	p.clearCookie(w, r)
	http.Redirect(w, r, "/logg-inn", http.StatusSeeOther)
	return nil
}

func (p *Pages) home(w http.ResponseWriter, r *http.Request) error {
	return p.page(w, r, http.StatusOK, "home", "home.title", nil)
}
