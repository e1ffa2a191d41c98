package portfolio

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/audit"
	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"github.com/kunnskapskommunen/folkekommune/broker/notify"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

// AuditEvent is what a registry change records in the audit log.
type AuditEvent struct {
	Kind   string
	Actor  string
	Object string
	Detail map[string]any
}

// Auditor appends an event inside the change's transaction, so that the
// change and its audit entry commit or roll back together. The broker wires
// broker/audit's (*Log).Append here.
type Auditor func(ctx context.Context, tx *sql.Tx, e AuditEvent) error

// Mailboxes are the collaboration's functional addresses notifications go to.
type Mailboxes struct {
	Advisers       string // Kunnskapskommunen's advisers, also the routing fallback
	PrivacyOfficer string
}

// DefaultMailboxes are the demo's addresses.
var DefaultMailboxes = Mailboxes{
	Advisers:       "kunnskapskommunen@bergen.kommune.no",
	PrivacyOfficer: "personvernombud@bergen.kommune.no",
}

// Registry keeps the portfolio and the knowledge needs in the broker's database.
type Registry struct {
	db    *store.DB
	audit Auditor
	Mail  Mailboxes
	Now   func() time.Time

	// writes serialises this process's registry transactions, so that they
	// never race one another for the audit chain's head; InTx's retries are
	// left for races with the broker's other writers.
	writes sync.Mutex
}

// New returns the registry over db, auditing through audit.
func New(db *store.DB, audit Auditor) *Registry {
	return &Registry{db: db, audit: audit, Mail: DefaultMailboxes, Now: time.Now}
}

// DB is the registry's database.
func (r *Registry) DB() *store.DB { return r.db }

// Audit records e in tx.
func (r *Registry) Audit(ctx context.Context, tx *sql.Tx, e AuditEvent) error {
	if r.audit == nil {
		return errors.New("no audit log configured: registry changes must be audited")
	}
	if err := r.audit(ctx, tx, e); err != nil {
		return fmt.Errorf("audit %s of %s: %w", e.Kind, e.Object, err)
	}
	return nil
}

func (r *Registry) now() time.Time { return r.Now().UTC() }

// mayEdit reports whether actor may create or edit a project like p.
func mayEdit(a Actor, p *Project) bool {
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleRDContact:
		return a.Municipality != "" && p.Concerns(a.Municipality)
	case RoleResearcher:
		return p.HasMember(a.ID)
	}
	return false
}

// Create adds a project in status planned (or the status given, for an
// admin recording an existing project) and audits it. A researcher who
// creates a project becomes its first member.
func (r *Registry) Create(ctx context.Context, a Actor, p Project) (Project, error) {
	in := p
	err := r.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = r.CreateTx(ctx, tx, a, in)
		return err
	})
	return p, err
}

// CreateTx is Create inside the caller's transaction.
func (r *Registry) CreateTx(ctx context.Context, tx *sql.Tx, a Actor, p Project) (Project, error) {
	if p.Status == "" || a.Role != RoleAdmin {
		p.Status = "planned"
	}
	if !Statuses.Has(p.Status) {
		return p, &InputError{"status", fmt.Sprintf("%q is not one of %s", p.Status, strings.Join(Statuses.Codes(), ", "))}
	}
	p.DataAccess, p.DataAccessBy, p.DataAccessAt = "none", "", nil
	p.CreatedBy = a.ID
	if a.Role == RoleResearcher && !slices.Contains(p.Members, a.ID) {
		p.Members = append(p.Members, a.ID)
	}
	if err := p.Validate(); err != nil {
		return p, err
	}
	if !mayEdit(a, &p) {
		return p, &ForbiddenError{Actor: a, Action: "create", Object: "project"}
	}
	if err := r.checkNeeds(ctx, tx, p.Needs); err != nil {
		return p, err
	}
	var dup int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM project WHERE lower(title) = lower(?)`, p.Title).Scan(&dup); err != nil {
		return p, fmt.Errorf("check project title: %w", err)
	}
	if dup > 0 {
		return p, &InputError{"title", fmt.Sprintf("a project titled %q is already in the portfolio", p.Title)}
	}
	now := r.now()
	p.CreatedAt, p.UpdatedAt = now, now
	err := tx.QueryRowContext(ctx, `INSERT INTO project (title, summary, type, health_project_type, status, start_date, end_date,
		owner_institution, municipality_role, user_involvement, ethics_authority, ethics_reference, ethics_status, ethics_date,
		dpia_status, legal_basis, purpose, data_access, inquiry_id, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'none', ?, ?, ?, ?) RETURNING id`,
		p.Title, p.Summary, p.Type, p.HealthProjectType, p.Status, nullDate(p.Start), nullDate(p.End),
		p.OwnerInstitution, p.MunicipalityRole, p.UserInvolvement, p.Ethics.Authority, p.Ethics.Reference, p.Ethics.Status, nullDate(p.Ethics.Date),
		p.DPIA, p.LegalBasis, p.Purpose, p.InquiryID, p.CreatedBy, now, now).Scan(&p.ID)
	if err != nil {
		return p, fmt.Errorf("insert project: %w", err)
	}
	if err := writeChildren(ctx, tx, &p); err != nil {
		return p, err
	}
	return p, r.Audit(ctx, tx, AuditEvent{Kind: "project.update", Actor: AuditRef(a), Object: p.Ref(), Detail: map[string]any{"action": "create", "status": p.Status, "title": p.Title}})
}

// Ref is the project's reference in audit entries and notifications.
func (p *Project) Ref() string { return fmt.Sprintf("project/%d", p.ID) }

// Update replaces a project's editable fields. Status, data access and
// provenance are kept; a change to the fields the data-access approval rests
// on (ethics, legal basis, DPIA, members, units) sends an approved project
// back to requested, so that the privacy officer sees it again.
func (r *Registry) Update(ctx context.Context, a Actor, p Project) (Project, error) {
	err := r.InTx(ctx, func(tx *sql.Tx) error {
		old, err := getTx(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if !mayEdit(a, &old) {
			return &ForbiddenError{Actor: a, Action: "edit", Object: old.Ref()}
		}
		p.Status, p.DataAccess, p.DataAccessBy, p.DataAccessAt = old.Status, old.DataAccess, old.DataAccessBy, old.DataAccessAt
		p.CreatedBy, p.CreatedAt, p.InquiryID = old.CreatedBy, old.CreatedAt, old.InquiryID
		if err := p.Validate(); err != nil {
			return err
		}
		// An R&D contact may not take the project away from their own municipality.
		if a.Role == RoleResearcher && !p.HasMember(a.ID) || a.Role == RoleRDContact && !p.Concerns(a.Municipality) {
			return &ForbiddenError{Actor: a, Action: "remove themselves from", Object: old.Ref()}
		}
		if err := r.checkNeeds(ctx, tx, p.Needs); err != nil {
			return err
		}
		var dup int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM project WHERE lower(title) = lower(?) AND id <> ?`, p.Title, p.ID).Scan(&dup); err != nil {
			return fmt.Errorf("check project title: %w", err)
		}
		if dup > 0 {
			return &InputError{"title", fmt.Sprintf("a project titled %q is already in the portfolio", p.Title)}
		}
		reapprove := old.DataAccess == "approved" && approvalBasisChanged(&old, &p)
		if reapprove {
			p.DataAccess = "requested"
		}
		p.UpdatedAt = r.now()
		_, err = tx.ExecContext(ctx, `UPDATE project SET title = ?, summary = ?, type = ?, health_project_type = ?, start_date = ?, end_date = ?,
			owner_institution = ?, municipality_role = ?, user_involvement = ?, ethics_authority = ?, ethics_reference = ?, ethics_status = ?,
			ethics_date = ?, dpia_status = ?, legal_basis = ?, purpose = ?, data_access = ?, updated_at = ? WHERE id = ?`,
			p.Title, p.Summary, p.Type, p.HealthProjectType, nullDate(p.Start), nullDate(p.End),
			p.OwnerInstitution, p.MunicipalityRole, p.UserInvolvement, p.Ethics.Authority, p.Ethics.Reference, p.Ethics.Status,
			nullDate(p.Ethics.Date), p.DPIA, p.LegalBasis, p.Purpose, p.DataAccess, p.UpdatedAt, p.ID)
		if err != nil {
			return fmt.Errorf("update %s: %w", p.Ref(), err)
		}
		if err := deleteChildren(ctx, tx, p.ID); err != nil {
			return err
		}
		if err := writeChildren(ctx, tx, &p); err != nil {
			return err
		}
		detail := map[string]any{"action": "edit", "fields": changedFields(&old, &p)}
		if reapprove {
			detail["data_access"] = "requested"
		}
		return r.Audit(ctx, tx, AuditEvent{Kind: "project.update", Actor: AuditRef(a), Object: p.Ref(), Detail: detail})
	})
	return p, err
}

func approvalBasisChanged(a, b *Project) bool {
	return a.Ethics != b.Ethics || a.LegalBasis != b.LegalBasis || a.Purpose != b.Purpose || a.DPIA != b.DPIA ||
		!slices.Equal(a.Members, b.Members) || !slices.Equal(a.Units, b.Units) || a.HealthProjectType != b.HealthProjectType
}

// changedFields names the top-level fields that differ, for the audit entry
// (the values themselves may be personal data and stay out of the log).
func changedFields(a, b *Project) []string {
	var out []string
	add := func(name string, changed bool) {
		if changed {
			out = append(out, name)
		}
	}
	add("title", a.Title != b.Title)
	add("summary", a.Summary != b.Summary)
	add("type", a.Type != b.Type || a.HealthProjectType != b.HealthProjectType)
	add("period", a.Start != b.Start || a.End != b.End)
	add("owner", a.OwnerInstitution != b.OwnerInstitution || a.MunicipalityRole != b.MunicipalityRole)
	add("units", !slices.Equal(a.Units, b.Units))
	add("partners", !slices.Equal(a.Partners, b.Partners))
	add("people", !slices.Equal(a.People, b.People))
	add("members", !slices.Equal(a.Members, b.Members))
	add("funding", !slices.Equal(a.Funding, b.Funding))
	add("priority_areas", !slices.Equal(a.Areas, b.Areas))
	add("needs", !slices.Equal(a.Needs, b.Needs))
	add("user_involvement", a.UserInvolvement != b.UserInvolvement)
	add("ethics", a.Ethics != b.Ethics)
	add("dpia_status", a.DPIA != b.DPIA)
	add("legal_basis", a.LegalBasis != b.LegalBasis)
	add("purpose", a.Purpose != b.Purpose)
	add("results", !slices.Equal(a.Results, b.Results))
	add("positions", !slices.Equal(a.Positions, b.Positions))
	return out
}

// Transition takes a workflow action on a project: one of ProjectWorkflow's
// (apply, start, grant, reject, replan, complete) or AccessWorkflow's
// (request_access, approve_access, refuse_access, revoke_access). The new
// state, its audit entry and its notifications commit together.
func (r *Registry) Transition(ctx context.Context, a Actor, id int64, action, note string) (Project, error) {
	var p Project
	note, err := Text("note", note, 2000, false, true)
	if err != nil {
		return p, err
	}
	err = r.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if p, err = getTx(ctx, tx, id); err != nil {
			return err
		}
		wf, state := ProjectWorkflow, p.Status
		if strings.HasSuffix(action, "_access") {
			wf, state = AccessWorkflow, p.DataAccess
		}
		t, err := wf.Step(action, state, a, p.relation(a))
		if err != nil {
			return err
		}
		now := r.now()
		if wf.Name == ProjectWorkflow.Name {
			p.Status = t.To
			_, err = tx.ExecContext(ctx, `UPDATE project SET status = ?, updated_at = ? WHERE id = ?`, p.Status, now, id)
		} else {
			if t.To == "approved" {
				if err := p.readyForAccess(); err != nil {
					return err
				}
			}
			if t.Action == "request_access" && p.Status != "active" {
				return &StateError{Workflow: wf.Name, Action: action, From: "project " + p.Status}
			}
			p.DataAccess, p.DataAccessBy, p.DataAccessAt = t.To, a.ID, &now
			_, err = tx.ExecContext(ctx, `UPDATE project SET data_access = ?, data_access_by = ?, data_access_at = ?, updated_at = ? WHERE id = ?`, t.To, a.ID, now, now, id)
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", action, p.Ref(), err)
		}
		p.UpdatedAt = now
		detail := map[string]any{"action": action, "from": state, "to": t.To}
		if note != "" {
			// The note's text goes to the notification, not to the
			// append-only log, where a name in it could never be erased.
			detail["with_note"] = true
		}
		if err := r.Audit(ctx, tx, AuditEvent{Kind: t.Audit, Actor: AuditRef(a), Object: p.Ref(), Detail: detail}); err != nil {
			return err
		}
		return r.notifyProject(ctx, tx, &p, t, note, now)
	})
	return p, err
}

// readyForAccess checks what an approval to request data rests on, naming
// the first field that is missing.
func (p *Project) readyForAccess() error {
	switch {
	case p.Status != "active":
		return &InputError{"status", fmt.Sprintf("is %q; only an active project can be approved for data access", p.Status)}
	case p.Purpose == "":
		return &InputError{"purpose", "is required before data access can be approved"}
	case p.End == "":
		return &InputError{"end", "is required before data access can be approved: access ends with the project"}
	case p.LegalBasis == "" || p.LegalBasis == "gdpr-9-2-a":
		return &InputError{"legal_basis", "a legal basis for data from the broker is required before data access can be approved (consent covers only the project's own data)"}
	case p.DPIA != "completed" && p.DPIA != "not_required":
		return &InputError{"dpia_status", fmt.Sprintf("is %q; the DPIA must be completed or assessed as not required", p.DPIA)}
	case p.HealthProjectType != "" && p.Ethics.Status != "APPROVED":
		return &InputError{"ethics.status", "a health research project needs an approved ethics assessment (REK) before data access"}
	case len(p.Members) == 0:
		return &InputError{"members", "name at least one member who may request data"}
	}
	return nil
}

func (r *Registry) notifyProject(ctx context.Context, tx *sql.Tx, p *Project, t Transition, note string, now time.Time) error {
	var to []string
	switch t.Notify {
	case "":
		return nil
	case "advisers":
		to = []string{r.Mail.Advisers}
	case "privacy_officer":
		to = []string{r.Mail.PrivacyOfficer}
	case "project":
		for _, x := range p.People {
			if x.Email != "" && (x.Role == "contact" || x.Role == "ProjectManager") && !slices.Contains(to, x.Email) {
				to = append(to, x.Email)
			}
		}
		if len(to) == 0 {
			to = []string{r.Mail.Advisers}
		}
	default:
		return fmt.Errorf("project workflow: unknown notification group %q", t.Notify)
	}
	label := t.To
	for _, s := range append(slices.Clone(Statuses), AccessStates...) {
		if s.Code == t.To {
			label = s.Label.NB
		}
	}
	body := fmt.Sprintf("Prosjektet «%s» (%s) har fått ny status: %s.\n", p.Title, p.Ref(), label)
	if note != "" {
		body += "\nMerknad: " + note + "\n"
	}
	body += "\nDenne e-posten er sendt automatisk fra Kunnskapskommunens prosjektportefølje.\n"
	for _, addr := range to {
		if err := notify.Enqueue(ctx, tx, notify.Message{To: addr, Subject: fmt.Sprintf("Prosjekt %s: %s", p.Title, label), Body: body, Topic: "project." + t.Action, Object: p.Ref()}, now); err != nil {
			return err
		}
	}
	return nil
}

// AccessStates are the states of a project's data-access approval.
var AccessStates = Vocabulary{
	{"none", catalog.Label{NB: "Ingen tilgang til data", EN: "No data access"}},
	{"requested", catalog.Label{NB: "Tilgang til data søkt", EN: "Data access requested"}},
	{"approved", catalog.Label{NB: "Tilgang til data godkjent", EN: "Data access approved"}},
	{"refused", catalog.Label{NB: "Tilgang til data avslått", EN: "Data access refused"}},
	{"revoked", catalog.Label{NB: "Tilgang til data trukket tilbake", EN: "Data access revoked"}},
}

// Approval is what the policies read about a project's right to request data.
type Approval struct {
	ProjectID      int64    `json:"project_id"`
	Approved       bool     `json:"approved"`
	Status         string   `json:"status"`
	DataAccess     string   `json:"data_access"`
	ApprovedBy     string   `json:"approved_by,omitempty"`
	ApprovedAt     string   `json:"approved_at,omitempty"`
	Members        []string `json:"members"`
	Municipalities []string `json:"municipalities"`
	LegalBasis     string   `json:"legal_basis"`
	Purpose        string   `json:"purpose"`
	DPIA           string   `json:"dpia_status"`
	Ethics         Ethics   `json:"ethics"`
	End            Date     `json:"end,omitempty"`
}

// AccessApproval is the project's data-access approval. Approved holds only
// while the project is active, approved, and (if it has an end date) not
// past it on the day asked.
func (r *Registry) AccessApproval(ctx context.Context, id int64) (Approval, error) {
	p, err := r.Get(ctx, id)
	if err != nil {
		return Approval{}, err
	}
	ap := Approval{ProjectID: p.ID, Status: p.Status, DataAccess: p.DataAccess, Members: p.Members, Municipalities: p.Municipalities(),
		LegalBasis: p.LegalBasis, Purpose: p.Purpose, DPIA: p.DPIA, Ethics: p.Ethics, End: p.End}
	if p.DataAccess == "approved" {
		ap.ApprovedBy = p.DataAccessBy
		if p.DataAccessAt != nil {
			ap.ApprovedAt = p.DataAccessAt.UTC().Format(time.RFC3339)
		}
	}
	today := DateOf(r.now())
	ap.Approved = p.Status == "active" && p.DataAccess == "approved" && (p.End == "" || p.End >= today)
	if ap.Members == nil {
		ap.Members = []string{}
	}
	return ap, nil
}

// PolicyProject is the project as the broker's policies read it: the
// fields, names and types of policies.Project, so that the caller converts
// with policies.Project(a.ForPolicy()) without this package importing the
// policy engine.
type PolicyProject struct {
	ID         string   `json:"id"`
	Status     string   `json:"status"`
	Purpose    string   `json:"purpose"`
	ApprovedAt string   `json:"approved_at,omitempty"`
	EndDate    string   `json:"end_date"`
	REK        string   `json:"rek,omitempty"`
	DPIADone   bool     `json:"dpia_done"`
	LegalBasis string   `json:"legal_basis,omitempty"`
	Members    []string `json:"members"`
}

// ForPolicy renders the approval for the policies. Status is "approved"
// only while Approved holds; otherwise it says why not: the data-access
// state ("submitted" for requested) or "closed" for a completed project.
// The policies check the end date, REK, legal basis and purpose themselves,
// so a registry mistake cannot release data on its own.
func (a Approval) ForPolicy() PolicyProject {
	pp := PolicyProject{ID: strconv.FormatInt(a.ProjectID, 10), Purpose: a.Purpose, EndDate: string(a.End),
		DPIADone: a.DPIA == "completed" || a.DPIA == "not_required", LegalBasis: a.LegalBasis, Members: a.Members}
	switch {
	case a.Approved:
		pp.Status = "approved"
	case a.Status == "completed":
		pp.Status = "closed"
	case a.DataAccess == "approved":
		pp.Status = "expired" // approved, but past the project's end date
	case a.DataAccess == "requested":
		pp.Status = "submitted"
	case a.DataAccess == "none":
		pp.Status = a.Status
	default:
		pp.Status = a.DataAccess
	}
	if a.ApprovedAt != "" {
		pp.ApprovedAt = a.ApprovedAt[:len(time.DateOnly)]
	}
	if a.Ethics.Authority == "REK" && a.Ethics.Status == "APPROVED" {
		pp.REK = a.Ethics.Reference
	}
	return pp
}

// AuditLog adapts the broker's audit log to the registries' Auditor.
func AuditLog(l *audit.Log) Auditor {
	return func(ctx context.Context, tx *sql.Tx, e AuditEvent) error {
		_, err := l.Append(ctx, tx, audit.Event{Kind: e.Kind, Actor: e.Actor, Object: e.Object, Detail: e.Detail})
		return err
	}
}

// InTx runs fn in a transaction, retrying it when it loses a write conflict
// (store.InTxRetry: every registry change appends to the audit chain, whose
// head all writers touch). fn must be safe to run more than once.
func (r *Registry) InTx(ctx context.Context, fn func(*sql.Tx) error) error {
	r.writes.Lock()
	defer r.writes.Unlock()
	return r.db.InTxRetry(ctx, fn)
}
