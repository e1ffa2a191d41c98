package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// requestForm is a filled-in request form for the demo project.
func requestForm(dataset string, dims ...string) url.Values {
	return url.Values{
		"dataset": {dataset}, "measure": {"persons"}, "dim": dims,
		"from": {"2022"}, "to": {"2024"}, "project": {fmt.Sprint(site.project)},
		"purpose": {"Testing the web request form"},
	}
}

func TestThePreviewShowsTheDecisionWithoutStoringARequest(t *testing.T) {
	b := newBrowser(t)
	b.login("researcher")
	before := b.get("/foresporsler").body
	cases := []struct {
		name    string
		form    url.Values
		outcome string
		reason  string
	}{
		{"allowed", requestForm("population", "municipality", "sex"), "allow", ""},
		{"row-level breakdown refused", requestForm("gp_contact", "municipality", "age_5y", "sex", "icpc2_chapter", "service", "contact_type"), "deny", "<code>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.form.Set("action", "preview")
			p := b.post("/foresporsler/ny?dataset="+c.form.Get("dataset"), "/foresporsler/ny", c.form)
			if p.status != http.StatusOK {
				t.Fatalf("preview: %d\n%s", p.status, p.body)
			}
			if !strings.Contains(p.body, `class="decision `+c.outcome+`"`) {
				t.Fatalf("preview does not show outcome %s:\n%s", c.outcome, p.body)
			}
			if c.reason != "" && !strings.Contains(p.body, c.reason) {
				t.Errorf("preview shows no reason code")
			}
		})
	}
	if after := b.get("/foresporsler").body; strings.Count(after, `href="/foresporsler/req-`) != strings.Count(before, `href="/foresporsler/req-`) {
		t.Fatal("a preview stored a request")
	}
}

func TestABadFieldShowsTheFormAgainNamingTheField(t *testing.T) {
	b := newBrowser(t)
	b.login("researcher")
	f := requestForm("population", "municipality", "district")
	f.Set("action", "submit")
	p := b.post("/foresporsler/ny?dataset=population", "/foresporsler/ny", f)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="form-error"`) || !strings.Contains(p.body, "inndeling") {
		t.Fatalf("municipality and district together: %d, want 400 with the form naming the dimensions:\n%s", p.status, p.body)
	}
	// The form keeps what was chosen.
	if !strings.Contains(p.body, `value="district" checked`) {
		t.Error("the form lost the chosen dimensions")
	}
}

var releaseLink = regexp.MustCompile(`href="(/utleveringer/[^"/]+)"`)

func TestAResearcherSubmitsARequestAndDownloadsTheRelease(t *testing.T) {
	b := newBrowser(t)
	b.login("researcher")
	f := requestForm("population", "municipality", "sex")
	f.Set("action", "submit")
	p := b.post("/foresporsler/ny?dataset=population", "/foresporsler/ny", f)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/foresporsler/req-") {
		t.Fatalf("submit: %d to %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	show := b.follow(p)
	m := releaseLink.FindStringSubmatch(show.body)
	if show.status != http.StatusOK || m == nil {
		t.Fatalf("request page: %d, no release link\n%s", show.status, show.body)
	}
	rel := b.get(m[1])
	for _, pg := range []page{show, rel} {
		for _, problem := range append(inlineCode(t, pg.body), unlabelled(t, pg.body)...) {
			t.Errorf("request or release page: %s", problem)
		}
	}
	if rel.status != http.StatusOK || !strings.Contains(rel.body, `id="protected-table"`) || !strings.Contains(rel.body, "Bergen") {
		t.Fatalf("release page: %d\n%s", rel.status, rel.body)
	}
	for _, c := range []struct{ format, want string }{
		{"csv", "municipality,municipality_label,"},
		{"excel", "\ufeffmunicipality;municipality_label;"},
		{"jsonstat", `"version":"2.0"`},
	} {
		d := b.get(m[1] + "/last-ned?format=" + c.format)
		if d.status != http.StatusOK || !strings.HasPrefix(d.header.Get("Content-Disposition"), "attachment;") || !strings.Contains(d.body, c.want) {
			t.Errorf("download %s: %d %q, want %q in:\n%.300s", c.format, d.status, d.header.Get("Content-Disposition"), c.want, d.body)
		}
	}
	// Another researcher's browser cannot see it; the privacy officer can.
	other := newBrowser(t)
	other.login("coordinator")
	if p := other.get(m[1]); p.status != http.StatusNotFound {
		t.Errorf("the coordinator opens the researcher's release: %d, want 404", p.status)
	}
	po := newBrowser(t)
	po.login("privacy_officer")
	if p := po.get(m[1]); p.status != http.StatusOK {
		t.Errorf("the privacy officer opens the release: %d", p.status)
	}
}
