package portfolio_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/audit"
	"github.com/kunnskapskommunen/folkekommune/broker/notify"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

// auditTrail reads the broker's real audit log back.
type auditTrail struct{ db *store.DB }

type entry struct{ Kind, Actor, Object, Detail string }

func (a auditTrail) entries(t *testing.T) []entry {
	t.Helper()
	rows, err := a.db.Query(`SELECT kind, actor, object, detail FROM audit_log ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []entry
	for rows.Next() {
		var e entry
		rows.Scan(&e.Kind, &e.Actor, &e.Object, &e.Detail)
		out = append(out, e)
	}
	return out
}

func newRegistry(t *testing.T) (*portfolio.Registry, auditTrail) {
	t.Helper()
	db, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	trail := auditTrail{db}
	r := portfolio.New(db, portfolio.AuditLog(audit.New(db)))
	r.Now = func() time.Time { return time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC) }
	return r, trail
}

var (
	admin       = portfolio.Actor{ID: "radgiver1", Role: portfolio.RoleAdmin}
	askoyRD     = portfolio.Actor{ID: "fou-askoy", Role: portfolio.RoleRDContact, Municipality: "4627"}
	vossRD      = portfolio.Actor{ID: "fou-voss", Role: portfolio.RoleRDContact, Municipality: "4621"}
	member      = portfolio.Actor{ID: "kari.forsker@uib.no", Role: portfolio.RoleResearcher}
	stranger    = portfolio.Actor{ID: "ola@hvl.no", Role: portfolio.RoleResearcher}
	privacy     = portfolio.Actor{ID: "pvo", Role: portfolio.RolePrivacyOfficer}
	coordinator = portfolio.Actor{ID: "fhk-askoy", Role: portfolio.RoleCoordinator, Municipality: "4627"}
)

func sample() portfolio.Project {
	return portfolio.Project{
		Title:             "Søvn og uro hos hjemmeboende med demens",
		Summary:           "Studien kartlegger søvnmønster og uro hos hjemmeboende personer med demens i Askøy og Bergen.",
		Type:              "research",
		HealthProjectType: "NONCLINICAL",
		Start:             "2025-01-01",
		End:               "2027-12-31",
		OwnerInstitution:  "Universitetet i Bergen",
		MunicipalityRole:  "partner",
		Units:             []portfolio.Unit{{Municipality: "4627", ServiceArea: "home_care"}, {Municipality: "4601"}},
		Partners:          []portfolio.Partner{{Institution: "Universitetet i Bergen", Role: "coordinator"}},
		People:            []portfolio.Person{{Role: "ProjectManager", Name: "Kari Forsker", Email: "kari.forsker@uib.no"}, {Role: "contact", Name: "Per Kontakt", Email: "per.kontakt@askoy.kommune.no"}},
		Members:           []string{"kari.forsker@uib.no"},
		Funding:           []portfolio.Funding{{Source: "NFR", AmountNOK: 12_000_000}},
		Areas:             []string{"clinical_practice"},
		Ethics:            portfolio.Ethics{Authority: "REK", Reference: "2024/123456", Status: "APPROVED", Date: "2024-11-20"},
		DPIA:              "completed",
		LegalBasis:        "hfl-35",
		Purpose:           "research",
	}
}

func TestProjectWorkflowTransitions(t *testing.T) {
	tests := []struct {
		from   string
		action string
		actor  portfolio.Actor
		want   string // new status, or the error kind: forbidden, state
	}{
		{"planned", "apply", admin, "applied"},
		{"planned", "apply", askoyRD, "applied"},
		{"planned", "apply", member, "applied"},
		{"planned", "apply", vossRD, "forbidden"},
		{"planned", "apply", stranger, "forbidden"},
		{"planned", "apply", privacy, "forbidden"},
		{"planned", "apply", coordinator, "forbidden"},
		{"planned", "start", admin, "active"},
		{"planned", "start", askoyRD, "active"},
		{"planned", "start", member, "forbidden"},
		{"applied", "grant", admin, "active"},
		{"applied", "grant", askoyRD, "active"},
		{"applied", "grant", member, "forbidden"},
		{"applied", "grant", vossRD, "forbidden"},
		{"applied", "reject", askoyRD, "rejected"},
		{"applied", "reject", member, "forbidden"},
		{"rejected", "replan", member, "planned"},
		{"rejected", "replan", askoyRD, "planned"},
		{"rejected", "replan", stranger, "forbidden"},
		{"active", "complete", member, "completed"},
		{"active", "complete", askoyRD, "completed"},
		{"active", "complete", stranger, "forbidden"},
		{"planned", "grant", admin, "state"},
		{"planned", "complete", admin, "state"},
		{"applied", "apply", admin, "state"},
		{"active", "reject", admin, "state"},
		{"completed", "start", admin, "state"},
		{"completed", "replan", admin, "state"},
		{"rejected", "grant", admin, "state"},
	}
	for _, tc := range tests {
		t.Run(tc.from+"/"+tc.action+"/"+tc.actor.ID, func(t *testing.T) {
			ctx := context.Background()
			r, trail := newRegistry(t)
			p := sample()
			p.Status = tc.from
			p, err := r.Create(ctx, admin, p)
			if err != nil {
				t.Fatal(err)
			}
			before := len(trail.entries(t))
			got, err := r.Transition(ctx, tc.actor, p.ID, tc.action, "")
			var fe *portfolio.ForbiddenError
			var se *portfolio.StateError
			switch tc.want {
			case "forbidden":
				if !errors.As(err, &fe) {
					t.Fatalf("err = %v, want forbidden", err)
				}
			case "state":
				if !errors.As(err, &se) {
					t.Fatalf("err = %v, want refused for the state", err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != tc.want {
					t.Fatalf("status = %q, want %q", got.Status, tc.want)
				}
				stored, _ := r.Get(ctx, p.ID)
				if stored.Status != tc.want {
					t.Fatalf("stored status = %q, want %q", stored.Status, tc.want)
				}
			}
			entries := trail.entries(t)
			if err != nil {
				if len(entries) != before {
					t.Fatalf("refused transition wrote audit entries: %v", entries[before:])
				}
				stored, _ := r.Get(ctx, p.ID)
				if stored.Status != tc.from {
					t.Fatalf("refused transition changed status to %q", stored.Status)
				}
				return
			}
			last := entries[len(entries)-1]
			if last.Kind != "project.update" || last.Actor != portfolio.AuditRef(tc.actor) || last.Object != p.Ref() || !strings.Contains(last.Detail, `"action":"`+tc.action+`"`) {
				t.Fatalf("audit entry = %+v", last)
			}
		})
	}
}

// Every transition in the tables is exercised above or below; this pins
// down that the table and the tests agree, so a new row needs a new test.
func TestEveryTransitionIsTested(t *testing.T) {
	tested := map[string]bool{"apply": true, "start": true, "grant": true, "reject": true, "replan": true, "complete": true,
		"request_access": true, "approve_access": true, "refuse_access": true, "revoke_access": true}
	for _, wf := range []portfolio.Workflow{portfolio.ProjectWorkflow, portfolio.AccessWorkflow} {
		for _, tr := range wf.Transitions {
			if !tested[tr.Action] {
				t.Errorf("transition %s/%s has no test", wf.Name, tr.Action)
			}
			if tr.Audit == "" {
				t.Errorf("transition %s/%s writes no audit event", wf.Name, tr.Action)
			}
		}
	}
}

func TestAccessWorkflow(t *testing.T) {
	type step struct {
		action string
		actor  portfolio.Actor
		want   string // new data_access, or forbidden/state/input
	}
	tests := []struct {
		name   string
		status string
		edit   func(*portfolio.Project)
		steps  []step
	}{
		{"request then approve", "active", nil, []step{{"request_access", member, "requested"}, {"approve_access", privacy, "approved"}}},
		{"admin may approve", "active", nil, []step{{"request_access", admin, "requested"}, {"approve_access", admin, "approved"}}},
		{"refuse then request again", "active", nil, []step{{"request_access", member, "requested"}, {"refuse_access", privacy, "refused"}, {"request_access", member, "requested"}}},
		{"revoke then request again", "active", nil, []step{{"request_access", member, "requested"}, {"approve_access", privacy, "approved"}, {"revoke_access", privacy, "revoked"}, {"request_access", member, "requested"}}},
		{"researcher may not approve", "active", nil, []step{{"request_access", member, "requested"}, {"approve_access", member, "forbidden"}}},
		{"R&D contact may not approve", "active", nil, []step{{"request_access", member, "requested"}, {"approve_access", askoyRD, "forbidden"}}},
		{"stranger may not request", "active", nil, []step{{"request_access", stranger, "forbidden"}}},
		{"privacy officer may not request", "active", nil, []step{{"request_access", privacy, "forbidden"}}},
		{"cannot approve what is not requested", "active", nil, []step{{"approve_access", privacy, "state"}}},
		{"cannot revoke what is not approved", "active", nil, []step{{"request_access", member, "requested"}, {"revoke_access", privacy, "state"}}},
		{"planned project cannot request", "planned", nil, []step{{"request_access", member, "state"}}},
		{"health project without REK approval", "active", func(p *portfolio.Project) { p.Ethics = portfolio.Ethics{Authority: "REK", Status: "APPLIED"} },
			[]step{{"request_access", member, "requested"}, {"approve_access", privacy, "input:ethics.status"}}},
		{"no legal basis", "active", func(p *portfolio.Project) { p.LegalBasis = "" }, []step{{"request_access", member, "requested"}, {"approve_access", privacy, "input:legal_basis"}}},
		{"no purpose", "active", func(p *portfolio.Project) { p.Purpose = "" }, []step{{"request_access", member, "requested"}, {"approve_access", privacy, "input:purpose"}}},
		{"no end date", "active", func(p *portfolio.Project) { p.End = "" }, []step{{"request_access", member, "requested"}, {"approve_access", privacy, "input:end"}}},
		{"consent covers no broker data", "active", func(p *portfolio.Project) { p.LegalBasis = "gdpr-9-2-a" }, []step{{"request_access", member, "requested"}, {"approve_access", privacy, "input:legal_basis"}}},
		{"DPIA not done", "active", func(p *portfolio.Project) { p.DPIA = "in_progress" }, []step{{"request_access", member, "requested"}, {"approve_access", privacy, "input:dpia_status"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			r, trail := newRegistry(t)
			p := sample()
			p.Status = tc.status
			if tc.edit != nil {
				tc.edit(&p)
			}
			p, err := r.Create(ctx, admin, p)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tc.steps {
				before := len(trail.entries(t))
				got, err := r.Transition(ctx, s.actor, p.ID, s.action, "")
				var fe *portfolio.ForbiddenError
				var se *portfolio.StateError
				var ie *portfolio.InputError
				switch {
				case s.want == "forbidden":
					if !errors.As(err, &fe) {
						t.Fatalf("step %d: err = %v, want forbidden", i, err)
					}
				case s.want == "state":
					if !errors.As(err, &se) {
						t.Fatalf("step %d: err = %v, want refused for the state", i, err)
					}
				case strings.HasPrefix(s.want, "input:"):
					if !errors.As(err, &ie) || ie.Field != strings.TrimPrefix(s.want, "input:") {
						t.Fatalf("step %d: err = %v, want a problem with %s", i, err, strings.TrimPrefix(s.want, "input:"))
					}
				default:
					if err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					if got.DataAccess != s.want {
						t.Fatalf("step %d: data access %q, want %q", i, got.DataAccess, s.want)
					}
					e := trail.entries(t)
					if len(e) != before+1 || e[before].Kind != "approval" || e[before].Actor != portfolio.AuditRef(s.actor) {
						t.Fatalf("step %d: audit entries %v", i, e[before:])
					}
				}
				if err != nil && len(trail.entries(t)) != before {
					t.Fatalf("step %d: refused step wrote an audit entry", i)
				}
			}
		})
	}
}

func TestAccessApprovalIsWhatPoliciesRead(t *testing.T) {
	ctx := context.Background()
	r, _ := newRegistry(t)
	p := sample()
	p.Status = "active"
	p, _ = r.Create(ctx, admin, p)
	ap, err := r.AccessApproval(ctx, p.ID)
	if err != nil || ap.Approved || ap.DataAccess != "none" {
		t.Fatalf("before approval: %+v, %v", ap, err)
	}
	r.Transition(ctx, member, p.ID, "request_access", "")
	r.Transition(ctx, privacy, p.ID, "approve_access", "Godkjent etter REK-vedtak")
	ap, _ = r.AccessApproval(ctx, p.ID)
	if !ap.Approved || ap.ApprovedBy != "pvo" || ap.Ethics.Reference != "2024/123456" || len(ap.Members) != 1 || ap.Municipalities[0] != "4627" {
		t.Fatalf("approval = %+v", ap)
	}
	// Past its end date the approval no longer holds.
	r.Now = func() time.Time { return time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC) }
	if ap, _ = r.AccessApproval(ctx, p.ID); ap.Approved {
		t.Fatal("approval holds after the project's end date")
	}
	r.Now = func() time.Time { return time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC) }
	// A change to what the approval rests on sends it back to the privacy officer.
	p, _ = r.Get(ctx, p.ID)
	p.Members = append(p.Members, "ola@hvl.no")
	if _, err := r.Update(ctx, member, p); err != nil {
		t.Fatal(err)
	}
	if ap, _ = r.AccessApproval(ctx, p.ID); ap.Approved || ap.DataAccess != "requested" {
		t.Fatalf("after adding a member: %+v", ap)
	}
	// Completing the project ends the approval.
	r.Transition(ctx, privacy, p.ID, "approve_access", "")
	r.Transition(ctx, member, p.ID, "complete", "")
	if ap, _ = r.AccessApproval(ctx, p.ID); ap.Approved {
		t.Fatal("approval holds for a completed project")
	}
}

func TestTransitionNotifies(t *testing.T) {
	ctx := context.Background()
	r, _ := newRegistry(t)
	p, _ := r.Create(ctx, admin, sample())
	r.Transition(ctx, askoyRD, p.ID, "apply", "")
	r.Transition(ctx, askoyRD, p.ID, "grant", "Innvilget av Forskningsrådet")
	r.Transition(ctx, member, p.ID, "request_access", "")
	msgs, err := notify.List(ctx, r.DB().DB, "project.")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range msgs {
		got = append(got, m.Topic+" → "+m.Recipient)
	}
	want := []string{
		"project.apply → kunnskapskommunen@bergen.kommune.no",
		"project.grant → kari.forsker@uib.no",
		"project.grant → per.kontakt@askoy.kommune.no",
		"project.request_access → personvernombud@bergen.kommune.no",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("notifications:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCreateRefusesBadInputNamingTheField(t *testing.T) {
	tests := []struct {
		field string
		edit  func(*portfolio.Project)
	}{
		{"title", func(p *portfolio.Project) { p.Title = "  " }},
		{"title", func(p *portfolio.Project) { p.Title = strings.Repeat("x", 201) }},
		{"title", func(p *portfolio.Project) { p.Title = "<script>alert(1)</script>" }},
		{"summary", func(p *portfolio.Project) { p.Summary = `Se <img src=x onerror=alert(1)>` }},
		{"summary", func(p *portfolio.Project) { p.Summary = "bell\a" }},
		{"type", func(p *portfolio.Project) { p.Type = "hobby" }},
		{"end", func(p *portfolio.Project) { p.Start, p.End = "2026-01-01", "2025-12-31" }},
		{"start", func(p *portfolio.Project) { p.Start = "01.01.2025" }},
		{"units", func(p *portfolio.Project) { p.Units = nil }},
		{"units[0].municipality", func(p *portfolio.Project) { p.Units[0].Municipality = "0301" }},
		{"units[0].service_area", func(p *portfolio.Project) { p.Units[0].ServiceArea = "parks" }},
		{"units[1]", func(p *portfolio.Project) { p.Units[1] = p.Units[0] }},
		{"municipality_role", func(p *portfolio.Project) { p.MunicipalityRole = "sponsor" }},
		{"people[0].email", func(p *portfolio.Project) { p.People[0].Email = "kari at uib" }},
		{"people[1].role", func(p *portfolio.Project) { p.People[1].Role = "boss" }},
		{"funding[0].source", func(p *portfolio.Project) { p.Funding[0].Source = "LOTTO" }},
		{"funding[0].amount_nok", func(p *portfolio.Project) { p.Funding[0].AmountNOK = -5 }},
		{"priority_areas[0]", func(p *portfolio.Project) { p.Areas[0] = "space" }},
		{"ethics.reference", func(p *portfolio.Project) { p.Ethics.Reference = "" }},
		{"ethics.authority", func(p *portfolio.Project) { p.Ethics.Authority = "NSD-2" }},
		{"ethics.reference", func(p *portfolio.Project) { p.Ethics.Reference = "REK vest 2024/123456" }},
		{"purpose", func(p *portfolio.Project) { p.Purpose = "fun" }},
		{"dpia_status", func(p *portfolio.Project) { p.DPIA = "maybe" }},
		{"legal_basis", func(p *portfolio.Project) { p.LegalBasis = "because" }},
		{"results[0].doi", func(p *portfolio.Project) {
			p.Results = []portfolio.Result{{Kind: "publication", Title: "Artikkel", DOI: "not-a-doi", Year: 2025}}
		}},
		{"needs[0]", func(p *portfolio.Project) { p.Needs = []int64{99} }},
		{"positions[0].municipality", func(p *portfolio.Project) {
			p.Positions = []portfolio.Position{{Kind: "public_phd", Municipality: "9999", StartYear: 2024}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.field, func(t *testing.T) {
			ctx := context.Background()
			r, trail := newRegistry(t)
			p := sample()
			tc.edit(&p)
			_, err := r.Create(ctx, admin, p)
			var ie *portfolio.InputError
			if !errors.As(err, &ie) || ie.Field != tc.field {
				t.Fatalf("err = %v, want a problem with %s", err, tc.field)
			}
			if ps, _ := r.List(ctx, portfolio.Filter{}); len(ps) != 0 || len(trail.entries(t)) != 0 {
				t.Fatal("refused project was partly saved or audited")
			}
		})
	}
}

func TestCreateRefusesDuplicateTitleAndRollsBackWhenAuditFails(t *testing.T) {
	ctx := context.Background()
	r, _ := newRegistry(t)
	if _, err := r.Create(ctx, admin, sample()); err != nil {
		t.Fatal(err)
	}
	p := sample()
	p.Title = strings.ToUpper(p.Title)
	var ie *portfolio.InputError
	if _, err := r.Create(ctx, admin, p); !errors.As(err, &ie) || ie.Field != "title" {
		t.Fatalf("duplicate: err = %v", err)
	}
	failing := portfolio.New(r.DB(), func(context.Context, *sql.Tx, portfolio.AuditEvent) error { return errors.New("audit log full") })
	p.Title = "Et annet prosjekt"
	if _, err := failing.Create(ctx, admin, p); err == nil || !strings.Contains(err.Error(), "audit log full") {
		t.Fatalf("err = %v", err)
	}
	if ps, _ := r.List(ctx, portfolio.Filter{}); len(ps) != 1 {
		t.Fatalf("%d projects stored; the unaudited one must roll back", len(ps))
	}
	var links int
	r.DB().QueryRow(`SELECT count(*) FROM project_unit`).Scan(&links)
	if links != 2 {
		t.Fatalf("%d unit links stored, want only the first project's 2", links)
	}
}

func TestWhoMayCreateAndEdit(t *testing.T) {
	tests := []struct {
		actor portfolio.Actor
		ok    bool
	}{
		{admin, true},
		{askoyRD, true},  // Askøy takes part
		{vossRD, false},  // Voss does not
		{member, true},   // becomes a member
		{privacy, false}, // reads, does not keep the portfolio
		{coordinator, false},
	}
	for _, tc := range tests {
		t.Run(tc.actor.ID, func(t *testing.T) {
			ctx := context.Background()
			r, _ := newRegistry(t)
			p, err := r.Create(ctx, tc.actor, sample())
			var fe *portfolio.ForbiddenError
			if tc.ok != (err == nil) || (!tc.ok && !errors.As(err, &fe)) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if !tc.ok {
				return
			}
			if p.Status != "planned" || p.CreatedBy != tc.actor.ID {
				t.Fatalf("created %+v", p)
			}
			p.Summary = "Oppdatert sammendrag."
			if _, err := r.Update(ctx, tc.actor, p); err != nil {
				t.Fatalf("creator cannot edit: %v", err)
			}
			if _, err := r.Update(ctx, stranger, p); !errors.As(err, &fe) {
				t.Fatalf("stranger edited: %v", err)
			}
		})
	}
}

func TestRoundTripKeepsEveryField(t *testing.T) {
	ctx := context.Background()
	r, _ := newRegistry(t)
	need, err := r.AddNeed(ctx, admin, portfolio.Need{Title: "Søvn hos personer med demens", Municipality: "_T", IdentifiedOn: "2024-03-01"})
	if err != nil {
		t.Fatal(err)
	}
	p := sample()
	p.Needs = []int64{need.ID}
	p.Results = []portfolio.Result{{Kind: "publication", Title: "Sleep in dementia", DOI: "https://doi.org/10.1186/s12877-024-05000-1", Year: 2025}}
	p.Positions = []portfolio.Position{{Kind: "public_phd", Municipality: "4627", StartYear: 2025, EndYear: 2028}}
	p.Funding = append(p.Funding, portfolio.Funding{Source: "OWN", AmountNOK: 500_000, Year: 2025})
	created, err := r.Create(ctx, admin, p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Get(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(created)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		t.Fatalf("stored project differs:\n%s\n%s", a, b)
	}
	if got.Results[0].DOI != "10.1186/s12877-024-05000-1" {
		t.Errorf("DOI not normalised: %q", got.Results[0].DOI)
	}
	pub := got.Public()
	for _, x := range pub.People {
		if x.Email != "" {
			t.Fatal("public view shows an e-mail address")
		}
	}
	if pub.Members != nil || pub.CreatedBy != "" {
		t.Fatal("public view shows members")
	}
}

func TestUnmetNeeds(t *testing.T) {
	ctx := context.Background()
	r, trail := newRegistry(t)
	n1, _ := r.AddNeed(ctx, admin, portfolio.Need{Title: "Ernæring i hjemmetjenesten", Municipality: "4627", IdentifiedOn: "2024-01-10"})
	n2, _ := r.AddNeed(ctx, askoyRD, portfolio.Need{Title: "Ensomhet blant eldre", Municipality: "4627", IdentifiedOn: "2024-02-10"})
	n3, _ := r.AddNeed(ctx, admin, portfolio.Need{Title: "Boformer for eldre", Municipality: "_T", IdentifiedOn: "2024-02-11"})
	if _, err := r.AddNeed(ctx, vossRD, portfolio.Need{Title: "X", Municipality: "4627", IdentifiedOn: "2024-02-10"}); err == nil {
		t.Fatal("Voss's R&D contact registered a need for Askøy")
	}
	p := sample()
	p.Needs = []int64{n1.ID}
	r.Create(ctx, admin, p)
	if err := r.SetNeedStatus(ctx, askoyRD, n3.ID, "closed"); err == nil {
		t.Fatal("Askøy's contact closed a collaboration-wide need")
	}
	r.SetNeedStatus(ctx, admin, n3.ID, "closed")
	unmet, err := r.Needs(ctx, portfolio.NeedFilter{Municipality: "4627", Unmet: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(unmet) != 1 || unmet[0].ID != n2.ID {
		t.Fatalf("unmet = %+v, want only %d", unmet, n2.ID)
	}
	all, _ := r.Needs(ctx, portfolio.NeedFilter{})
	if len(all) != 3 || len(all[0].Projects) != 1 {
		t.Fatalf("needs = %+v", all)
	}
	if n := len(trail.entries(t)); n != 5 {
		t.Fatalf("%d audit entries, want 5 (3 needs, 1 project, 1 status)", n)
	}
}
