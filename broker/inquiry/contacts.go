package inquiry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
)

// Contact is an R&D contact (FoU-kontakt) in the directory the advisers
// keep: for a municipality as a whole (ServiceArea "") or for one service
// area within it.
type Contact struct {
	ID           int64  `json:"id"`
	Municipality string `json:"municipality"`
	ServiceArea  string `json:"service_area,omitempty"`
	Name         string `json:"name"`
	Email        string `json:"email"`
	UserID       string `json:"user_id,omitempty"` // broker login, if any
	Active       bool   `json:"active"`
}

func (c *Contact) validate() error {
	var err error
	if _, ok := catalog.MunicipalityByCode(c.Municipality); !ok {
		return &portfolio.InputError{Field: "municipality", Problem: fmt.Sprintf("%q is not a municipality of the collaboration", c.Municipality)}
	}
	if c.ServiceArea != "" && !portfolio.ServiceAreas.Has(c.ServiceArea) {
		return &portfolio.InputError{Field: "service_area", Problem: fmt.Sprintf("%q is not a service area", c.ServiceArea)}
	}
	if c.Name, err = portfolio.Text("name", c.Name, 200, true, false); err != nil {
		return err
	}
	if c.Email, err = portfolio.Email("email", c.Email, true); err != nil {
		return err
	}
	c.UserID, err = portfolio.Text("user_id", c.UserID, 200, false, false)
	return err
}

// SaveContact adds a contact (ID 0) or replaces one. Only the advisers keep
// the directory.
func (r *Registry) SaveContact(ctx context.Context, a portfolio.Actor, c Contact) (Contact, error) {
	if a.Role != portfolio.RoleAdmin {
		return c, &portfolio.ForbiddenError{Actor: a, Action: "edit", Object: "the R&D contact directory"}
	}
	if err := c.validate(); err != nil {
		return c, err
	}
	id := c.ID
	err := r.portfolio.InTx(ctx, func(tx *sql.Tx) error {
		c.ID = id
		var dup int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM rd_contact WHERE municipality = ? AND service_area = ? AND lower(email) = ? AND id <> ?`,
			c.Municipality, c.ServiceArea, c.Email, c.ID).Scan(&dup); err != nil {
			return fmt.Errorf("check contact: %w", err)
		}
		if dup > 0 {
			return &portfolio.InputError{Field: "email", Problem: fmt.Sprintf("%s is already a contact for %s/%s", c.Email, c.Municipality, c.ServiceArea)}
		}
		action := "update"
		if c.ID == 0 {
			action = "create"
			if err := tx.QueryRowContext(ctx, `INSERT INTO rd_contact (municipality, service_area, name, email, user_id, active) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
				c.Municipality, c.ServiceArea, c.Name, c.Email, c.UserID, c.Active).Scan(&c.ID); err != nil {
				return fmt.Errorf("insert contact: %w", err)
			}
		} else {
			res, err := tx.ExecContext(ctx, `UPDATE rd_contact SET municipality = ?, service_area = ?, name = ?, email = ?, user_id = ?, active = ? WHERE id = ?`,
				c.Municipality, c.ServiceArea, c.Name, c.Email, c.UserID, c.Active, c.ID)
			if err != nil {
				return fmt.Errorf("update contact %d: %w", c.ID, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return &portfolio.NotFoundError{Kind: "contact", ID: c.ID}
			}
		}
		return r.portfolio.Audit(ctx, tx, portfolio.AuditEvent{Kind: "contact.update", Actor: portfolio.AuditRef(a), Object: fmt.Sprintf("contact/%d", c.ID),
			Detail: map[string]any{"action": action, "municipality": c.Municipality, "service_area": c.ServiceArea, "active": c.Active}})
	})
	return c, err
}

// Contacts lists the directory, optionally for one municipality.
func (r *Registry) Contacts(ctx context.Context, municipality string) ([]Contact, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT id, municipality, service_area, name, email, user_id, active FROM rd_contact
		WHERE ? = '' OR municipality = ? ORDER BY municipality, service_area, id`, municipality, municipality)
	if err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	defer rows.Close()
	var out []Contact
	for rows.Next() {
		var c Contact
		if err := rows.Scan(&c.ID, &c.Municipality, &c.ServiceArea, &c.Name, &c.Email, &c.UserID, &c.Active); err != nil {
			return nil, fmt.Errorf("list contacts: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Route is where an inquiry for a municipality's service area goes.
type Route struct {
	ContactID *int64
	Email     string
	RoutedBy  string // unit, municipality or advisers
}

// route finds the active contact for the unit, falling back to the
// municipality's general contact and then to the advisers' mailbox, so that
// no inquiry is left without someone to answer it.
func (r *Registry) route(ctx context.Context, tx *sql.Tx, u portfolio.Unit) (Route, error) {
	var id int64
	var email string
	err := tx.QueryRowContext(ctx, `SELECT id, email FROM rd_contact WHERE active AND municipality = ? AND service_area = ? ORDER BY id LIMIT 1`,
		u.Municipality, u.ServiceArea).Scan(&id, &email)
	if err == nil {
		by := "unit"
		if u.ServiceArea == "" {
			by = "municipality"
		}
		return Route{&id, email, by}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Route{}, fmt.Errorf("route to %s/%s: %w", u.Municipality, u.ServiceArea, err)
	}
	if u.ServiceArea != "" {
		err = tx.QueryRowContext(ctx, `SELECT id, email FROM rd_contact WHERE active AND municipality = ? AND service_area = '' ORDER BY id LIMIT 1`,
			u.Municipality).Scan(&id, &email)
		if err == nil {
			return Route{&id, email, "municipality"}, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return Route{}, fmt.Errorf("route to %s: %w", u.Municipality, err)
		}
	}
	return Route{nil, r.portfolio.Mail.Advisers, "advisers"}, nil
}
