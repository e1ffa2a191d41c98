package web

import (
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"github.com/kunnskapskommunen/folkekommune/broker/inquiry"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio/api"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio/report"
)

// The portfolio and inquiry pages: the public inquiry form and its
// receipt, the R&D contact's inbox with deadlines and the actions the
// inquiry workflow allows, the project portfolio, and the yearly report's
// figures. They call the registries the API (broker/portfolio/api) calls,
// with the same actor, so every rule about who may do what stays in the
// domain packages.

// portfolioRoutes registers the portfolio and inquiry pages.
func (p *Pages) portfolioRoutes(r chi.Router) {
	contacts := []string{roleFoU, roleAdmin}
	// The receipts belong to these pages: each Pages has its own, as it
	// has its own sessions, whose ids key them.
	receipts := newReceiptBox(p.deps.Now)
	r.Get("/henvendelser/ny", p.h(p.inquiryForm))
	r.Post("/henvendelser/ny", p.h(func(w http.ResponseWriter, r *http.Request) error {
		return p.inquirySubmit(w, r, receipts)
	}))
	r.Get("/henvendelser/kvittering", p.h(func(w http.ResponseWriter, r *http.Request) error {
		return p.inquiryReceipt(w, r, receipts)
	}))
	r.Get("/henvendelser", p.need(contacts, p.inbox))
	r.Get("/henvendelser/{id}", p.need(contacts, p.inquiryPage))
	r.Post("/henvendelser/{id}/oppdrag/{aid}", p.need(contacts, p.assignmentAct))
	r.Post("/henvendelser/{id}/prosjekt", p.need(contacts, p.inquiryToProject))
	// The portfolio is public, as in the API; people and members only for
	// those who may edit a project.
	r.Get("/prosjekter", p.h(p.projectList))
	r.Get("/prosjekter/rapport", p.h(p.yearlyReport))
	r.Get("/prosjekter/{id}", p.h(p.projectPage))
}

func init() {
	errorMappers = append(errorMappers, func(err error) (int, string, bool) {
		var ie *portfolio.InputError
		var fe *portfolio.ForbiddenError
		var se *portfolio.StateError
		var ne *portfolio.NotFoundError
		switch {
		case errors.As(err, &ie):
			return http.StatusBadRequest, "error.input", true
		case errors.As(err, &fe):
			return http.StatusForbidden, "error.forbidden", true
		case errors.As(err, &se):
			return http.StatusConflict, "error.state", true
		case errors.As(err, &ne):
			return http.StatusNotFound, "error.notfound", true
		}
		return 0, "", false
	})
}

// actorOf is the registries' actor for the request: the signed-in user,
// or the zero Actor (the public), as the API has it.
func actorOf(r *http.Request) portfolio.Actor {
	u, ok := userFrom(r.Context())
	if !ok {
		return portfolio.Actor{}
	}
	return portfolio.Actor{ID: u.ID, Role: u.Role, Municipality: u.Municipality}
}

func pickLabel(lang string, l catalog.Label) string {
	if lang == langEN && l.EN != "" {
		return l.EN
	}
	return l.NB
}

// vocabOptions are a vocabulary's terms as choices, chosen marking selected.
func vocabOptions(lang string, v portfolio.Vocabulary, chosen ...string) []option {
	out := make([]option, 0, len(v))
	for _, t := range v {
		out = append(out, option{t.Code, pickLabel(lang, t.Label), contains(chosen, t.Code)})
	}
	return out
}

// vocabLabel is code's label in v, or the code.
func vocabLabel(lang string, v portfolio.Vocabulary, code string) string {
	for _, t := range v {
		if t.Code == code {
			return pickLabel(lang, t.Label)
		}
	}
	return code
}

func municipalityName(code string) string {
	if m, ok := catalog.MunicipalityByCode(code); ok {
		return m.Name
	}
	return code
}

func municipalityOptions(chosen []string) []option {
	var out []option
	for _, code := range catalog.MunicipalityCodes() {
		out = append(out, option{code, municipalityName(code), contains(chosen, code)})
	}
	return out
}

// The public inquiry form.

// inquiryFields are the form's fields in order, for the error summary.
var inquiryFields = []string{"title", "kind", "description", "institution", "researcher_name", "researcher_email",
	"funding", "funding_status", "resources_needed", "knowledge_return", "target_groups", "ethics_status",
	"ethics_reference", "start", "end", "units"}

type inquiryFormPage struct {
	Form                         url.Values
	Kinds, Funding, Ethics       []option
	Municipalities, ServiceAreas []option
	Started                      string
	Errors                       map[string]string // field → one sentence
	Summary                      string
	lang                         string
}

// fieldView is one text field of the form as the template draws it.
type fieldView struct {
	Name, Kind, Label, Help, Value, Error string
	Max                                   int
}

// F is the field name of kind (text, email, date, area) with at most max
// characters (0: no limit).
func (f *inquiryFormPage) F(name, kind string, max int) fieldView {
	help := ""
	if _, ok := messages["inquiry.help."+name]; ok {
		help = translate(f.lang, "inquiry.help."+name)
	}
	return fieldView{Name: name, Kind: kind, Label: translate(f.lang, "inquiry.field."+name), Help: help,
		Value: f.Form.Get(name), Error: f.Errors[name], Max: max}
}

func (p *Pages) inquiryFormData(r *http.Request, f url.Values) *inquiryFormPage {
	lang := langFrom(r.Context())
	return &inquiryFormPage{
		Form:           f,
		Kinds:          vocabOptions(lang, portfolio.ProjectTypes, f.Get("kind")),
		Funding:        vocabOptions(lang, inquiry.FundingStatuses, f.Get("funding_status")),
		Ethics:         vocabOptions(lang, portfolio.ApprovalStatuses, f.Get("ethics_status")),
		Municipalities: municipalityOptions(f["municipality"]),
		ServiceAreas:   vocabOptions(lang, portfolio.ServiceAreas, f["service_area"]...),
		Started:        p.deps.Portfolio.Now().UTC().Format(time.RFC3339),
		Errors:         map[string]string{},
		lang:           lang,
	}
}

func (p *Pages) inquiryForm(w http.ResponseWriter, r *http.Request) error {
	return p.page(w, r, http.StatusOK, "portfolio/inquiry_form", "inquiry.form", p.inquiryFormData(r, url.Values{}))
}

// submissionFrom reads the form into the registry's Submission: one unit
// per ticked municipality, or per ticked municipality and service area.
func submissionFrom(f url.Values) inquiry.Submission {
	s := inquiry.Submission{
		Title: f.Get("title"), Kind: f.Get("kind"), Description: f.Get("description"), Institution: f.Get("institution"),
		ResearcherName: f.Get("researcher_name"), ResearcherEmail: f.Get("researcher_email"), Funding: f.Get("funding"),
		FundingStatus: f.Get("funding_status"), Resources: f.Get("resources_needed"), KnowledgeReturn: f.Get("knowledge_return"),
		TargetGroups: f.Get("target_groups"), EthicsStatus: f.Get("ethics_status"), EthicsReference: f.Get("ethics_reference"),
		Start: portfolio.Date(f.Get("start")), End: portfolio.Date(f.Get("end")), Website: f.Get("website"),
	}
	s.StartedAt, _ = time.Parse(time.RFC3339, f.Get("started"))
	for _, m := range f["municipality"] {
		if len(f["service_area"]) == 0 {
			s.Units = append(s.Units, portfolio.Unit{Municipality: m})
		}
		for _, a := range f["service_area"] {
			s.Units = append(s.Units, portfolio.Unit{Municipality: m, ServiceArea: a})
		}
	}
	return s
}

// inquiryProblem is a refused field in the page's language: the API's
// bokmål sentence, or the field's label and the registry's English one.
func inquiryProblem(lang string, ie *portfolio.InputError) (field, text string) {
	field = ie.Field
	if i := strings.IndexAny(field, "[."); i > 0 {
		field = field[:i]
	}
	if lang == langEN {
		return field, translate(lang, "inquiry.field."+field) + ": " + ie.Problem + "."
	}
	return field, api.Norwegian(ie)
}

func (p *Pages) inquirySubmit(w http.ResponseWriter, r *http.Request, receipts *receiptBox) error {
	if err := r.ParseForm(); err != nil {
		return &portfolio.InputError{Field: "body", Problem: "is not a form"}
	}
	lang := langFrom(r.Context())
	inq, err := p.deps.Inquiries.Submit(r.Context(), submissionFrom(r.PostForm))
	var ie *portfolio.InputError
	if errors.As(err, &ie) {
		form := p.inquiryFormData(r, r.PostForm)
		if s := r.PostForm.Get("started"); s != "" {
			form.Started = s // the guard against forms sent too fast keeps its start
		}
		field, text := inquiryProblem(lang, ie)
		if contains(inquiryFields, field) {
			form.Errors[field] = text
		}
		form.Summary = text
		return p.page(w, r, http.StatusBadRequest, "portfolio/inquiry_form", "inquiry.form", form)
	}
	if err != nil {
		return err
	}
	// The receipt code is shown once, on the next page, to this browser
	// only; it is not put in the address.
	ss := p.ensureSession(w, r)
	receipts.put(ss.ID, inq.ForResearcher(), inq.Receipt)
	http.Redirect(w, r, "/henvendelser/kvittering", http.StatusSeeOther)
	return nil
}

type receipt struct {
	Inquiry inquiry.Inquiry
	Code    string
	At      time.Time
}

// receiptBox holds each browser's latest receipt, by session id, until it
// is shown once or grows too old. It lives in memory, like the sessions.
type receiptBox struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]receipt
}

// receiptLife bounds how long an unread receipt is kept.
const receiptLife = 30 * time.Minute

func newReceiptBox(now func() time.Time) *receiptBox {
	return &receiptBox{now: now, m: map[string]receipt{}}
}

// put keeps the session's receipt, replacing an unread one, and drops
// every receipt left unread too long.
func (b *receiptBox) put(session string, inq inquiry.Inquiry, code string) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, v := range b.m {
		if now.Sub(v.At) > receiptLife {
			delete(b.m, k)
		}
	}
	b.m[session] = receipt{Inquiry: inq, Code: code, At: now}
}

// take hands out the session's receipt once; an expired one is gone.
func (b *receiptBox) take(session string) (receipt, bool) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	rc, ok := b.m[session]
	delete(b.m, session)
	return rc, ok && now.Sub(rc.At) <= receiptLife
}

type receiptRow struct {
	Municipality, ServiceArea, RoutedBy, Deadline, Status string
}

type receiptPage struct {
	ID    int64
	Title string
	Code  string
	Email string
	Rows  []receiptRow
}

func (p *Pages) inquiryReceipt(w http.ResponseWriter, r *http.Request, receipts *receiptBox) error {
	ss := sessionFrom(r.Context())
	if ss == nil {
		return fmt.Errorf("%w: no receipt", errNoReceipt)
	}
	rc, ok := receipts.take(ss.ID)
	if !ok {
		return fmt.Errorf("%w: no receipt", errNoReceipt)
	}
	lang := langFrom(r.Context())
	rp := receiptPage{ID: rc.Inquiry.ID, Title: rc.Inquiry.Title, Code: rc.Code, Email: rc.Inquiry.ResearcherEmail}
	for _, a := range rc.Inquiry.Assignments {
		rp.Rows = append(rp.Rows, receiptRow{
			Municipality: municipalityName(a.Municipality), ServiceArea: areaLabel(lang, a.ServiceArea),
			RoutedBy: translate(lang, "inquiry.routed."+a.RoutedBy), Deadline: string(a.Deadline),
			Status: vocabLabel(lang, inquiry.Statuses, a.Status),
		})
	}
	return p.page(w, r, http.StatusOK, "portfolio/receipt", "inquiry.receipt", rp)
}

var errNoReceipt = &portfolio.NotFoundError{Kind: "receipt"}

func areaLabel(lang, code string) string {
	if code == "" {
		return translate(lang, "inquiry.whole_municipality")
	}
	return vocabLabel(lang, portfolio.ServiceAreas, code)
}

// The R&D contact's inbox: every assignment the actor may see, open ones
// first by deadline, with the working days left.

type inboxRow struct {
	InquiryID, AssignmentID        int64
	Title, Institution, Researcher string
	Municipality, ServiceArea      string
	Status, StatusLabel            string
	Received                       time.Time
	Deadline                       string
	DaysLeft                       int
	Open, Overdue                  bool
}

type inboxPage struct {
	Rows    []inboxRow
	All     bool
	Open    int
	Overdue int
}

func (p *Pages) inbox(w http.ResponseWriter, r *http.Request) error {
	a := actorOf(r)
	list, err := p.deps.Inquiries.List(r.Context(), a)
	if err != nil {
		return err
	}
	lang := langFrom(r.Context())
	ip := inboxPage{All: r.URL.Query().Get("vis") == "alle"}
	today := p.deps.Portfolio.Now().In(inquiry.Oslo)
	for _, inq := range list {
		for _, as := range inq.Assignments {
			row := assignmentRow(lang, inq, as, today)
			if row.Open {
				ip.Open++
			}
			if row.Overdue {
				ip.Overdue++
			}
			if ip.All || row.Open {
				ip.Rows = append(ip.Rows, row)
			}
		}
	}
	sort.SliceStable(ip.Rows, func(i, j int) bool {
		a, b := ip.Rows[i], ip.Rows[j]
		if a.Open != b.Open {
			return a.Open
		}
		if a.Open {
			return a.Deadline < b.Deadline
		}
		return a.Received.After(b.Received)
	})
	return p.page(w, r, http.StatusOK, "portfolio/inbox", "inquiry.inbox", ip)
}

func assignmentRow(lang string, inq inquiry.Inquiry, as inquiry.Assignment, today time.Time) inboxRow {
	row := inboxRow{
		InquiryID: inq.ID, AssignmentID: as.ID, Title: inq.Title, Institution: inq.Institution, Researcher: inq.ResearcherName,
		Municipality: municipalityName(as.Municipality), ServiceArea: areaLabel(lang, as.ServiceArea),
		Status: as.Status, StatusLabel: vocabLabel(lang, inquiry.Statuses, as.Status), Received: inq.ReceivedAt,
		Deadline: string(as.Deadline), Open: inquiry.Open(as.Status),
	}
	if row.Open && as.Deadline != "" {
		row.DaysLeft = inquiry.WorkingDaysBetween(today, as.Deadline.Time())
		row.Overdue = string(portfolio.DateOf(today)) > string(as.Deadline)
	}
	return row
}

// One inquiry as the R&D contact works on it.

type assignmentView struct {
	inboxRow
	A       inquiry.Assignment
	Actions []option // the workflow's actions open to the actor
}

type inquiryPage struct {
	Inquiry     inquiry.Inquiry
	Kind        string
	Funding     string
	Ethics      string
	Units       []string
	Assignments []assignmentView
	MayConvert  bool
	Error       string
	ErrorFor    int64
}

func (p *Pages) inquiryData(r *http.Request) (*inquiryPage, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		return nil, &portfolio.NotFoundError{Kind: "inquiry"}
	}
	a := actorOf(r)
	inq, err := p.deps.Inquiries.Get(r.Context(), a, id)
	if err != nil {
		var fe *portfolio.ForbiddenError
		if errors.As(err, &fe) {
			// Another municipality's inquiry does not exist for this contact.
			return nil, &portfolio.NotFoundError{Kind: "inquiry", ID: id}
		}
		return nil, err
	}
	lang := langFrom(r.Context())
	today := p.deps.Portfolio.Now().In(inquiry.Oslo)
	ip := &inquiryPage{
		Inquiry: inq, Kind: vocabLabel(lang, portfolio.ProjectTypes, inq.Kind),
		Funding: vocabLabel(lang, inquiry.FundingStatuses, inq.FundingStatus),
		Ethics:  vocabLabel(lang, portfolio.ApprovalStatuses, inq.EthicsStatus),
	}
	for _, u := range inq.Units {
		ip.Units = append(ip.Units, municipalityName(u.Municipality)+" – "+areaLabel(lang, u.ServiceArea))
	}
	for _, as := range inq.Assignments {
		av := assignmentView{inboxRow: assignmentRow(lang, inq, as, today), A: as}
		rel := portfolio.Relation{Municipality: a.Municipality != "" && a.Municipality == as.Municipality}
		for _, action := range inquiry.AssignmentWorkflow.Actions(as.Status, a, rel) {
			av.Actions = append(av.Actions, option{Value: action, Label: translate(lang, "inquiry.action."+action)})
		}
		if as.Status == "accepted" && inq.ProjectID == nil {
			ip.MayConvert = true
		}
		ip.Assignments = append(ip.Assignments, av)
	}
	return ip, nil
}

func (p *Pages) inquiryPage(w http.ResponseWriter, r *http.Request) error {
	ip, err := p.inquiryData(r)
	if err != nil {
		return err
	}
	return p.page(w, r, http.StatusOK, "portfolio/inquiry", "inquiry.one", ip)
}

// assignmentAct takes a workflow action on one assignment through
// inquiry.Registry.Act, as the API's transitions endpoint does: the
// assignment must belong to the inquiry as the actor sees it.
func (p *Pages) assignmentAct(w http.ResponseWriter, r *http.Request) error {
	ip, err := p.inquiryData(r)
	if err != nil {
		return err
	}
	aid, _ := strconv.ParseInt(chi.URLParam(r, "aid"), 10, 64)
	found := false
	for _, as := range ip.Assignments {
		found = found || as.A.ID == aid
	}
	if !found {
		return &portfolio.NotFoundError{Kind: "assignment", ID: aid}
	}
	f := r.PostForm
	_, err = p.deps.Inquiries.Act(r.Context(), actorOf(r), aid, f.Get("action"), f.Get("assessment"), f.Get("answer"))
	var ie *portfolio.InputError
	if errors.As(err, &ie) {
		_, ip.Error = inquiryProblem(langFrom(r.Context()), ie)
		ip.ErrorFor = aid
		return p.page(w, r, http.StatusBadRequest, "portfolio/inquiry", "inquiry.one", ip)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/henvendelser/%d?oppdatert=%d#oppdrag-%d", ip.Inquiry.ID, aid, aid), http.StatusSeeOther)
	return nil
}

// inquiryToProject turns an accepted inquiry into a portfolio project
// (inquiry.Registry.ToProject, as POST /api/v1/inquiries/{id}/project).
func (p *Pages) inquiryToProject(w http.ResponseWriter, r *http.Request) error {
	ip, err := p.inquiryData(r)
	if err != nil {
		return err
	}
	pr, err := p.deps.Inquiries.ToProject(r.Context(), actorOf(r), ip.Inquiry.ID, nil)
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/prosjekter/%d", pr.ID), http.StatusSeeOther)
	return nil
}

// The portfolio.

type projectRow struct {
	ID                  int64
	Title, Type, Status string
	StatusCode          string
	Municipalities      string
	Start, End          string
	Owner               string
}

type projectListPage struct {
	Statuses, Types, Municipalities []option
	Rows                            []projectRow
	Error                           string
}

func (p *Pages) projectList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lang := langFrom(r.Context())
	f := portfolio.Filter{Status: q.Get("status"), Type: q.Get("type"), Municipality: q.Get("kommune")}
	pl := projectListPage{
		Statuses:       vocabOptions(lang, portfolio.Statuses, f.Status),
		Types:          vocabOptions(lang, portfolio.ProjectTypes, f.Type),
		Municipalities: municipalityOptions([]string{f.Municipality}),
	}
	switch {
	case f.Status != "" && !portfolio.Statuses.Has(f.Status):
		pl.Error = translate(lang, "portfolio.bad_filter", translate(lang, "portfolio.status"), f.Status)
	case f.Type != "" && !portfolio.ProjectTypes.Has(f.Type):
		pl.Error = translate(lang, "portfolio.bad_filter", translate(lang, "portfolio.type"), f.Type)
	case f.Municipality != "" && !contains(catalog.MunicipalityCodes(), f.Municipality):
		pl.Error = translate(lang, "portfolio.bad_filter", translate(lang, "portfolio.municipality"), f.Municipality)
	}
	if pl.Error != "" {
		return p.page(w, r, http.StatusBadRequest, "portfolio/projects", "portfolio.title", pl)
	}
	ps, err := p.deps.Portfolio.List(r.Context(), f)
	if err != nil {
		return err
	}
	for _, pr := range ps {
		var ms []string
		for _, m := range pr.Municipalities() {
			ms = append(ms, municipalityName(m))
		}
		pl.Rows = append(pl.Rows, projectRow{
			ID: pr.ID, Title: pr.Title, Type: vocabLabel(lang, portfolio.ProjectTypes, pr.Type),
			Status: vocabLabel(lang, portfolio.Statuses, pr.Status), StatusCode: pr.Status,
			Municipalities: strings.Join(ms, ", "), Start: string(pr.Start), End: string(pr.End), Owner: pr.OwnerInstitution,
		})
	}
	return p.page(w, r, http.StatusOK, "portfolio/projects", "portfolio.title", pl)
}

type labelled struct{ Label, Detail string }

type projectPage struct {
	Project  portfolio.Project
	Full     bool
	Type     string
	Status   string
	Role     string
	Units    []string
	Areas    []string
	Partners []labelled
	People   []labelled
	Funding  []labelled
	Results  []labelled
	Ethics   string
	DPIA     string
	Purpose  string
	Basis    string
}

func (p *Pages) projectPage(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		return &portfolio.NotFoundError{Kind: "project"}
	}
	pr, err := p.deps.Portfolio.Get(r.Context(), id)
	if err != nil {
		return err
	}
	a := actorOf(r)
	pp := projectPage{Full: portfolio.MayViewPeople(a, &pr)}
	if !pp.Full {
		pr = pr.Public()
	}
	lang := langFrom(r.Context())
	pp.Project = pr
	pp.Type = vocabLabel(lang, portfolio.ProjectTypes, pr.Type)
	pp.Status = vocabLabel(lang, portfolio.Statuses, pr.Status)
	pp.Role = vocabLabel(lang, portfolio.MunicipalityRoles, pr.MunicipalityRole)
	for _, u := range pr.Units {
		pp.Units = append(pp.Units, municipalityName(u.Municipality)+" – "+areaLabel(lang, u.ServiceArea))
	}
	for _, code := range pr.Areas {
		pp.Areas = append(pp.Areas, vocabLabel(lang, portfolio.PriorityAreas, code))
	}
	for _, x := range pr.Partners {
		pp.Partners = append(pp.Partners, labelled{x.Institution, vocabLabel(lang, portfolio.PartnerRoles, x.Role)})
	}
	for _, x := range pr.People {
		pp.People = append(pp.People, labelled{x.Name, vocabLabel(lang, portfolio.PersonRoles, x.Role)})
	}
	for _, x := range pr.Funding {
		detail := formatNum(lang, float64(x.AmountNOK), 0) + " kr"
		if x.Year != 0 {
			detail += fmt.Sprintf(" (%d)", x.Year)
		}
		pp.Funding = append(pp.Funding, labelled{vocabLabel(lang, portfolio.FundingSources, x.Source), detail})
	}
	for _, x := range pr.Results {
		pp.Results = append(pp.Results, labelled{x.Title, vocabLabel(lang, portfolio.ResultKinds, x.Kind)})
	}
	pp.Ethics = vocabLabel(lang, portfolio.ApprovalStatuses, pr.Ethics.Status)
	pp.DPIA = vocabLabel(lang, portfolio.DPIAStatuses, pr.DPIA)
	pp.Purpose = vocabLabel(lang, portfolio.Purposes, pr.Purpose)
	pp.Basis = vocabLabel(lang, portfolio.LegalBases, pr.LegalBasis)
	return p.page(w, r, http.StatusOK, "portfolio/project", "portfolio.project", pp)
}

// The yearly report's figures (report.Compute, as GET /api/v1/reports/{year}).

type countRow struct {
	Label string
	N     int64
}

type reportPage struct {
	Year                            int
	Years                           []option
	Cluster                         report.Figures
	Municipalities                  []report.Figures
	ByType, ByArea, FundingBySource []countRow
	ProjectsChart, FundingChart     template.HTML
	InquiriesChart                  template.HTML
	WithinDeadline                  map[string]string // municipality → percent text
	CSV                             string
	Error                           string
}

func (p *Pages) yearlyReport(w http.ResponseWriter, r *http.Request) error {
	lang := langFrom(r.Context())
	thisYear := p.deps.Portfolio.Now().In(inquiry.Oslo).Year()
	rp := reportPage{Year: thisYear, WithinDeadline: map[string]string{}}
	if v := r.URL.Query().Get("aar"); v != "" {
		y, err := strconv.Atoi(v)
		if err != nil || y < 2000 || y > thisYear+1 {
			rp.Error = translate(lang, "portfolio.bad_year", v, thisYear+1)
		} else {
			rp.Year = y
		}
	}
	for y := thisYear + 1; y >= 2020; y-- {
		rp.Years = append(rp.Years, option{strconv.Itoa(y), strconv.Itoa(y), y == rp.Year})
	}
	if rp.Error != "" {
		return p.page(w, r, http.StatusBadRequest, "portfolio/report", "portfolio.report", rp)
	}
	rep, err := report.Compute(r.Context(), p.deps.Portfolio.DB(), rp.Year)
	if err != nil {
		return err
	}
	rp.CSV = fmt.Sprintf("/api/v1/reports/%d?format=csv", rp.Year)
	var projects, funding, inquiries []DotRow
	for _, f := range rep.Figures {
		if f.Municipality == catalog.Total {
			rp.Cluster = f
			continue
		}
		rp.Municipalities = append(rp.Municipalities, f)
		projects = append(projects, DotRow{Label: f.Name, Value: float64(f.ActiveProjects), Lower: math.NaN(), Upper: math.NaN(), Class: "none"})
		funding = append(funding, DotRow{Label: f.Name, Value: float64(f.ExternalFundingTotal) / 1e6, Lower: math.NaN(), Upper: math.NaN(), Class: "none"})
		share := math.NaN()
		if f.InquiriesAnswered > 0 {
			share = 100 * float64(f.AnsweredWithinDeadline) / float64(f.InquiriesAnswered)
			rp.WithinDeadline[f.Municipality] = formatNum(lang, share, 0) + " %"
		}
		inquiries = append(inquiries, DotRow{Label: f.Name, Value: share, Lower: math.NaN(), Upper: math.NaN(), Class: "none"})
	}
	rp.ProjectsChart = DotChart{ID: "report-projects", Lang: lang, Rows: projects, Reference: math.NaN(),
		Title: translate(lang, "portfolio.chart_projects", rp.Year), Desc: translate(lang, "portfolio.chart_projects_desc")}.SVG()
	rp.FundingChart = DotChart{ID: "report-funding", Lang: lang, Rows: funding, Reference: math.NaN(), Unit: translate(lang, "portfolio.mnok"),
		Title: translate(lang, "portfolio.chart_funding", rp.Year), Desc: translate(lang, "portfolio.chart_funding_desc")}.SVG()
	rp.InquiriesChart = DotChart{ID: "report-inquiries", Lang: lang, Rows: inquiries, Reference: math.NaN(), Unit: "%",
		Title: translate(lang, "portfolio.chart_inquiries", rp.Year), Desc: translate(lang, "portfolio.chart_inquiries_desc")}.SVG()
	rp.ByType = counts(lang, portfolio.ProjectTypes, rp.Cluster.ProjectsByType)
	rp.ByArea = counts(lang, portfolio.PriorityAreas, rp.Cluster.ProjectsByArea)
	rp.FundingBySource = counts(lang, portfolio.FundingSources, rp.Cluster.ExternalFundingNOK)
	return p.page(w, r, http.StatusOK, "portfolio/report", "portfolio.report", rp)
}

// counts lists m by the vocabulary's order, leaving out zeros.
func counts[N int | int64](lang string, v portfolio.Vocabulary, m map[string]N) []countRow {
	var out []countRow
	for _, t := range v {
		if n := m[t.Code]; n != 0 {
			out = append(out, countRow{pickLabel(lang, t.Label), int64(n)})
		}
	}
	return out
}
