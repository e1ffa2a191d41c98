package inquiry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"github.com/kunnskapskommunen/folkekommune/broker/notify"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

var (
	adminAny      = portfolio.Grant{Role: portfolio.RoleAdmin, Scope: portfolio.ScopeAny}
	contactMuni   = portfolio.Grant{Role: portfolio.RoleRDContact, Scope: portfolio.ScopeMunicipality}
	researcherOwn = portfolio.Grant{Role: portfolio.RoleResearcher, Scope: portfolio.ScopeOwn}
)

// AssignmentWorkflow is the transition table of one municipality's answer
// to an inquiry. Notify "researcher" mails the researcher the answer text;
// "contact" mails the assignment's R&D contact.
var AssignmentWorkflow = portfolio.Workflow{Name: "inquiry", Transitions: []portfolio.Transition{
	{Action: "assess", From: []string{"received"}, To: "under_assessment", Grants: []portfolio.Grant{adminAny, contactMuni}, Audit: "inquiry.update", Notify: "researcher"},
	{Action: "request_information", From: []string{"received", "under_assessment"}, To: "needs_information", Grants: []portfolio.Grant{adminAny, contactMuni}, Audit: "inquiry.update", Notify: "researcher"},
	{Action: "supplement", From: []string{"needs_information"}, To: "under_assessment", Grants: []portfolio.Grant{adminAny, researcherOwn}, Audit: "inquiry.update", Notify: "contact"},
	{Action: "accept", From: []string{"under_assessment"}, To: "accepted", Grants: []portfolio.Grant{adminAny, contactMuni}, Audit: "inquiry.update", Notify: "researcher"},
	{Action: "decline", From: []string{"received", "under_assessment", "needs_information"}, To: "declined", Grants: []portfolio.Grant{adminAny, contactMuni}, Audit: "inquiry.update", Notify: "researcher"},
	{Action: "withdraw", From: []string{"received", "under_assessment", "needs_information"}, To: "withdrawn", Grants: []portfolio.Grant{adminAny, researcherOwn}, Audit: "inquiry.update", Notify: "contact"},
}}

// Registry keeps the inquiries and the R&D contact directory. It shares the
// portfolio's database, audit log and mailboxes.
type Registry struct {
	db        *store.DB
	portfolio *portfolio.Registry

	AnswerDays      int // working days to answer; default 15
	RemindBefore    int // working days before the deadline the reminder goes; default 3
	RetentionMonths int // months after the last answer a researcher's identity is kept; default 24
}

// New returns the inquiry registry beside the portfolio p.
func New(p *portfolio.Registry) *Registry {
	return &Registry{db: p.DB(), portfolio: p, AnswerDays: 15, RemindBefore: 3, RetentionMonths: 24}
}

func (r *Registry) now() time.Time { return r.portfolio.Now().UTC() }

// Receipt is what the submitter is told.
type Receipt struct {
	InquiryID   int64        `json:"inquiry_id"`
	Assignments []Assignment `json:"assignments"`
}

// Submit stores a submission from the public form, routes it to the R&D
// contacts of every ticked municipality and service area, and queues the
// notifications, all in one transaction. Duplicate submissions and spam are
// refused with a sentence saying why.
func (r *Registry) Submit(ctx context.Context, s Submission) (Inquiry, error) {
	now := r.now()
	if strings.TrimSpace(s.Website) != "" {
		return Inquiry{}, &portfolio.InputError{Field: "website", Problem: "must be left empty"}
	}
	if !s.StartedAt.IsZero() && now.Sub(s.StartedAt) < MinFillTime {
		return Inquiry{}, &portfolio.InputError{Field: "started_at", Problem: "the form was sent too quickly after it was opened; please try again"}
	}
	if err := s.Validate(); err != nil {
		return Inquiry{}, err
	}
	inq := Inquiry{Submission: s, ReceivedAt: now}
	fp := s.fingerprint()
	code, hash, err := newReceipt()
	if err != nil {
		return Inquiry{}, err
	}
	inq.Receipt = code
	err = r.portfolio.InTx(ctx, func(tx *sql.Tx) error {
		inq.Assignments = nil
		var dup, recent int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE fingerprint = ?), count(*) FILTER (WHERE researcher_email = ? AND received_at > ?)
			FROM inquiry WHERE NOT erased`, fp, s.ResearcherEmail, now.Add(-24*time.Hour)).Scan(&dup, &recent); err != nil {
			return fmt.Errorf("check for duplicates: %w", err)
		}
		if dup > 0 {
			return &portfolio.InputError{Field: "title", Problem: "this inquiry has already been received from this address"}
		}
		if recent >= MaxPerDay {
			return &portfolio.InputError{Field: "researcher_email", Problem: fmt.Sprintf("at most %d inquiries a day can be sent from one address", MaxPerDay)}
		}
		for i, id := range s.Needs {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM knowledge_need WHERE id = ?`, id).Scan(&n); err != nil {
				return fmt.Errorf("check knowledge need %d: %w", id, err)
			}
			if n == 0 {
				return &portfolio.InputError{Field: fmt.Sprintf("needs[%d]", i), Problem: fmt.Sprintf("knowledge need %d does not exist", id)}
			}
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO inquiry (title, kind, description, institution, researcher_name, researcher_email, funding,
			funding_status, resources_needed, knowledge_return, target_groups, ethics_status, ethics_reference, start_date, end_date, fingerprint, receipt_hash, received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			s.Title, s.Kind, s.Description, s.Institution, s.ResearcherName, s.ResearcherEmail, s.Funding, s.FundingStatus, s.Resources,
			s.KnowledgeReturn, s.TargetGroups, s.EthicsStatus, s.EthicsReference, string(s.Start), string(s.End), fp, hash, now).Scan(&inq.ID)
		if err != nil {
			return fmt.Errorf("insert inquiry: %w", err)
		}
		for _, id := range s.Needs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO inquiry_need VALUES (?, ?)`, inq.ID, id); err != nil {
				return fmt.Errorf("link inquiry to need: %w", err)
			}
		}
		deadline := portfolio.DateOf(AddWorkingDays(now.In(Oslo), r.AnswerDays))
		for _, u := range s.Units {
			rt, err := r.route(ctx, tx, u)
			if err != nil {
				return err
			}
			a := Assignment{InquiryID: inq.ID, Municipality: u.Municipality, ServiceArea: u.ServiceArea, ContactID: rt.ContactID,
				ContactEmail: rt.Email, RoutedBy: rt.RoutedBy, Status: "received", Deadline: deadline, UpdatedAt: now}
			if err := tx.QueryRowContext(ctx, `INSERT INTO inquiry_assignment (inquiry_id, municipality, service_area, contact_id, contact_email,
				routed_by, status, deadline, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'received', ?, ?) RETURNING id`,
				a.InquiryID, a.Municipality, a.ServiceArea, a.ContactID, a.ContactEmail, a.RoutedBy, string(a.Deadline), now).Scan(&a.ID); err != nil {
				return fmt.Errorf("insert assignment: %w", err)
			}
			inq.Assignments = append(inq.Assignments, a)
			if err := notify.Enqueue(ctx, tx, r.newInquiryMail(&inq, &a), now); err != nil {
				return err
			}
		}
		if err := notify.Enqueue(ctx, tx, receiptMail(&inq), now); err != nil {
			return err
		}
		return r.portfolio.Audit(ctx, tx, portfolio.AuditEvent{Kind: "inquiry.update", Actor: portfolio.EmailRef(s.ResearcherEmail), Object: inq.Ref(),
			Detail: map[string]any{"action": "submit", "assignments": len(inq.Assignments), "municipalities": unitList(s.Units)}})
	})
	if err != nil {
		return Inquiry{}, err
	}
	inq.StatusByMunicipality = inq.MunicipalityStatus()
	return inq, nil
}

func unitList(us []portfolio.Unit) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Municipality
		if u.ServiceArea != "" {
			out[i] += "/" + u.ServiceArea
		}
	}
	return out
}

// Act takes a workflow action on one assignment. assessment is the internal
// note (kept, never sent); answer is the text sent to the researcher (or,
// for supplement and withdraw, the researcher's message to the contact).
// Empty texts keep what was there.
func (r *Registry) Act(ctx context.Context, a portfolio.Actor, assignmentID int64, action, assessment, answer string) (Assignment, error) {
	var err error
	if assessment, err = portfolio.Text("assessment", assessment, MaxLongText, false, true); err != nil {
		return Assignment{}, err
	}
	if answer, err = portfolio.Text("answer", answer, MaxLongText, false, true); err != nil {
		return Assignment{}, err
	}
	if (action == "decline" || action == "request_information") && answer == "" {
		return Assignment{}, &portfolio.InputError{Field: "answer", Problem: "tell the researcher why (" + action + ")"}
	}
	var as Assignment
	err = r.portfolio.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		as, err = r.act(ctx, tx, a, assignmentID, action, assessment, answer)
		return err
	})
	return as, err
}

func (r *Registry) act(ctx context.Context, tx *sql.Tx, a portfolio.Actor, assignmentID int64, action, assessment, answer string) (Assignment, error) {
	as, err := getAssignment(ctx, tx, assignmentID)
	if err != nil {
		return as, err
	}
	inq, err := getInquiry(ctx, tx, as.InquiryID, false)
	if err != nil {
		return as, err
	}
	rel := portfolio.Relation{
		Municipality: a.Municipality != "" && a.Municipality == as.Municipality,
		Own:          !inq.Erased && a.ID != "" && strings.EqualFold(a.ID, inq.ResearcherEmail),
	}
	t, err := AssignmentWorkflow.Step(action, as.Status, a, rel)
	if err != nil {
		return as, err
	}
	now := r.now()
	from := as.Status
	as.Status, as.UpdatedAt = t.To, now
	if assessment != "" && a.Role != portfolio.RoleResearcher {
		as.Assessment = assessment
	}
	if answer != "" && a.Role != portfolio.RoleResearcher {
		as.Answer = answer
	}
	if answer != "" && a.Role == portfolio.RoleResearcher {
		as.Note = answer
	}
	if (t.To == "accepted" || t.To == "declined") && as.AnsweredAt == nil {
		as.AnsweredAt = &now
	}
	if _, err := tx.ExecContext(ctx, `UPDATE inquiry_assignment SET status = ?, assessment = ?, answer = ?, researcher_note = ?, answered_at = ?, updated_at = ? WHERE id = ?`,
		as.Status, as.Assessment, as.Answer, as.Note, as.AnsweredAt, now, as.ID); err != nil {
		return as, fmt.Errorf("%s assignment %d: %w", action, as.ID, err)
	}
	if err := r.portfolio.Audit(ctx, tx, portfolio.AuditEvent{Kind: t.Audit, Actor: portfolio.AuditRef(a), Object: fmt.Sprintf("inquiry/%d/assignment/%d", inq.ID, as.ID),
		Detail: map[string]any{"action": action, "from": from, "to": t.To, "municipality": as.Municipality, "service_area": as.ServiceArea}}); err != nil {
		return as, err
	}
	if msg, ok := r.transitionMail(&inq, &as, t, answer); ok {
		if err := notify.Enqueue(ctx, tx, msg, now); err != nil {
			return as, err
		}
	}
	return as, nil
}

// WithdrawAll withdraws every open assignment of an inquiry at once, as the
// researcher's "withdraw my inquiry" does.
func (r *Registry) WithdrawAll(ctx context.Context, a portfolio.Actor, inquiryID int64, message string) (int, error) {
	message, err := portfolio.Text("message", message, MaxMediumText, false, true)
	if err != nil {
		return 0, err
	}
	n := 0
	err = r.portfolio.InTx(ctx, func(tx *sql.Tx) error {
		n = 0
		inq, err := getInquiry(ctx, tx, inquiryID, true)
		if err != nil {
			return err
		}
		for _, as := range inq.Assignments {
			if !Open(as.Status) {
				continue
			}
			if _, err := r.act(ctx, tx, a, as.ID, "withdraw", "", message); err != nil {
				return err
			}
			n++
		}
		if n == 0 {
			return &portfolio.StateError{Workflow: "inquiry", Action: "withdraw", From: "answered"}
		}
		return nil
	})
	return n, err
}

// Get reads an inquiry as actor may see it: advisers see everything, an R&D
// contact the assignments of their municipality, the researcher their own
// inquiry without internal assessments; anyone else nothing.
func (r *Registry) Get(ctx context.Context, a portfolio.Actor, id int64) (Inquiry, error) {
	inq, err := getInquiry(ctx, r.db.DB, id, true)
	if err != nil {
		return inq, err
	}
	v, ok := view(a, inq)
	if !ok {
		return Inquiry{}, &portfolio.ForbiddenError{Actor: a, Action: "read", Object: inq.Ref()}
	}
	return v, nil
}

func view(a portfolio.Actor, inq Inquiry) (v Inquiry, ok bool) {
	defer func() {
		if ok {
			v.StatusByMunicipality = v.MunicipalityStatus()
		}
	}()
	switch a.Role {
	case portfolio.RoleAdmin:
		return inq, true
	case portfolio.RoleRDContact:
		var mine []Assignment
		for _, as := range inq.Assignments {
			if as.Municipality == a.Municipality {
				mine = append(mine, as)
			}
		}
		inq.Assignments = mine
		return inq, len(mine) > 0
	case portfolio.RoleResearcher:
		if !inq.Erased && strings.EqualFold(a.ID, inq.ResearcherEmail) {
			return inq.ForResearcher(), true
		}
	}
	return Inquiry{}, false
}

// List returns the inquiries actor may see, newest first.
func (r *Registry) List(ctx context.Context, a portfolio.Actor) ([]Inquiry, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT id FROM inquiry ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list inquiries: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	var out []Inquiry
	for _, id := range ids {
		inq, err := getInquiry(ctx, r.db.DB, id, true)
		if err != nil {
			return nil, err
		}
		if v, ok := view(a, inq); ok {
			out = append(out, v)
		}
	}
	return out, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const assignmentColumns = `id, inquiry_id, municipality, service_area, contact_id, contact_email, routed_by, status, assessment, answer,
	researcher_note, deadline, answered_at, reminded_at, updated_at`

func scanAssignment(row interface{ Scan(...any) error }) (Assignment, error) {
	var a Assignment
	var contact sql.NullInt64
	var deadline time.Time
	var answered, reminded sql.NullTime
	err := row.Scan(&a.ID, &a.InquiryID, &a.Municipality, &a.ServiceArea, &contact, &a.ContactEmail, &a.RoutedBy, &a.Status,
		&a.Assessment, &a.Answer, &a.Note, &deadline, &answered, &reminded, &a.UpdatedAt)
	if err != nil {
		return a, err
	}
	if contact.Valid {
		a.ContactID = &contact.Int64
	}
	a.Deadline = portfolio.DateOf(deadline)
	if answered.Valid {
		t := answered.Time.UTC()
		a.AnsweredAt = &t
	}
	if reminded.Valid {
		t := reminded.Time.UTC()
		a.RemindedAt = &t
	}
	a.UpdatedAt = a.UpdatedAt.UTC()
	return a, nil
}

func getAssignment(ctx context.Context, q querier, id int64) (Assignment, error) {
	a, err := scanAssignment(q.QueryRowContext(ctx, `SELECT `+assignmentColumns+` FROM inquiry_assignment WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, &portfolio.NotFoundError{Kind: "assignment", ID: id}
	}
	if err != nil {
		return a, fmt.Errorf("read assignment %d: %w", id, err)
	}
	return a, nil
}

func getInquiry(ctx context.Context, q querier, id int64, withAssignments bool) (Inquiry, error) {
	var inq Inquiry
	var start, end time.Time
	var project sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT id, title, kind, description, institution, researcher_name, researcher_email, funding, funding_status,
		resources_needed, knowledge_return, target_groups, ethics_status, ethics_reference, start_date, end_date, received_at, project_id, erased
		FROM inquiry WHERE id = ?`, id).Scan(&inq.ID, &inq.Title, &inq.Kind, &inq.Description, &inq.Institution, &inq.ResearcherName,
		&inq.ResearcherEmail, &inq.Funding, &inq.FundingStatus, &inq.Resources, &inq.KnowledgeReturn, &inq.TargetGroups, &inq.EthicsStatus,
		&inq.EthicsReference, &start, &end, &inq.ReceivedAt, &project, &inq.Erased)
	if errors.Is(err, sql.ErrNoRows) {
		return inq, &portfolio.NotFoundError{Kind: "inquiry", ID: id}
	}
	if err != nil {
		return inq, fmt.Errorf("read inquiry %d: %w", id, err)
	}
	inq.Start, inq.End, inq.ReceivedAt = portfolio.DateOf(start), portfolio.DateOf(end), inq.ReceivedAt.UTC()
	if project.Valid {
		inq.ProjectID = &project.Int64
	}
	rows, err := q.QueryContext(ctx, `SELECT need_id FROM inquiry_need WHERE inquiry_id = ? ORDER BY need_id`, id)
	if err != nil {
		return inq, fmt.Errorf("read inquiry %d: %w", id, err)
	}
	for rows.Next() {
		var n int64
		rows.Scan(&n)
		inq.Needs = append(inq.Needs, n)
	}
	rows.Close()
	if !withAssignments {
		return inq, nil
	}
	rows, err = q.QueryContext(ctx, `SELECT `+assignmentColumns+` FROM inquiry_assignment WHERE inquiry_id = ? ORDER BY id`, id)
	if err != nil {
		return inq, fmt.Errorf("read assignments of inquiry %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanAssignment(rows)
		if err != nil {
			return inq, fmt.Errorf("read assignments of inquiry %d: %w", id, err)
		}
		inq.Assignments = append(inq.Assignments, a)
	}
	for _, u := range inq.Assignments {
		inq.Units = append(inq.Units, portfolio.Unit{Municipality: u.Municipality, ServiceArea: u.ServiceArea})
	}
	return inq, rows.Err()
}

func unitName(municipality, area string) string {
	name := municipality
	if m, ok := catalog.MunicipalityByCode(municipality); ok {
		name = m.Name
	}
	for _, t := range portfolio.ServiceAreas {
		if t.Code == area {
			name += ", " + strings.ToLower(t.Label.NB)
		}
	}
	return name
}
