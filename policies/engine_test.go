package policies

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/audit"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/policies")

// The embedded policy is compiled (and its Rego tests run) once per test
// binary; tests that need a changed policy compile their own copy.
var (
	embeddedOnce sync.Once
	embeddedVer  *Version
	embeddedErr  error
)

func engine(t testing.TB) *Engine {
	t.Helper()
	embeddedOnce.Do(func() { embeddedVer, embeddedErr = Compile(context.Background(), Embedded, "embedded") })
	if embeddedErr != nil {
		t.Fatal(embeddedErr)
	}
	e := newEngine(embeddedVer)
	e.now = func() time.Time { return now }
	return e
}

var now = time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)

// researchRequest is a research table request every rule allows.
func researchRequest() Input {
	return Input{
		Subject: Subject{ID: "u-researcher", Roles: []string{"researcher"}, Organisation: "UiB", Municipality: "4601"},
		Action:  ActionReleaseRequest,
		Resource: Resource{
			Dataset: "population", Dimensions: []string{"municipality", "sex", "age_broad"},
			Period: &Period{"2024-01-01", "2024-12-31"}, SmallestPopulation: 1700,
		},
		Project: &Project{
			ID: "p-1", Status: "approved", Purpose: "research", ApprovedAt: "2025-01-10", EndDate: "2027-12-31",
			REK: "2024/123456", LegalBasis: "hfl-35", Members: []string{"u-researcher", "u-other"},
		},
		Context: Context{Time: now},
	}
}

func TestDecideTypedRequests(t *testing.T) {
	e := engine(t)
	tests := []struct {
		name    string
		change  func(in *Input)
		outcome string
		codes   []string
		k       int
	}{
		{"approved member gets the table", func(*Input) {}, OutcomeAllow, nil, 5},
		{"expired project is denied", func(in *Input) { in.Project.EndDate = "2026-06-30" }, OutcomeDeny, []string{"project_expired"}, 0},
		{"non-member is denied", func(in *Input) { in.Subject.ID = "u-stranger" }, OutcomeDeny, []string{"not_project_member"}, 0},
		{"missing project is denied", func(in *Input) { in.Project = nil }, OutcomeDeny, []string{"project_missing"}, 0},
		{"sensitive with DPIA goes to review", func(in *Input) {
			in.Resource.Dataset = "gp_contact"
			in.Resource.Filters = map[string][]string{"icpc2": {"P76"}}
			in.Project.DPIADone = true
		}, OutcomeReview, []string{"sensitive_review"}, 10},
		{"sensitive without DPIA is denied and also flagged", func(in *Input) {
			in.Resource.Dataset = "gp_contact"
			in.Resource.Filters = map[string][]string{"icpc2": {"X"}}
		}, OutcomeDeny, []string{"sensitive_without_dpia", "sensitive_review"}, 0},
		{"Masfjorden gets no five-year bands", func(in *Input) {
			in.Resource.Dimensions = []string{"age_5y"}
			in.Resource.Filters = map[string][]string{"municipality": {"4634"}}
		}, OutcomeDeny, []string{"age_groups_too_fine"}, 0},
		{"Bergen districts are allowed", func(in *Input) {
			in.Resource.Dimensions = []string{"district", "age_10y"}
			in.Resource.Filters = map[string][]string{"municipality": {"4601"}}
			in.Resource.SmallestPopulation = 14500
		}, OutcomeAllow, nil, 5},
		{"row-level request is denied even for an admin", func(in *Input) {
			in.Subject.Roles = []string{"admin", "researcher"}
			in.Resource.RowLevel = true
		}, OutcomeDeny, []string{"row_level_refused"}, 0},
		{"many releases go to review", func(in *Input) {
			for i := range 10 {
				in.Context.Releases = append(in.Context.Releases, now.AddDate(0, 0, -i-1))
			}
		}, OutcomeReview, []string{"release_cap_reached"}, 5},
		{"several failures are all listed", func(in *Input) {
			in.Subject.Roles = []string{"fou_contact"}
			in.Project.Status = "submitted"
			in.Project.REK = ""
		}, OutcomeDeny, []string{"project_not_approved", "research_without_rek", "role_not_permitted"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := researchRequest()
			tt.change(&in)
			d, err := e.Decide(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Outcome() != tt.outcome {
				t.Fatalf("outcome %s, want %s:\n%s", d.Outcome(), tt.outcome, d.Explain("en"))
			}
			if got := d.Codes(); !slices.Equal(got, tt.codes) {
				t.Fatalf("codes %v, want %v", got, tt.codes)
			}
			if tt.k != 0 && d.Obligations.K != tt.k {
				t.Fatalf("k = %d, want %d", d.Obligations.K, tt.k)
			}
			if d.PolicyVersion != e.Current().Hash || !strings.HasPrefix(d.ID, "dec-") {
				t.Fatalf("decision %s carries version %q, want %q", d.ID, d.PolicyVersion, e.Current().Hash)
			}
			for _, f := range append(d.Deny, d.ReviewReasons...) {
				if f.Title == "" || f.TitleNB == "" || f.LegalBasis == "" || f.Message.NB == "" || f.Message.EN == "" {
					t.Errorf("finding %s lacks its documentation: %+v", f.Code, f)
				}
			}
		})
	}
}

func TestObligationsFollowThePopulation(t *testing.T) {
	e := engine(t)
	in := researchRequest()
	in.Resource.Filters = map[string][]string{"municipality": {"4601"}}
	in.Resource.SmallestPopulation = 285000
	in.Context.Releases = []time.Time{now.AddDate(0, -2, 0)}
	d, err := e.Decide(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	want := Obligations{K: 5, ProtectionLevel: "standard", RoundingBase: 3, Perturbation: true,
		GeoLevels: []string{"cluster", "district", "municipality"}, AgeGroupings: []string{"10y", "5y", "broad", "single"}}
	if got, _ := json.Marshal(d.Obligations); string(got) != string(must(json.Marshal(want))) {
		t.Fatalf("obligations %s, want %s", got, must(json.Marshal(want)))
	}
}

// TestMalformedInputIsDenied pins down that bad input is a denial with a
// clear reason, never an allow and never an error or a panic.
func TestMalformedInputIsDenied(t *testing.T) {
	e := engine(t)
	base := mustDoc(t, researchRequest())
	tests := []struct {
		name  string
		doc   map[string]any
		code  string
		field string
	}{
		{"empty", map[string]any{}, "input_malformed", "subject.id"},
		{"nil", nil, "input_malformed", "subject.id"},
		{"missing project", without(base, "project"), "project_missing", ""},
		{"unknown dataset", with(base, "resource", "dataset", "prescriptions"), "dataset_unknown", ""},
		{"dimensions a string", with(base, "resource", "dimensions", "sex"), "input_malformed", "resource.dimensions"},
		{"population a string", with(base, "resource", "smallest_population", "many"), "input_malformed", "resource.smallest_population"},
		{"members a number", with(base, "project", "members", 7), "input_malformed", "project.members"},
		{"roles an object", with(base, "subject", "roles", map[string]any{"researcher": true}), "input_malformed", "subject.roles"},
		{"time garbage", with(base, "context", "time", "yesterday"), "input_malformed", "context.time"},
		{"project a list", with(base, "project", "", []any{"p-1"}), "input_malformed", "project must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := e.WhatIf(context.Background(), tt.doc)
			if err != nil {
				t.Fatalf("malformed input gave an error instead of a denial: %v", err)
			}
			if d.Allow || d.Review {
				t.Fatalf("malformed input was not denied: %s", d.Explain("en"))
			}
			if !slices.Contains(d.Codes(), tt.code) {
				t.Fatalf("codes %v lack %s", d.Codes(), tt.code)
			}
			if tt.field != "" && !strings.Contains(d.Explain("en"), tt.field) {
				t.Fatalf("explanation does not name %s:\n%s", tt.field, d.Explain("en"))
			}
		})
	}
}

// TestExplanationsMatchGolden pins down the explanation a person sees: every
// failed rule with its code, title and legal basis, in Norwegian and in
// English, and never an evaluation trace.
func TestExplanationsMatchGolden(t *testing.T) {
	e := engine(t)
	in := researchRequest()
	in.Subject.ID = "u-stranger"
	in.Project.EndDate = "2026-01-31"
	in.Resource.Dimensions = []string{"district", "sex"}
	d, err := e.WhatIf(context.Background(), mustDoc(t, in))
	if err != nil {
		t.Fatal(err)
	}
	d.ID, d.PolicyVersion = "dec-golden", "0123456789abcdef"
	for _, lang := range []string{"nb", "en"} {
		got := d.Explain(lang)
		for _, code := range []string{"not_project_member", "project_expired", "district_population_too_small"} {
			if !strings.Contains(got, "["+code+"]") {
				t.Errorf("%s explanation lacks %s", lang, code)
			}
		}
		for _, leak := range []string{"Enter", "Exit", "Eval", "data.folkekommune", "rego"} {
			if strings.Contains(got, leak) {
				t.Errorf("%s explanation shows evaluation internals (%q)", lang, leak)
			}
		}
		golden(t, "explain_"+lang+".txt", got)
	}
}

func TestWhatIfDoesNotLog(t *testing.T) {
	e := engine(t)
	log := memLog(t)
	e.SetAudit(log)
	if _, err := e.WhatIf(context.Background(), mustDoc(t, researchRequest())); err != nil {
		t.Fatal(err)
	}
	if h, _ := log.Head(context.Background()); h.Seq != 0 {
		t.Fatalf("what-if evaluation was logged (head %d)", h.Seq)
	}
}

// TestUnloggedDecisionsDecideAlikeAndLogNothing pins down the typed no-log
// path the indicator reads take: the same decision as the logged path and
// as what-if on the same document, and nothing in the audit log.
func TestUnloggedDecisionsDecideAlikeAndLogNothing(t *testing.T) {
	e := engine(t)
	log := memLog(t)
	e.SetAudit(log)
	ctx := context.Background()
	reader := Input{
		Subject:  Subject{ID: "u-coordinator", Roles: []string{"coordinator"}, Municipality: "4627"},
		Action:   ActionIndicatorRead,
		Resource: Resource{Dataset: "indicators", Published: true},
		Context:  Context{Time: now},
	}
	unpublished := reader
	unpublished.Resource.Published = false
	anonymous := reader
	anonymous.Subject.ID = ""
	for _, tt := range []struct {
		name    string
		in      Input
		outcome string
	}{
		{"published indicator", reader, OutcomeAllow},
		{"unpublished indicator", unpublished, OutcomeDeny},
		{"no subject", anonymous, OutcomeDeny},
		{"research table", researchRequest(), OutcomeAllow},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := e.DecideUnlogged(ctx, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			w, err := e.WhatIf(ctx, mustDoc(t, tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if d.Outcome() != tt.outcome || !sameDecision(d, w) {
				t.Fatalf("unlogged decision %s %v, what-if %s %v, want %s", d.Outcome(), d.Codes(), w.Outcome(), w.Codes(), tt.outcome)
			}
		})
	}
	if h, _ := log.Head(ctx); h.Seq != 0 {
		t.Fatalf("unlogged decisions were logged (head %d)", h.Seq)
	}
}

func TestDecisionsAreLoggedWithVersionAndMaskedInput(t *testing.T) {
	e := engine(t)
	log := memLog(t)
	e.SetAudit(log)
	ctx := context.Background()
	d, err := e.Decide(ctx, researchRequest())
	if err != nil {
		t.Fatal(err)
	}
	entries, err := log.List(ctx, audit.Filter{Kind: audit.KindDecision})
	if err != nil || len(entries) != 1 {
		t.Fatalf("entries %v, %v", entries, err)
	}
	en := entries[0]
	if en.Object != d.ID || en.Actor != "u-researcher" || en.Detail["policy_version"] != e.Current().Hash || en.Detail["outcome"] != OutcomeAllow {
		t.Fatalf("logged entry %+v does not match decision %s", en, d.ID)
	}
	detail, _ := json.Marshal(en.Detail)
	for _, raw := range []string{"u-researcher", "u-other"} {
		if strings.Contains(string(detail), raw) {
			t.Errorf("masked field value %q is in the log: %s", raw, detail)
		}
	}
	if !strings.Contains(string(detail), Pseudonym("u-researcher")) {
		t.Errorf("subject id is not pseudonymised consistently: %s", detail)
	}
	if rep, _ := log.Verify(ctx); !rep.OK {
		t.Fatalf("log does not verify: %+v", rep.Problems)
	}
}

func TestMetadataIsRequired(t *testing.T) {
	tests := []struct {
		name, file, old, new, want string
	}{
		{"legal basis", "project.rego", `#   legal_basis: "Personvernforordningen art. 5 nr. 1 bokstav e`, `#   legal_bases_typo: "x`, "deny at project.rego:52 lacks METADATA custom.legal_basis"},
		{"title", "granularity.rego", "# title: Limited number of dimensions\n", "", "lacks METADATA title"},
		{"helper description", "lib.rego", "# description: The request's time (input.context.time, RFC 3339) in nanoseconds since the epoch.\n", "", "now_ns at lib.rego:15 lacks METADATA description"},
		{"message", "sensitivity.rego", "#     en: The request concerns especially sensitive health data and must be reviewed by the privacy officer.\n", "", "custom.message.en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := policyCopy(t, edit{tt.file, tt.old, tt.new})
			_, err := CompileDir(context.Background(), dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestBrokenPolicyIsRefusedAndOldKeepsServing(t *testing.T) {
	tests := []struct {
		name  string
		edits []edit
		want  string
	}{
		{"syntax error", []edit{{"project.rego", "deny contains f if {", "deny contains f iff {"}}, "rego_parse_error"},
		{"compile error", []edit{{"granularity.rego", "config.max_dimensions", "config.max_dimensions + unknown_var"}}, "rego_unsafe_var_error"},
		{"failing test", []edit{{"data.json", `"max_dimensions": 4`, `"max_dimensions": 5`}}, "test_too_many_dimensions_denies failed"},
		{"untested rule", []edit{{"project_test.rego", "test_project_expired_allows", "test_end_date_ok"}}, "rule project_expired (project.rego:52) has no test_project_expired_allows"},
		{"no tests at all", []edit{{"*_test.rego", "", ""}}, "policy has no tests"},
		{"bad data", []edit{{"data.json", `"max_dimensions": 4,`, `"max_dimensions": 4,,`}}, "data.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := engine(t)
			log := memLog(t)
			e.SetAudit(log)
			old := e.Current()
			_, err := e.Reload(context.Background(), policyCopy(t, tt.edits...))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("reload error %v, want one containing %q", err, tt.want)
			}
			if e.Current() != old {
				t.Fatal("a refused policy replaced the running one")
			}
			d, err := e.Decide(context.Background(), researchRequest())
			if err != nil || !d.Allow || d.PolicyVersion != old.Hash {
				t.Fatalf("old version stopped serving: %+v %v", d, err)
			}
		})
	}
}

func TestReloadSwitchesVersionAndRecordsTheChange(t *testing.T) {
	e := engine(t)
	log := memLog(t)
	e.SetAudit(log)
	ctx := context.Background()
	old := e.Current()
	v, err := e.Reload(ctx, policyCopy(t, stricterDimensions...))
	if err != nil {
		t.Fatal(err)
	}
	if e.Current() != v || v.Hash == old.Hash || len(v.Hash) != 64 {
		t.Fatalf("reload did not switch to a new version: %s → %s", old.Short(), v.Short())
	}
	in := researchRequest()
	in.Resource.Dataset = "gp_contact"
	in.Resource.Dimensions = []string{"municipality", "sex", "age_broad", "service"}
	d, _ := e.Decide(ctx, in)
	if d.Allow || d.PolicyVersion != v.Hash {
		t.Fatalf("new version not in force: %s", d.Explain("en"))
	}
	changes, _ := log.List(ctx, audit.Filter{Kind: audit.KindPolicyChange})
	if len(changes) != 1 || changes[0].Detail["from"] != old.Hash || changes[0].Detail["to"] != v.Hash {
		t.Fatalf("policy change not recorded: %+v", changes)
	}
}

func TestWatchReloadsAChangedDirectory(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := policyCopy(t)
	e, err := LoadDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	first := e.Current().Hash
	errs := make(chan error, 4)
	go e.Watch(ctx, dir, 10*time.Millisecond, func(err error) { errs <- err })

	// A broken change is refused and reported; the old version stays.
	writeEdit(t, dir, edit{"decision.rego", "default allow := false", "default allow := true"})
	select {
	case err := <-errs:
		if !strings.Contains(err.Error(), "fails its own tests") {
			t.Fatalf("watch error %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("watch did not try the changed policy")
	}
	if e.Current().Hash != first {
		t.Fatal("watch switched to a failing policy")
	}
	writeEdit(t, dir, edit{"decision.rego", "default allow := true", "default allow := false"})
	writeEdit(t, dir, stricterDimensions...)
	deadline := time.Now().Add(20 * time.Second)
	for e.Current().Hash == first && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if e.Current().Hash == first {
		t.Fatal("watch did not switch to the good change")
	}
}

// TestReplayShowsWhichDecisionsFlip logs decisions under the running policy,
// replays them against a stricter candidate and checks each flip.
func TestReplayShowsWhichDecisionsFlip(t *testing.T) {
	e := engine(t)
	log := memLog(t)
	e.SetAudit(log)
	ctx := context.Background()

	fourDims := researchRequest()
	fourDims.Resource.Dataset = "gp_contact"
	fourDims.Resource.Dimensions = []string{"municipality", "sex", "age_broad", "service"}
	threeDims := researchRequest()
	stranger := researchRequest()
	stranger.Subject.ID = "u-stranger"
	for _, in := range []Input{fourDims, threeDims, stranger} {
		if _, err := e.Decide(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	candidate, err := CompileDir(ctx, policyCopy(t, stricterDimensions...))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Replay(ctx, candidate, log, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Decisions != 3 || rep.Unchanged != 2 || len(rep.Flips) != 1 {
		t.Fatalf("replay %d decisions, %d unchanged, %d flips; want 3, 2, 1", rep.Decisions, rep.Unchanged, len(rep.Flips))
	}
	f := rep.Flips[0]
	if f.From != OutcomeAllow || f.To != OutcomeDeny || len(f.Added) != 1 || f.Added[0].Code != "too_many_dimensions" || rep.Directions["allow→deny"] != 1 {
		t.Fatalf("flip %+v", f)
	}
	// Replaying against the running version changes nothing: masking kept
	// membership (subject among members) intact.
	same, err := Replay(ctx, e.Current(), log, time.Time{}, time.Time{})
	if err != nil || len(same.Flips) != 0 || same.Decisions != 3 {
		t.Fatalf("replay against the same version: %+v, %v", same, err)
	}
}

func TestEveryRuleIsDocumentedAndTested(t *testing.T) {
	v := engine(t).Current()
	if v.Tests.Failed != 0 || v.Tests.Passed < 40 {
		t.Fatalf("tests %d passed, %d failed", v.Tests.Passed, v.Tests.Failed)
	}
	codes := map[string]bool{}
	for _, r := range v.Rules {
		if r.Code == "" {
			continue
		}
		codes[r.Code] = true
		if len(r.Tests) < 2 || r.Coverage < 90 {
			t.Errorf("rule %s has %d tests and %.0f%% coverage", r.Code, len(r.Tests), r.Coverage)
		}
	}
	for _, want := range []string{
		"input_malformed", "action_unknown", "dataset_unknown", "dimension_unknown", "project_missing",
		"role_not_permitted", "row_level_refused", "coordinator_outside_own_municipality", "indicator_not_published",
		"project_not_approved", "project_expired", "not_project_member", "research_without_rek", "purpose_without_legal_basis",
		"sensitive_without_dpia", "sensitive_review", "too_many_dimensions", "district_population_too_small",
		"age_groups_too_fine", "release_cap_reached",
	} {
		if !codes[want] {
			t.Errorf("rule %s is missing from the policy", want)
		}
	}
}

func TestMask(t *testing.T) {
	doc := map[string]any{"subject": map[string]any{"id": "u1", "roles": []any{"r"}}, "project": map[string]any{"members": []any{"u1", "u2"}}}
	got := Mask(doc, []string{"/subject/id", "/project/members", "/missing/path"})
	if got["subject"].(map[string]any)["id"] != Pseudonym("u1") ||
		got["project"].(map[string]any)["members"].([]any)[0] != Pseudonym("u1") ||
		got["subject"].(map[string]any)["roles"].([]any)[0] != "r" {
		t.Fatalf("masked %v", got)
	}
	if doc["subject"].(map[string]any)["id"] != "u1" {
		t.Fatal("Mask changed its input")
	}
}

// stricterDimensions is a reviewed policy change: at most three dimensions,
// with its test updated to match.
var stricterDimensions = []edit{
	{"data.json", `"max_dimensions": 4`, `"max_dimensions": 3`},
	{"granularity_test.rego", `set_op("/resource/dimensions", ["municipality", "sex", "age_broad", "service"]),`, `set_op("/resource/dimensions", ["municipality", "sex", "service"]),`},
}

// edit replaces old by new in file; file "*_test.rego" with empty old
// deletes every test file.
type edit struct{ file, old, new string }

// policyCopy writes the embedded policy to a temporary directory with edits.
func policyCopy(t *testing.T, edits ...edit) string {
	t.Helper()
	dir := t.TempDir()
	err := fs.WalkDir(Embedded, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Embedded, p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, p), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	writeEdit(t, dir, edits...)
	return dir
}

func writeEdit(t *testing.T, dir string, edits ...edit) {
	t.Helper()
	for _, ed := range edits {
		if ed.file == "*_test.rego" {
			matches, _ := filepath.Glob(filepath.Join(dir, "*_test.rego"))
			for _, m := range matches {
				os.Remove(m)
			}
			continue
		}
		p := filepath.Join(dir, ed.file)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), ed.old) {
			t.Fatalf("%s does not contain %q", ed.file, ed.old)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(string(b), ed.old, ed.new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func memLog(t *testing.T) *audit.Log {
	t.Helper()
	db, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return audit.New(db)
}

func mustDoc(t *testing.T, in Input) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(must(json.Marshal(in.doc())), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// with returns a copy of doc with doc[obj][key] = v (doc[obj] = v when key is "").
func with(doc map[string]any, obj, key string, v any) map[string]any {
	out := deepCopy(doc).(map[string]any)
	if key == "" {
		out[obj] = v
		return out
	}
	out[obj].(map[string]any)[key] = v
	return out
}

func without(doc map[string]any, obj string) map[string]any {
	out := deepCopy(doc).(map[string]any)
	delete(out, obj)
	return out
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("..", "testdata", "policies", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./policies -run %s -update)", err, t.Name())
	}
	if got != string(want) {
		t.Fatalf("%s differs from golden:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestWriteRulesShowsEveryRuleWithItsLegalBasis(t *testing.T) {
	v := engine(t).Current()
	for _, lang := range []string{"nb", "en"} {
		var b strings.Builder
		if err := v.WriteRules(&b, lang); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, r := range v.Rules {
			if r.Code == "" {
				if !strings.Contains(out, "."+r.Name+"`") {
					t.Errorf("%s: helper %s.%s missing", lang, r.Package, r.Name)
				}
				continue
			}
			title := r.Title
			if lang == "nb" {
				title = r.TitleNB
			}
			for _, want := range []string{"`" + r.Code + "`", title, r.LegalBasis, fmt.Sprintf("%s:%d", r.File, r.Row)} {
				if !strings.Contains(out, want) {
					t.Errorf("%s: rule %s: %q missing", lang, r.Code, want)
				}
			}
		}
		if !strings.Contains(out, v.Hash) {
			t.Errorf("%s: version missing", lang)
		}
	}
}

func TestDecisionEntryCommitsWithTheCallersTransaction(t *testing.T) {
	e := engine(t)
	db, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log := audit.New(db)
	e.SetAudit(log)
	ctx := context.Background()
	errRollback := errors.New("release failed")
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := e.DecideTx(ctx, tx, researchRequest()); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	if h, _ := log.Head(ctx); h.Seq != 0 {
		t.Fatalf("decision entry survived the rolled-back transaction (head %d)", h.Seq)
	}
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := e.DecideTx(ctx, tx, researchRequest())
		return err
	})
	if h, _ := log.Head(ctx); err != nil || h.Seq != 1 {
		t.Fatalf("committed decision not logged: head %d, %v", h.Seq, err)
	}
}
