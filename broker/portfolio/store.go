package portfolio

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// This file holds the package's SQL: reading and writing a project and its
// role-typed links. Values are always bound parameters.

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func nullDate(d Date) any {
	if d == "" {
		return nil
	}
	return string(d)
}

func dateOf(t sql.NullTime) Date {
	if !t.Valid {
		return ""
	}
	return DateOf(t.Time)
}

const projectColumns = `id, title, summary, type, health_project_type, status, start_date, end_date, owner_institution,
	municipality_role, user_involvement, ethics_authority, ethics_reference, ethics_status, ethics_date, dpia_status,
	legal_basis, purpose, data_access, data_access_by, data_access_at, inquiry_id, created_by, created_at, updated_at`

func scanProject(row interface{ Scan(...any) error }) (Project, error) {
	var p Project
	var start, end, ethicsDate, accessAt sql.NullTime
	var inquiry sql.NullInt64
	err := row.Scan(&p.ID, &p.Title, &p.Summary, &p.Type, &p.HealthProjectType, &p.Status, &start, &end, &p.OwnerInstitution,
		&p.MunicipalityRole, &p.UserInvolvement, &p.Ethics.Authority, &p.Ethics.Reference, &p.Ethics.Status, &ethicsDate, &p.DPIA,
		&p.LegalBasis, &p.Purpose, &p.DataAccess, &p.DataAccessBy, &accessAt, &inquiry, &p.CreatedBy, &p.CreatedAt, &p.UpdatedAt)
	if err != nil {
		return p, err
	}
	p.Start, p.End, p.Ethics.Date = dateOf(start), dateOf(end), dateOf(ethicsDate)
	if accessAt.Valid {
		t := accessAt.Time.UTC()
		p.DataAccessAt = &t
	}
	if inquiry.Valid {
		p.InquiryID = &inquiry.Int64
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, nil
}

// Get reads one project with all its links.
func (r *Registry) Get(ctx context.Context, id int64) (Project, error) {
	return getTx(ctx, r.db.DB, id)
}

func getTx(ctx context.Context, q querier, id int64) (Project, error) {
	p, err := scanProject(q.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM project WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, &NotFoundError{Kind: "project", ID: id}
	}
	if err != nil {
		return p, fmt.Errorf("read project %d: %w", id, err)
	}
	ps := []*Project{&p}
	return p, readChildren(ctx, q, ps)
}

// Filter selects projects for List; zero fields select everything.
type Filter struct {
	Status       string
	Type         string
	Municipality string
	Member       string // projects this user is a member of
}

// List returns the projects that match f, by id.
func (r *Registry) List(ctx context.Context, f Filter) ([]Project, error) {
	q := `SELECT ` + projectColumns + ` FROM project p WHERE (? = '' OR status = ?) AND (? = '' OR type = ?)
		AND (? = '' OR EXISTS (SELECT 1 FROM project_unit u WHERE u.project_id = p.id AND u.municipality = ?))
		AND (? = '' OR lower(created_by) = lower(?) OR EXISTS (SELECT 1 FROM project_member m WHERE m.project_id = p.id AND lower(m.user_id) = lower(?)))
		ORDER BY id`
	rows, err := r.db.QueryContext(ctx, q, f.Status, f.Status, f.Type, f.Type, f.Municipality, f.Municipality, f.Member, f.Member, f.Member)
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	var out []Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list projects: %w", err)
		}
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	ps := make([]*Project, len(out))
	for i := range out {
		ps[i] = &out[i]
	}
	return out, readChildren(ctx, r.db.DB, ps)
}

// readChildren fills the links of ps, one query per link table.
func readChildren(ctx context.Context, q querier, ps []*Project) error {
	if len(ps) == 0 {
		return nil
	}
	byID := map[int64]*Project{}
	var lo, hi int64 = ps[0].ID, ps[0].ID
	for _, p := range ps {
		byID[p.ID] = p
		lo, hi = min(lo, p.ID), max(hi, p.ID)
	}
	type reader struct {
		query string
		scan  func(rows *sql.Rows) error
	}
	var pid int64
	readers := []reader{
		{`SELECT project_id, municipality, service_area FROM project_unit WHERE project_id BETWEEN ? AND ? ORDER BY rowid`, func(rows *sql.Rows) error {
			var u Unit
			if err := rows.Scan(&pid, &u.Municipality, &u.ServiceArea); err != nil {
				return err
			}
			if p := byID[pid]; p != nil {
				p.Units = append(p.Units, u)
			}
			return nil
		}},
		{`SELECT project_id, institution, role FROM project_partner WHERE project_id BETWEEN ? AND ? ORDER BY rowid`, func(rows *sql.Rows) error {
			var x Partner
			if err := rows.Scan(&pid, &x.Institution, &x.Role); err != nil {
				return err
			}
			if p := byID[pid]; p != nil {
				p.Partners = append(p.Partners, x)
			}
			return nil
		}},
		{`SELECT project_id, role, name, email, affiliation FROM project_person WHERE project_id BETWEEN ? AND ? ORDER BY rowid`, func(rows *sql.Rows) error {
			var x Person
			if err := rows.Scan(&pid, &x.Role, &x.Name, &x.Email, &x.Affiliation); err != nil {
				return err
			}
			if p := byID[pid]; p != nil {
				p.People = append(p.People, x)
			}
			return nil
		}},
		{`SELECT project_id, user_id FROM project_member WHERE project_id BETWEEN ? AND ? ORDER BY rowid`, func(rows *sql.Rows) error {
			var x string
			if err := rows.Scan(&pid, &x); err != nil {
				return err
			}
			if p := byID[pid]; p != nil {
				p.Members = append(p.Members, x)
			}
			return nil
		}},
		{`SELECT project_id, source, programme, amount_nok, coalesce(year, 0) FROM project_funding WHERE project_id BETWEEN ? AND ? ORDER BY rowid`, func(rows *sql.Rows) error {
			var x Funding
			if err := rows.Scan(&pid, &x.Source, &x.Programme, &x.AmountNOK, &x.Year); err != nil {
				return err
			}
			if p := byID[pid]; p != nil {
				p.Funding = append(p.Funding, x)
			}
			return nil
		}},
		{`SELECT project_id, area FROM project_area WHERE project_id BETWEEN ? AND ? ORDER BY rowid`, func(rows *sql.Rows) error {
			var x string
			if err := rows.Scan(&pid, &x); err != nil {
				return err
			}
			if p := byID[pid]; p != nil {
				p.Areas = append(p.Areas, x)
			}
			return nil
		}},
		{`SELECT project_id, need_id FROM project_need WHERE project_id BETWEEN ? AND ? ORDER BY rowid`, func(rows *sql.Rows) error {
			var x int64
			if err := rows.Scan(&pid, &x); err != nil {
				return err
			}
			if p := byID[pid]; p != nil {
				p.Needs = append(p.Needs, x)
			}
			return nil
		}},
		{`SELECT project_id, kind, title, doi, url, year FROM project_result WHERE project_id BETWEEN ? AND ? ORDER BY rowid`, func(rows *sql.Rows) error {
			var x Result
			if err := rows.Scan(&pid, &x.Kind, &x.Title, &x.DOI, &x.URL, &x.Year); err != nil {
				return err
			}
			if p := byID[pid]; p != nil {
				p.Results = append(p.Results, x)
			}
			return nil
		}},
		{`SELECT project_id, kind, municipality, start_year, coalesce(end_year, 0) FROM project_position WHERE project_id BETWEEN ? AND ? ORDER BY rowid`, func(rows *sql.Rows) error {
			var x Position
			if err := rows.Scan(&pid, &x.Kind, &x.Municipality, &x.StartYear, &x.EndYear); err != nil {
				return err
			}
			if p := byID[pid]; p != nil {
				p.Positions = append(p.Positions, x)
			}
			return nil
		}},
	}
	for _, rd := range readers {
		rows, err := q.QueryContext(ctx, rd.query, lo, hi)
		if err != nil {
			return fmt.Errorf("read project links: %w", err)
		}
		for rows.Next() {
			if err := rd.scan(rows); err != nil {
				rows.Close()
				return fmt.Errorf("read project links: %w", err)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read project links: %w", err)
		}
	}
	return nil
}

var childTables = []string{"project_unit", "project_partner", "project_person", "project_member", "project_funding", "project_area", "project_need", "project_result", "project_position"}

func deleteChildren(ctx context.Context, tx *sql.Tx, id int64) error {
	for _, t := range childTables {
		// t comes from the fixed list above, never from input.
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t+` WHERE project_id = ?`, id); err != nil {
			return fmt.Errorf("replace %s of project %d: %w", t, id, err)
		}
	}
	return nil
}

func writeChildren(ctx context.Context, tx *sql.Tx, p *Project) error {
	exec := func(q string, args ...any) error {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("write links of %s: %w", p.Ref(), err)
		}
		return nil
	}
	for _, u := range p.Units {
		if err := exec(`INSERT INTO project_unit VALUES (?, ?, ?)`, p.ID, u.Municipality, u.ServiceArea); err != nil {
			return err
		}
	}
	for _, x := range p.Partners {
		if err := exec(`INSERT INTO project_partner VALUES (?, ?, ?)`, p.ID, x.Institution, x.Role); err != nil {
			return err
		}
	}
	for _, x := range p.People {
		if err := exec(`INSERT INTO project_person VALUES (?, ?, ?, ?, ?)`, p.ID, x.Role, x.Name, x.Email, x.Affiliation); err != nil {
			return err
		}
	}
	for _, x := range p.Members {
		if err := exec(`INSERT INTO project_member VALUES (?, ?)`, p.ID, x); err != nil {
			return err
		}
	}
	for _, x := range p.Funding {
		var year any
		if x.Year != 0 {
			year = x.Year
		}
		if err := exec(`INSERT INTO project_funding VALUES (?, ?, ?, ?, ?)`, p.ID, x.Source, x.Programme, x.AmountNOK, year); err != nil {
			return err
		}
	}
	for _, x := range p.Areas {
		if err := exec(`INSERT INTO project_area VALUES (?, ?)`, p.ID, x); err != nil {
			return err
		}
	}
	for _, x := range p.Needs {
		if err := exec(`INSERT INTO project_need VALUES (?, ?)`, p.ID, x); err != nil {
			return err
		}
	}
	for _, x := range p.Results {
		if err := exec(`INSERT INTO project_result VALUES (?, ?, ?, ?, ?, ?)`, p.ID, x.Kind, x.Title, x.DOI, x.URL, x.Year); err != nil {
			return err
		}
	}
	for _, x := range p.Positions {
		var end any
		if x.EndYear != 0 {
			end = x.EndYear
		}
		if err := exec(`INSERT INTO project_position VALUES (?, ?, ?, ?, ?)`, p.ID, x.Kind, x.Municipality, x.StartYear, end); err != nil {
			return err
		}
	}
	return nil
}

// checkNeeds refuses links to knowledge needs that do not exist.
func (r *Registry) checkNeeds(ctx context.Context, q querier, ids []int64) error {
	seen := map[int64]bool{}
	for i, id := range ids {
		if seen[id] {
			return &InputError{fmt.Sprintf("needs[%d]", i), fmt.Sprintf("need %d is listed twice", id)}
		}
		seen[id] = true
		var n int
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM knowledge_need WHERE id = ?`, id).Scan(&n); err != nil {
			return fmt.Errorf("check knowledge need %d: %w", id, err)
		}
		if n == 0 {
			return &InputError{fmt.Sprintf("needs[%d]", i), fmt.Sprintf("knowledge need %d does not exist", id)}
		}
	}
	return nil
}

// ErasePerson removes a person's name and e-mail address from every project
// link inside tx: people rows matching the address are deleted, and
// membership and authorship under that address are replaced by pseudonym.
// It returns how many rows changed.
func ErasePerson(ctx context.Context, tx *sql.Tx, email, pseudonym string, now time.Time) (int64, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	var total int64
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM project_person WHERE lower(email) = ?`, []any{email}},
		{`UPDATE project_member SET user_id = ? WHERE lower(user_id) = ?`, []any{pseudonym, email}},
		{`UPDATE project SET created_by = ?, updated_at = ? WHERE lower(created_by) = ?`, []any{pseudonym, now, email}},
		{`UPDATE project SET data_access_by = ? WHERE lower(data_access_by) = ?`, []any{pseudonym, email}},
		{`UPDATE knowledge_need SET created_by = ? WHERE lower(created_by) = ?`, []any{pseudonym, email}},
	} {
		res, err := tx.ExecContext(ctx, q.sql, q.args...)
		if err != nil {
			return total, fmt.Errorf("erase person from portfolio: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
