package inquiry

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kunnskapskommunen/folkekommune/broker/notify"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
)

// ErrBadReceipt is a receipt code that does not open the inquiry.
var ErrBadReceipt = errors.New("the receipt code does not match this inquiry")

// ReceiptActor is the researcher of inquiry id, as proven by the receipt
// code Submit gave them: the way a researcher without an account follows,
// amends or withdraws their inquiry.
func (r *Registry) ReceiptActor(ctx context.Context, id int64, code string) (portfolio.Actor, error) {
	var hash, email string
	var erased bool
	err := r.db.QueryRowContext(ctx, `SELECT receipt_hash, researcher_email, erased FROM inquiry WHERE id = ?`, id).Scan(&hash, &email, &erased)
	if errors.Is(err, sql.ErrNoRows) {
		return portfolio.Actor{}, ErrBadReceipt
	}
	if err != nil {
		return portfolio.Actor{}, fmt.Errorf("check receipt of inquiry %d: %w", id, err)
	}
	if erased || hash == "" || subtle.ConstantTimeCompare([]byte(hash), []byte(receiptHash(code))) != 1 {
		return portfolio.Actor{}, ErrBadReceipt
	}
	return portfolio.Actor{ID: email, Role: portfolio.RoleResearcher}, nil
}

// Amend replaces the text of an inquiry: its own researcher (or an
// adviser) may, as long as no municipality has answered it and it has not
// become a project. The researcher's address and the ticked municipalities
// stay (they decided the routing); the contacts of open assignments are
// told what changed.
func (r *Registry) Amend(ctx context.Context, a portfolio.Actor, id int64, s Submission) (Inquiry, error) {
	var inq Inquiry
	err := r.portfolio.InTx(ctx, func(tx *sql.Tx) error {
		old, err := getInquiry(ctx, tx, id, true)
		if err != nil {
			return err
		}
		own := !old.Erased && strings.EqualFold(a.ID, old.ResearcherEmail)
		if !(a.Role == portfolio.RoleAdmin || a.Role == portfolio.RoleResearcher && own) {
			return &portfolio.ForbiddenError{Actor: a, Action: "amend", Object: old.Ref()}
		}
		if old.ProjectID != nil || old.Erased {
			return &portfolio.StateError{Workflow: "inquiry", Action: "amend", From: "closed"}
		}
		for _, as := range old.Assignments {
			if as.Status == "accepted" || as.Status == "declined" {
				return &portfolio.StateError{Workflow: "inquiry", Action: "amend", From: as.Status}
			}
		}
		s.ResearcherEmail, s.Units = old.ResearcherEmail, old.Units
		if err := s.Validate(); err != nil {
			return err
		}
		fp := s.fingerprint()
		var dup int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM inquiry WHERE fingerprint = ? AND id <> ?`, fp, id).Scan(&dup); err != nil {
			return fmt.Errorf("check for duplicates: %w", err)
		}
		if dup > 0 {
			return &portfolio.InputError{Field: "title", Problem: "another inquiry from this address has the same title and description"}
		}
		changed := changedFields(&old.Submission, &s)
		if len(changed) == 0 {
			inq = old
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE inquiry SET title = ?, kind = ?, description = ?, institution = ?, researcher_name = ?, funding = ?,
			funding_status = ?, resources_needed = ?, knowledge_return = ?, target_groups = ?, ethics_status = ?, ethics_reference = ?,
			start_date = ?, end_date = ?, fingerprint = ? WHERE id = ?`,
			s.Title, s.Kind, s.Description, s.Institution, s.ResearcherName, s.Funding, s.FundingStatus, s.Resources, s.KnowledgeReturn,
			s.TargetGroups, s.EthicsStatus, s.EthicsReference, string(s.Start), string(s.End), fp, id); err != nil {
			return fmt.Errorf("amend %s: %w", old.Ref(), err)
		}
		if !slices.Equal(old.Needs, s.Needs) {
			if _, err := tx.ExecContext(ctx, `DELETE FROM inquiry_need WHERE inquiry_id = ?`, id); err != nil {
				return fmt.Errorf("amend %s: %w", old.Ref(), err)
			}
			for i, n := range s.Needs {
				var ok int
				if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM knowledge_need WHERE id = ?`, n).Scan(&ok); err != nil {
					return fmt.Errorf("check knowledge need %d: %w", n, err)
				}
				if ok == 0 {
					return &portfolio.InputError{Field: fmt.Sprintf("needs[%d]", i), Problem: fmt.Sprintf("knowledge need %d does not exist", n)}
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO inquiry_need VALUES (?, ?)`, id, n); err != nil {
					return fmt.Errorf("amend %s: %w", old.Ref(), err)
				}
			}
		}
		now := r.now()
		inq = old
		inq.Submission = s
		for _, as := range old.Assignments {
			if !Open(as.Status) {
				continue
			}
			body := fmt.Sprintf("Hei,\n\nForskeren har endret henvendelsen «%s» til %s. Endrede felt: %s.\n\nSvarfrist: %s (referanse %s, oppgave %d).%s",
				s.Title, unitName(as.Municipality, as.ServiceArea), strings.Join(changed, ", "), as.Deadline, old.Ref(), as.ID, signature)
			if err := notify.Enqueue(ctx, tx, notify.Message{To: as.ContactEmail, Subject: "Endret forskningshenvendelse: " + s.Title, Body: body, Topic: "inquiry.amend", Object: old.Ref()}, now); err != nil {
				return err
			}
		}
		return r.portfolio.Audit(ctx, tx, portfolio.AuditEvent{Kind: "inquiry.update", Actor: portfolio.AuditRef(a), Object: old.Ref(),
			Detail: map[string]any{"action": "amend", "fields": changed}})
	})
	return inq, err
}

func changedFields(a, b *Submission) []string {
	var out []string
	for _, f := range []struct {
		name string
		x, y string
	}{
		{"title", a.Title, b.Title}, {"kind", a.Kind, b.Kind}, {"description", a.Description, b.Description},
		{"institution", a.Institution, b.Institution}, {"researcher_name", a.ResearcherName, b.ResearcherName},
		{"funding", a.Funding, b.Funding}, {"funding_status", a.FundingStatus, b.FundingStatus},
		{"resources_needed", a.Resources, b.Resources}, {"knowledge_return", a.KnowledgeReturn, b.KnowledgeReturn},
		{"target_groups", a.TargetGroups, b.TargetGroups}, {"ethics_status", a.EthicsStatus, b.EthicsStatus},
		{"ethics_reference", a.EthicsReference, b.EthicsReference}, {"start", string(a.Start), string(b.Start)}, {"end", string(a.End), string(b.End)},
	} {
		if f.x != f.y {
			out = append(out, f.name)
		}
	}
	if !slices.Equal(a.Needs, b.Needs) {
		out = append(out, "needs")
	}
	return out
}
