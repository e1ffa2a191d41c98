package policies

import (
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Input is a request as the policy sees it. Field names follow the JSON the
// Rego rules read (input.subject.id, input.resource.dimensions, ...).
type Input struct {
	Subject  Subject  `json:"subject"`
	Action   string   `json:"action"` // release.request, governance.request, indicator.read
	Resource Resource `json:"resource"`
	Project  *Project `json:"project,omitempty"`
	Context  Context  `json:"context"`
}

// Actions the policy knows.
const (
	ActionReleaseRequest    = "release.request"
	ActionGovernanceRequest = "governance.request"
	ActionIndicatorRead     = "indicator.read"
)

// Subject is who asks.
type Subject struct {
	ID           string   `json:"id"`
	Roles        []string `json:"roles"` // researcher, coordinator, privacy_officer, fou_contact, admin; public for the anonymous web visitor
	Organisation string   `json:"organisation,omitempty"`
	Municipality string   `json:"municipality,omitempty"` // kommunenummer the subject works for
}

// Resource is what is asked for.
type Resource struct {
	Dataset    string              `json:"dataset"`    // population, growth, vaccination, gp_contact, care, indicators
	Dimensions []string            `json:"dimensions"` // catalogue dimension ids: municipality, district, age_10y, sex, icpc2_chapter, ...
	Filters    map[string][]string `json:"filters,omitempty"`
	Period     *Period             `json:"period,omitempty"`
	// SmallestPopulation is the size of the smallest population the table
	// involves; the policy also derives it from the municipalities and uses
	// the smaller of the two.
	SmallestPopulation int  `json:"smallest_population"`
	RowLevel           bool `json:"row_level"`
	Published          bool `json:"published,omitempty"` // for indicator.read
}

// Period is the time span of the data asked for, as ISO dates.
type Period struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Project is the project a table would be released to.
type Project struct {
	ID         string   `json:"id"`
	Status     string   `json:"status"`  // approved, submitted, closed, ...
	Purpose    string   `json:"purpose"` // research, quality_improvement, governance
	ApprovedAt string   `json:"approved_at,omitempty"`
	EndDate    string   `json:"end_date"`
	REK        string   `json:"rek,omitempty"` // e.g. 2024/123456
	DPIADone   bool     `json:"dpia_done"`
	LegalBasis string   `json:"legal_basis,omitempty"` // a code from the policy data, e.g. fhl-5
	Members    []string `json:"members"`
}

// Context is the situation of the request.
type Context struct {
	Time     time.Time   `json:"time"`
	Releases []time.Time `json:"releases,omitempty"` // earlier releases to the project
}

// doc is the input as the JSON document the policy reads. It is built by
// hand rather than through encoding/json, which would cost a marshal and an
// unmarshal per decision, and so that nil lists become empty lists (a nil
// list reads as a malformed request).
func (in Input) doc() map[string]any {
	strs := func(ss []string) []any {
		out := make([]any, len(ss))
		for i, s := range ss {
			out[i] = s
		}
		return out
	}
	subject := map[string]any{"id": in.Subject.ID, "roles": strs(in.Subject.Roles)}
	if in.Subject.Organisation != "" {
		subject["organisation"] = in.Subject.Organisation
	}
	if in.Subject.Municipality != "" {
		subject["municipality"] = in.Subject.Municipality
	}
	filters := make(map[string]any, len(in.Resource.Filters))
	for k, v := range in.Resource.Filters {
		filters[k] = strs(v)
	}
	resource := map[string]any{
		"dataset":             in.Resource.Dataset,
		"dimensions":          strs(in.Resource.Dimensions),
		"filters":             filters,
		"smallest_population": in.Resource.SmallestPopulation,
		"row_level":           in.Resource.RowLevel,
		"published":           in.Resource.Published,
	}
	if p := in.Resource.Period; p != nil {
		resource["period"] = map[string]any{"from": p.From, "to": p.To}
	}
	releases := make([]any, len(in.Context.Releases))
	for i, t := range in.Context.Releases {
		releases[i] = t.UTC().Format(time.RFC3339)
	}
	d := map[string]any{
		"subject":  subject,
		"action":   in.Action,
		"resource": resource,
		"context":  map[string]any{"time": in.Context.Time.UTC().Format(time.RFC3339Nano), "releases": releases},
	}
	if p := in.Project; p != nil {
		project := map[string]any{
			"id": p.ID, "status": p.Status, "purpose": p.Purpose, "end_date": p.EndDate,
			"dpia_done": p.DPIADone, "members": strs(p.Members),
		}
		if p.ApprovedAt != "" {
			project["approved_at"] = p.ApprovedAt
		}
		if p.REK != "" {
			project["rek"] = p.REK
		}
		if p.LegalBasis != "" {
			project["legal_basis"] = p.LegalBasis
		}
		d["project"] = project
	}
	return d
}

// value is doc built directly as the AST the evaluator reads, field for
// field the same document: converting doc by reflection
// (ast.InterfaceToValue) cost more than some of the rules.
func (in Input) value() ast.Value { return in.valueWith(nil) }

// valueWith is value with the strings the policy data knows (dataset,
// dimension, role and action names, kommunenummer, ...) taken from known
// instead of allocated per decision. Terms are never changed once built, so
// one term serves every decision that reads the same string.
func (in Input) valueWith(known termTable) ast.Value {
	str := func(s string) *ast.Term {
		if t, ok := known[s]; ok {
			return t
		}
		if t, ok := fieldTerms[s]; ok {
			return t
		}
		return ast.StringTerm(s)
	}
	strs := func(ss []string) *ast.Term {
		if len(ss) == 0 {
			return ast.ArrayTerm()
		}
		ts := make([]*ast.Term, len(ss))
		for i, s := range ss {
			ts[i] = str(s)
		}
		return ast.ArrayTerm(ts...)
	}
	kv := func(k string, v *ast.Term) [2]*ast.Term { return [2]*ast.Term{fieldTerm(k), v} }

	subject := make([][2]*ast.Term, 0, 4)
	subject = append(subject, kv("id", ast.StringTerm(in.Subject.ID)), kv("roles", strs(in.Subject.Roles)))
	if in.Subject.Organisation != "" {
		subject = append(subject, kv("organisation", str(in.Subject.Organisation)))
	}
	if in.Subject.Municipality != "" {
		subject = append(subject, kv("municipality", str(in.Subject.Municipality)))
	}
	filters := make([][2]*ast.Term, 0, len(in.Resource.Filters))
	for k, v := range in.Resource.Filters {
		filters = append(filters, [2]*ast.Term{str(k), strs(v)})
	}
	resource := make([][2]*ast.Term, 0, 7)
	resource = append(resource,
		kv("dataset", str(in.Resource.Dataset)),
		kv("dimensions", strs(in.Resource.Dimensions)),
		kv("filters", ast.ObjectTerm(filters...)),
		kv("smallest_population", ast.InternedTerm(in.Resource.SmallestPopulation)),
		kv("row_level", ast.InternedTerm(in.Resource.RowLevel)),
		kv("published", ast.InternedTerm(in.Resource.Published)),
	)
	if p := in.Resource.Period; p != nil {
		resource = append(resource, kv("period", ast.ObjectTerm(kv("from", str(p.From)), kv("to", str(p.To)))))
	}
	releases := make([]*ast.Term, len(in.Context.Releases))
	for i, t := range in.Context.Releases {
		releases[i] = ast.StringTerm(t.UTC().Format(time.RFC3339))
	}
	doc := make([][2]*ast.Term, 0, 5)
	doc = append(doc,
		kv("subject", ast.ObjectTerm(subject...)),
		kv("action", str(in.Action)),
		kv("resource", ast.ObjectTerm(resource...)),
		kv("context", ast.ObjectTerm(
			kv("time", ast.StringTerm(in.Context.Time.UTC().Format(time.RFC3339Nano))),
			kv("releases", ast.ArrayTerm(releases...)),
		)),
	)
	if p := in.Project; p != nil {
		project := make([][2]*ast.Term, 0, 9)
		project = append(project,
			kv("id", ast.StringTerm(p.ID)), kv("status", str(p.Status)),
			kv("purpose", str(p.Purpose)), kv("end_date", str(p.EndDate)),
			kv("dpia_done", ast.InternedTerm(p.DPIADone)), kv("members", strs(p.Members)),
		)
		if p.ApprovedAt != "" {
			project = append(project, kv("approved_at", str(p.ApprovedAt)))
		}
		if p.REK != "" {
			project = append(project, kv("rek", str(p.REK)))
		}
		if p.LegalBasis != "" {
			project = append(project, kv("legal_basis", str(p.LegalBasis)))
		}
		doc = append(doc, kv("project", ast.ObjectTerm(project...)))
	}
	return ast.NewObject(doc...)
}

// termTable holds one AST term per string, shared by every decision.
type termTable map[string]*ast.Term

// fieldTerms are the field names of the input and of the decision the
// policy returns, and the policy's constant words.
var fieldTerms = newTermTable(
	"subject", "id", "roles", "organisation", "municipality", "action", "resource", "dataset",
	"dimensions", "filters", "smallest_population", "row_level", "published", "period", "from", "to",
	"context", "time", "releases", "project", "status", "purpose", "approved_at", "end_date", "rek",
	"dpia_done", "legal_basis", "members",
	"allow", "review", "deny", "review_reasons", "obligations", "code", "title", "title_nb", "message",
	"nb", "en", "detail", "k", "protection_level", "rounding_base", "perturbation", "geo_levels",
	"age_groupings", "approved", "research", "icpc2",
)

func newTermTable(ss ...string) termTable {
	t := make(termTable, len(ss))
	for _, s := range ss {
		t[s] = ast.StringTerm(s)
	}
	return t
}

// fieldTerm is the term of a field name.
func fieldTerm(k string) *ast.Term {
	if t, ok := fieldTerms[k]; ok {
		return t
	}
	return ast.StringTerm(k)
}

// dataTerms collects every string of the policy data, keys and values, so
// that the names a request shares with the policy are built once.
func dataTerms(v ast.Value) termTable {
	t := termTable{}
	var walk func(v ast.Value)
	walk = func(v ast.Value) {
		switch x := v.(type) {
		case ast.String:
			if _, ok := t[string(x)]; !ok {
				t[string(x)] = ast.NewTerm(x)
			}
		case ast.Object:
			x.Foreach(func(k, e *ast.Term) {
				walk(k.Value)
				walk(e.Value)
			})
		case *ast.Array:
			x.Foreach(func(e *ast.Term) { walk(e.Value) })
		case ast.Set:
			x.Foreach(func(e *ast.Term) { walk(e.Value) })
		}
	}
	walk(v)
	return t
}
