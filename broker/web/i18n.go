package web

import (
	"context"
	"fmt"
	"net/http"
)

// Languages of the pages; Norwegian bokmål is the default.
const (
	langNB = "nb"
	langEN = "en"
)

// msg is one user-facing text in Norwegian bokmål and English.
type msg struct{ NB, EN string }

// messages is the one message catalogue of the pages. Each group of pages
// adds its own entries from its own file (messages.go, messages_privacy.go,
// messages_portfolio.go); a key defined twice stops the program at start.
var messages = map[string]msg{}

func addMessages(m map[string]msg) {
	for k, v := range m {
		if _, dup := messages[k]; dup {
			panic("web: message " + k + " is defined twice")
		}
		messages[k] = v
	}
}

// translate looks key up in lang and formats it with args (fmt verbs). A
// missing key shows as [[key]] so that it is seen, and a test fails on it.
func translate(lang, key string, args ...any) string {
	m, ok := messages[key]
	if !ok {
		return "[[" + key + "]]"
	}
	s := m.NB
	if lang == langEN && m.EN != "" {
		s = m.EN
	}
	if len(args) > 0 {
		s = fmt.Sprintf(s, args...)
	}
	return s
}

const langCookie = "fk_lang"

// language picks the page language: ?lang= (which is also remembered in a
// cookie), then the cookie, then bokmål.
func (p *Pages) language(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := langNB
		if c, err := r.Cookie(langCookie); err == nil && (c.Value == langEN || c.Value == langNB) {
			lang = c.Value
		}
		if q := r.URL.Query().Get("lang"); q == langEN || q == langNB {
			lang = q
			http.SetCookie(w, &http.Cookie{Name: langCookie, Value: q, Path: "/", MaxAge: 365 * 24 * 3600,
				SameSite: http.SameSiteLaxMode, Secure: isHTTPS(r), HttpOnly: true})
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), langKey, lang)))
	})
}

func langFrom(ctx context.Context) string {
	if l, ok := ctx.Value(langKey).(string); ok {
		return l
	}
	return langNB
}
