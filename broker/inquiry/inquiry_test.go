package inquiry_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/audit"
	"github.com/kunnskapskommunen/folkekommune/broker/inquiry"
	"github.com/kunnskapskommunen/folkekommune/broker/notify"
	"github.com/kunnskapskommunen/folkekommune/broker/notify/smtptest"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

type entry struct{ Kind, Actor, Object, Detail string }

type env struct {
	db    *store.DB
	port  *portfolio.Registry
	inq   *inquiry.Registry
	clock time.Time
}

func (e *env) now() time.Time { return e.clock }

func (e *env) entries(t *testing.T) []entry {
	t.Helper()
	rows, err := e.db.Query(`SELECT kind, actor, object, detail FROM audit_log ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []entry
	for rows.Next() {
		var x entry
		rows.Scan(&x.Kind, &x.Actor, &x.Object, &x.Detail)
		out = append(out, x)
	}
	return out
}

func (e *env) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := e.db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) outbox(t *testing.T, prefix string) []string {
	t.Helper()
	msgs, err := notify.List(context.Background(), e.db.DB, prefix)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, m.Topic+" → "+m.Recipient)
	}
	return out
}

var (
	admin    = portfolio.Actor{ID: "radgiver1", Role: portfolio.RoleAdmin}
	askoyRD  = portfolio.Actor{ID: "fou-askoy", Role: portfolio.RoleRDContact, Municipality: "4627"}
	bergenRD = portfolio.Actor{ID: "fou-bergen", Role: portfolio.RoleRDContact, Municipality: "4601"}
	vossRD   = portfolio.Actor{ID: "fou-voss", Role: portfolio.RoleRDContact, Municipality: "4621"}
	author   = portfolio.Actor{ID: "kari.forsker@uib.no", Role: portfolio.RoleResearcher}
	other    = portfolio.Actor{ID: "ola@hvl.no", Role: portfolio.RoleResearcher}
	privacy  = portfolio.Actor{ID: "pvo", Role: portfolio.RolePrivacyOfficer}
)

// newEnv opens a database with the directory: Askøy has a home-care
// contact and a general contact, Bergen a general contact (and an inactive
// one for nursing homes), Voss none.
func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{db: db, clock: time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)} // a Monday
	e.port = portfolio.New(db, portfolio.AuditLog(audit.New(db)))
	e.port.Now = e.now
	e.inq = inquiry.New(e.port)
	for _, c := range []inquiry.Contact{
		{Municipality: "4627", ServiceArea: "home_care", Name: "Hanne Hjemmetjeneste", Email: "hanne@askoy.kommune.no", UserID: "fou-askoy", Active: true},
		{Municipality: "4627", Name: "Arne Askøy", Email: "fou@askoy.kommune.no", Active: true},
		{Municipality: "4601", Name: "Berit Bergen", Email: "fou@bergen.kommune.no", UserID: "fou-bergen", Active: true},
		{Municipality: "4601", ServiceArea: "nursing_homes", Name: "Sluttet Person", Email: "sluttet@bergen.kommune.no", Active: false},
	} {
		if _, err := e.inq.SaveContact(ctx, admin, c); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func submission() inquiry.Submission {
	return inquiry.Submission{
		Title:           "Søvn og uro hos hjemmeboende med demens",
		Kind:            "research",
		Description:     "Vi ønsker å kartlegge søvnmønster hos hjemmeboende med demens ved hjelp av sensorer i seks måneder.",
		Institution:     "Universitetet i Bergen",
		ResearcherName:  "Kari Forsker",
		ResearcherEmail: "Kari.Forsker@uib.no",
		Funding:         "Søkt Forskningsrådet, 12 mill. kroner",
		FundingStatus:   "applied",
		Resources:       "To timer per bruker til rekruttering; plass til sensorer.",
		KnowledgeReturn: "Resultatene presenteres i kommunegruppen og på fagdag.",
		TargetGroups:    "Hjemmeboende personer med demens og pårørende",
		EthicsStatus:    "APPLIED",
		Start:           "2025-09-01",
		End:             "2027-12-31",
		Units:           []portfolio.Unit{{Municipality: "4627", ServiceArea: "home_care"}},
		StartedAt:       time.Date(2025, 3, 3, 8, 40, 0, 0, time.UTC),
	}
}

func TestRoutingWithFallbacks(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s := submission()
	s.Units = []portfolio.Unit{
		{Municipality: "4627", ServiceArea: "home_care"},     // its own contact
		{Municipality: "4627", ServiceArea: "nursing_homes"}, // none: Askøy's general contact
		{Municipality: "4601", ServiceArea: "nursing_homes"}, // inactive contact: Bergen's general contact
		{Municipality: "4601"},                               // Bergen as a whole
		{Municipality: "4621", ServiceArea: "home_care"},     // Voss has none: the advisers
	}
	inq, err := e.inq.Submit(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ email, by string }{
		{"hanne@askoy.kommune.no", "unit"},
		{"fou@askoy.kommune.no", "municipality"},
		{"fou@bergen.kommune.no", "municipality"},
		{"fou@bergen.kommune.no", "municipality"},
		{"kunnskapskommunen@bergen.kommune.no", "advisers"},
	}
	if len(inq.Assignments) != len(want) {
		t.Fatalf("%d assignments, want %d", len(inq.Assignments), len(want))
	}
	for i, w := range want {
		a := inq.Assignments[i]
		if a.ContactEmail != w.email || a.RoutedBy != w.by || a.Status != "received" || a.Deadline != "2025-03-24" {
			t.Errorf("assignment %d = %+v, want %s by %s due 2025-03-24", i, a, w.email, w.by)
		}
	}
	got := e.outbox(t, "inquiry.")
	wantMail := []string{
		"inquiry.received → hanne@askoy.kommune.no",
		"inquiry.received → fou@askoy.kommune.no",
		"inquiry.received → fou@bergen.kommune.no",
		"inquiry.received → fou@bergen.kommune.no",
		"inquiry.received → kunnskapskommunen@bergen.kommune.no",
		"inquiry.receipt → kari.forsker@uib.no",
	}
	if strings.Join(got, "\n") != strings.Join(wantMail, "\n") {
		t.Fatalf("outbox:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantMail, "\n"))
	}
	entries := e.entries(t)
	last := entries[len(entries)-1]
	if last.Kind != "inquiry.update" || last.Actor != portfolio.EmailRef("kari.forsker@uib.no") || strings.Contains(last.Detail+last.Actor, "uib.no") {
		t.Fatalf("submission audit entry = %+v", last)
	}
}

func TestSubmitRefusesBadInputAndSavesNothing(t *testing.T) {
	tests := []struct {
		name  string
		field string
		edit  func(*inquiry.Submission)
	}{
		{"missing title", "title", func(s *inquiry.Submission) { s.Title = "" }},
		{"missing funding", "funding", func(s *inquiry.Submission) { s.Funding = " " }},
		{"missing resources", "resources_needed", func(s *inquiry.Submission) { s.Resources = "" }},
		{"missing knowledge return", "knowledge_return", func(s *inquiry.Submission) { s.KnowledgeReturn = "" }},
		{"malformed e-mail", "researcher_email", func(s *inquiry.Submission) { s.ResearcherEmail = "kari@" }},
		{"unknown kind", "kind", func(s *inquiry.Submission) { s.Kind = "survey" }},
		{"unknown funding status", "funding_status", func(s *inquiry.Submission) { s.FundingStatus = "hoping" }},
		{"unknown ethics status", "ethics_status", func(s *inquiry.Submission) { s.EthicsStatus = "OK" }},
		{"approved without reference", "ethics_reference", func(s *inquiry.Submission) { s.EthicsStatus = "APPROVED" }},
		{"unknown municipality", "units[0].municipality", func(s *inquiry.Submission) { s.Units[0].Municipality = "0301" }},
		{"unknown service area", "units[0].service_area", func(s *inquiry.Submission) { s.Units[0].ServiceArea = "harbour" }},
		{"no municipality", "units", func(s *inquiry.Submission) { s.Units = nil }},
		{"same unit twice", "units[1]", func(s *inquiry.Submission) { s.Units = append(s.Units, s.Units[0]) }},
		{"dates out of order", "end", func(s *inquiry.Submission) { s.End = "2025-08-31" }},
		{"malformed date", "start", func(s *inquiry.Submission) { s.Start = "1. september" }},
		{"oversize description", "description", func(s *inquiry.Submission) { s.Description = strings.Repeat("ø", inquiry.MaxLongText+1) }},
		{"oversize in all", "inquiry", func(s *inquiry.Submission) {
			// Every field within its own limit, together over the total.
			s.Description = strings.Repeat("a", inquiry.MaxLongText)
			s.Funding, s.Resources = strings.Repeat("b", inquiry.MaxMediumText), strings.Repeat("c", inquiry.MaxMediumText)
			s.KnowledgeReturn, s.TargetGroups = strings.Repeat("d", inquiry.MaxMediumText), strings.Repeat("e", inquiry.MaxMediumText)
		}},
		{"script in title", "title", func(s *inquiry.Submission) { s.Title = `Studie <script>alert("x")</script>` }},
		{"HTML in description", "description", func(s *inquiry.Submission) { s.Description = `Les mer <a href="https://x">her</a>` }},
		{"javascript URL", "knowledge_return", func(s *inquiry.Submission) { s.KnowledgeReturn = "javascript:alert(1)" }},
		{"control character", "researcher_name", func(s *inquiry.Submission) { s.ResearcherName = "Kari\x00" }},
		{"honeypot filled", "website", func(s *inquiry.Submission) { s.Website = "http://spam.example" }},
		{"sent too fast", "started_at", func(s *inquiry.Submission) { s.StartedAt = time.Date(2025, 3, 3, 8, 59, 58, 0, time.UTC) }},
		{"unknown need", "needs[0]", func(s *inquiry.Submission) { s.Needs = []int64{42} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			s := submission()
			tc.edit(&s)
			before := len(e.entries(t))
			_, err := e.inq.Submit(context.Background(), s)
			var ie *portfolio.InputError
			if !errors.As(err, &ie) || ie.Field != tc.field {
				t.Fatalf("err = %v, want a problem with %s", err, tc.field)
			}
			if e.count(t, "inquiry") != 0 || e.count(t, "inquiry_assignment") != 0 || e.count(t, "outbox") != 0 || len(e.entries(t)) != before {
				t.Fatal("refused submission was partly saved")
			}
		})
	}
}

func TestSubmitRefusesDuplicatesAndFloods(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	if _, err := e.inq.Submit(ctx, submission()); err != nil {
		t.Fatal(err)
	}
	dup := submission()
	dup.Title = "  SØVN og uro hos   hjemmeboende med demens "
	var ie *portfolio.InputError
	if _, err := e.inq.Submit(ctx, dup); !errors.As(err, &ie) || ie.Field != "title" {
		t.Fatalf("duplicate: err = %v", err)
	}
	for i := 2; i <= inquiry.MaxPerDay; i++ {
		s := submission()
		s.Title = strings.Repeat("Ny studie ", i)
		if _, err := e.inq.Submit(ctx, s); err != nil {
			t.Fatalf("submission %d: %v", i, err)
		}
	}
	s := submission()
	s.Title = "Enda en studie"
	if _, err := e.inq.Submit(ctx, s); !errors.As(err, &ie) || ie.Field != "researcher_email" {
		t.Fatalf("flood: err = %v", err)
	}
	e.clock = e.clock.Add(25 * time.Hour)
	if _, err := e.inq.Submit(ctx, s); err != nil {
		t.Fatalf("next day: %v", err)
	}
}

func TestAssignmentWorkflowTransitions(t *testing.T) {
	type step struct {
		action string
		actor  portfolio.Actor
		want   string // new status, or forbidden/state
		mail   string // notification recipient, "" for none
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"assess and accept", []step{{"assess", askoyRD, "under_assessment", "kari.forsker@uib.no"}, {"accept", askoyRD, "accepted", "kari.forsker@uib.no"}}},
		{"admin may act for any municipality", []step{{"assess", admin, "under_assessment", "kari.forsker@uib.no"}, {"decline", admin, "declined", "kari.forsker@uib.no"}}},
		{"needs information, supplemented", []step{{"request_information", askoyRD, "needs_information", "kari.forsker@uib.no"}, {"supplement", author, "under_assessment", "hanne@askoy.kommune.no"}, {"accept", askoyRD, "accepted", "kari.forsker@uib.no"}}},
		{"decline straight away", []step{{"decline", askoyRD, "declined", "kari.forsker@uib.no"}}},
		{"decline while waiting for information", []step{{"request_information", askoyRD, "needs_information", "kari.forsker@uib.no"}, {"decline", askoyRD, "declined", "kari.forsker@uib.no"}}},
		{"researcher withdraws", []step{{"withdraw", author, "withdrawn", "hanne@askoy.kommune.no"}}},
		{"researcher withdraws under assessment", []step{{"assess", askoyRD, "under_assessment", "kari.forsker@uib.no"}, {"withdraw", author, "withdrawn", "hanne@askoy.kommune.no"}}},
		{"researcher withdraws while asked for more", []step{{"request_information", askoyRD, "needs_information", "kari.forsker@uib.no"}, {"withdraw", admin, "withdrawn", "hanne@askoy.kommune.no"}}},
		{"other municipality's contact may not assess", []step{{"assess", vossRD, "forbidden", ""}}},
		{"Bergen's contact may not accept Askøy's", []step{{"assess", askoyRD, "under_assessment", "kari.forsker@uib.no"}, {"accept", bergenRD, "forbidden", ""}}},
		{"researcher may not assess", []step{{"assess", author, "forbidden", ""}}},
		{"researcher may not accept", []step{{"assess", askoyRD, "under_assessment", "kari.forsker@uib.no"}, {"accept", author, "forbidden", ""}}},
		{"another researcher may not withdraw", []step{{"withdraw", other, "forbidden", ""}}},
		{"privacy officer may not assess", []step{{"assess", privacy, "forbidden", ""}}},
		{"contact may not withdraw", []step{{"withdraw", askoyRD, "forbidden", ""}}},
		{"contact may not supplement", []step{{"request_information", askoyRD, "needs_information", "kari.forsker@uib.no"}, {"supplement", askoyRD, "forbidden", ""}}},
		{"accept needs an assessment first", []step{{"accept", askoyRD, "state", ""}}},
		{"supplement needs a question", []step{{"supplement", author, "state", ""}}},
		{"accepted is final", []step{{"assess", askoyRD, "under_assessment", "kari.forsker@uib.no"}, {"accept", askoyRD, "accepted", "kari.forsker@uib.no"}, {"withdraw", author, "state", ""}, {"decline", askoyRD, "state", ""}}},
		{"declined is final", []step{{"decline", askoyRD, "declined", "kari.forsker@uib.no"}, {"assess", askoyRD, "state", ""}}},
		{"withdrawn is final", []step{{"withdraw", author, "withdrawn", "hanne@askoy.kommune.no"}, {"assess", askoyRD, "state", ""}, {"supplement", author, "state", ""}}},
		{"no assessing twice", []step{{"assess", askoyRD, "under_assessment", "kari.forsker@uib.no"}, {"assess", askoyRD, "state", ""}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			inq, err := e.inq.Submit(ctx, submission())
			if err != nil {
				t.Fatal(err)
			}
			id := inq.Assignments[0].ID
			for i, s := range tc.steps {
				beforeAudit, beforeMail := len(e.entries(t)), len(e.outbox(t, ""))
				answer := "Svar til forskeren"
				got, err := e.inq.Act(ctx, s.actor, id, s.action, "Intern vurdering: kapasitet ok", answer)
				var fe *portfolio.ForbiddenError
				var se *portfolio.StateError
				switch s.want {
				case "forbidden":
					if !errors.As(err, &fe) {
						t.Fatalf("step %d (%s): err = %v, want forbidden", i, s.action, err)
					}
				case "state":
					if !errors.As(err, &se) {
						t.Fatalf("step %d (%s): err = %v, want refused for the state", i, s.action, err)
					}
				default:
					if err != nil {
						t.Fatalf("step %d (%s): %v", i, s.action, err)
					}
					if got.Status != s.want {
						t.Fatalf("step %d: status %q, want %q", i, got.Status, s.want)
					}
				}
				entries, mails := e.entries(t), e.outbox(t, "")
				if err != nil {
					if len(entries) != beforeAudit || len(mails) != beforeMail {
						t.Fatalf("step %d: refused action audited or mailed", i)
					}
					continue
				}
				last := entries[len(entries)-1]
				if len(entries) != beforeAudit+1 || last.Kind != "inquiry.update" || last.Actor != portfolio.AuditRef(s.actor) || !strings.Contains(last.Detail, `"action":"`+s.action+`"`) {
					t.Fatalf("step %d: audit %+v", i, entries[beforeAudit:])
				}
				if s.mail == "" && len(mails) != beforeMail || s.mail != "" && (len(mails) != beforeMail+1 || !strings.HasSuffix(mails[len(mails)-1], "→ "+s.mail)) {
					t.Fatalf("step %d: mails %v, want one to %q", i, mails[beforeMail:], s.mail)
				}
			}
			// The researcher never sees the internal assessment, in the view or the mail.
			view, err := e.inq.Get(ctx, author, inq.ID)
			if err != nil {
				t.Fatal(err)
			}
			if view.Assignments[0].Assessment != "" || view.Assignments[0].ContactEmail != "" {
				t.Fatalf("researcher's view shows the assessment: %+v", view.Assignments[0])
			}
			var leaked int
			e.db.QueryRow(`SELECT count(*) FROM outbox WHERE recipient = 'kari.forsker@uib.no' AND contains(body, 'Intern vurdering')`).Scan(&leaked)
			if leaked != 0 {
				t.Fatal("the internal assessment was mailed to the researcher")
			}
		})
	}
}

func TestEveryAssignmentTransitionIsTested(t *testing.T) {
	tested := map[string]bool{"assess": true, "request_information": true, "supplement": true, "accept": true, "decline": true, "withdraw": true}
	for _, tr := range inquiry.AssignmentWorkflow.Transitions {
		if !tested[tr.Action] {
			t.Errorf("transition %s has no test", tr.Action)
		}
		if tr.Audit == "" || tr.Notify == "" {
			t.Errorf("transition %s lacks an audit event or a notification", tr.Action)
		}
	}
}

func TestWhoSeesWhat(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s := submission()
	s.Units = []portfolio.Unit{{Municipality: "4627", ServiceArea: "home_care"}, {Municipality: "4601"}}
	inq, _ := e.inq.Submit(ctx, s)
	tests := []struct {
		actor       portfolio.Actor
		assignments int // -1: refused
	}{
		{admin, 2}, {askoyRD, 1}, {bergenRD, 1}, {vossRD, -1}, {author, 2}, {other, -1}, {privacy, -1},
	}
	for _, tc := range tests {
		got, err := e.inq.Get(ctx, tc.actor, inq.ID)
		if tc.assignments < 0 {
			if err == nil {
				t.Errorf("%s read the inquiry", tc.actor.ID)
			}
			continue
		}
		if err != nil || len(got.Assignments) != tc.assignments {
			t.Errorf("%s: %d assignments, err %v; want %d", tc.actor.ID, len(got.Assignments), err, tc.assignments)
		}
		list, _ := e.inq.List(ctx, tc.actor)
		if len(list) != 1 {
			t.Errorf("%s lists %d inquiries", tc.actor.ID, len(list))
		}
	}
	if n, err := e.inq.WithdrawAll(ctx, author, inq.ID, "Prosjektet er lagt på is."); err != nil || n != 2 {
		t.Fatalf("withdraw all: %d, %v", n, err)
	}
}

func TestDeadlineRemindersAndOverdueNotices(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.clock = time.Date(2025, 4, 10, 9, 0, 0, 0, time.UTC) // Thursday before Easter 2025
	s := submission()
	s.StartedAt = time.Time{}
	s.Units = []portfolio.Unit{{Municipality: "4627", ServiceArea: "home_care"}, {Municipality: "4601"}, {Municipality: "4621"}}
	inq, err := e.inq.Submit(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	// 15 working days from 10 April 2025 skip 17, 18 and 21 April (Easter) and 1 May.
	if d := inq.Assignments[0].Deadline; d != "2025-05-07" {
		t.Fatalf("deadline = %s, want 2025-05-07", d)
	}
	// Bergen answers at once; it gets no reminder.
	b := inq.Assignments[1].ID
	e.inq.Act(ctx, bergenRD, b, "assess", "", "")
	e.inq.Act(ctx, bergenRD, b, "accept", "", "Velkommen!")

	steps := []struct {
		at      string
		want    inquiry.ReminderReport
		comment string
	}{
		{"2025-04-28", inquiry.ReminderReport{}, "six working days left"},
		{"2025-04-30", inquiry.ReminderReport{}, "four working days left: 1 May is a holiday"},
		{"2025-05-02", inquiry.ReminderReport{Reminders: 2}, "three working days left: Askøy and Voss"},
		{"2025-05-02", inquiry.ReminderReport{}, "a second run the same day sends nothing"},
		{"2025-05-07", inquiry.ReminderReport{}, "deadline day: already reminded"},
		{"2025-05-08", inquiry.ReminderReport{Overdue: 2}, "past the deadline"},
		{"2025-05-09", inquiry.ReminderReport{}, "overdue notice only once"},
	}
	for _, st := range steps {
		e.clock = date(st.at).Add(7 * time.Hour)
		rep, err := e.inq.SendReminders(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep != st.want {
			t.Fatalf("%s (%s): %+v, want %+v", st.at, st.comment, rep, st.want)
		}
	}
	got := e.outbox(t, "inquiry.reminder")
	if strings.Join(got, "\n") != "inquiry.reminder → hanne@askoy.kommune.no\ninquiry.reminder → kunnskapskommunen@bergen.kommune.no" {
		t.Fatalf("reminders:\n%s", strings.Join(got, "\n"))
	}
	got = e.outbox(t, "inquiry.overdue")
	if strings.Join(got, "\n") != "inquiry.overdue → hanne@askoy.kommune.no\ninquiry.overdue → kunnskapskommunen@bergen.kommune.no\ninquiry.overdue → kunnskapskommunen@bergen.kommune.no" {
		t.Fatalf("overdue notices:\n%s", strings.Join(got, "\n"))
	}
}

func TestInquiryMailIsDeliveredOverSMTPWithRetry(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	srv := smtptest.Start(t)
	srv.RefuseNext(451) // the first message is refused once
	if _, err := e.inq.Submit(ctx, submission()); err != nil {
		t.Fatal(err)
	}
	m := &notify.Mailer{DB: e.db.DB, Addr: srv.Addr, From: "kunnskapskommunen@bergen.kommune.no", Now: e.now, Backoff: time.Minute}
	rep, err := m.Deliver(ctx)
	if err != nil || rep != (notify.Report{Sent: 1, Deferred: 1}) {
		t.Fatalf("first pass: %+v, %v", rep, err)
	}
	e.clock = e.clock.Add(time.Minute)
	if rep, err = m.Deliver(ctx); err != nil || rep != (notify.Report{Sent: 1}) {
		t.Fatalf("retry: %+v, %v", rep, err)
	}
	mails := srv.Mails()
	if len(mails) != 2 {
		t.Fatalf("server accepted %d mails, want 2", len(mails))
	}
	var toContact, toResearcher string
	for _, m := range mails {
		switch m.To[0] {
		case "hanne@askoy.kommune.no":
			toContact = m.Data
		case "kari.forsker@uib.no":
			toResearcher = m.Data
		}
	}
	if !strings.Contains(toContact, "Svarfrist: 2025-03-24") || !strings.Contains(toContact, "Ressurser fra kommunen: To timer per bruker") {
		t.Errorf("mail to the contact:\n%s", toContact)
	}
	if !strings.Contains(toResearcher, "Takk for henvendelsen") || !strings.Contains(toResearcher, "Askøy, hjemmetjenester (svarfrist 2025-03-24)") {
		t.Errorf("receipt:\n%s", toResearcher)
	}
}

func TestAcceptedInquiryBecomesAProject(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	need, err := e.port.AddNeed(ctx, admin, portfolio.Need{Title: "Søvn hos personer med demens", Municipality: "_T", IdentifiedOn: "2024-03-01"})
	if err != nil {
		t.Fatal(err)
	}
	s := submission()
	s.Needs = []int64{need.ID}
	s.Units = []portfolio.Unit{{Municipality: "4627", ServiceArea: "home_care"}, {Municipality: "4601"}, {Municipality: "4621"}}
	inq, err := e.inq.Submit(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	askoy, bergen, voss := inq.Assignments[0].ID, inq.Assignments[1].ID, inq.Assignments[2].ID

	var se *portfolio.StateError
	if _, err := e.inq.ToProject(ctx, admin, inq.ID, nil); !errors.As(err, &se) {
		t.Fatalf("converted with no acceptance: %v", err)
	}
	e.inq.Act(ctx, askoyRD, askoy, "assess", "", "")
	e.inq.Act(ctx, askoyRD, askoy, "accept", "Vi har kapasitet høsten 2025.", "Askøy blir gjerne med.")
	e.inq.Act(ctx, bergenRD, bergen, "decline", "", "Ikke kapasitet i år.")
	e.inq.Act(ctx, admin, voss, "assess", "", "")
	e.inq.Act(ctx, admin, voss, "accept", "", "Voss blir med.")

	var fe *portfolio.ForbiddenError
	if _, err := e.inq.ToProject(ctx, bergenRD, inq.ID, nil); !errors.As(err, &fe) {
		t.Fatalf("Bergen, which declined, converted it: %v", err)
	}
	if _, err := e.inq.ToProject(ctx, author, inq.ID, nil); !errors.As(err, &fe) {
		t.Fatalf("the researcher converted it: %v", err)
	}
	p, err := e.inq.ToProject(ctx, askoyRD, inq.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != "planned" || p.Title != s.Title || p.Type != "research" || p.Start != "2025-09-01" || p.InquiryID == nil || *p.InquiryID != inq.ID {
		t.Fatalf("project = %+v", p)
	}
	if len(p.Units) != 2 || p.Units[0] != (portfolio.Unit{Municipality: "4627", ServiceArea: "home_care"}) || p.Units[1].Municipality != "4621" {
		t.Fatalf("units = %+v, want the two that accepted", p.Units)
	}
	if len(p.People) != 2 || p.People[0].Role != "ProjectManager" || p.People[0].Email != "kari.forsker@uib.no" || p.People[1].Email != "hanne@askoy.kommune.no" {
		t.Fatalf("people = %+v", p.People)
	}
	if len(p.Members) != 1 || p.Members[0] != "kari.forsker@uib.no" || len(p.Needs) != 1 || p.Ethics.Status != "APPLIED" || p.Ethics.Authority != "REK" {
		t.Fatalf("project = %+v", p)
	}
	back, _ := e.inq.Get(ctx, admin, inq.ID)
	if back.ProjectID == nil || *back.ProjectID != p.ID {
		t.Fatalf("inquiry does not link the project: %+v", back.ProjectID)
	}
	if _, err := e.inq.ToProject(ctx, admin, inq.ID, nil); !errors.As(err, &se) {
		t.Fatalf("converted twice: %v", err)
	}
	// The researcher, now a member, may take the project forward.
	if _, err := e.port.Transition(ctx, author, p.ID, "apply", ""); err != nil {
		t.Fatal(err)
	}
	entries := e.entries(t)
	var convert bool
	for _, x := range entries {
		convert = convert || x.Object == inq.Ref() && strings.Contains(x.Detail, `"action":"convert"`)
	}
	if !convert {
		t.Fatal("conversion not audited")
	}
}

func TestConversionIsAtomic(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	inq, _ := e.inq.Submit(ctx, submission())
	a := inq.Assignments[0].ID
	e.inq.Act(ctx, askoyRD, a, "assess", "", "")
	e.inq.Act(ctx, askoyRD, a, "accept", "", "Ja")
	// An edit that makes the project invalid refuses the whole step.
	_, err := e.inq.ToProject(ctx, admin, inq.ID, func(p *portfolio.Project) { p.Funding = []portfolio.Funding{{Source: "NFR", AmountNOK: -1}} })
	var ie *portfolio.InputError
	if !errors.As(err, &ie) || ie.Field != "funding[0].amount_nok" {
		t.Fatalf("err = %v", err)
	}
	if e.count(t, "project") != 0 {
		t.Fatal("project stored although the conversion failed")
	}
	back, _ := e.inq.Get(ctx, admin, inq.ID)
	if back.ProjectID != nil {
		t.Fatal("inquiry linked to a project that does not exist")
	}
}

// allText dumps every text column of the registries' tables.
func allText(t *testing.T, db *store.DB) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"inquiry", "inquiry_assignment", "rd_contact", "project", "project_person", "project_member", "knowledge_need", "outbox", "audit_log"} {
		rows, err := db.Query(`SELECT * FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			for _, v := range vals {
				if s, ok := v.(string); ok {
					b.WriteString(strings.ToLower(s))
					b.WriteByte('\n')
				}
			}
		}
		rows.Close()
	}
	return b.String()
}

func TestErasePersonRemovesThemEverywhere(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	// Kari sent two inquiries; one became a project where she is manager and member.
	inq, _ := e.inq.Submit(ctx, submission())
	s2 := submission()
	s2.Title = "Ernæring i hjemmetjenesten"
	s2.Description = "Kontakt meg på kari.forsker@uib.no for detaljer."
	s2.Units = []portfolio.Unit{{Municipality: "4601"}}
	e.inq.Submit(ctx, s2)
	a := inq.Assignments[0].ID
	e.inq.Act(ctx, askoyRD, a, "request_information", "Kari Forsker virker erfaren", "Hvor mange deltakere?")
	if _, err := e.inq.Act(ctx, author, a, "supplement", "", "Hilsen Kari Forsker: 40 deltakere."); err != nil {
		t.Fatal(err)
	}
	e.inq.Act(ctx, askoyRD, a, "accept", "", "Ja, Kari Forsker er velkommen")
	p, err := e.inq.ToProject(ctx, admin, inq.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Hanne, an R&D contact, is also erased later.
	if !strings.Contains(allText(t, e.db), "kari forsker") {
		t.Fatal("test setup: name not stored")
	}
	if _, err := e.inq.ErasePerson(ctx, askoyRD, "kari.forsker@uib.no"); err == nil {
		t.Fatal("an R&D contact erased a person")
	}
	rep, err := e.inq.ErasePerson(ctx, admin, "KARI.FORSKER@uib.no")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Inquiries != 2 || rep.Portfolio != 2 || rep.Outbox != 7 {
		t.Fatalf("report = %+v", rep)
	}
	text := allText(t, e.db)
	for _, trace := range []string{"kari.forsker@uib.no", "kari forsker"} {
		if strings.Contains(text, trace) {
			t.Fatalf("%q is still stored after erasure", trace)
		}
	}
	entries := e.entries(t)
	last := entries[len(entries)-1]
	if last.Kind != "person.erase" || last.Object != portfolio.EmailRef("kari.forsker@uib.no") {
		t.Fatalf("erasure audit entry = %+v", last)
	}
	// Erasure never touches the audit log, whose chain still verifies.
	if v, err := audit.New(e.db).Verify(ctx); err != nil || !v.OK || v.Entries != int64(len(entries)) {
		t.Fatalf("audit chain after erasure: %+v, %v", v, err)
	}
	// The anonymised inquiry still counts; the project stays.
	if list, _ := e.inq.List(ctx, admin); len(list) != 2 || list[0].ResearcherName != inquiry.ErasedName {
		t.Fatalf("inquiries after erasure: %+v", list)
	}
	if got, err := e.port.Get(ctx, p.ID); err != nil || len(got.People) != 1 || got.People[0].Email != "hanne@askoy.kommune.no" {
		t.Fatalf("project after erasure: %+v, %v", got.People, err)
	}
	// She can submit again without tripping the duplicate guard.
	if _, err := e.inq.Submit(ctx, submission()); err != nil {
		t.Fatalf("resubmission after erasure: %v", err)
	}

	// Erasing an R&D contact reroutes their open assignments to the advisers.
	s3 := submission()
	s3.Title = "Tredje studie"
	s3.ResearcherEmail = "ola@hvl.no"
	inq3, _ := e.inq.Submit(ctx, s3)
	if _, err := e.inq.ErasePerson(ctx, admin, "hanne@askoy.kommune.no"); err != nil {
		t.Fatal(err)
	}
	back, _ := e.inq.Get(ctx, admin, inq3.ID)
	if back.Assignments[0].ContactEmail != "kunnskapskommunen@bergen.kommune.no" || back.Assignments[0].RoutedBy != "advisers" {
		t.Fatalf("open assignment after contact's erasure: %+v", back.Assignments[0])
	}
	if strings.Contains(allText(t, e.db), "hanne") {
		t.Fatal("the contact is still stored after erasure")
	}
}

func TestRetentionAnonymisesOldClosedInquiries(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	closed, _ := e.inq.Submit(ctx, submission())
	e.inq.Act(ctx, askoyRD, closed.Assignments[0].ID, "decline", "", "Nei takk")
	s := submission()
	s.Title = "Fortsatt åpen"
	open, _ := e.inq.Submit(ctx, s)

	e.clock = e.clock.AddDate(2, 0, -1)
	if n, err := e.inq.ApplyRetention(ctx); err != nil || n != 0 {
		t.Fatalf("before the retention period: %d, %v", n, err)
	}
	e.clock = e.clock.AddDate(0, 0, 2)
	if n, err := e.inq.ApplyRetention(ctx); err != nil || n != 1 {
		t.Fatalf("after the retention period: %d, %v", n, err)
	}
	a, _ := e.inq.Get(ctx, admin, closed.ID)
	b, _ := e.inq.Get(ctx, admin, open.ID)
	if a.ResearcherName != inquiry.ErasedName || strings.Contains(a.ResearcherEmail, "@") || !a.Erased {
		t.Fatalf("closed inquiry kept its researcher: %+v", a.Submission)
	}
	if b.ResearcherName != "Kari Forsker" {
		t.Fatal("an open inquiry was anonymised")
	}
}

func TestContactDirectoryIsKeptByAdvisers(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	var fe *portfolio.ForbiddenError
	if _, err := e.inq.SaveContact(ctx, askoyRD, inquiry.Contact{Municipality: "4627", Name: "X", Email: "x@askoy.kommune.no", Active: true}); !errors.As(err, &fe) {
		t.Fatalf("R&D contact edited the directory: %v", err)
	}
	var ie *portfolio.InputError
	for _, c := range []inquiry.Contact{
		{Municipality: "9999", Name: "X", Email: "x@y.no"},
		{Municipality: "4627", ServiceArea: "zoo", Name: "X", Email: "x@y.no"},
		{Municipality: "4627", Name: "<b>X</b>", Email: "x@y.no"},
		{Municipality: "4627", Name: "X", Email: "x"},
		{Municipality: "4627", Name: "Dup", Email: "fou@askoy.kommune.no"},
	} {
		if _, err := e.inq.SaveContact(ctx, admin, c); !errors.As(err, &ie) {
			t.Errorf("contact %+v: err = %v", c, err)
		}
	}
	cs, _ := e.inq.Contacts(ctx, "4627")
	if len(cs) != 2 {
		t.Fatalf("%d Askøy contacts, want 2", len(cs))
	}
	// Deactivating the home-care contact sends new inquiries to the municipality's.
	cs[1].Active = false
	if cs[1].ServiceArea != "home_care" {
		cs[0].Active, cs[1].Active = false, true
		cs[0], cs[1] = cs[1], cs[0]
	}
	if _, err := e.inq.SaveContact(ctx, admin, cs[1]); err != nil {
		t.Fatal(err)
	}
	inq, _ := e.inq.Submit(ctx, submission())
	if inq.Assignments[0].ContactEmail != "fou@askoy.kommune.no" || inq.Assignments[0].RoutedBy != "municipality" {
		t.Fatalf("after deactivation: %+v", inq.Assignments[0])
	}
}

func TestMunicipalityStatusSummarisesItsUnits(t *testing.T) {
	tests := []struct {
		statuses []string
		want     string
	}{
		{[]string{"declined", "accepted"}, "accepted"},
		{[]string{"declined", "received"}, "received"},
		{[]string{"received", "needs_information", "under_assessment"}, "needs_information"},
		{[]string{"withdrawn", "declined"}, "declined"},
		{[]string{"withdrawn"}, "withdrawn"},
	}
	for _, tc := range tests {
		var inq inquiry.Inquiry
		for _, s := range tc.statuses {
			inq.Assignments = append(inq.Assignments, inquiry.Assignment{Municipality: "4601", Status: s})
		}
		inq.Assignments = append(inq.Assignments, inquiry.Assignment{Municipality: "4627", Status: "received"})
		got := inq.MunicipalityStatus()
		if got["4601"] != tc.want || got["4627"] != "received" {
			t.Errorf("%v → %v, want %s", tc.statuses, got, tc.want)
		}
	}
}

func TestDeadlineIsCountedFromTheDateInNorway(t *testing.T) {
	e := newEnv(t)
	e.clock = time.Date(2025, 3, 3, 23, 30, 0, 0, time.UTC) // Tuesday 00:30 in Norway
	s := submission()
	s.StartedAt = time.Time{}
	inq, err := e.inq.Submit(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if d := inq.Assignments[0].Deadline; d != "2025-03-25" {
		t.Fatalf("deadline %s, want 2025-03-25 (15 working days after Tuesday 4 March)", d)
	}
}
