package portfolio

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
)

// Need is one of the municipalities' identified knowledge needs
// (kunnskapsbehov). Projects and inquiries point to the needs they answer,
// so the collaboration can see which needs have no project.
type Need struct {
	ID           int64   `json:"id"`
	Title        string  `json:"title"`
	Description  string  `json:"description,omitempty"`
	Municipality string  `json:"municipality"` // kommunenummer, or "_T" for the collaboration as a whole
	ServiceArea  string  `json:"service_area,omitempty"`
	IdentifiedOn Date    `json:"identified_on"`
	Status       string  `json:"status"` // open or closed
	Projects     []int64 `json:"projects"`
	Inquiries    []int64 `json:"inquiries"`
}

func (n *Need) validate() error {
	var err error
	if n.Title, err = Text("title", n.Title, maxTitle, true, false); err != nil {
		return err
	}
	if n.Description, err = Text("description", n.Description, maxSummary, false, true); err != nil {
		return err
	}
	if _, ok := catalog.MunicipalityByCode(n.Municipality); !ok && n.Municipality != catalog.Total {
		return &InputError{"municipality", fmt.Sprintf("%q is not a municipality of the collaboration (or _T for all)", n.Municipality)}
	}
	if n.ServiceArea != "" && !ServiceAreas.Has(n.ServiceArea) {
		return &InputError{"service_area", fmt.Sprintf("%q is not a service area", n.ServiceArea)}
	}
	if err := checkDate("identified_on", n.IdentifiedOn, true); err != nil {
		return err
	}
	if n.Status == "" {
		n.Status = "open"
	}
	if n.Status != "open" && n.Status != "closed" {
		return &InputError{"status", fmt.Sprintf("%q is not open or closed", n.Status)}
	}
	return nil
}

// mayKeepNeed: advisers for all, R&D contacts and coordinators for their municipality.
func mayKeepNeed(a Actor, n *Need) bool {
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleRDContact, RoleCoordinator:
		return a.Municipality != "" && a.Municipality == n.Municipality
	}
	return false
}

// AddNeed registers a knowledge need.
func (r *Registry) AddNeed(ctx context.Context, a Actor, n Need) (Need, error) {
	if err := n.validate(); err != nil {
		return n, err
	}
	if !mayKeepNeed(a, &n) {
		return n, &ForbiddenError{Actor: a, Action: "register knowledge needs for " + n.Municipality, Object: "knowledge need"}
	}
	err := r.InTx(ctx, func(tx *sql.Tx) error {
		var dup int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM knowledge_need WHERE lower(title) = lower(?) AND municipality = ?`, n.Title, n.Municipality).Scan(&dup); err != nil {
			return fmt.Errorf("check knowledge need: %w", err)
		}
		if dup > 0 {
			return &InputError{"title", fmt.Sprintf("the need %q is already registered for %s", n.Title, n.Municipality)}
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO knowledge_need (title, description, municipality, service_area, identified_on, status, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, n.Title, n.Description, n.Municipality, n.ServiceArea, string(n.IdentifiedOn), n.Status, a.ID).Scan(&n.ID); err != nil {
			return fmt.Errorf("insert knowledge need: %w", err)
		}
		return r.Audit(ctx, tx, AuditEvent{Kind: "need.update", Actor: AuditRef(a), Object: fmt.Sprintf("need/%d", n.ID), Detail: map[string]any{"action": "create", "title": n.Title}})
	})
	return n, err
}

// SetNeedStatus opens or closes a need.
func (r *Registry) SetNeedStatus(ctx context.Context, a Actor, id int64, status string) error {
	if status != "open" && status != "closed" {
		return &InputError{"status", fmt.Sprintf("%q is not open or closed", status)}
	}
	return r.InTx(ctx, func(tx *sql.Tx) error {
		var n Need
		err := tx.QueryRowContext(ctx, `SELECT municipality, status FROM knowledge_need WHERE id = ?`, id).Scan(&n.Municipality, &n.Status)
		if errors.Is(err, sql.ErrNoRows) {
			return &NotFoundError{Kind: "knowledge need", ID: id}
		}
		if err != nil {
			return fmt.Errorf("read knowledge need %d: %w", id, err)
		}
		if !mayKeepNeed(a, &n) {
			return &ForbiddenError{Actor: a, Action: "change", Object: fmt.Sprintf("need/%d", id)}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE knowledge_need SET status = ? WHERE id = ?`, status, id); err != nil {
			return fmt.Errorf("update knowledge need %d: %w", id, err)
		}
		return r.Audit(ctx, tx, AuditEvent{Kind: "need.update", Actor: AuditRef(a), Object: fmt.Sprintf("need/%d", id), Detail: map[string]any{"action": "status", "from": n.Status, "to": status}})
	})
}

// NeedFilter selects needs.
type NeedFilter struct {
	Municipality string // also matches needs of the whole collaboration
	Unmet        bool   // open needs no planned, applied, active or completed project answers
}

// Needs lists knowledge needs with the projects and inquiries that point to them.
func (r *Registry) Needs(ctx context.Context, f NeedFilter) ([]Need, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT n.id, n.title, n.description, n.municipality, n.service_area, n.identified_on, n.status,
		coalesce((SELECT list(pn.project_id ORDER BY pn.project_id) FROM project_need pn JOIN project p ON p.id = pn.project_id
		          WHERE pn.need_id = n.id AND p.status <> 'rejected'), []),
		coalesce((SELECT list(inq.inquiry_id ORDER BY inq.inquiry_id) FROM inquiry_need inq WHERE inq.need_id = n.id), [])
		FROM knowledge_need n WHERE (? = '' OR n.municipality = ? OR n.municipality = '_T') ORDER BY n.id`, f.Municipality, f.Municipality)
	if err != nil {
		return nil, fmt.Errorf("list knowledge needs: %w", err)
	}
	defer rows.Close()
	var out []Need
	for rows.Next() {
		var n Need
		var identified sql.NullTime
		var projects, inquiries []any
		if err := rows.Scan(&n.ID, &n.Title, &n.Description, &n.Municipality, &n.ServiceArea, &identified, &n.Status, &projects, &inquiries); err != nil {
			return nil, fmt.Errorf("list knowledge needs: %w", err)
		}
		n.IdentifiedOn = dateOf(identified)
		n.Projects, n.Inquiries = int64s(projects), int64s(inquiries)
		if f.Unmet && (n.Status != "open" || len(n.Projects) > 0) {
			continue
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func int64s(xs []any) []int64 {
	out := make([]int64, 0, len(xs))
	for _, x := range xs {
		switch v := x.(type) {
		case int32:
			out = append(out, int64(v))
		case int64:
			out = append(out, v)
		}
	}
	return out
}
