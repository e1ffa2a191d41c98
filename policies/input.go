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
	Roles        []string `json:"roles"` // researcher, coordinator, privacy_officer, fou_contact, admin
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
func (in Input) value() ast.Value {
	strs := func(ss []string) *ast.Term {
		ts := make([]*ast.Term, len(ss))
		for i, s := range ss {
			ts[i] = ast.StringTerm(s)
		}
		return ast.ArrayTerm(ts...)
	}
	kv := func(k string, v *ast.Term) [2]*ast.Term { return ast.Item(ast.InternedTerm(k), v) }

	subject := ast.NewObject(kv("id", ast.StringTerm(in.Subject.ID)), kv("roles", strs(in.Subject.Roles)))
	if in.Subject.Organisation != "" {
		subject.Insert(ast.InternedTerm("organisation"), ast.StringTerm(in.Subject.Organisation))
	}
	if in.Subject.Municipality != "" {
		subject.Insert(ast.InternedTerm("municipality"), ast.StringTerm(in.Subject.Municipality))
	}
	filters := ast.NewObject()
	for k, v := range in.Resource.Filters {
		filters.Insert(ast.StringTerm(k), strs(v))
	}
	resource := ast.NewObject(
		kv("dataset", ast.StringTerm(in.Resource.Dataset)),
		kv("dimensions", strs(in.Resource.Dimensions)),
		kv("filters", ast.NewTerm(filters)),
		kv("smallest_population", ast.IntNumberTerm(in.Resource.SmallestPopulation)),
		kv("row_level", ast.InternedTerm(in.Resource.RowLevel)),
		kv("published", ast.InternedTerm(in.Resource.Published)),
	)
	if p := in.Resource.Period; p != nil {
		resource.Insert(ast.InternedTerm("period"), ast.ObjectTerm(kv("from", ast.StringTerm(p.From)), kv("to", ast.StringTerm(p.To))))
	}
	releases := make([]*ast.Term, len(in.Context.Releases))
	for i, t := range in.Context.Releases {
		releases[i] = ast.StringTerm(t.UTC().Format(time.RFC3339))
	}
	doc := ast.NewObject(
		kv("subject", ast.NewTerm(subject)),
		kv("action", ast.StringTerm(in.Action)),
		kv("resource", ast.NewTerm(resource)),
		kv("context", ast.ObjectTerm(
			kv("time", ast.StringTerm(in.Context.Time.UTC().Format(time.RFC3339Nano))),
			kv("releases", ast.ArrayTerm(releases...)),
		)),
	)
	if p := in.Project; p != nil {
		project := ast.NewObject(
			kv("id", ast.StringTerm(p.ID)), kv("status", ast.StringTerm(p.Status)),
			kv("purpose", ast.StringTerm(p.Purpose)), kv("end_date", ast.StringTerm(p.EndDate)),
			kv("dpia_done", ast.InternedTerm(p.DPIADone)), kv("members", strs(p.Members)),
		)
		if p.ApprovedAt != "" {
			project.Insert(ast.InternedTerm("approved_at"), ast.StringTerm(p.ApprovedAt))
		}
		if p.REK != "" {
			project.Insert(ast.InternedTerm("rek"), ast.StringTerm(p.REK))
		}
		if p.LegalBasis != "" {
			project.Insert(ast.InternedTerm("legal_basis"), ast.StringTerm(p.LegalBasis))
		}
		doc.Insert(ast.InternedTerm("project"), ast.NewTerm(project))
	}
	return doc
}
