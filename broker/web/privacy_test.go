package web_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
	"github.com/kunnskapskommunen/folkekommune/broker/web"
	"github.com/kunnskapskommunen/folkekommune/policies"
)

// privacyPages are the privacy officer's pages, for the role checks.
var privacyPages = []string{
	"/personvern", "/personvern/regler", "/personvern/beslutninger", "/personvern/vurdering",
	"/personvern/hva-om", "/personvern/revisjonslogg",
}

// queueRequest has the researcher send a request the policy sends to
// manual review (a breakdown by ICPC-2 chapter is sensitive) and returns
// its id.
func queueRequest(t *testing.T) string {
	t.Helper()
	b := newBrowser(t)
	b.login("researcher")
	f := requestForm("gp_contact", "icpc2_chapter", "sex")
	f.Set("action", "submit")
	p := b.post("/foresporsler/ny?dataset=gp_contact", "/foresporsler/ny", f)
	id, ok := strings.CutPrefix(p.header.Get("Location"), "/foresporsler/")
	if p.status != http.StatusSeeOther || !ok {
		t.Fatalf("submit a sensitive request: %d to %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	if got := b.follow(p); !strings.Contains(got.body, `id="request-state">til vurdering<`) {
		t.Fatalf("the sensitive request is not under review:\n%s", got.body)
	}
	return id
}

func TestOnlyThePrivacyOfficerAndAdminOpenThePrivacyPages(t *testing.T) {
	cases := []struct {
		role string
		want int
	}{
		{"", http.StatusSeeOther}, // to the login page
		{"researcher", http.StatusForbidden},
		{"coordinator", http.StatusForbidden},
		{"fou_contact", http.StatusForbidden},
		{"privacy_officer", http.StatusOK},
		{"admin", http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.role, func(t *testing.T) {
			b := newBrowser(t)
			if c.role != "" {
				b.login(c.role)
			}
			for _, path := range privacyPages {
				p := b.get(path)
				if p.status != c.want {
					t.Errorf("%s opens %s: %d, want %d", c.role, path, p.status, c.want)
				}
				if c.role == "" && !strings.HasPrefix(p.header.Get("Location"), "/logg-inn?neste=") {
					t.Errorf("an anonymous visitor to %s is sent to %q, want the login page", path, p.header.Get("Location"))
				}
			}
		})
	}
	// The admin reads the queue but may not decide: only privacy officers review.
	id := queueRequest(t)
	admin := newBrowser(t)
	admin.login("admin")
	if p := admin.get("/personvern/vurdering/" + id); p.status != http.StatusOK || strings.Contains(p.body, `id="approve"`) {
		t.Errorf("the admin's review page: %d, with approve button: %v", p.status, strings.Contains(p.body, `id="approve"`))
	}
	if p := admin.post("/personvern/vurdering/"+id, "/personvern/vurdering/"+id, url.Values{"verdict": {"approve"}, "comment": {"ok"}}); p.status != http.StatusForbidden {
		t.Errorf("the admin approves: %d, want 403", p.status)
	}
}

func TestTheReviewFormIsRefusedWithoutItsCSRFToken(t *testing.T) {
	id := queueRequest(t)
	b := newBrowser(t)
	b.login("privacy_officer")
	b.get("/personvern/vurdering/" + id)
	for name, token := range map[string]string{"missing": "", "wrong": strings.Repeat("ab", 32)} {
		form := url.Values{"verdict": {"approve"}, "comment": {"Godkjent uten token"}}
		if token != "" {
			form.Set("csrf", token)
		}
		if p := b.do("POST", "/personvern/vurdering/"+id, form); p.status != http.StatusForbidden {
			t.Errorf("%s token: %d, want 403", name, p.status)
		}
	}
	// The what-if form too.
	if p := b.do("POST", "/personvern/hva-om", url.Values{"role": {"researcher"}}); p.status != http.StatusForbidden {
		t.Errorf("what-if without a token: %d, want 403", p.status)
	}
	if p := b.get("/personvern/vurdering/" + id); !strings.Contains(p.body, `id="request-state">til vurdering<`) {
		t.Error("a refused form changed the request")
	}
}

var decisionRow = regexp.MustCompile(`(?s)<tr data-kind="(\w+)" data-outcome="(\w+)" data-request="([^"]+)">`)

func TestAPrivacyOfficerApprovesAQueuedRequestAndSeesItInTheDecisionLog(t *testing.T) {
	id := queueRequest(t)
	b := newBrowser(t)
	b.login("privacy_officer")
	q := b.get("/personvern/vurdering")
	if !strings.Contains(q.body, `href="/personvern/vurdering/`+id+`"`) {
		t.Fatalf("the queue does not list %s:\n%s", id, q.body)
	}
	page := "/personvern/vurdering/" + id
	// No comment: the form comes back naming the field.
	p := b.post(page, page, url.Values{"verdict": {"approve"}, "comment": {"  "}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="form-error"`) || !strings.Contains(p.body, "Begrunnelse") {
		t.Fatalf("approve without a comment: %d, want 400 naming the comment:\n%s", p.status, p.body)
	}
	p = b.post(page, page, url.Values{"verdict": {"approve"}, "comment": {"Formålet og DPIA er i orden"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("approve: %d\n%s", p.status, p.body)
	}
	if done := b.follow(p); !strings.Contains(done.body, `id="review-notice"`) || !strings.Contains(done.body, id) || strings.Contains(done.body, `href="/personvern/vurdering/`+id+`"`) {
		t.Errorf("after approving, the queue shows no notice or still lists %s:\n%s", id, done.body)
	}
	// The log shows the policy's decision (review, the request now
	// released) and the privacy officer's verdict.
	log := b.get("/personvern/beslutninger")
	seen := map[string]bool{}
	for _, m := range decisionRow.FindAllStringSubmatch(log.body, -1) {
		if m[3] == id {
			seen[m[1]+"/"+m[2]] = true
		}
	}
	if !seen["decision/review"] || !seen["approval/approve"] {
		t.Fatalf("the decision log shows %v for %s, want the review decision and the approval", seen, id)
	}
	// Filtered to approvals by this officer, it is there; to denials, not.
	if p := b.get("/personvern/beslutninger?type=approval&utfall=approve&aktor=personvernombud.per"); !strings.Contains(p.body, `data-request="`+id+`"`) {
		t.Error("the approval is missing from the filtered log")
	}
	if p := b.get("/personvern/beslutninger?utfall=deny"); strings.Contains(p.body, `data-request="`+id+`"`) || strings.Contains(p.body, `data-outcome="allow"`) {
		t.Error("the filter on denials shows other outcomes")
	}
	// Deciding again is a conflict: the request is no longer under review.
	if p := b.post(page, page, url.Values{"verdict": {"reject"}, "comment": {"For sent"}}); p.status != http.StatusConflict && p.status != http.StatusForbidden {
		t.Errorf("a second verdict: %d, want 409 or 403", p.status)
	}
}

func TestTheDecisionLogNamesABadFilter(t *testing.T) {
	b := newBrowser(t)
	b.login("privacy_officer")
	for _, c := range []struct{ query, field string }{
		{"fra=25.11.2026", "Fra og med dato"},
		{"utfall=maybe", "Utfall"},
		{"type=pull", "Type"},
	} {
		p := b.get("/personvern/beslutninger?" + c.query)
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="form-error"`) || !strings.Contains(p.body, c.field) {
			t.Errorf("%s: %d, want 400 naming %s", c.query, p.status, c.field)
		}
	}
}

func TestWhatIfShowsTheDecisionAndLogsNothing(t *testing.T) {
	b := newBrowser(t)
	b.login("privacy_officer")
	head := func() int64 {
		h, err := site.srv.Audit().Head(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return h.Seq
	}
	cases := []struct {
		name    string
		form    url.Values
		outcome string
		code    string
	}{
		{"ordinary request allowed", url.Values{}, "allow", ""},
		{"not a member", url.Values{"member": {""}}, "deny", "not_project_member"},
		{"filter on a sensitive chapter without DPIA", url.Values{"chapter": {"P"}}, "deny", "sensitive_without_dpia"},
		{"filter on a sensitive chapter with DPIA", url.Values{"chapter": {"P"}, "dpia": {"on"}}, "review", "sensitive_review"},
		{"ordinary chapter", url.Values{"chapter": {"K"}}, "allow", ""},
		{"row-level", url.Values{"row_level": {"on"}}, "deny", "row_level_refused"},
		{"JSON as typed", url.Values{"run": {"json"}, "input": {`{"action": "release.request"}`}}, "deny", "input_malformed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			form := defaultWhatIf()
			for k, v := range c.form {
				form[k] = v
			}
			before := head()
			p := b.post("/personvern/hva-om", "/personvern/hva-om", form)
			if p.status != http.StatusOK || !strings.Contains(p.body, `class="decision `+c.outcome+`"`) {
				t.Fatalf("what-if: %d, want outcome %s:\n%s", p.status, c.outcome, p.body)
			}
			if c.code != "" && !strings.Contains(p.body, "<code>"+c.code+"</code>") {
				t.Errorf("the rule %s is not shown", c.code)
			}
			if !strings.Contains(p.body, `id="whatif-note"`) {
				t.Error("the page does not say nothing was logged")
			}
			if after := head(); after != before {
				t.Errorf("what-if wrote %d audit entries", after-before)
			}
		})
	}
	if p := b.post("/personvern/hva-om", "/personvern/hva-om", url.Values{"run": {"json"}, "input": {"[1,"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="form-error"`) {
		t.Errorf("bad JSON: %d, want 400 with the problem", p.status)
	}
}

// defaultWhatIf is the what-if form as the page first fills it.
func defaultWhatIf() url.Values {
	return url.Values{
		"role": {"researcher"}, "action": {"release.request"}, "dataset": {"gp_contact"}, "dim": {"municipality", "sex"},
		"from": {"2022-01-01"}, "to": {"2024-12-31"}, "population": {"0"}, "project_status": {"approved"},
		"purpose": {"research"}, "rek": {"2024/123456"}, "legal_basis": {"hfl-35"}, "end_date": {"2030-12-31"},
		"member": {"on"}, "releases": {"0"}, "run": {"form"},
	}
}

func TestTheRulesPageShowsEachRuleWithSourceLegalBasisAndTests(t *testing.T) {
	b := newBrowser(t)
	b.login("privacy_officer")
	p := b.get("/personvern/regler")
	v := site.srv.Policy().Current()
	for _, want := range []string{
		v.Hash, `id="rule-not_project_member"`, "Bare prosjektets medlemmer", "# METADATA", "title_nb: Bare prosjektets medlemmer",
		"test_not_project_member_denies", "personvernombudet", "Personvernforordningen art. 5",
	} {
		if !strings.Contains(p.body, want) && !strings.Contains(p.body, strings.ReplaceAll(want, "'", "&#39;")) {
			t.Errorf("the rules page lacks %q", want)
		}
	}
	coded := 0
	for _, r := range v.Rules {
		if r.Code != "" {
			coded++
			if !strings.Contains(p.body, `id="rule-`+r.Code+`"`) {
				t.Errorf("rule %s is not on the page", r.Code)
			}
		}
	}
	if coded < 15 {
		t.Errorf("only %d coded rules", coded)
	}
	if strings.Contains(p.body, "privacy.no_source") || strings.Contains(p.body, "kunne ikke leses") {
		t.Error("some rule's source was not found")
	}
	if en := b.get("/personvern/regler?lang=en"); !strings.Contains(en.body, "Project members only") {
		t.Error("the English rules page lacks the English title")
	}
}

// TestTheRulesPageShowsTheSourceOfTheVersionThatDecides runs pages over
// an engine of their own, loaded from a policy directory: a change on disk
// that the engine refuses must not reach the rules page (the running
// version still decides), and one it accepts must.
func TestTheRulesPageShowsTheSourceOfTheVersionThatDecides(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	err := fs.WalkDir(policies.Embedded, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(policies.Embedded, p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, p), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := policies.LoadDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	officer := web.User{ID: "personvern.kilde", Role: "privacy_officer"}
	pages, err := web.New(web.Deps{
		Requests: site.srv.Requests(), Policy: eng, Audit: site.srv.Audit(),
		Portfolio: site.srv.Portfolio(), Inquiries: site.srv.Inquiries(),
		Authenticate: func(context.Context, string) (web.User, error) { return officer, nil },
		ReadIndicator: func(context.Context, web.User, string) (*cube.Table, error) {
			return nil, errors.New("no indicators here")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(pages)
	defer hs.Close()
	b := newBrowser(t)
	b.base = hs.URL
	if p := b.post("/logg-inn", "/logg-inn", url.Values{"token": {"any"}}); p.status != http.StatusSeeOther {
		t.Fatalf("login: %d", p.status)
	}

	const (
		was = "# title: Project members only\n"
		now = "# title: Project members only (endret)\n"
	)
	rules := func() string {
		t.Helper()
		p := b.get("/personvern/regler")
		if p.status != http.StatusOK {
			t.Fatalf("rules page: %d", p.status)
		}
		return p.body
	}
	first := eng.Current()
	if body := rules(); !strings.Contains(body, first.Hash) || !strings.Contains(body, was) {
		t.Fatal("the rules page does not show the loaded version's source")
	}

	// Edit the rule's METADATA and add a failing test: the reload is refused.
	rego := filepath.Join(dir, "project.rego")
	src, err := os.ReadFile(rego)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), was) {
		t.Fatalf("project.rego lacks %q", was)
	}
	if err := os.WriteFile(rego, []byte(strings.Replace(string(src), was, now, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	failing := filepath.Join(dir, "zz_fails_test.rego")
	if err := os.WriteFile(failing, []byte("package folkekommune.zz_fails_test\n\ntest_always_fails if {\n\tfalse\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Reload(ctx, dir); err == nil || !strings.Contains(err.Error(), "test_always_fails") {
		t.Fatalf("reload with a failing test: %v", err)
	}
	if eng.Current() != first {
		t.Fatal("a refused reload replaced the running version")
	}
	body := rules()
	if strings.Contains(body, "(endret)") {
		t.Error("after a refused reload the rules page shows the file on disk, not the running version")
	}
	if !strings.Contains(body, first.Hash) || !strings.Contains(body, was) {
		t.Error("after a refused reload the rules page lost the running version's source")
	}

	// Without the failing test the same edit is accepted and shown.
	if err := os.Remove(failing); err != nil {
		t.Fatal(err)
	}
	v, err := eng.Reload(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	body = rules()
	if !strings.Contains(body, v.Hash) || !strings.Contains(body, strings.TrimSuffix(now, "\n")) {
		t.Error("after an accepted reload the rules page does not show the new version's source")
	}
}

func TestTheAuditPageVerifiesTheChain(t *testing.T) {
	b := newBrowser(t)
	b.login("privacy_officer")
	p := b.get("/personvern/revisjonslogg")
	h, err := site.srv.Audit().Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="chain-status" role="status"`) || !strings.Contains(p.body, h.Hash[:16]) {
		t.Fatalf("audit page: %d, want an intact chain with head %s:\n%s", p.status, h, p.body)
	}
}

func TestNoPrivacyPageHasInlineScriptOrStyle(t *testing.T) {
	id := queueRequest(t)
	b := newBrowser(t)
	b.login("privacy_officer")
	for _, path := range append(privacyPages, "/personvern/vurdering/"+id, "/personvern/beslutninger?utfall=nope") {
		p := b.get(path)
		for _, problem := range inlineCode(t, p.body) {
			t.Errorf("%s: %s", path, problem)
		}
		if strings.Contains(p.body, "[[") {
			t.Errorf("%s: a message key has no text: %s", path, p.body[strings.Index(p.body, "[["):][:60])
		}
	}
}

func TestALoggedDecisionIsDecidedAgainInWhatIfWithoutLoggingIt(t *testing.T) {
	id := queueRequest(t)
	req, err := site.srv.Requests().Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	b.login("privacy_officer")
	if log := b.get("/personvern/beslutninger"); !strings.Contains(log.body, `href="/personvern/hva-om?beslutning=`+req.DecisionID+`"`) {
		t.Fatal("the decision log has no what-if link for the decision")
	}
	before, _ := site.srv.Audit().Head(t.Context())
	p := b.get("/personvern/hva-om?beslutning=" + req.DecisionID)
	if p.status != http.StatusOK || !strings.Contains(p.body, `class="decision review"`) || !strings.Contains(p.body, `id="whatif-from"`) || !strings.Contains(p.body, "sensitive_review") {
		t.Fatalf("the logged decision again: %d\n%s", p.status, p.body)
	}
	if after, _ := site.srv.Audit().Head(t.Context()); after.Seq != before.Seq {
		t.Errorf("deciding a logged request again wrote %d audit entries", after.Seq-before.Seq)
	}
	if p := b.get("/personvern/hva-om?beslutning=dec-nothing"); p.status != http.StatusNotFound {
		t.Errorf("an unknown decision: %d, want 404", p.status)
	}
}

func TestTheDecisionLogPagesFiftyAtATimeNewestFirst(t *testing.T) {
	actor := fmt.Sprintf("sider.%d", time.Now().UnixNano())
	for i := range 51 {
		in := policies.Input{
			Subject: policies.Subject{ID: actor, Roles: []string{"researcher"}}, Action: policies.ActionReleaseRequest,
			Resource: policies.Resource{Dataset: "population", Dimensions: []string{"sex"}, SmallestPopulation: 1000 + i},
		}
		if _, err := site.srv.Policy().Decide(t.Context(), in); err != nil {
			t.Fatal(err)
		}
	}
	b := newBrowser(t)
	b.login("privacy_officer")
	seqs := regexp.MustCompile(`<td class="num">(\d+)</td>\s*<td>`)
	first := b.get("/personvern/beslutninger?aktor=" + actor)
	rows := seqs.FindAllStringSubmatch(first.body, -1)
	if len(rows) != 50 || !strings.Contains(first.body, "51 oppføringer · side 1 av 2") || !strings.Contains(first.body, `id="next-page"`) {
		t.Fatalf("page 1: %d rows\n%s", len(rows), first.body)
	}
	if a, b := atoi(t, rows[0][1]), atoi(t, rows[49][1]); a <= b {
		t.Errorf("page 1 is not newest first: %d before %d", a, b)
	}
	second := b.get("/personvern/beslutninger?side=2&aktor=" + actor)
	if n := len(seqs.FindAllStringSubmatch(second.body, -1)); n != 1 || strings.Contains(second.body, `id="next-page"`) {
		t.Errorf("page 2: %d rows, want 1 and no next page", n)
	}
	// A page past the last shows the last.
	if p := b.get("/personvern/beslutninger?side=9&aktor=" + actor); !strings.Contains(p.body, "side 2 av 2") {
		t.Error("a page past the end does not show the last page")
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
