package inquiry

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/notify"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
)

// ToProject turns an accepted inquiry into a portfolio project in one step:
// the project takes the inquiry's title, description, type, period, ethics
// status and knowledge needs; its units are the municipalities and service
// areas that accepted; the researcher becomes project manager and member,
// and the accepting R&D contacts the municipal contacts. The inquiry keeps
// the project's id and the project the inquiry's. edit, if not nil, may
// adjust the project before it is validated and stored.
func (r *Registry) ToProject(ctx context.Context, a portfolio.Actor, inquiryID int64, edit func(*portfolio.Project)) (portfolio.Project, error) {
	var p portfolio.Project
	err := r.portfolio.InTx(ctx, func(tx *sql.Tx) error {
		inq, err := getInquiry(ctx, tx, inquiryID, true)
		if err != nil {
			return err
		}
		if inq.ProjectID != nil {
			return &portfolio.StateError{Workflow: "inquiry", Action: "convert", From: fmt.Sprintf("already project %d", *inq.ProjectID)}
		}
		if inq.Erased {
			return &portfolio.StateError{Workflow: "inquiry", Action: "convert", From: "erased"}
		}
		var units []portfolio.Unit
		contacts := map[string]bool{}
		var people []portfolio.Person
		people = append(people, portfolio.Person{Role: "ProjectManager", Name: inq.ResearcherName, Email: inq.ResearcherEmail, Affiliation: inq.Institution})
		for _, as := range inq.Assignments {
			if as.Status != "accepted" {
				continue
			}
			units = append(units, portfolio.Unit{Municipality: as.Municipality, ServiceArea: as.ServiceArea})
			if as.RoutedBy != "advisers" && as.ContactID != nil && !contacts[as.ContactEmail] {
				contacts[as.ContactEmail] = true
				var name string
				if err := tx.QueryRowContext(ctx, `SELECT name FROM rd_contact WHERE id = ?`, *as.ContactID).Scan(&name); err == nil {
					people = append(people, portfolio.Person{Role: "contact", Name: name, Email: as.ContactEmail, Affiliation: unitName(as.Municipality, as.ServiceArea)})
				}
			}
		}
		if len(units) == 0 {
			return &portfolio.StateError{Workflow: "inquiry", Action: "convert", From: "no municipality has accepted"}
		}
		accepted := false
		for _, u := range units {
			if a.Role == portfolio.RoleAdmin || (a.Role == portfolio.RoleRDContact && a.Municipality == u.Municipality) {
				accepted = true
			}
		}
		if !accepted {
			return &portfolio.ForbiddenError{Actor: a, Action: "convert", Object: inq.Ref()}
		}
		ethics := portfolio.Ethics{Status: inq.EthicsStatus, Reference: inq.EthicsReference}
		// A REK case number, or an application without one yet, is REK's;
		// any other reference is kept for the adviser to attribute.
		if portfolio.IsREKReference(inq.EthicsReference) || inq.EthicsReference == "" && inq.EthicsStatus == "APPLIED" {
			ethics.Authority = "REK"
		}
		if ethics.Status == "APPROVED" {
			// The form does not ask for the date; the one converting must add it.
			ethics.Status = "APPLIED"
		}
		id := inq.ID
		p = portfolio.Project{
			Title: inq.Title, Summary: inq.Description, Type: inq.Kind, Start: inq.Start, End: inq.End,
			OwnerInstitution: inq.Institution, MunicipalityRole: "partner", Units: units,
			Partners: []portfolio.Partner{{Institution: inq.Institution, Role: "coordinator"}},
			People:   people, Members: []string{inq.ResearcherEmail}, Needs: inq.Needs, Ethics: ethics,
			InquiryID: &id,
		}
		if edit != nil {
			edit(&p)
			p.InquiryID = &id
		}
		if p, err = r.portfolio.CreateTx(ctx, tx, a, p); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE inquiry SET project_id = ? WHERE id = ?`, p.ID, inq.ID); err != nil {
			return fmt.Errorf("link inquiry %d to project %d: %w", inq.ID, p.ID, err)
		}
		return r.portfolio.Audit(ctx, tx, portfolio.AuditEvent{Kind: "inquiry.update", Actor: portfolio.AuditRef(a), Object: inq.Ref(),
			Detail: map[string]any{"action": "convert", "project": p.Ref()}})
	})
	return p, err
}

// ReminderReport counts what SendReminders queued.
type ReminderReport struct {
	Reminders int `json:"reminders"`
	Overdue   int `json:"overdue"`
}

// SendReminders queues, for every assignment still awaiting the
// municipality (received or under assessment), one reminder to its contact
// when the deadline is RemindBefore working days away or less, and one
// overdue notice to the contact and the advisers the first working day after
// it. It is idempotent: run it as often as you like.
func (r *Registry) SendReminders(ctx context.Context) (ReminderReport, error) {
	var rep ReminderReport
	now := r.now()
	today := portfolio.DateOf(now.In(Oslo))
	err := r.portfolio.InTx(ctx, func(tx *sql.Tx) error {
		rep = ReminderReport{}
		rows, err := tx.QueryContext(ctx, `SELECT `+assignmentColumns+`, overdue_notice_at IS NOT NULL FROM inquiry_assignment
			WHERE status IN ('received', 'under_assessment') ORDER BY id`)
		if err != nil {
			return fmt.Errorf("find assignments to remind: %w", err)
		}
		type due struct {
			a       Assignment
			overdue bool
		}
		var todo []due
		for rows.Next() {
			var a Assignment
			var noticed bool
			var contact sql.NullInt64
			var deadline time.Time
			var answered, reminded sql.NullTime
			if err := rows.Scan(&a.ID, &a.InquiryID, &a.Municipality, &a.ServiceArea, &contact, &a.ContactEmail, &a.RoutedBy, &a.Status,
				&a.Assessment, &a.Answer, &a.Note, &deadline, &answered, &reminded, &a.UpdatedAt, &noticed); err != nil {
				rows.Close()
				return fmt.Errorf("find assignments to remind: %w", err)
			}
			a.Deadline = portfolio.DateOf(deadline)
			switch {
			case a.Deadline < today && !noticed:
				todo = append(todo, due{a, true})
			case a.Deadline >= today && !reminded.Valid && WorkingDaysBetween(now.In(Oslo), deadline) <= r.RemindBefore:
				todo = append(todo, due{a, false})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, d := range todo {
			inq, err := getInquiry(ctx, tx, d.a.InquiryID, false)
			if err != nil {
				return err
			}
			for _, m := range reminderMail(&inq, &d.a, d.overdue, r.portfolio.Mail.Advisers) {
				if err := notify.Enqueue(ctx, tx, m, now); err != nil {
					return err
				}
			}
			column, kind := "reminded_at", "reminder"
			if d.overdue {
				column, kind = "overdue_notice_at", "overdue"
				rep.Overdue++
			} else {
				rep.Reminders++
			}
			// column is one of the two names above, never input.
			if _, err := tx.ExecContext(ctx, `UPDATE inquiry_assignment SET `+column+` = ? WHERE id = ?`, now, d.a.ID); err != nil {
				return fmt.Errorf("record %s for assignment %d: %w", kind, d.a.ID, err)
			}
			if err := r.portfolio.Audit(ctx, tx, portfolio.AuditEvent{Kind: "inquiry.update", Actor: "system", Object: fmt.Sprintf("inquiry/%d/assignment/%d", inq.ID, d.a.ID),
				Detail: map[string]any{"action": kind, "deadline": string(d.a.Deadline)}}); err != nil {
				return err
			}
		}
		return nil
	})
	return rep, err
}

// ErasureReport counts what ErasePerson changed.
type ErasureReport struct {
	Ref       string `json:"ref"` // the pseudonymous reference the audit log uses
	Inquiries int64  `json:"inquiries"`
	Contacts  int64  `json:"contacts"`
	Portfolio int64  `json:"portfolio"`
	Outbox    int64  `json:"outbox"`
}

// ErasedName replaces an erased person's name.
const ErasedName = "[slettet]"

// ErasePerson removes a person's personal data from both registries and the
// outbox on request: as a researcher their name and address leave their
// inquiries (which stay, anonymised, for the statistics); as an R&D contact
// they leave the directory and their open assignments go to the advisers;
// as a project member, manager or contact they leave the projects; mail to
// or about them is deleted. Occurrences of the address in free text are
// blanked. The audit entry names the person only by EmailRef. Advisers only.
func (r *Registry) ErasePerson(ctx context.Context, a portfolio.Actor, email string) (ErasureReport, error) {
	if a.Role != portfolio.RoleAdmin {
		return ErasureReport{}, &portfolio.ForbiddenError{Actor: a, Action: "erase", Object: "a person"}
	}
	email, err := portfolio.Email("email", email, true)
	if err != nil {
		return ErasureReport{}, err
	}
	ref := portfolio.EmailRef(email)
	rep := ErasureReport{Ref: ref}
	now := r.now()
	err = r.portfolio.InTx(ctx, func(tx *sql.Tx) error {
		rep = ErasureReport{Ref: ref}
		exec := func(q string, args ...any) (int64, error) {
			res, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return 0, fmt.Errorf("erase person: %w", err)
			}
			return res.RowsAffected()
		}
		// Every mail about the person's inquiries names them; they go too.
		mails, err := exec(`DELETE FROM outbox WHERE object IN (SELECT 'inquiry/' || id::VARCHAR FROM inquiry WHERE lower(researcher_email) = ?)`, email)
		if err != nil {
			return err
		}
		// Their name may also stand in the free text of their inquiries and
		// of the answers and notes exchanged about them.
		if _, err := exec(`UPDATE inquiry_assignment SET assessment = replace(assessment, i.researcher_name, '[slettet]'),
			answer = replace(answer, i.researcher_name, '[slettet]'), researcher_note = replace(researcher_note, i.researcher_name, '[slettet]')
			FROM inquiry i WHERE inquiry_assignment.inquiry_id = i.id AND lower(i.researcher_email) = ?`, email); err != nil {
			return err
		}
		if _, err := exec(`UPDATE inquiry SET description = replace(description, researcher_name, '[slettet]'), funding = replace(funding, researcher_name, '[slettet]'),
			resources_needed = replace(resources_needed, researcher_name, '[slettet]'), knowledge_return = replace(knowledge_return, researcher_name, '[slettet]'),
			target_groups = replace(target_groups, researcher_name, '[slettet]') WHERE lower(researcher_email) = ?`, email); err != nil {
			return err
		}
		if rep.Inquiries, err = exec(`UPDATE inquiry SET researcher_name = ?, researcher_email = ?, fingerprint = 'erased:' || id::VARCHAR, receipt_hash = '', erased = true
			WHERE lower(researcher_email) = ?`, ErasedName, ref, email); err != nil {
			return err
		}
		for _, q := range []string{
			`UPDATE inquiry SET description = replace(description, ?, '[slettet]'), funding = replace(funding, ?, '[slettet]'),
				resources_needed = replace(resources_needed, ?, '[slettet]'), knowledge_return = replace(knowledge_return, ?, '[slettet]'),
				target_groups = replace(target_groups, ?, '[slettet]') WHERE contains(lower(description || funding || resources_needed || knowledge_return || target_groups), ?)`,
		} {
			if _, err := exec(q, email, email, email, email, email, email); err != nil {
				return err
			}
		}
		if _, err := exec(`UPDATE inquiry_assignment SET assessment = replace(assessment, ?, '[slettet]'), answer = replace(answer, ?, '[slettet]'),
			researcher_note = replace(researcher_note, ?, '[slettet]') WHERE contains(lower(assessment || answer || researcher_note), ?)`, email, email, email, email); err != nil {
			return err
		}
		if _, err := exec(`UPDATE inquiry_assignment SET contact_id = NULL, contact_email = ?, routed_by = 'advisers'
			WHERE lower(contact_email) = ?`, r.portfolio.Mail.Advisers, email); err != nil {
			return err
		}
		if rep.Contacts, err = exec(`DELETE FROM rd_contact WHERE lower(email) = ?`, email); err != nil {
			return err
		}
		if rep.Portfolio, err = portfolio.ErasePerson(ctx, tx, email, ref, now); err != nil {
			return err
		}
		if rep.Outbox, err = notify.EraseRecipient(ctx, tx, email); err != nil {
			return err
		}
		rep.Outbox += mails
		return r.portfolio.Audit(ctx, tx, portfolio.AuditEvent{Kind: "person.erase", Actor: portfolio.AuditRef(a), Object: ref,
			Detail: map[string]any{"inquiries": rep.Inquiries, "contacts": rep.Contacts, "portfolio_rows": rep.Portfolio, "outbox": rep.Outbox}})
	})
	return rep, err
}

// ApplyRetention anonymises the researcher of every inquiry that did not
// become a project and whose assignments have all been closed for more than
// RetentionMonths. It returns how many inquiries it anonymised.
func (r *Registry) ApplyRetention(ctx context.Context) (int64, error) {
	cutoff := r.now().AddDate(0, -r.RetentionMonths, 0)
	var n int64
	err := r.portfolio.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE inquiry SET researcher_name = ?, researcher_email = 'retention:' || id::VARCHAR,
			fingerprint = 'erased:' || id::VARCHAR, receipt_hash = '', erased = true
			WHERE NOT erased AND project_id IS NULL
			AND NOT EXISTS (SELECT 1 FROM inquiry_assignment a WHERE a.inquiry_id = inquiry.id AND (a.status IN ('received', 'under_assessment', 'needs_information') OR a.updated_at > ?))`,
			ErasedName, cutoff)
		if err != nil {
			return fmt.Errorf("apply retention: %w", err)
		}
		n, _ = res.RowsAffected()
		if n == 0 {
			return nil
		}
		return r.portfolio.Audit(ctx, tx, portfolio.AuditEvent{Kind: "person.erase", Actor: "system", Object: "inquiry/*",
			Detail: map[string]any{"action": "retention", "inquiries": n, "cutoff": cutoff.Format(time.DateOnly)}})
	})
	return n, err
}
