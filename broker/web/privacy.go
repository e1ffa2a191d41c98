package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/kunnskapskommunen/folkekommune/broker/audit"
	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"github.com/kunnskapskommunen/folkekommune/broker/requests"
	"github.com/kunnskapskommunen/folkekommune/policies"
)

// The privacy officer's pages: the running policy's rules as written (Rego
// source, METADATA, tests and coverage), the decision log, the review
// queue with approve/reject, the what-if tool and the audit chain's status.
// They call what the API's /api/v1/policies, /api/v1/requests/{id}/approve
// and /api/v1/audit/status call: the policy engine, the request service
// and the audit log.

// overseers read the privacy pages; only a privacy officer reviews (the
// request service checks that again).
var overseers = []string{rolePrivacy, roleAdmin}

// privacyRoutes registers the privacy officer's pages under /personvern.
func (p *Pages) privacyRoutes(r chi.Router) {
	r.Get("/personvern", p.need(overseers, p.privacyHome))
	r.Get("/personvern/regler", p.need(overseers, p.policyRules))
	r.Get("/personvern/beslutninger", p.need(overseers, p.decisionLog))
	r.Get("/personvern/vurdering", p.need(overseers, p.reviewQueue))
	r.Get("/personvern/vurdering/{id}", p.need(overseers, p.reviewPage))
	r.Post("/personvern/vurdering/{id}", p.need([]string{rolePrivacy}, p.reviewDecide))
	r.Get("/personvern/hva-om", p.need(overseers, p.whatIfForm))
	r.Post("/personvern/hva-om", p.need(overseers, p.whatIfRun))
	r.Get("/personvern/revisjonslogg", p.need(overseers, p.auditStatus))
}

// privacyHome is the overview: the policy version and its tests, the
// queue's length and the chain's head, each linking to its page. The
// chain is verified on its own page, not on every visit here: Verify
// walks the whole chain.
type privacyHome struct {
	Version *policies.Version
	Queue   int
	Head    audit.Head
}

func (p *Pages) privacyHome(w http.ResponseWriter, r *http.Request) error {
	queue, err := p.deps.Requests.List(r.Context(), requests.ListFilter{State: requests.StateReview})
	if err != nil {
		return err
	}
	h := privacyHome{Version: p.deps.Policy.Current(), Queue: len(queue)}
	if h.Head, err = p.deps.Audit.Head(r.Context()); err != nil {
		return err
	}
	return p.page(w, r, http.StatusOK, "privacy/home", "privacy.title", h)
}

// ruleView is one rule as the rules page shows it.
type ruleView struct {
	policies.Rule
	Title, OtherTitle, Message string
	Passed, Failed             int
	Source                     string
}

type rulesPage struct {
	Version   *policies.Version
	Coded     []ruleView // deny and review rules
	Helpers   []ruleView // the decision's other parts and helpers
	NoSource  bool
	SourceDir string
}

func (p *Pages) policyRules(w http.ResponseWriter, r *http.Request) error {
	v := p.deps.Policy.Current()
	lang := langFrom(r.Context())
	rp := rulesPage{Version: v}
	if v.Source != "embedded" {
		rp.SourceDir = v.Source
	}
	for _, rule := range v.Rules {
		rv := ruleView{Rule: rule, Title: rule.Title, Message: rule.Message.EN}
		if lang != langEN {
			if rule.TitleNB != "" {
				rv.Title, rv.OtherTitle = rule.TitleNB, rule.Title
			}
			rv.Message = rule.Message.NB
		}
		for _, t := range rule.Tests {
			if t.Pass {
				rv.Passed++
			} else {
				rv.Failed++
			}
		}
		// The running version's own text: after a refused reload the
		// files on disk are ahead of what decides.
		rv.Source = v.RuleSource(rule)
		if rv.Source == "" {
			rp.NoSource = true
		}
		if rule.Code != "" {
			rp.Coded = append(rp.Coded, rv)
		} else {
			rp.Helpers = append(rp.Helpers, rv)
		}
	}
	return p.page(w, r, http.StatusOK, "privacy/rules", "privacy.rules", rp)
}

// The decision log: policy decisions and the privacy officer's verdicts,
// newest first, filtered and paged.

const decisionsPerPage = 50

type decisionFilter struct {
	Outcome, Actor, From, To, Kind string
	Page                           int
}

type decisionRow struct {
	Seq              int64
	Time             time.Time
	Kind             string // decision or approval
	Actor            string
	Outcome          string // allow, review, deny; approve, reject
	Action, Dataset  string
	Reasons          []string
	PolicyVersion    string
	RequestID, State string
	Comment          string
	DecisionID       string
}

type decisionLogPage struct {
	Filter     decisionFilter
	Outcomes   []option
	Kinds      []option
	Rows       []decisionRow
	Total      int
	Page, Last int
	PrevURL    string
	NextURL    string
	Error      string
}

// decisionOutcomes are the outcomes one can filter by: the policy's and
// the privacy officer's.
var decisionOutcomes = []string{policies.OutcomeAllow, policies.OutcomeReview, policies.OutcomeDeny, requests.ActionApprove, requests.ActionReject}

func (p *Pages) decisionLog(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lang := langFrom(r.Context())
	f := decisionFilter{Outcome: q.Get("utfall"), Actor: strings.TrimSpace(q.Get("aktor")), From: q.Get("fra"), To: q.Get("til"), Kind: q.Get("type")}
	f.Page, _ = strconv.Atoi(q.Get("side"))
	f.Page = max(f.Page, 1)
	dp := decisionLogPage{Filter: f}
	dp.Outcomes = append(dp.Outcomes, option{"", translate(lang, "privacy.all"), f.Outcome == ""})
	for _, o := range decisionOutcomes {
		dp.Outcomes = append(dp.Outcomes, option{o, translate(lang, "privacy.outcome."+o), f.Outcome == o})
	}
	for _, k := range []string{"", audit.KindDecision, audit.KindApproval} {
		key := "privacy.kind." + k
		if k == "" {
			key = "privacy.kind.all"
		}
		dp.Kinds = append(dp.Kinds, option{k, translate(lang, key), f.Kind == k})
	}
	af := audit.Filter{Actor: f.Actor}
	var problem *requests.InputError
	var err error
	if af.From, err = parseDay(f.From, "fra"); err != nil {
		errors.As(err, &problem)
	}
	if af.To, err = parseDay(f.To, "til"); err != nil {
		errors.As(err, &problem)
	} else if !af.To.IsZero() {
		af.To = af.To.AddDate(0, 0, 1) // the day named is included
	}
	if f.Outcome != "" && !contains(decisionOutcomes, f.Outcome) {
		problem = &requests.InputError{Field: "utfall", Problem: fmt.Sprintf("%q: want one of %s", f.Outcome, strings.Join(decisionOutcomes, ", "))}
	}
	if f.Kind != "" && f.Kind != audit.KindDecision && f.Kind != audit.KindApproval {
		problem = &requests.InputError{Field: "type", Problem: fmt.Sprintf("%q: want decision or approval", f.Kind)}
	}
	if problem != nil {
		dp.Error = translate(lang, "privacy.filter_problem", translate(lang, "privacy.filter."+problem.Field), problem.Error())
		return p.page(w, r, http.StatusBadRequest, "privacy/decisions", "privacy.decisions", dp)
	}
	var entries []audit.Entry
	for _, kind := range []string{audit.KindDecision, audit.KindApproval} {
		if f.Kind != "" && f.Kind != kind {
			continue
		}
		af.Kind = kind
		es, err := p.deps.Audit.List(r.Context(), af)
		if err != nil {
			return err
		}
		entries = append(entries, es...)
	}
	// Newest first, as the API's decision log answers.
	sort.Slice(entries, func(i, j int) bool { return entries[i].Seq > entries[j].Seq })
	var kept []audit.Entry
	for _, e := range entries {
		if _, ok := e.Detail["decision_id"]; e.Kind == audit.KindApproval && !ok {
			continue // the portfolio's data-access approvals share the kind
		}
		if f.Outcome == "" || entryOutcome(e) == f.Outcome {
			kept = append(kept, e)
		}
	}
	dp.Total = len(kept)
	dp.Last = max(1, (len(kept)+decisionsPerPage-1)/decisionsPerPage)
	dp.Page = min(f.Page, dp.Last)
	lo := (dp.Page - 1) * decisionsPerPage
	kept = kept[lo:min(lo+decisionsPerPage, len(kept))]

	// Which request each decision was taken for, and where it stands now.
	byDecision := map[string]requests.Request{}
	if len(kept) > 0 {
		reqs, err := p.deps.Requests.List(r.Context(), requests.ListFilter{})
		if err != nil {
			return err
		}
		for _, rq := range reqs {
			byDecision[rq.DecisionID] = rq
		}
	}
	for _, e := range kept {
		row := decisionRow{Seq: e.Seq, Time: e.Time, Kind: e.Kind, Actor: e.Actor, Outcome: entryOutcome(e)}
		switch e.Kind {
		case audit.KindDecision:
			row.DecisionID = e.Object
			if in, ok := e.Detail["input"].(map[string]any); ok {
				row.Action, _ = in["action"].(string)
				if res, ok := in["resource"].(map[string]any); ok {
					ds, _ := res["dataset"].(string)
					row.Dataset = datasetLabel(lang, ds)
				}
			}
			row.Reasons = append(strs(e.Detail["deny"]), strs(e.Detail["review_reasons"])...)
			row.PolicyVersion, _ = e.Detail["policy_version"].(string)
			if rq, ok := byDecision[e.Object]; ok {
				row.RequestID, row.State = rq.ID, rq.State
			}
		case audit.KindApproval:
			row.RequestID = e.Object
			row.DecisionID, _ = e.Detail["decision_id"].(string)
			ds, _ := e.Detail["dataset"].(string)
			row.Dataset = datasetLabel(lang, ds)
			row.State, _ = e.Detail["to"].(string)
			row.Reasons = strs(e.Detail["reasons"])
		}
		dp.Rows = append(dp.Rows, row)
	}
	page := func(n int) string {
		v := url.Values{}
		for k, x := range map[string]string{"utfall": f.Outcome, "aktor": f.Actor, "fra": f.From, "til": f.To, "type": f.Kind} {
			if x != "" {
				v.Set(k, x)
			}
		}
		v.Set("side", strconv.Itoa(n))
		return "/personvern/beslutninger?" + v.Encode()
	}
	if dp.Page > 1 {
		dp.PrevURL = page(dp.Page - 1)
	}
	if dp.Page < dp.Last {
		dp.NextURL = page(dp.Page + 1)
	}
	return p.page(w, r, http.StatusOK, "privacy/decisions", "privacy.decisions", dp)
}

// entryOutcome is a decision's outcome or a verdict's action.
func entryOutcome(e audit.Entry) string {
	key := "outcome"
	if e.Kind == audit.KindApproval {
		key = "action"
	}
	s, _ := e.Detail[key].(string)
	return s
}

func strs(v any) []string {
	xs, _ := v.([]any)
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// parseDay reads a date filter (YYYY-MM-DD, as the date input sends it).
func parseDay(v, field string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, &requests.InputError{Field: field, Problem: fmt.Sprintf("%q is not a date (YYYY-MM-DD)", v)}
	}
	return t, nil
}

// The review queue.

type queueRow struct {
	requests.Request
	DatasetLabel string
}

type queuePage struct {
	Rows   []queueRow
	Notice string
}

func (p *Pages) reviewQueue(w http.ResponseWriter, r *http.Request) error {
	list, err := p.deps.Requests.List(r.Context(), requests.ListFilter{State: requests.StateReview})
	if err != nil {
		return err
	}
	lang := langFrom(r.Context())
	qp := queuePage{}
	// Oldest first: the queue is worked from the front.
	for i := len(list) - 1; i >= 0; i-- {
		qp.Rows = append(qp.Rows, queueRow{Request: list[i], DatasetLabel: datasetLabel(lang, list[i].Spec.Dataset)})
	}
	if id, state := r.URL.Query().Get("behandlet"), r.URL.Query().Get("tilstand"); id != "" && state != "" {
		qp.Notice = translate(lang, "privacy.reviewed", id, translate(lang, "state."+state))
	}
	return p.page(w, r, http.StatusOK, "privacy/queue", "privacy.queue", qp)
}

type reviewPage struct {
	requestPage
	MayDecide bool
	Comment   string
	Error     string
}

func (p *Pages) reviewData(r *http.Request, id string) (*reviewPage, error) {
	req, err := p.deps.Requests.Get(r.Context(), id)
	if err != nil {
		return nil, err
	}
	u, _ := userFrom(r.Context())
	lang := langFrom(r.Context())
	rp := &reviewPage{requestPage: newRequestPage(lang, req)}
	rp.MayDecide = u.Role == rolePrivacy && req.State == requests.StateReview && req.Requester != u.ID
	for _, rv := range req.Reviews {
		if rv.Reviewer == u.ID {
			rp.MayDecide = false
		}
	}
	return rp, nil
}

func (p *Pages) reviewPage(w http.ResponseWriter, r *http.Request) error {
	rp, err := p.reviewData(r, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return p.page(w, r, http.StatusOK, "privacy/review", "privacy.review", rp)
}

// reviewDecide approves or rejects through the request service's Decide,
// which the API's approve and reject call: one state table, nobody
// reviews their own request, the last approval releases the table.
func (p *Pages) reviewDecide(w http.ResponseWriter, r *http.Request) error {
	u, _ := userFrom(r.Context())
	id := chi.URLParam(r, "id")
	verdict, comment := r.PostFormValue("verdict"), r.PostFormValue("comment")
	req, err := p.deps.Requests.Decide(r.Context(), u, id, verdict, comment)
	var ie *requests.InputError
	if errors.As(err, &ie) {
		rp, gerr := p.reviewData(r, id)
		if gerr != nil {
			return gerr
		}
		lang := langFrom(r.Context())
		rp.Comment = comment
		rp.Error = translate(lang, "privacy.review_problem", translate(lang, "privacy.field."+ie.Field), ie.Error())
		return p.page(w, r, http.StatusBadRequest, "privacy/review", "privacy.review", rp)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/personvern/vurdering?"+url.Values{"behandlet": {req.ID}, "tilstand": {req.State}}.Encode(), http.StatusSeeOther)
	return nil
}

// The what-if tool: a hypothetical request, decided by the running policy
// through Engine.WhatIf (what POST /api/v1/policies/what-if calls):
// nothing is logged and nothing released.

type whatIfPage struct {
	Roles, Actions, Datasets, Purposes, Statuses []option
	Dimensions                                   []option
	Chapters                                     []option
	Municipalities                               []option
	Form                                         url.Values
	Input                                        string
	Error                                        string
	Decision                                     *decisionView
	Explanation                                  string
	From, Was                                    string // the logged decision replayed, and its outcome then
}

// whatIfDefaults describe an ordinary research request by a member of an
// approved project, so that one changed field shows its effect.
func whatIfDefaults(now time.Time) url.Values {
	return url.Values{
		"role": {roleResearcher}, "action": {policies.ActionReleaseRequest}, "dataset": {"gp_contact"},
		"dim": {"municipality", "sex"}, "from": {"2022-01-01"}, "to": {"2024-12-31"}, "population": {"0"},
		"project_status": {"approved"}, "purpose": {"research"}, "rek": {"2024/123456"}, "legal_basis": {"hfl-35"},
		"end_date": {now.AddDate(1, 0, 0).Format(time.DateOnly)}, "member": {"on"}, "releases": {"0"},
	}
}

func (p *Pages) whatIfData(r *http.Request, f url.Values) *whatIfPage {
	lang := langFrom(r.Context())
	pick := func(l catalog.Label) string {
		if lang == langEN && l.EN != "" {
			return l.EN
		}
		return l.NB
	}
	wp := &whatIfPage{Form: f}
	for _, role := range anyRole {
		wp.Roles = append(wp.Roles, option{role, translate(lang, "role."+role), f.Get("role") == role})
	}
	for _, a := range []string{policies.ActionReleaseRequest, policies.ActionGovernanceRequest, policies.ActionIndicatorRead} {
		wp.Actions = append(wp.Actions, option{a, a, f.Get("action") == a})
	}
	for _, d := range catalog.Datasets {
		wp.Datasets = append(wp.Datasets, option{d.ID, pick(d.Label), f.Get("dataset") == d.ID})
	}
	dims := map[string]bool{}
	for _, d := range catalog.Datasets {
		for _, id := range d.Dimensions {
			if dims[id] {
				continue
			}
			dims[id] = true
			wp.Dimensions = append(wp.Dimensions, option{id, dimensionLabel(lang, id), contains(f["dim"], id)})
		}
	}
	if d, ok := catalog.DimensionByID("icpc2_chapter"); ok {
		for _, c := range d.Categories {
			if c.Code != catalog.Total {
				wp.Chapters = append(wp.Chapters, option{c.Code, c.Code + " " + pick(c.Label), contains(f["chapter"], c.Code)})
			}
		}
	}
	for _, code := range catalog.MunicipalityCodes() {
		m, _ := catalog.MunicipalityByCode(code)
		wp.Municipalities = append(wp.Municipalities, option{code, m.Name, contains(f["municipality"], code)})
	}
	for _, s := range []string{"research", "quality_improvement", "governance"} {
		wp.Purposes = append(wp.Purposes, option{s, translate(lang, "privacy.purpose."+s), f.Get("purpose") == s})
	}
	for _, s := range []string{"approved", "submitted", "closed"} {
		wp.Statuses = append(wp.Statuses, option{s, translate(lang, "privacy.project_status."+s), f.Get("project_status") == s})
	}
	return wp
}

// whatIfForm is the empty tool, or, with ?beslutning=ID, a logged
// decision's input (as the log keeps it, users pseudonymised) decided
// again by the running policy: how would today's rules answer it?
func (p *Pages) whatIfForm(w http.ResponseWriter, r *http.Request) error {
	f := whatIfDefaults(time.Now())
	wp := p.whatIfData(r, f)
	wp.Input = mustIndent(whatIfInput(f, time.Now()))
	id := r.URL.Query().Get("beslutning")
	if id == "" {
		return p.page(w, r, http.StatusOK, "privacy/whatif", "privacy.whatif", wp)
	}
	entries, err := p.deps.Audit.List(r.Context(), audit.Filter{Kind: audit.KindDecision, Object: id, Limit: 1})
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return fmt.Errorf("%w: no decision %s", requests.ErrNotFound, id)
	}
	doc, ok := entries[0].Detail["input"].(map[string]any)
	if !ok {
		return fmt.Errorf("%w: decision %s has no logged input", requests.ErrNotFound, id)
	}
	lang := langFrom(r.Context())
	wp.Form = url.Values{"run": {"json"}}
	wp.Input = mustIndent(doc)
	wp.From = id
	wp.Was, _ = entries[0].Detail["outcome"].(string)
	d, err := p.deps.Policy.WhatIf(r.Context(), doc)
	if err != nil {
		p.log.WarnContext(r.Context(), "what-if evaluation failed", "err", err)
	}
	wp.Decision = viewDecision(lang, d.Outcome(), d.PolicyVersion, d.Deny, d.ReviewReasons, d.Obligations)
	wp.Explanation = d.Explain(lang)
	return p.page(w, r, http.StatusOK, "privacy/whatif", "privacy.whatif", wp)
}

// whatIfRun decides the hypothetical request: the form's fields, or the
// JSON input as typed when the officer chose "evaluate the JSON".
func (p *Pages) whatIfRun(w http.ResponseWriter, r *http.Request) error {
	lang := langFrom(r.Context())
	f := r.PostForm
	wp := p.whatIfData(r, f)
	var doc map[string]any
	if f.Get("run") == "json" {
		wp.Input = f.Get("input")
		var err error
		if doc, err = policies.ParseInput([]byte(wp.Input)); err != nil || doc == nil {
			wp.Error = translate(lang, "privacy.whatif_bad_json", fmt.Sprint(err))
			return p.page(w, r, http.StatusBadRequest, "privacy/whatif", "privacy.whatif", wp)
		}
		if _, ok := doc["context"]; !ok {
			doc["context"] = map[string]any{"time": time.Now().UTC().Format(time.RFC3339)}
		}
	} else {
		doc = whatIfInput(f, time.Now())
		wp.Input = mustIndent(doc)
	}
	d, err := p.deps.Policy.WhatIf(r.Context(), doc)
	if err != nil {
		// As in the API: a decision the policy could not take is a denial
		// with code policy_error, shown like any other.
		p.log.WarnContext(r.Context(), "what-if evaluation failed", "err", err)
	}
	wp.Decision = viewDecision(lang, d.Outcome(), d.PolicyVersion, d.Deny, d.ReviewReasons, d.Obligations)
	wp.Explanation = d.Explain(lang)
	return p.page(w, r, http.StatusOK, "privacy/whatif", "privacy.whatif", wp)
}

// whatIfInput is the policy input document the form describes, in the
// shape policies.Input gives the real requests.
func whatIfInput(f url.Values, now time.Time) map[string]any {
	num := func(k string) int {
		n, _ := strconv.Atoi(strings.TrimSpace(f.Get(k)))
		return n
	}
	subject := "hypotetisk.bruker"
	dims := f["dim"]
	if dims == nil {
		dims = []string{}
	}
	in := policies.Input{
		Subject: policies.Subject{ID: subject, Roles: []string{f.Get("role")}, Municipality: f.Get("subject_municipality")},
		Action:  f.Get("action"),
		Resource: policies.Resource{
			Dataset: f.Get("dataset"), Dimensions: dims, SmallestPopulation: num("population"),
			RowLevel: f.Get("row_level") == "on", Published: f.Get("action") == policies.ActionIndicatorRead,
		},
		Context: policies.Context{Time: now.UTC()},
	}
	if from, to := f.Get("from"), f.Get("to"); from != "" || to != "" {
		in.Resource.Period = &policies.Period{From: from, To: to}
	}
	filters := map[string][]string{}
	if ms := f["municipality"]; len(ms) > 0 {
		filters["municipality"] = ms
	}
	if cs := f["chapter"]; len(cs) > 0 {
		// The policy reads diagnosis filters under icpc2, as the request
		// service gives them.
		filters["icpc2"] = cs
	}
	if len(filters) > 0 {
		in.Resource.Filters = filters
	}
	if f.Get("project_status") != "" {
		members := []string{"en.annen"}
		if f.Get("member") == "on" {
			members = append(members, subject)
		}
		in.Project = &policies.Project{
			ID: "hypotetisk", Status: f.Get("project_status"), Purpose: f.Get("purpose"), EndDate: f.Get("end_date"),
			REK: strings.TrimSpace(f.Get("rek")), DPIADone: f.Get("dpia") == "on", LegalBasis: strings.TrimSpace(f.Get("legal_basis")),
			Members: members, ApprovedAt: now.AddDate(0, -6, 0).Format(time.DateOnly),
		}
	}
	for i := range min(num("releases"), 1000) {
		in.Context.Releases = append(in.Context.Releases, now.Add(-time.Duration(i+1)*time.Hour).UTC())
	}
	// Through JSON, as the API's what-if receives it.
	b, _ := json.Marshal(in)
	doc, _ := policies.ParseInput(b)
	return doc
}

func mustIndent(doc map[string]any) string {
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return "{}"
	}
	return string(b)
}

// The audit chain's status: Verify, as GET /api/v1/audit/status.

type auditPage struct {
	Report audit.VerifyReport
}

func (p *Pages) auditStatus(w http.ResponseWriter, r *http.Request) error {
	rep, err := p.deps.Audit.Verify(r.Context())
	if err != nil {
		return err
	}
	return p.page(w, r, http.StatusOK, "privacy/audit", "privacy.audit", auditPage{Report: rep})
}
