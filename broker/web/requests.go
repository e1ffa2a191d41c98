package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"github.com/kunnskapskommunen/folkekommune/broker/cube"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
	"github.com/kunnskapskommunen/folkekommune/broker/requests"
	"github.com/kunnskapskommunen/folkekommune/policies"
)

// The researchers' pages: a request form built from the dataset
// catalogue, a preview of the policy's decision, the list of one's own
// requests, and release pages. They call the request service the API
// calls (Submit, Preview, List, Get, GetRelease, RecordDownload).

// Default period of a new request: the last five years of the extracts.
const (
	defaultFrom = 2020
	defaultTo   = 2024
)

type option struct {
	Value, Label string
	Selected     bool
}

type filterChoice struct {
	ID, Label string
	Options   []option
}

// requestForm is the data of the request form.
type requestForm struct {
	Datasets    []option
	Dataset     *catalog.Dataset
	Description string
	Measures    []option
	Dimensions  []option
	Filters     []filterChoice
	Projects    []option
	From, To    int
	Purpose     string
	Error       string // the problem, one sentence naming the field
	ErrorField  string
	Decision    *decisionView
}

// decisionView is a policy decision as a page shows it.
type decisionView struct {
	Outcome       string
	Deny, Review  []reasonView
	Obligations   policies.Obligations
	PolicyVersion string
}

type reasonView struct {
	Code, Title, LegalBasis, Message string
}

func viewDecision(lang, outcome, version string, deny, review []policies.Finding, ob policies.Obligations) *decisionView {
	conv := func(fs []policies.Finding) []reasonView {
		var out []reasonView
		for _, f := range fs {
			rv := reasonView{Code: f.Code, Title: f.Title, LegalBasis: f.LegalBasis, Message: f.Message.EN}
			if lang != langEN {
				if f.TitleNB != "" {
					rv.Title = f.TitleNB
				}
				rv.Message = f.Message.NB
			}
			out = append(out, rv)
		}
		return out
	}
	if len(version) > 12 {
		version = version[:12]
	}
	return &decisionView{Outcome: outcome, Deny: conv(deny), Review: conv(review), Obligations: ob, PolicyVersion: version}
}

// specFromForm reads the form's fields into a spec. Unparseable numbers
// are left zero for Validate to name.
func specFromForm(f url.Values) requests.Spec {
	s := requests.Spec{
		Dataset: f.Get("dataset"), Measure: f.Get("measure"), Purpose: f.Get("purpose"),
		Dimensions: f["dim"],
	}
	s.Project, _ = strconv.ParseInt(f.Get("project"), 10, 64)
	s.Period.From, _ = strconv.Atoi(f.Get("from"))
	s.Period.To, _ = strconv.Atoi(f.Get("to"))
	for k, vs := range f {
		if id, ok := strings.CutPrefix(k, "f."); ok && len(vs) > 0 {
			if s.Filters == nil {
				s.Filters = map[string][]string{}
			}
			s.Filters[id] = vs
		}
	}
	return s
}

// buildForm fills the form from values (the query or the posted form).
func (p *Pages) buildForm(r *http.Request, u User, f url.Values) (*requestForm, error) {
	lang := langFrom(r.Context())
	pick := func(l catalog.Label) string {
		if lang == langEN && l.EN != "" {
			return l.EN
		}
		return l.NB
	}
	form := &requestForm{From: defaultFrom, To: defaultTo, Purpose: f.Get("purpose")}
	if v, err := strconv.Atoi(f.Get("from")); err == nil {
		form.From = v
	}
	if v, err := strconv.Atoi(f.Get("to")); err == nil {
		form.To = v
	}
	chosen := f.Get("dataset")
	for _, d := range catalog.Datasets {
		form.Datasets = append(form.Datasets, option{d.ID, pick(d.Label), d.ID == chosen})
		if d.ID == chosen {
			ds := d
			form.Dataset = &ds
			form.Description = pick(d.Description)
		}
	}
	if form.Dataset != nil {
		measure := f.Get("measure")
		if measure == "" {
			measure = catalog.MeasurePersons
		}
		for _, m := range form.Dataset.Measures {
			form.Measures = append(form.Measures, option{m.ID, pick(m.Label), m.ID == measure})
		}
		dims := f["dim"]
		for _, id := range form.Dataset.Dimensions {
			dim, _ := catalog.DimensionByID(id)
			form.Dimensions = append(form.Dimensions, option{id, pick(dim.Label), contains(dims, id)})
			if !dim.Filterable || len(dim.Categories) == 0 {
				continue
			}
			fc := filterChoice{ID: id, Label: pick(dim.Label)}
			sel := f["f."+id]
			for _, c := range dim.Categories {
				if c.Code == catalog.Total {
					continue
				}
				fc.Options = append(fc.Options, option{c.Code, pick(c.Label), contains(sel, c.Code)})
			}
			form.Filters = append(form.Filters, fc)
		}
	}
	projects, err := p.deps.Portfolio.List(r.Context(), portfolio.Filter{Member: u.ID})
	if err != nil {
		return nil, fmt.Errorf("list the user's projects: %w", err)
	}
	chosenProject := f.Get("project")
	for _, pr := range projects {
		id := strconv.FormatInt(pr.ID, 10)
		form.Projects = append(form.Projects, option{id, pr.Title, id == chosenProject || len(projects) == 1})
	}
	return form, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func (p *Pages) requestForm(w http.ResponseWriter, r *http.Request) error {
	u, _ := userFrom(r.Context())
	form, err := p.buildForm(r, u, r.URL.Query())
	if err != nil {
		return err
	}
	return p.page(w, r, http.StatusOK, "requests/form", "requests.new", form)
}

// requestSubmit previews the decision (action=preview) or sends the
// request (action=submit). A bad field shows the form again with the
// problem named; a sent request goes to its page.
func (p *Pages) requestSubmit(w http.ResponseWriter, r *http.Request) error {
	u, _ := userFrom(r.Context())
	if err := r.ParseForm(); err != nil {
		return &requests.InputError{Field: "body", Problem: "is not a form"}
	}
	lang := langFrom(r.Context())
	form, err := p.buildForm(r, u, r.PostForm)
	if err != nil {
		return err
	}
	spec := specFromForm(r.PostForm)
	if r.PostForm.Get("action") == "choose" || form.Dataset == nil {
		// The "Choose" button of a browser without script.
		return p.page(w, r, http.StatusOK, "requests/form", "requests.new", form)
	}
	var ie *requests.InputError
	if r.PostForm.Get("action") == "preview" {
		_, d, err := p.deps.Requests.Preview(r.Context(), u, spec)
		switch {
		case errors.As(err, &ie):
			form.Error, form.ErrorField = fieldProblem(lang, ie), ie.Field
			return p.page(w, r, http.StatusBadRequest, "requests/form", "requests.new", form)
		case err != nil && d.ID == "":
			return err
		}
		// A decision the policy could not take is a denial with code
		// policy_error, shown like any other.
		form.Decision = viewDecision(lang, d.Outcome(), d.PolicyVersion, d.Deny, d.ReviewReasons, d.Obligations)
		return p.page(w, r, http.StatusOK, "requests/form", "requests.new", form)
	}
	req, err := p.deps.Requests.Submit(r.Context(), u, spec)
	if errors.As(err, &ie) {
		form.Error, form.ErrorField = fieldProblem(lang, ie), ie.Field
		return p.page(w, r, http.StatusBadRequest, "requests/form", "requests.new", form)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/foresporsler/"+url.PathEscape(req.ID), http.StatusSeeOther)
	return nil
}

// fieldProblem names the form field an input error is about, in the
// page's language, followed by the service's own sentence.
func fieldProblem(lang string, ie *requests.InputError) string {
	field := ie.Field
	if i := strings.IndexAny(field, ".["); i > 0 {
		field = field[:i]
	}
	return translate(lang, "requests.field_problem", translate(lang, "field."+field), ie.Error())
}

type requestRow struct {
	requests.Request
	DatasetLabel string
}

func (p *Pages) requestList(w http.ResponseWriter, r *http.Request) error {
	u, _ := userFrom(r.Context())
	f := requests.ListFilter{Requester: u.ID, Limit: 200}
	if u.Role == rolePrivacy || u.Role == roleAdmin {
		f.Requester = ""
	}
	list, err := p.deps.Requests.List(r.Context(), f)
	if err != nil {
		return err
	}
	lang := langFrom(r.Context())
	rows := make([]requestRow, 0, len(list))
	for _, q := range list {
		rows = append(rows, requestRow{Request: q, DatasetLabel: datasetLabel(lang, q.Spec.Dataset)})
	}
	return p.page(w, r, http.StatusOK, "requests/list", "requests.title", rows)
}

func datasetLabel(lang, id string) string {
	if d, ok := catalog.DatasetByID(id); ok {
		if lang == langEN {
			return d.Label.EN
		}
		return d.Label.NB
	}
	return id
}

// viewable reads a request u may see; others' are "not found", as in the API.
func (p *Pages) viewable(r *http.Request, id string) (requests.Request, error) {
	u, _ := userFrom(r.Context())
	req, err := p.deps.Requests.Get(r.Context(), id)
	if err != nil {
		return requests.Request{}, err
	}
	if !requests.MayView(u, req) {
		return requests.Request{}, fmt.Errorf("%w: no request %s", requests.ErrNotFound, id)
	}
	return req, nil
}

type requestPage struct {
	Request      requests.Request
	DatasetLabel string
	MeasureLabel string
	Dimensions   []string
	Filters      []string
	Decision     *decisionView
}

// newRequestPage describes a request in the reader's language: its
// dataset, measure, dimensions and filters by their labels, and its
// decision. The researcher's and the privacy officer's pages show the same.
func newRequestPage(lang string, req requests.Request) requestPage {
	rp := requestPage{Request: req, DatasetLabel: datasetLabel(lang, req.Spec.Dataset), MeasureLabel: req.Spec.Measure}
	if ds, ok := catalog.DatasetByID(req.Spec.Dataset); ok {
		for _, m := range ds.Measures {
			if m.ID == req.Spec.Measure {
				rp.MeasureLabel = m.Label.NB
				if lang == langEN {
					rp.MeasureLabel = m.Label.EN
				}
			}
		}
	}
	for _, d := range req.Spec.Dimensions {
		rp.Dimensions = append(rp.Dimensions, dimensionLabel(lang, d))
	}
	keys := make([]string, 0, len(req.Spec.Filters))
	for k := range req.Spec.Filters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		rp.Filters = append(rp.Filters, dimensionLabel(lang, k)+": "+strings.Join(req.Spec.Filters[k], ", "))
	}
	var deny, review []policies.Finding
	for _, f := range req.Reasons {
		if req.Outcome == policies.OutcomeDeny {
			deny = append(deny, f)
		} else {
			review = append(review, f)
		}
	}
	rp.Decision = viewDecision(lang, req.Outcome, req.PolicyVersion, deny, review, req.Obligations)
	return rp
}

func (p *Pages) requestPage(w http.ResponseWriter, r *http.Request) error {
	req, err := p.viewable(r, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	rp := newRequestPage(langFrom(r.Context()), req)
	return p.page(w, r, http.StatusOK, "requests/show", "requests.one", rp)
}

func dimensionLabel(lang, id string) string {
	if d, ok := catalog.DimensionByID(id); ok {
		if lang == langEN && d.Label.EN != "" {
			return d.Label.EN
		}
		return d.Label.NB
	}
	return id
}

// release reads a release whose request u may see.
func (p *Pages) release(r *http.Request) (*requests.Release, requests.Request, error) {
	rel, err := p.deps.Requests.GetRelease(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return nil, requests.Request{}, err
	}
	req, err := p.viewable(r, rel.RequestID)
	if err != nil {
		return nil, requests.Request{}, fmt.Errorf("%w: no release %s", requests.ErrNotFound, rel.ID)
	}
	return rel, req, nil
}

type releasePage struct {
	Release      *requests.Release
	Request      requests.Request
	DatasetLabel string
	Table        flatTable
	Formats      []option
}

func (p *Pages) releasePage(w http.ResponseWriter, r *http.Request) error {
	rel, req, err := p.release(r)
	if err != nil {
		return err
	}
	lang := langFrom(r.Context())
	rp := releasePage{Release: rel, Request: req, DatasetLabel: datasetLabel(lang, rel.Dataset), Table: flatten(lang, rel.Table, 0)}
	for _, f := range downloadFormats {
		rp.Formats = append(rp.Formats, option{Value: "/utleveringer/" + url.PathEscape(rel.ID) + "/last-ned?format=" + f.Name, Label: translate(lang, f.Key)})
	}
	return p.page(w, r, http.StatusOK, "requests/release", "requests.release", rp)
}

// releaseDownload writes a release's protected table and audits the
// download, as the API's GET /api/v1/releases/{id} does.
func (p *Pages) releaseDownload(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "csv"
	}
	if !validFormat(format) {
		return &requests.InputError{Field: "format", Problem: fmt.Sprintf("%q: want csv, excel, jsonstat or json", format)}
	}
	rel, _, err := p.release(r)
	if err != nil {
		return err
	}
	u, _ := userFrom(r.Context())
	if err := p.deps.Requests.RecordDownload(r.Context(), u, rel, format); err != nil {
		return fmt.Errorf("record the download: %w", err)
	}
	w.Header().Set("X-Release-SHA256", rel.SHA256)
	return writeDownload(w, r, format, rel.Table, rel.ID, cube.JSONStatOptions{
		Label:   cube.Label{NB: "Utlevering " + rel.ID, EN: "Release " + rel.ID},
		Source:  "FolkeKommune, Kunnskapskommunen Helse Omsorg Vest",
		Updated: rel.CreatedAt.Format("2006-01-02T15:04:05Z"),
	})
}
