package inquiry_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kunnskapskommunen/folkekommune/broker/inquiry"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
)

func TestReceiptCodeLetsTheResearcherIn(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	inq, err := e.inq.Submit(ctx, submission())
	if err != nil {
		t.Fatal(err)
	}
	if len(inq.Receipt) < 30 {
		t.Fatalf("receipt code %q is too short to be secret", inq.Receipt)
	}
	var stored string
	e.db.QueryRow(`SELECT receipt_hash FROM inquiry WHERE id = ?`, inq.ID).Scan(&stored)
	if stored == "" || strings.Contains(stored, inq.Receipt) {
		t.Fatal("the receipt code is stored in clear")
	}
	var mailed int
	e.db.QueryRow(`SELECT count(*) FROM outbox WHERE topic = 'inquiry.receipt' AND contains(body, ?)`, inq.Receipt).Scan(&mailed)
	if mailed != 1 {
		t.Fatal("the receipt mail does not carry the code")
	}
	a, err := e.inq.ReceiptActor(ctx, inq.ID, inq.Receipt)
	if err != nil || a.Role != portfolio.RoleResearcher || a.ID != "kari.forsker@uib.no" {
		t.Fatalf("actor = %+v, %v", a, err)
	}
	if _, err := e.inq.Get(ctx, a, inq.ID); err != nil {
		t.Fatalf("researcher cannot read with the receipt: %v", err)
	}
	for _, bad := range []struct {
		id   int64
		code string
	}{{inq.ID, inq.Receipt + "x"}, {inq.ID, ""}, {inq.ID + 1, inq.Receipt}} {
		if _, err := e.inq.ReceiptActor(ctx, bad.id, bad.code); !errors.Is(err, inquiry.ErrBadReceipt) {
			t.Errorf("receipt %d/%q: err = %v", bad.id, bad.code, err)
		}
	}
	e.inq.ErasePerson(ctx, admin, "kari.forsker@uib.no")
	if _, err := e.inq.ReceiptActor(ctx, inq.ID, inq.Receipt); !errors.Is(err, inquiry.ErrBadReceipt) {
		t.Fatalf("receipt still works after erasure: %v", err)
	}
}

func TestAmend(t *testing.T) {
	tests := []struct {
		name   string
		actor  portfolio.Actor
		before []string // actions by Askøy's contact first
		edit   func(*inquiry.Submission)
		want   string // "" ok, or forbidden, state, input:field
	}{
		{"researcher amends the text", author, nil, func(s *inquiry.Submission) { s.Resources = "Én time per bruker" }, ""},
		{"while asked for more information", author, []string{"request_information"}, func(s *inquiry.Submission) { s.Funding = "Innvilget" }, ""},
		{"adviser may amend", admin, nil, func(s *inquiry.Submission) { s.Title = "Ny tittel" }, ""},
		{"another researcher may not", other, nil, func(s *inquiry.Submission) { s.Title = "Kapret" }, "forbidden"},
		{"the R&D contact may not", askoyRD, nil, func(s *inquiry.Submission) { s.Title = "Endret" }, "forbidden"},
		{"not after an answer", author, []string{"assess", "accept"}, func(s *inquiry.Submission) { s.Title = "Sent" }, "state"},
		{"bad input refused", author, nil, func(s *inquiry.Submission) { s.End = "2020-01-01" }, "input:end"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			inq, _ := e.inq.Submit(ctx, submission())
			for _, act := range tc.before {
				if _, err := e.inq.Act(ctx, askoyRD, inq.Assignments[0].ID, act, "", "Hvor mange brukere?"); err != nil {
					t.Fatal(err)
				}
			}
			s := submission()
			s.ResearcherEmail = "someone.else@example.com" // cannot be changed this way
			s.Units = nil                                  // nor can the routing
			tc.edit(&s)
			mails := len(e.outbox(t, "inquiry.amend"))
			got, err := e.inq.Amend(ctx, tc.actor, inq.ID, s)
			var fe *portfolio.ForbiddenError
			var se *portfolio.StateError
			var ie *portfolio.InputError
			switch {
			case tc.want == "":
				if err != nil {
					t.Fatal(err)
				}
				back, _ := e.inq.Get(ctx, admin, inq.ID)
				if back.ResearcherEmail != "kari.forsker@uib.no" || len(back.Assignments) != 1 || back.Title != s.Title || back.Funding != s.Funding || back.Resources != s.Resources {
					t.Fatalf("after amending: %+v", back.Submission)
				}
				if got.Title != s.Title || len(e.outbox(t, "inquiry.amend")) != mails+1 {
					t.Fatal("the contact was not told")
				}
			case tc.want == "forbidden":
				if !errors.As(err, &fe) {
					t.Fatalf("err = %v", err)
				}
			case tc.want == "state":
				if !errors.As(err, &se) {
					t.Fatalf("err = %v", err)
				}
			default:
				if !errors.As(err, &ie) || "input:"+ie.Field != tc.want {
					t.Fatalf("err = %v", err)
				}
			}
		})
	}
}
