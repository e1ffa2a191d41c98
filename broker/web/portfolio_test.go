package web_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
	"github.com/kunnskapskommunen/folkekommune/broker/web"
)

// inquiryForm is a filled-in public inquiry form to Bergen, opened a
// minute ago (the registry refuses forms sent within seconds of opening).
func inquiryForm(title string) url.Values {
	return url.Values{
		"title": {title}, "kind": {"research"}, "description": {"Vi vil kartlegge hverdagsrehabilitering etter hoftebrudd."},
		"institution": {"Universitetet i Bergen"}, "researcher_name": {"Ola Forsker"},
		"researcher_email": {strings.ToLower(strings.ReplaceAll(title, " ", ".")) + "@uib.example"},
		"funding":          {"NFR, 2 mill. kr"}, "funding_status": {"applied"}, "resources_needed": {"To intervjuer med ansatte"},
		"knowledge_return": {"Seminar for tjenestene"}, "target_groups": {"Eldre over 67"}, "ethics_status": {"APPLIED"},
		"start": {"2027-01-01"}, "end": {"2028-12-31"}, "municipality": {"4601"},
		"started": {time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)},
	}
}

var inquiryLink = regexp.MustCompile(`href="/henvendelser/(\d+)#oppdrag-(\d+)"`)

func TestTheInquiryFormNamesEachBadFieldInBokmalAndEnglish(t *testing.T) {
	cases := []struct {
		name, field string
		change      url.Values
		nb, en      string
	}{
		{"no title", "title", url.Values{"title": {""}}, "Tittel: må fylles ut.", "Project title: is required."},
		{"bad e-mail", "researcher_email", url.Values{"researcher_email": {"ola.uib"}}, "E-post: er ikke en gyldig e-postadresse.", `E-mail: "ola.uib" is not an e-mail address.`},
		{"no municipality", "units", url.Values{"municipality": nil}, "kryss av for minst én kommune", "tick at least one municipality"},
		{"approved without reference", "ethics_reference", url.Values{"ethics_status": {"APPROVED"}}, "må fylles ut når den etiske godkjenningen er gitt", "is required when the ethics status is APPROVED"},
		{"ends before it starts", "end", url.Values{"end": {"2026-01-01"}}, "Sluttdato: kan ikke være før startdatoen.", "End date: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, lang := range []string{"nb", "en"} {
				b := newBrowser(t)
				form := inquiryForm("Feil i skjemaet " + c.name + " " + lang)
				for k, v := range c.change {
					if v == nil {
						delete(form, k)
					} else {
						form[k] = v
					}
				}
				p := b.post("/henvendelser/ny?lang="+lang, "/henvendelser/ny", form)
				want := c.nb
				if lang == "en" {
					want = c.en
				}
				if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="`+c.field+`-error"`) {
					t.Fatalf("%s: %d, want 400 with the problem beside %s:\n%s", lang, p.status, c.field, p.body)
				}
				if !strings.Contains(p.body, htmlText(want)) {
					t.Errorf("%s: the page does not say %q", lang, want)
				}
				// What was typed stays in the form.
				if !strings.Contains(p.body, htmlText(form.Get("institution"))) {
					t.Errorf("%s: the form lost the typed institution", lang)
				}
			}
		})
	}
}

// htmlText is s as html/template writes it in text.
func htmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;").Replace(s)
}

func TestTheInquiryFormRefusesAFormWithoutItsCSRFTokenAndStoresNothing(t *testing.T) {
	b := newBrowser(t)
	b.get("/henvendelser/ny")
	title := "Uten token " + fmt.Sprint(time.Now().UnixNano())
	if p := b.do("POST", "/henvendelser/ny", inquiryForm(title)); p.status != http.StatusForbidden {
		t.Fatalf("no token: %d, want 403", p.status)
	}
	all, err := site.srv.Inquiries().List(t.Context(), portfolio.Actor{ID: "admin", Role: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	for _, inq := range all {
		if inq.Title == title {
			t.Fatal("an inquiry without a token was stored")
		}
	}
}

func TestAnInquiryFromThePublicFormReachesTheRDContactsInboxAndIsAnswered(t *testing.T) {
	title := "Hverdagsrehabilitering " + fmt.Sprint(time.Now().UnixNano())
	public := newBrowser(t)
	p := public.post("/henvendelser/ny", "/henvendelser/ny", inquiryForm(title))
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/henvendelser/kvittering" {
		t.Fatalf("send: %d to %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	receipt := public.follow(p)
	if receipt.status != http.StatusOK || !strings.Contains(receipt.body, `id="receipt-code"`) || !strings.Contains(receipt.body, "Bergen") {
		t.Fatalf("receipt: %d\n%s", receipt.status, receipt.body)
	}
	// The code is shown once.
	if again := public.get("/henvendelser/kvittering"); again.status != http.StatusNotFound {
		t.Errorf("the receipt again: %d, want 404", again.status)
	}

	fou := newBrowser(t)
	fou.login("fou_contact")
	inbox := fou.get("/henvendelser")
	i := strings.Index(inbox.body, htmlText(title))
	if inbox.status != http.StatusOK || i < 0 {
		t.Fatalf("the inbox does not list %q:\n%s", title, inbox.body)
	}
	m := inquiryLink.FindStringSubmatch(inbox.body[strings.LastIndex(inbox.body[:i], "<tr"):])
	if m == nil {
		t.Fatal("no link to the inquiry")
	}
	at := "/henvendelser/" + m[1]
	act := func(action, answer string) page {
		return fou.post(at, at+"/oppdrag/"+m[2], url.Values{"action": {action}, "answer": {answer}, "assessment": {"Passer med helseplanen"}})
	}
	if p := act("assess", ""); p.status != http.StatusSeeOther {
		t.Fatalf("assess: %d\n%s", p.status, p.body)
	}
	if p := act("decline", ""); p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="form-error"`) || !strings.Contains(p.body, "Svar") {
		t.Errorf("decline without an answer: %d, want 400 naming the answer", p.status)
	}
	if p := act("accept", "Velkommen, vi tar kontakt"); p.status != http.StatusSeeOther {
		t.Fatalf("accept: %d\n%s", p.status, p.body)
	}
	shown := fou.get(at)
	if !strings.Contains(shown.body, `id="status-`+m[2]+`">Akseptert<`) || !strings.Contains(shown.body, `id="to-project"`) {
		t.Fatalf("after accepting, the inquiry page shows:\n%s", shown.body)
	}
	// Accepting twice is not an action the workflow offers.
	if p := act("accept", ""); p.status != http.StatusConflict {
		t.Errorf("accept again: %d, want 409", p.status)
	}
	p = fou.post(at, at+"/prosjekt", nil)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/prosjekter/") {
		t.Fatalf("to a project: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	if proj := fou.follow(p); !strings.Contains(proj.body, htmlText(title)) {
		t.Errorf("the new project page lacks the title")
	}
}

func TestTheInboxMarksOverdueInquiriesAndIsOnlyForRDContacts(t *testing.T) {
	title := "Fristen er ute " + fmt.Sprint(time.Now().UnixNano())
	public := newBrowser(t)
	if p := public.post("/henvendelser/ny", "/henvendelser/ny", inquiryForm(title)); p.status != http.StatusSeeOther {
		t.Fatalf("send: %d\n%s", p.status, p.body)
	}
	// The deadline passed long ago.
	if _, err := site.db.Exec(`UPDATE inquiry_assignment SET deadline = '2020-01-02' WHERE inquiry_id = (SELECT id FROM inquiry WHERE title = ?)`, title); err != nil {
		t.Fatal(err)
	}
	fou := newBrowser(t)
	fou.login("fou_contact")
	inbox := fou.get("/henvendelser")
	i := strings.Index(inbox.body, htmlText(title))
	if i < 0 {
		t.Fatalf("the inbox lacks %q", title)
	}
	row := inbox.body[strings.LastIndex(inbox.body[:i], "<tr"):]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, `class="overdue"`) || !strings.Contains(row, "forfalt (−") && !strings.Contains(row, "forfalt (-") {
		t.Errorf("the overdue inquiry is not marked:\n%s", row)
	}
	for _, role := range []string{"researcher", "coordinator", "privacy_officer"} {
		b := newBrowser(t)
		b.login(role)
		if p := b.get("/henvendelser"); p.status != http.StatusForbidden {
			t.Errorf("%s opens the inbox: %d, want 403", role, p.status)
		}
	}
}

func TestThePortfolioListsFiltersAndShowsProjects(t *testing.T) {
	b := newBrowser(t)
	all := b.get("/prosjekter")
	if all.status != http.StatusOK || !strings.Contains(all.body, `id="project-list"`) {
		t.Fatalf("portfolio: %d\n%s", all.status, all.body)
	}
	active := b.get("/prosjekter?status=active")
	if strings.Contains(active.body, `data-status="planned"`) || !strings.Contains(active.body, `data-status="active"`) {
		t.Error("the status filter lets other statuses through")
	}
	if p := b.get("/prosjekter?status=dreaming"); p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="form-error"`) {
		t.Errorf("an unknown status: %d, want 400", p.status)
	}
	// The demo project: the public sees no people; its member does.
	path := fmt.Sprintf("/prosjekter/%d", site.project)
	if p := b.get(path); p.status != http.StatusOK || !strings.Contains(p.body, `id="public-view"`) || strings.Contains(p.body, `id="people"`) {
		t.Errorf("the public project page: %d, public view %v", p.status, strings.Contains(p.body, `id="public-view"`))
	}
	member := newBrowser(t)
	member.login("researcher")
	if p := member.get(path); strings.Contains(p.body, `id="public-view"`) {
		t.Error("the project's member gets the public view")
	}
	if p := b.get("/prosjekter/999999"); p.status != http.StatusNotFound {
		t.Errorf("no such project: %d, want 404", p.status)
	}
}

func TestTheYearlyReportShowsChartsBesideTheirTables(t *testing.T) {
	b := newBrowser(t)
	year := time.Now().Year()
	p := b.get(fmt.Sprintf("/prosjekter/rapport?aar=%d", year))
	if p.status != http.StatusOK {
		t.Fatalf("report: %d\n%s", p.status, p.body)
	}
	for _, want := range []string{`<svg`, `id="report-projects"`, `id="report-projects-table"`, `id="report-funding"`, `id="report-inquiries-table"`, `id="cluster-figures"`, fmt.Sprintf(`/api/v1/reports/%d?format=csv`, year), "Bergen"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the report lacks %s", want)
		}
	}
	if bad := b.get("/prosjekter/rapport?aar=tjuetjuefem"); bad.status != http.StatusBadRequest || !strings.Contains(bad.body, `id="form-error"`) {
		t.Errorf("a bad year: %d, want 400", bad.status)
	}
}

func TestNoPortfolioPageHasInlineScriptOrStyle(t *testing.T) {
	fou := newBrowser(t)
	fou.login("fou_contact")
	inbox := fou.get("/henvendelser?vis=alle")
	paths := []string{"/henvendelser/ny", "/henvendelser?vis=alle", "/prosjekter", fmt.Sprintf("/prosjekter/%d", site.project), "/prosjekter/rapport"}
	if m := inquiryLink.FindStringSubmatch(inbox.body); m != nil {
		paths = append(paths, "/henvendelser/"+m[1])
	}
	for _, lang := range []string{"nb", "en"} {
		for _, path := range paths {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			p := fou.get(path + sep + "lang=" + lang)
			if p.status != http.StatusOK {
				t.Errorf("%s: %d", path, p.status)
			}
			for _, problem := range inlineCode(t, p.body) {
				t.Errorf("%s: %s", path, problem)
			}
			if i := strings.Index(p.body, "[["); i >= 0 {
				t.Errorf("%s (%s): a message key has no text: %.60s", path, lang, p.body[i:])
			}
		}
	}
}

func TestAnRDContactCannotOpenAnotherMunicipalitysInquiry(t *testing.T) {
	title := "Bare til Voss " + fmt.Sprint(time.Now().UnixNano())
	form := inquiryForm(title)
	form.Set("municipality", "4621")
	if p := newBrowser(t).post("/henvendelser/ny", "/henvendelser/ny", form); p.status != http.StatusSeeOther {
		t.Fatalf("send: %d\n%s", p.status, p.body)
	}
	all, err := site.srv.Inquiries().List(t.Context(), portfolio.Actor{ID: "admin", Role: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	for _, inq := range all {
		if inq.Title == title {
			id = inq.ID
		}
	}
	bergen := newBrowser(t)
	bergen.login("fou_contact")
	path := fmt.Sprintf("/henvendelser/%d", id)
	if p := bergen.get(path); p.status != http.StatusNotFound {
		t.Errorf("Bergen's R&D contact opens Voss's inquiry: %d, want 404", p.status)
	}
	if p := bergen.post("/henvendelser", path+"/oppdrag/1", url.Values{"action": {"assess"}}); p.status != http.StatusNotFound {
		t.Errorf("Bergen's R&D contact acts on it: %d, want 404", p.status)
	}
	if inbox := bergen.get("/henvendelser?vis=alle"); strings.Contains(inbox.body, htmlText(title)) {
		t.Error("Voss's inquiry is in Bergen's inbox")
	}
	admin := newBrowser(t)
	admin.login("admin")
	if p := admin.get(path); p.status != http.StatusOK || !strings.Contains(p.body, "Voss") {
		t.Errorf("the admin opens it: %d", p.status)
	}
}

var (
	receiptCode = regexp.MustCompile(`<code id="receipt-code">([^<]+)</code>`)
	inquiryID   = regexp.MustCompile(`<dd id="inquiry-id">(\d+)</dd>`)
)

// TestAReceiptIsShownOnceWithinItsHalfHour runs pages of their own with a
// clock the test moves (and sessions that outlive it): the receipt the
// pages keep for a browser is shown once if read within half an hour, and
// is gone after that.
func TestAReceiptIsShownOnceWithinItsHalfHour(t *testing.T) {
	var offset atomic.Int64
	pages, err := web.New(web.Deps{
		Requests: site.srv.Requests(), Policy: site.srv.Policy(), Audit: site.srv.Audit(),
		Portfolio: site.srv.Portfolio(), Inquiries: site.srv.Inquiries(),
		Authenticate: func(context.Context, string) (web.User, error) { return web.User{}, errors.New("nobody signs in here") },
		ReadIndicator: func(context.Context, web.User, string) (*cube.Table, error) {
			return nil, errors.New("no indicators here")
		},
		Now:         func() time.Time { return time.Now().Add(time.Duration(offset.Load())) },
		IdleTimeout: 24 * time.Hour, AbsoluteTimeout: 48 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(pages)
	defer hs.Close()
	tests := []struct {
		name  string
		wait  time.Duration
		shown bool
	}{
		{"read at once", 0, true},
		{"read after 29 minutes", 29 * time.Minute, true},
		{"read after 31 minutes", 31 * time.Minute, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offset.Store(0)
			b := newBrowser(t)
			b.base = hs.URL
			title := fmt.Sprintf("Kvittering %d %d", i, time.Now().UnixNano())
			if p := b.post("/henvendelser/ny", "/henvendelser/ny", inquiryForm(title)); p.status != http.StatusSeeOther {
				t.Fatalf("send: %d\n%s", p.status, p.body)
			}
			offset.Store(int64(tt.wait))
			p := b.get("/henvendelser/kvittering")
			if !tt.shown {
				if p.status != http.StatusNotFound {
					t.Fatalf("an expired receipt: %d, want 404", p.status)
				}
				return
			}
			code, id := receiptCode.FindStringSubmatch(p.body), inquiryID.FindStringSubmatch(p.body)
			if p.status != http.StatusOK || code == nil || id == nil {
				t.Fatalf("receipt: %d\n%s", p.status, p.body)
			}
			// The code shown opens the inquiry just sent.
			n, _ := strconv.ParseInt(id[1], 10, 64)
			a, err := site.srv.Inquiries().ReceiptActor(t.Context(), n, code[1])
			if err != nil {
				t.Fatalf("the receipt code does not open inquiry %d: %v", n, err)
			}
			if inq, err := site.srv.Inquiries().Get(t.Context(), a, n); err != nil || inq.Title != title {
				t.Fatalf("the receipt opens %q (%v), want %q", inq.Title, err, title)
			}
			if again := b.get("/henvendelser/kvittering"); again.status != http.StatusNotFound {
				t.Errorf("the receipt a second time: %d, want 404", again.status)
			}
		})
	}
}
