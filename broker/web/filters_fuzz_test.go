package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzThePagesFiltersNeverFail sends arbitrary filter values to the pages
// whose filters are read from the address: the decision log, the project
// list and the yearly report. Each answers the page (200) or names the bad
// filter (400); never a 500 and never a message key without its text.
func FuzzThePagesFiltersNeverFail(f *testing.F) {
	f.Add("deny", "forsker.kari", "2026-01-01", "2026-12-31", "decision", "2", "active", "research", "4601", "2025")
	f.Add("", "", "", "", "", "", "", "", "", "")
	f.Add("approve", "'; DROP TABLE audit --", "31.12.2026", "2026-02-30", "pull", "-1", "x", "y", "0301", "20x5")
	f.Add("maybe", "%00", "0000-00-00", "9999-12-31", "approval", "99999999999999999999", "planned", "masters", "_T", "1999")
	signedIn := newBrowser(f)
	signedIn.login("privacy_officer")
	f.Fuzz(func(t *testing.T, outcome, actor, from, to, kind, side, status, typ, municipality, year string) {
		b := *signedIn // the signed-in cookies, this run's t
		b.t = t
		pages := []string{
			"/personvern/beslutninger?" + url.Values{"utfall": {outcome}, "aktor": {actor}, "fra": {from}, "til": {to}, "type": {kind}, "side": {side}}.Encode(),
			"/prosjekter?" + url.Values{"status": {status}, "type": {typ}, "kommune": {municipality}}.Encode(),
			"/prosjekter/rapport?" + url.Values{"aar": {year}}.Encode(),
		}
		for _, path := range pages {
			p := b.get(path)
			if p.status != http.StatusOK && p.status != http.StatusBadRequest {
				t.Fatalf("%s: %d\n%.500s", path, p.status, p.body)
			}
			if p.status == http.StatusBadRequest && !strings.Contains(p.body, `id="form-error"`) {
				t.Fatalf("%s: 400 without naming the problem", path)
			}
			if strings.Contains(p.body, "[[") {
				t.Fatalf("%s: a message key has no text", path)
			}
		}
	})
}
