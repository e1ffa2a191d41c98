package policies

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// DecisionPackage holds the privacy officer's rules; its rules must carry a
// legal basis and an owner besides a title and a description.
const DecisionPackage = "data.folkekommune.decision"

// decisionParts are the rules of the decision package besides deny and
// review that make up the answer; like deny and review rules they must name
// their legal basis and owner. Helpers are documented by title and
// description and take their legal basis from the rules that use them.
var decisionParts = map[string]bool{"result": true, "allow": true, "needs_review": true, "obligations": true}

// Rule is one rule of the policy as the privacy officer reads it.
type Rule struct {
	Package     string       `json:"package"`
	Name        string       `json:"name"`
	Code        string       `json:"code,omitempty"`   // reason code, for deny and review rules
	Effect      string       `json:"effect,omitempty"` // deny, review, or "" for the decision's other parts and helpers
	Title       string       `json:"title"`
	TitleNB     string       `json:"title_nb,omitempty"`
	Description string       `json:"description"`
	LegalBasis  string       `json:"legal_basis,omitempty"`
	Owner       string       `json:"owner,omitempty"`
	Message     Label        `json:"message,omitempty"`
	File        string       `json:"file"`
	Row         int          `json:"row"`
	Lines       int          `json:"lines"`
	Coverage    float64      `json:"coverage"` // percent of the rule's evaluable lines the tests reach
	Tests       []TestResult `json:"tests,omitempty"`

	firstRow, lastRow int
}

// TestResult is one Rego test.
type TestResult struct {
	Name     string        `json:"name"`
	Package  string        `json:"package"`
	File     string        `json:"file"`
	Pass     bool          `json:"pass"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration"`
}

// TestReport is the outcome of a policy version's own tests.
type TestReport struct {
	Results  []TestResult `json:"results"`
	Passed   int          `json:"passed"`
	Failed   int          `json:"failed"`
	Coverage float64      `json:"coverage"` // percent over the policy's (non-test) files
}

func (r TestReport) failures() []string {
	var out []string
	for _, t := range r.Results {
		if !t.Pass {
			msg := t.Package + "." + t.Name + " failed"
			if t.Error != "" {
				msg += ": " + t.Error
			}
			out = append(out, msg)
		}
	}
	return out
}

// documentRules reads every rule's METADATA and refuses rules without it.
// Every rule needs a title and a description. Deny and review rules need,
// on each of their definitions, also a reason code, an effect, a Norwegian
// title, messages in both languages, a legal basis and an owner; so do the
// decision's other parts (result, allow, needs_review, obligations).
func documentRules(c *ast.Compiler) ([]Rule, error) {
	as := c.GetAnnotationSet()
	type group struct {
		rule  *Rule
		found bool
	}
	groups := map[string]*group{}
	var out []*Rule
	var problems []string
	names := make([]string, 0, len(c.Modules))
	for name := range c.Modules {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, file := range names {
		m := c.Modules[file]
		pkg := m.Package.Path.String()
		for _, r := range m.Rules {
			name := r.Head.Ref().GroundPrefix().String()
			text := string(r.Location.Text)
			lines := strings.Count(text, "\n") + 1
			var a *ast.Annotations
			for _, ref := range as.Chain(r) {
				if ref.Annotations != nil && (ref.Annotations.Scope == "rule" || ref.Annotations.Scope == "document") {
					a = ref.Annotations
					break
				}
			}
			coded := pkg == DecisionPackage && (name == "deny" || name == "review")
			key := pkg + "." + name
			if coded {
				key = fmt.Sprintf("%s.%s@%s:%d", pkg, name, file, r.Location.Row)
			}
			g, seen := groups[key]
			if !seen {
				g = &group{rule: &Rule{Package: pkg, Name: name, File: file, Row: r.Location.Row}}
				groups[key] = g
				out = append(out, g.rule)
			}
			g.rule.Lines += lines
			if g.rule.firstRow == 0 || r.Location.Row < g.rule.firstRow {
				g.rule.firstRow = r.Location.Row
			}
			g.rule.lastRow = max(g.rule.lastRow, r.Location.Row+lines-1)
			if a == nil || g.found {
				continue
			}
			g.found = true
			fillRule(g.rule, a, coded)
		}
	}
	for _, r := range out {
		where := fmt.Sprintf("%s:%d", r.File, r.Row)
		coded := r.Effect != "" || (r.Package == DecisionPackage && (r.Name == "deny" || r.Name == "review"))
		var missing []string
		need := func(field, v string) {
			if strings.TrimSpace(v) == "" {
				missing = append(missing, field)
			}
		}
		need("title", r.Title)
		need("description", r.Description)
		if coded || (r.Package == DecisionPackage && decisionParts[r.Name]) {
			need("custom.legal_basis", r.LegalBasis)
			need("custom.owner", r.Owner)
		}
		if coded {
			need("custom.code", r.Code)
			need("custom.title_nb", r.TitleNB)
			need("custom.message.nb", r.Message.NB)
			need("custom.message.en", r.Message.EN)
			if r.Effect != r.Name {
				missing = append(missing, fmt.Sprintf("custom.effect: %s (it is a %s rule)", r.Name, r.Name))
			}
		}
		if len(missing) > 0 {
			problems = append(problems, fmt.Sprintf("rule %s.%s at %s lacks METADATA %s", r.Package, r.Name, where, strings.Join(missing, ", ")))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	rules := make([]Rule, len(out))
	for i, r := range out {
		rules[i] = *r
	}
	return rules, nil
}

func fillRule(r *Rule, a *ast.Annotations, coded bool) {
	r.Title, r.Description = a.Title, strings.TrimSpace(a.Description)
	custom := a.Custom
	s := func(k string) string {
		v, _ := custom[k].(string)
		return strings.TrimSpace(v)
	}
	r.Code, r.TitleNB, r.LegalBasis, r.Owner = s("code"), s("title_nb"), s("legal_basis"), s("owner")
	if coded {
		r.Effect = s("effect")
	}
	if msg, ok := custom["message"].(map[string]any); ok {
		r.Message.NB, _ = msg["nb"].(string)
		r.Message.EN, _ = msg["en"].(string)
	}
}

// runTests runs the Rego tests with the same runner `opa test` uses, with
// coverage over the policy files.
func runTests(ctx context.Context, modules map[string]*ast.Module, docs map[string]any, policy map[string]*ast.Module) (TestReport, cover.Report, error) {
	var rep TestReport
	store := inmem.NewFromObject(docs)
	cov := cover.New()
	// Copies, since the runner's compiler rewrites the modules it is given.
	mods := make(map[string]*ast.Module, len(modules))
	for k, m := range modules {
		mods[k] = m.Copy()
	}
	runner := tester.NewRunner().
		SetStore(store).
		SetModules(mods).
		SetDefaultRegoVersion(ast.RegoV1).
		SetCoverageQueryTracer(cov).
		SetCoverageRuns([]cover.Kind{}).
		CapturePrintOutput(false).
		SetTimeout(10 * time.Second)
	err := storage.Txn(ctx, store, storage.TransactionParams{}, func(txn storage.Transaction) error {
		ch, err := runner.RunTests(ctx, txn)
		if err != nil {
			return err
		}
		for r := range ch {
			tr := TestResult{Name: r.Name, Package: r.Package, Pass: r.Pass(), Duration: r.Duration}
			if r.Location != nil {
				tr.File = r.Location.File
			}
			if r.Error != nil {
				tr.Error = r.Error.Error()
			}
			if tr.Pass {
				rep.Passed++
			} else {
				rep.Failed++
			}
			rep.Results = append(rep.Results, tr)
		}
		return nil
	})
	if err != nil {
		return rep, cover.Report{}, fmt.Errorf("policy tests do not run: %w", err)
	}
	if len(rep.Results) == 0 {
		// opa test --fail-on-empty: a policy without tests is not tested.
		return rep, cover.Report{}, fmt.Errorf("policy has no tests")
	}
	sort.Slice(rep.Results, func(i, j int) bool {
		return rep.Results[i].Package+"."+rep.Results[i].Name < rep.Results[j].Package+"."+rep.Results[j].Name
	})
	report := cov.Report(policy)
	covered, notCovered := 0, 0
	for file := range policy {
		if fr := report.Files[file]; fr != nil {
			covered += fr.CoveredLines
			notCovered += fr.NotCoveredLines
		}
	}
	if covered+notCovered > 0 {
		rep.Coverage = 100 * float64(covered) / float64(covered+notCovered)
	}
	return rep, report, nil
}

// attachTests gives each rule its tests and coverage. A deny or review
// rule's tests are named test_<code>_denies / _reviews (the rule fires) and
// test_<code>_allows (a request close to it passes); helpers have none of
// their own.
func attachTests(rules []Rule, tests TestReport, report cover.Report) {
	for i := range rules {
		r := &rules[i]
		if r.Code != "" {
			prefix := "test_" + r.Code + "_"
			for _, t := range tests.Results {
				if strings.HasPrefix(t.Name, prefix) {
					r.Tests = append(r.Tests, t)
				}
			}
		}
		fr := report.Files[r.File]
		c, n := 0, 0
		for row := r.firstRow; row <= r.lastRow; row++ {
			switch {
			case fr.IsCovered(row):
				c++
			case fr.IsNotCovered(row):
				n++
			}
		}
		if c+n > 0 {
			r.Coverage = 100 * float64(c) / float64(c+n)
		}
	}
}

// requireTests refuses a policy in which a deny or review rule lacks a test
// that makes it fire or a test that shows a close request passing.
func requireTests(rules []Rule, tests TestReport) error {
	var missing []string
	for _, r := range rules {
		if r.Code == "" {
			continue
		}
		fires, passes := false, false
		for _, t := range r.Tests {
			rest := strings.TrimPrefix(t.Name, "test_"+r.Code+"_")
			switch {
			case strings.HasPrefix(rest, "denies") || strings.HasPrefix(rest, "reviews"):
				fires = true
			case strings.HasPrefix(rest, "allows"):
				passes = true
			}
		}
		if !fires {
			verb := map[string]string{"deny": "denies", "review": "reviews"}[r.Effect]
			missing = append(missing, fmt.Sprintf("rule %s (%s:%d) has no test_%s_%s", r.Code, r.File, r.Row, r.Code, verb))
		}
		if !passes {
			missing = append(missing, fmt.Sprintf("rule %s (%s:%d) has no test_%s_allows", r.Code, r.File, r.Row, r.Code))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("untested rules: %s", strings.Join(missing, "; "))
	}
	return nil
}
