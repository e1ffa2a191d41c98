// Package api is the HTTP face of the portfolio and inquiry registries:
// /api/v1/projects, /api/v1/inquiries, /api/v1/contacts, /api/v1/needs,
// /api/v1/reports and /api/v1/workflows. It is a thin, self-contained
// http.Handler the broker's router mounts; authentication is the broker's
// (Authenticate), and every rule about who may do what lives in the domain
// packages, which this package only translates to and from JSON and HTTP
// status codes.
//
// Without a token a caller is the public: they may read the public view of
// the portfolio, the knowledge needs, the reports and the workflows, and
// send an inquiry through the public form (size-limited; the domain adds
// the spam and duplicate guards). A token that does not authenticate is 401;
// a role that may not act is 403.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/kunnskapskommunen/folkekommune/broker/inquiry"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio/report"
)

// MaxBody is the largest request body accepted (the public form included).
const MaxBody = 64 << 10

// Authenticate tells who is calling: the zero Actor and nil for a request
// without credentials (the public), an error for credentials that fail.
type Authenticate func(*http.Request) (portfolio.Actor, error)

// Handler serves the registries' API.
type Handler struct {
	Portfolio    *portfolio.Registry
	Inquiries    *inquiry.Registry
	Authenticate Authenticate
	mux          *http.ServeMux
}

// route is one endpoint: its pattern, who may call it, and what it does.
type route struct {
	pattern string
	access  string // public, signed-in, or the roles
	summary string
	handle  func(*Handler) func(http.ResponseWriter, *http.Request, portfolio.Actor) error
}

// routes is the API; OpenAPI documents the same list.
var routes = []route{
	{"GET /api/v1/projects", "public", "List projects (?status, ?type, ?municipality); e-mail addresses and members only for those who may edit", func(h *Handler) handlerFunc { return h.listProjects }},
	{"POST /api/v1/projects", "admin, fou_contact (own municipality), researcher (becomes member)", "Register a project", func(h *Handler) handlerFunc { return h.createProject }},
	{"GET /api/v1/projects/{id}", "public", "One project", func(h *Handler) handlerFunc { return h.getProject }},
	{"PUT /api/v1/projects/{id}", "admin, fou_contact (own municipality), researcher (member)", "Replace a project's editable fields", func(h *Handler) handlerFunc { return h.updateProject }},
	{"POST /api/v1/projects/{id}/transitions", "by the project and data-access workflows", "Take a workflow action: {action, note}", func(h *Handler) handlerFunc { return h.transitionProject }},
	{"GET /api/v1/projects/{id}/approval", "admin, privacy_officer, fou_contact (own municipality), members", "The data-access approval the policies read", func(h *Handler) handlerFunc { return h.approval }},
	{"GET /api/v1/inquiries", "signed-in (each sees their own view)", "List inquiries", func(h *Handler) handlerFunc { return h.listInquiries }},
	{"POST /api/v1/inquiries", "public (the form; spam-, size- and duplicate-limited)", "Send an inquiry; the answer carries the receipt code", func(h *Handler) handlerFunc { return h.submitInquiry }},
	{"GET /api/v1/inquiries/{id}", "admin, fou_contact (own municipality), the researcher (token or X-Inquiry-Receipt)", "One inquiry", func(h *Handler) handlerFunc { return h.getInquiry }},
	{"PUT /api/v1/inquiries/{id}", "admin, the researcher", "Amend an inquiry no municipality has answered", func(h *Handler) handlerFunc { return h.amendInquiry }},
	{"POST /api/v1/inquiries/{id}/withdraw", "admin, the researcher", "Withdraw every open assignment: {message}", func(h *Handler) handlerFunc { return h.withdrawInquiry }},
	{"POST /api/v1/inquiries/{id}/project", "admin, fou_contact of an accepting municipality", "Turn an accepted inquiry into a project", func(h *Handler) handlerFunc { return h.convertInquiry }},
	{"POST /api/v1/inquiries/{id}/assignments/{aid}/transitions", "by the inquiry workflow", "Take a workflow action: {action, assessment, answer}", func(h *Handler) handlerFunc { return h.actOnAssignment }},
	{"GET /api/v1/contacts", "admin, fou_contact", "The R&D contact directory (?municipality)", func(h *Handler) handlerFunc { return h.listContacts }},
	{"POST /api/v1/contacts", "admin", "Add an R&D contact", func(h *Handler) handlerFunc { return h.saveContact }},
	{"PUT /api/v1/contacts/{id}", "admin", "Replace an R&D contact", func(h *Handler) handlerFunc { return h.saveContact }},
	{"GET /api/v1/needs", "public", "Knowledge needs (?municipality, ?unmet=true)", func(h *Handler) handlerFunc { return h.listNeeds }},
	{"POST /api/v1/needs", "admin, fou_contact and coordinator (own municipality)", "Register a knowledge need", func(h *Handler) handlerFunc { return h.addNeed }},
	{"POST /api/v1/needs/{id}/status", "admin, fou_contact and coordinator (own municipality)", "Open or close a need: {status}", func(h *Handler) handlerFunc { return h.setNeedStatus }},
	{"GET /api/v1/reports/{year}", "public", "The yearly report's figures (?format=json|csv)", func(h *Handler) handlerFunc { return h.report }},
	{"GET /api/v1/workflows", "public", "The transition tables", func(h *Handler) handlerFunc { return h.workflows }},
}

type handlerFunc = func(http.ResponseWriter, *http.Request, portfolio.Actor) error

// New returns the API handler.
func New(p *portfolio.Registry, i *inquiry.Registry, auth Authenticate) *Handler {
	h := &Handler{Portfolio: p, Inquiries: i, Authenticate: auth, mux: http.NewServeMux()}
	for _, rt := range routes {
		h.mux.Handle(rt.pattern, h.wrap(rt.handle(h)))
	}
	return h
}

// OpenAPIPaths documents the routes as an OpenAPI 3 "paths" object, for the
// broker's /api/v1/openapi.json.
func OpenAPIPaths() map[string]any {
	paths := map[string]any{}
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt.pattern, " ")
		item, _ := paths[path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[path] = item
		}
		var params []any
		for _, seg := range strings.Split(path, "/") {
			if strings.HasPrefix(seg, "{") {
				params = append(params, map[string]any{"name": strings.Trim(seg, "{}"), "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
			}
		}
		op := map[string]any{
			"summary":     rt.summary,
			"description": "Who may call: " + rt.access + ".",
			"tags":        []string{strings.Split(path, "/")[3]},
			"responses": map[string]any{
				"200": map[string]any{"description": "OK"}, "201": map[string]any{"description": "Created"},
				"400": map[string]any{"description": "Bad input; the body names the field (field) and explains it in English (error) and bokmål (melding)"},
				"401": map[string]any{"description": "Not signed in, or the credentials failed"},
				"403": map[string]any{"description": "The role may not do this"},
				"404": map[string]any{"description": "No such object"},
				"409": map[string]any{"description": "The object's state does not allow this"},
				"413": map[string]any{"description": "Body larger than 64 KiB"},
			},
		}
		if params != nil {
			op["parameters"] = params
		}
		if method == "POST" || method == "PUT" {
			op["requestBody"] = map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}}
		}
		item[strings.ToLower(method)] = op
	}
	return paths
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// apiError is the body of every error response.
type apiError struct {
	Error   string `json:"error"`
	Field   string `json:"field,omitempty"`
	Melding string `json:"melding,omitempty"` // the problem in Norwegian bokmål
}

func (h *Handler) wrap(fn func(http.ResponseWriter, *http.Request, portfolio.Actor) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, err := h.actor(r)
		if err != nil {
			writeJSON(w, http.StatusUnauthorized, apiError{Error: "authentication failed: " + err.Error()})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		if err := fn(w, r, actor); err != nil {
			status, body := classify(err, actor)
			if status == http.StatusInternalServerError {
				slog.Error("registry API", "path", r.URL.Path, "err", err)
			}
			writeJSON(w, status, body)
		}
	})
}

// ReceiptHeader carries the receipt code with which a researcher without an
// account follows, amends or withdraws their own inquiry.
const ReceiptHeader = "X-Inquiry-Receipt"

func (h *Handler) actor(r *http.Request) (portfolio.Actor, error) {
	code := r.Header.Get(ReceiptHeader)
	if code == "" {
		return h.Authenticate(r)
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || !strings.HasPrefix(r.URL.Path, "/api/v1/inquiries/") {
		return portfolio.Actor{}, errors.New("a receipt code only opens its own inquiry")
	}
	return h.Inquiries.ReceiptActor(r.Context(), id, code)
}

func classify(err error, a portfolio.Actor) (int, apiError) {
	var ie *portfolio.InputError
	var fe *portfolio.ForbiddenError
	var se *portfolio.StateError
	var ne *portfolio.NotFoundError
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &mb):
		return http.StatusRequestEntityTooLarge, apiError{Error: fmt.Sprintf("request body is larger than %d bytes", MaxBody)}
	case errors.As(err, &ie):
		return http.StatusBadRequest, apiError{Error: ie.Error(), Field: ie.Field, Melding: norwegian(ie)}
	case errors.As(err, &fe):
		if a.Role == "" {
			return http.StatusUnauthorized, apiError{Error: "sign in to do this"}
		}
		return http.StatusForbidden, apiError{Error: fe.Error()}
	case errors.As(err, &se):
		return http.StatusConflict, apiError{Error: se.Error()}
	case errors.As(err, &ne):
		return http.StatusNotFound, apiError{Error: ne.Error()}
	}
	return http.StatusInternalServerError, apiError{Error: "internal error"}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

// decode reads a JSON body strictly: unknown fields and trailing data are
// refused with the problem named.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return err
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &portfolio.InputError{Field: te.Field, Problem: fmt.Sprintf("must be a JSON %s", te.Type)}
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return &portfolio.InputError{Field: strings.Trim(f, `"`), Problem: "is not a field of this request"}
		}
		return &portfolio.InputError{Field: "body", Problem: "is not valid JSON: " + err.Error()}
	}
	if dec.More() {
		return &portfolio.InputError{Field: "body", Problem: "holds more than one JSON value"}
	}
	return nil
}

func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, &portfolio.InputError{Field: name, Problem: fmt.Sprintf("%q is not an id", r.PathValue(name))}
	}
	return id, nil
}

// signedInWithID is how an action on one object starts: a signed-in
// caller, the object's id from the path and, unless body is nil, the
// request's JSON body decoded into it.
func signedInWithID(r *http.Request, a portfolio.Actor, body any) (int64, error) {
	if err := signedIn(a); err != nil {
		return 0, err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return 0, err
	}
	if body != nil {
		if err := decode(r, body); err != nil {
			return 0, err
		}
	}
	return id, nil
}

func signedIn(a portfolio.Actor) error {
	if a.Role == "" {
		return &portfolio.ForbiddenError{Actor: a, Action: "do this without signing in", Object: "registry"}
	}
	return nil
}

func (h *Handler) listProjects(w http.ResponseWriter, r *http.Request, a portfolio.Actor) error {
	q := r.URL.Query()
	ps, err := h.Portfolio.List(r.Context(), portfolio.Filter{Status: q.Get("status"), Type: q.Get("type"), Municipality: q.Get("municipality")})
	if err != nil {
		return err
	}
	out := make([]portfolio.Project, len(ps))
	for i := range ps {
		out[i] = ps[i]
		if !portfolio.MayViewPeople(a, &ps[i]) {
			out[i] = ps[i].Public()
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) getProject(w http.ResponseWriter, r *http.Request, a portfolio.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := h.Portfolio.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if !portfolio.MayViewPeople(a, &p) {
		p = p.Public()
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (h *Handler) createProject(w http.ResponseWriter, r *http.Request, a portfolio.Actor) error {
	return create(w, r, a, h.Portfolio.Create)
}

// create is how a signed-in caller adds an object: the JSON body decoded
// into T, handed to add, and the stored object answered with 201.
func create[T any](w http.ResponseWriter, r *http.Request, a portfolio.Actor, add func(context.Context, portfolio.Actor, T) (T, error)) error {
	if err := signedIn(a); err != nil {
		return err
	}
	var v T
	if err := decode(r, &v); err != nil {
		return err
	}
	v, err := add(r.Context(), a, v)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (h *Handler) updateProject(w http.ResponseWriter, r *http.Request, a portfolio.Actor) error {
	var p portfolio.Project
	id, err := signedInWithID(r, a, &p)
	if err != nil {
		return err
	}
	p.ID = id
	if p, err = h.Portfolio.Update(r.Context(), a, p); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

type transitionRequest struct {
	Action     string `json:"action"`
	Note       string `json:"note,omitempty"`
	Assessment string `json:"assessment,omitempty"`
	Answer     string `json:"answer,omitempty"`
}

func (h *Handler) transitionProject(w http.ResponseWriter, r *http.Request, a portfolio.Actor) error {
	var t transitionRequest
	id, err := signedInWithID(r, a, &t)
	if err != nil {
		return err
	}
	p, err := h.Portfolio.Transition(r.Context(), a, id, t.Action, t.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (h *Handler) approval(w http.ResponseWriter, r *http.Request, a portfolio.Actor) error {
	id, err := signedInWithID(r, a, nil)
	if err != nil {
		return err
	}
	p, err := h.Portfolio.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if !portfolio.MayViewPeople(a, &p) {
		return &portfolio.ForbiddenError{Actor: a, Action: "read the data-access approval of", Object: p.Ref()}
	}
	ap, err := h.Portfolio.AccessApproval(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ap)
	return nil
}

func (h *Handler) listInquiries(w http.ResponseWriter, r *http.Request, a portfolio.Actor) error {
	if err := signedIn(a); err != nil {
		return err
	}
	list, err := h.Inquiries.List(r.Context(), a)
	if err != nil {
		return err
	}
	if list == nil {
		list = []inquiry.Inquiry{}
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (h *Handler) submitInquiry(w http.ResponseWriter, r *http.Request, a portfolio.Actor) error {
	var s inquiry.Submission
	if err := decode(r, &s); err != nil {
		return err
	}
	inq, err := h.Inquiries.Submit(r.Context(), s)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/inquiries/%d", inq.ID))
	writeJSON(w, http.StatusCreated, inq.ForResearcher())
	return nil
}

func (h *Handler) getInquiry(w http.ResponseWriter, r *http.Request, a portfolio.Actor) error {
	id, err := signedInWithID(r, a, nil)
	if err != nil {
		return err
	}
	inq, err := h.Inquiries.Get(r.Context(), a, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, inq)
	return nil
}

func (h *Handler) amendInquiry(w http.ResponseWriter, r *http.Request, a portfolio.Actor) error {
	var s inquiry.Submission
	id, err := signedInWithID(r, a, &s)
	if err != nil {
		return err
	}
	inq, err := h.Inquiries.Amend(r.Context(), a, id, s)
	if err != nil {
		return err
	}
	if a.Role == portfolio.RoleResearcher {
		inq = inq.ForResearcher()
	}
	writeJSON(w, http.StatusOK, inq)
	return nil
}

func (h *Handler) withdrawInquiry(w http.ResponseWriter, r *http.Request, a portfolio.Actor) error {
	var body struct {
		Message string `json:"message"`
	}
	id, err := signedInWithID(r, a, &body)
	if err != nil {
		return err
	}
	n, err := h.Inquiries.WithdrawAll(r.Context(), a, id, body.Message)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"withdrawn": n})
	return nil
}

func (h *Handler) convertInquiry(w http.ResponseWriter, r *http.Request, a portfolio.Actor) error {
	id, err := signedInWithID(r, a, nil)
	if err != nil {
		return err
	}
	p, err := h.Inquiries.ToProject(r.Context(), a, id, nil)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/projects/%d", p.ID))
	writeJSON(w, http.StatusCreated, p)
	return nil
}

func (h *Handler) actOnAssignment(w http.ResponseWriter, r *http.Request, a portfolio.Actor) error {
	id, err := signedInWithID(r, a, nil)
	if err != nil {
		return err
	}
	aid, err := pathID(r, "aid")
	if err != nil {
		return err
	}
	var t transitionRequest
	if err := decode(r, &t); err != nil {
		return err
	}
	// The assignment must belong to the inquiry in the path; reading it
	// through the actor's view also hides other municipalities' work.
	inq, err := h.Inquiries.Get(r.Context(), a, id)
	if err != nil {
		return err
	}
	found := false
	for _, as := range inq.Assignments {
		found = found || as.ID == aid
	}
	if !found {
		return &portfolio.NotFoundError{Kind: "assignment", ID: aid}
	}
	as, err := h.Inquiries.Act(r.Context(), a, aid, t.Action, t.Assessment, t.Answer)
	if err != nil {
		return err
	}
	if a.Role == portfolio.RoleResearcher {
		as.Assessment, as.ContactEmail, as.ContactID = "", "", nil
	}
	writeJSON(w, http.StatusOK, as)
	return nil
}

func (h *Handler) listContacts(w http.ResponseWriter, r *http.Request, a portfolio.Actor) error {
	if a.Role != portfolio.RoleAdmin && a.Role != portfolio.RoleRDContact {
		return &portfolio.ForbiddenError{Actor: a, Action: "read", Object: "the R&D contact directory"}
	}
	cs, err := h.Inquiries.Contacts(r.Context(), r.URL.Query().Get("municipality"))
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []inquiry.Contact{}
	}
	writeJSON(w, http.StatusOK, cs)
	return nil
}

func (h *Handler) saveContact(w http.ResponseWriter, r *http.Request, a portfolio.Actor) error {
	if err := signedIn(a); err != nil {
		return err
	}
	var c inquiry.Contact
	if err := decode(r, &c); err != nil {
		return err
	}
	c.ID = 0
	status := http.StatusCreated
	if r.PathValue("id") != "" {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		c.ID, status = id, http.StatusOK
	}
	c, err := h.Inquiries.SaveContact(r.Context(), a, c)
	if err != nil {
		return err
	}
	writeJSON(w, status, c)
	return nil
}

func (h *Handler) listNeeds(w http.ResponseWriter, r *http.Request, a portfolio.Actor) error {
	q := r.URL.Query()
	needs, err := h.Portfolio.Needs(r.Context(), portfolio.NeedFilter{Municipality: q.Get("municipality"), Unmet: q.Get("unmet") == "true"})
	if err != nil {
		return err
	}
	if needs == nil {
		needs = []portfolio.Need{}
	}
	writeJSON(w, http.StatusOK, needs)
	return nil
}

func (h *Handler) addNeed(w http.ResponseWriter, r *http.Request, a portfolio.Actor) error {
	return create(w, r, a, h.Portfolio.AddNeed)
}

func (h *Handler) setNeedStatus(w http.ResponseWriter, r *http.Request, a portfolio.Actor) error {
	var body struct {
		Status string `json:"status"`
	}
	id, err := signedInWithID(r, a, &body)
	if err != nil {
		return err
	}
	if err := h.Portfolio.SetNeedStatus(r.Context(), a, id, body.Status); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": body.Status})
	return nil
}

func (h *Handler) report(w http.ResponseWriter, r *http.Request, a portfolio.Actor) error {
	year, err := strconv.Atoi(r.PathValue("year"))
	if err != nil || year < 1990 || year > 2100 {
		return &portfolio.InputError{Field: "year", Problem: fmt.Sprintf("%q is not a year", r.PathValue("year"))}
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" {
		return &portfolio.InputError{Field: "format", Problem: fmt.Sprintf("%q: use json or csv", format)}
	}
	rep, err := report.Compute(r.Context(), h.Portfolio.DB(), year)
	if err != nil {
		return err
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="kunnskapskommunen-%d.csv"`, year))
		return rep.WriteCSV(w)
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (h *Handler) workflows(w http.ResponseWriter, r *http.Request, a portfolio.Actor) error {
	writeJSON(w, http.StatusOK, []portfolio.Workflow{portfolio.ProjectWorkflow, portfolio.AccessWorkflow, inquiry.AssignmentWorkflow})
	return nil
}
