package policies

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
)

// The shape check (lib.well_formed and the itemised shape_problems) costs
// a fifth of a decision in Rego, yet a typed Input cannot have most of the
// faults it looks for: its fields have their types by construction. For a
// typed request the engine therefore checks the few things a type cannot
// say (non-empty subject, known municipalities, ICPC-2 codes, dates,
// population ≥ 0) in Go, and evaluates the decision with
// lib.well_formed given as true. Anything the Go check does not vouch for
// takes the full path, so a malformed request is still denied by the policy
// with every field named.
//
// The Go check must never vouch for a request the policy would find
// malformed. Compile verifies that on a corpus of typed requests, one field
// changed at a time: if the candidate policy's own shape check disagrees
// with the Go check, or the two paths give a different decision, on any of
// them, the version keeps the full path for every decision (Version.FastShape
// is false). A policy change that tightens the shape check therefore costs
// speed until shapeFacts follows it, never correctness.

// wellFormedRule is the policy's shape check, which the fast path answers in Go.
const wellFormedRule = "data.folkekommune.lib.well_formed"

// givenWellFormed is the policy with its shape check given as true: what
// `with data.folkekommune.lib.well_formed as true` says, said once at
// compile time instead of at every evaluation (the with clause cost about
// 25 allocations a decision). The policy's modules are not changed; the
// copy differs from them only in that one rule.
func givenWellFormed(policy map[string]*ast.Module) (map[string]*ast.Module, error) {
	out := make(map[string]*ast.Module, len(policy))
	found := false
	for name, m := range policy {
		out[name] = m
		if !m.Package.Path.Equal(ast.MustParseRef(wellFormedRule)[:3]) {
			continue
		}
		c := m.Copy()
		rules := c.Rules[:0]
		for _, r := range c.Rules {
			if r.Head.Ref().String() == "well_formed" {
				found = true
				continue
			}
			rules = append(rules, r)
		}
		given, err := ast.ParseModuleWithOpts(name, c.Package.String()+"\n\nwell_formed := true\n", ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, err
		}
		for _, r := range given.Rules {
			r.Module = c
			rules = append(rules, r)
		}
		c.Rules = rules
		out[name] = c
	}
	if !found {
		return nil, fmt.Errorf("the policy has no %s", wellFormedRule)
	}
	return out, nil
}

// icpc2Code is the pattern of lib.icpc2_list.
var icpc2Code = regexp.MustCompile(`^[ABDFHKLNPRSTUWXYZ]([0-9]{2})?$`)

// shapeFacts is what the Go shape check needs from the policy data.
type shapeFacts struct {
	municipalities map[string]bool // config.municipality_population keys
	tableActions   map[string]bool // config.actions with table: true
}

func newShapeFacts(docs map[string]any) shapeFacts {
	f := shapeFacts{municipalities: map[string]bool{}, tableActions: map[string]bool{}}
	fk, _ := docs["folkekommune"].(map[string]any)
	cfg, _ := fk["config"].(map[string]any)
	pops, _ := cfg["municipality_population"].(map[string]any)
	for m := range pops {
		f.municipalities[m] = true
	}
	actions, _ := cfg["actions"].(map[string]any)
	for a, v := range actions {
		if o, ok := v.(map[string]any); ok && o["table"] == true {
			f.tableActions[a] = true
		}
	}
	return f
}

// wellFormed reports whether the policy's lib.well_formed holds for in's
// document. It may say false for a request the policy would accept (the
// full path then decides); it must not say true for one it would not.
func (f shapeFacts) wellFormed(in Input) bool {
	if in.Subject.ID == "" {
		return false
	}
	if m := in.Subject.Municipality; m != "" && !f.municipalities[m] {
		return false
	}
	if !safeTime(in.Context.Time) {
		return false
	}
	for _, t := range in.Context.Releases {
		if !safeTime(t) {
			return false
		}
	}
	if f.tableActions[in.Action] && in.Resource.SmallestPopulation < 0 {
		return false
	}
	for _, m := range in.Resource.Filters["municipality"] {
		if !f.municipalities[m] {
			return false
		}
	}
	for _, c := range in.Resource.Filters["icpc2"] {
		if !icpc2Code.MatchString(c) {
			return false
		}
	}
	if p := in.Project; p != nil {
		if !validDate(p.EndDate) || (p.ApprovedAt != "" && !validDate(p.ApprovedAt)) {
			return false
		}
	}
	return true
}

// safeTime keeps to the years OPA's time builtins turn into nanoseconds
// (1678-2262) with a margin; a time outside is left to the policy.
func safeTime(t time.Time) bool {
	y := t.UTC().Year()
	return y > 1700 && y < 2200
}

// validDate is lib.valid_date: a calendar date OPA's time.parse_ns accepts.
func validDate(s string) bool {
	t, err := time.Parse("2006-01-02", s)
	return err == nil && safeTime(t)
}

// shapeCorpus is a set of typed requests around the policy's typical
// requests, each with one field changed to a value the shape check may
// refuse: the corpus Compile checks the Go shape check against.
func shapeCorpus(at time.Time) []Input {
	research := Input{
		Subject: Subject{ID: "u-1", Roles: []string{"researcher"}, Organisation: "UiB", Municipality: "4601"},
		Action:  ActionReleaseRequest,
		Resource: Resource{
			Dataset: "gp_contact", Dimensions: []string{"municipality", "sex", "age_10y"},
			Filters:            map[string][]string{"municipality": {"4601"}, "icpc2": {"K86"}},
			Period:             &Period{"2024-01-01", "2024-12-31"},
			SmallestPopulation: 14500,
		},
		Project: &Project{
			ID: "p-1", Status: "approved", Purpose: "research", ApprovedAt: "2025-01-10", EndDate: "2027-12-31",
			REK: "2024/123456", LegalBasis: "hfl-35", Members: []string{"u-1"},
		},
		Context: Context{Time: at, Releases: []time.Time{at.AddDate(0, 0, -3)}},
	}
	governance := research
	governance.Subject = Subject{ID: "u-2", Roles: []string{"coordinator"}, Municipality: "4627"}
	governance.Action = ActionGovernanceRequest
	governance.Resource.Dataset = "care"
	governance.Resource.Filters = map[string][]string{"municipality": {"4627"}}
	governance.Project = &Project{ID: "g-1", Status: "approved", Purpose: "governance", ApprovedAt: "2025-01-01",
		EndDate: "2027-12-31", LegalBasis: "fhl-5", Members: []string{"u-2"}}
	indicator := Input{
		Subject:  Subject{ID: "u-3", Roles: []string{"fou_contact"}},
		Action:   ActionIndicatorRead,
		Resource: Resource{Dataset: "indicators", Published: true, SmallestPopulation: -1},
		Context:  Context{Time: at},
	}
	edits := []func(in *Input){
		func(*Input) {},
		func(in *Input) { in.Subject.ID = "" },
		func(in *Input) { in.Subject.ID = " " },
		func(in *Input) { in.Subject.Roles = nil },
		func(in *Input) { in.Subject.Roles = []string{""} },
		func(in *Input) { in.Subject.Municipality = "" },
		func(in *Input) { in.Subject.Municipality = "0301" },
		func(in *Input) { in.Subject.Organisation = "" },
		// The web pages' visitor who has not signed in.
		func(in *Input) { in.Subject = Subject{ID: "anonymous", Roles: []string{"public"}} },
		func(in *Input) { in.Action = "" },
		func(in *Input) { in.Action = "release.download" },
		func(in *Input) { in.Resource.Dataset = "" },
		func(in *Input) { in.Resource.Dataset = "prescriptions" },
		func(in *Input) { in.Resource.Dimensions = nil },
		func(in *Input) { in.Resource.Dimensions = []string{""} },
		func(in *Input) { in.Resource.Dimensions = []string{"pid"} },
		func(in *Input) { in.Resource.Filters = nil },
		func(in *Input) { in.Resource.Filters = map[string][]string{"municipality": nil} },
		func(in *Input) { in.Resource.Filters = map[string][]string{"municipality": {"4601", "9999"}} },
		func(in *Input) { in.Resource.Filters = map[string][]string{"municipality": {""}} },
		func(in *Input) { in.Resource.Filters = map[string][]string{"icpc2": {"P"}} },
		func(in *Input) { in.Resource.Filters = map[string][]string{"icpc2": {"P7"}} },
		func(in *Input) { in.Resource.Filters = map[string][]string{"icpc2": {"Q76"}} },
		func(in *Input) { in.Resource.Filters = map[string][]string{"icpc2": {"p76"}} },
		func(in *Input) { in.Resource.Filters = map[string][]string{"sex": {"x"}} },
		func(in *Input) { in.Resource.Period = nil },
		func(in *Input) { in.Resource.Period = &Period{"", "x"} },
		func(in *Input) { in.Resource.SmallestPopulation = 0 },
		func(in *Input) { in.Resource.SmallestPopulation = -1 },
		func(in *Input) { in.Resource.RowLevel = true },
		func(in *Input) { in.Resource.Published = !in.Resource.Published },
		func(in *Input) { in.Project = nil },
		func(in *Input) { in.Context.Releases = nil },
		func(in *Input) {
			in.Context.Releases = append(slices.Clone(in.Context.Releases), at.AddDate(0, 0, -40), at.Add(time.Hour))
		},
		func(in *Input) { in.Context.Releases = []time.Time{time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)} },
		func(in *Input) { in.Context.Time = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) },
		func(in *Input) { in.Context.Time = at.In(time.FixedZone("CET", 3600)).Add(123 * time.Nanosecond) },
	}
	projectEdits := []func(p *Project){
		func(p *Project) { p.ID = "" },
		func(p *Project) { p.Status = "" },
		func(p *Project) { p.Status = "submitted" },
		func(p *Project) { p.Purpose = "" },
		func(p *Project) { p.Purpose = "marketing" },
		func(p *Project) { p.ApprovedAt = "" },
		func(p *Project) { p.ApprovedAt = "2025-13-01" },
		func(p *Project) { p.ApprovedAt = "2027-01-01" },
		func(p *Project) { p.EndDate = "" },
		func(p *Project) { p.EndDate = "2025-02-30" },
		func(p *Project) { p.EndDate = "2025-1-1" },
		func(p *Project) { p.EndDate = "1600-01-01" },
		func(p *Project) { p.EndDate = "2025-01-01" },
		func(p *Project) { p.REK = "" },
		func(p *Project) { p.REK = "x" },
		func(p *Project) { p.DPIADone = !p.DPIADone },
		func(p *Project) { p.LegalBasis = "" },
		func(p *Project) { p.Members = nil },
		func(p *Project) { p.Members = []string{""} },
	}
	var out []Input
	for _, base := range []Input{research, governance, indicator} {
		for _, edit := range edits {
			in := clone(base)
			edit(&in)
			out = append(out, in)
		}
		if base.Project == nil {
			continue
		}
		for _, edit := range projectEdits {
			in := clone(base)
			edit(in.Project)
			out = append(out, in)
		}
	}
	return out
}

// clone copies in deeply enough for one edit.
func clone(in Input) Input {
	out := in
	out.Subject.Roles = slices.Clone(in.Subject.Roles)
	out.Resource.Dimensions = slices.Clone(in.Resource.Dimensions)
	if in.Resource.Filters != nil {
		out.Resource.Filters = make(map[string][]string, len(in.Resource.Filters))
		for k, v := range in.Resource.Filters {
			out.Resource.Filters[k] = slices.Clone(v)
		}
	}
	if in.Resource.Period != nil {
		p := *in.Resource.Period
		out.Resource.Period = &p
	}
	if in.Project != nil {
		p := *in.Project
		p.Members = slices.Clone(in.Project.Members)
		out.Project = &p
	}
	out.Context.Releases = slices.Clone(in.Context.Releases)
	return out
}

// prepareFastShape prepares the decision with the shape check answered by
// Go and checks it against the full path on the shape corpus. It returns
// nil, with the reason, when the version must keep the full path.
func (v *Version) prepareFastShape(ctx context.Context, opts []func(*rego.Rego), store storage.Store) (*rego.PreparedEvalQuery, error) {
	given, err := givenWellFormed(v.modules)
	if err != nil {
		return nil, err
	}
	compiler := ast.NewCompiler().WithDefaultRegoVersion(ast.RegoV1).WithEnablePrintStatements(false)
	if compiler.Compile(given); compiler.Failed() {
		return nil, fmt.Errorf("compile with the shape check given: %w", compiler.Errors)
	}
	fast, err := rego.New(rego.Query(Query), rego.Compiler(compiler), rego.Store(store)).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	wf, err := rego.New(append([]func(*rego.Rego){rego.Query(wellFormedRule)}, opts...)...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare well_formed: %w", err)
	}
	at := time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)
	for i, in := range shapeCorpus(at) {
		if !v.shape.wellFormed(in) {
			continue
		}
		rs, err := wf.Eval(ctx, rego.EvalParsedInput(in.value()), rego.EvalTransaction(v.txn))
		if err != nil {
			return nil, fmt.Errorf("well_formed on corpus request %d: %w", i, err)
		}
		if len(rs) != 1 || rs[0].Expressions[0].Value != true {
			return nil, fmt.Errorf("the policy finds corpus request %d malformed, the Go shape check does not", i)
		}
		full, err1 := v.decideWith(ctx, &v.query, in.value(), at)
		quick, err2 := v.decideWith(ctx, &fast, in.value(), at)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("corpus request %d: %w", i, errors.Join(err1, err2))
		}
		if !sameDecision(full, quick) {
			return nil, fmt.Errorf("corpus request %d is decided differently with the Go shape check", i)
		}
	}
	return &fast, nil
}

// sameDecision compares what two decisions say: outcome, findings with
// their details, and obligations.
func sameDecision(a, b Decision) bool {
	return fmt.Sprintf("%v|%v|%+v|%+v|%+v", a.Allow, a.Review, a.Deny, a.ReviewReasons, a.Obligations) ==
		fmt.Sprintf("%v|%v|%+v|%+v|%+v", b.Allow, b.Review, b.Deny, b.ReviewReasons, b.Obligations)
}
