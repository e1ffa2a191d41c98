package report_test

import (
	"bytes"
	"context"
	"database/sql"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/inquiry"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio/report"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var admin = portfolio.Actor{ID: "radgiver1", Role: portfolio.RoleAdmin}

func noAudit(context.Context, *sql.Tx, portfolio.AuditEvent) error { return nil }

// fixture is a small portfolio whose 2025 figures are worked out by hand in
// TestReportFiguresCheckedByHand.
func fixture(t *testing.T) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	reg := portfolio.New(db, noAudit)
	reg.Now = func() time.Time { return clock }
	base := func(title, typ, status string, start, end portfolio.Date, units ...portfolio.Unit) portfolio.Project {
		return portfolio.Project{Title: title, Summary: "Sammendrag.", Type: typ, Status: status, Start: start, End: end,
			OwnerInstitution: "Bergen kommune", MunicipalityRole: "owner", Units: units}
	}
	bergen, askoyHome, voss, alver := portfolio.Unit{Municipality: "4601"}, portfolio.Unit{Municipality: "4627", ServiceArea: "home_care"}, portfolio.Unit{Municipality: "4621"}, portfolio.Unit{Municipality: "4631"}

	p1 := base("P1", "research", "active", "2024-01-01", "2026-12-31", bergen, askoyHome)
	p1.Areas = []string{"clinical_practice", "demography"}
	p1.Funding = []portfolio.Funding{{Source: "NFR", AmountNOK: 6_000_000, Year: 2025}, {Source: "NFR", AmountNOK: 4_000_000, Year: 2024}, {Source: "OWN", AmountNOK: 500_000, Year: 2025}}
	p1.Results = []portfolio.Result{{Kind: "publication", Title: "A", Year: 2025}, {Kind: "publication", Title: "B", Year: 2024}, {Kind: "report", Title: "C", Year: 2025}}
	p1.Positions = []portfolio.Position{{Kind: "public_phd", Municipality: "4601", StartYear: 2023, EndYear: 2026}}

	p2 := base("P2", "innovation", "completed", "2023-01-01", "2025-03-31", bergen)
	p2.Areas = []string{"welfare_technology"}
	p2.Funding = []portfolio.Funding{{Source: "EU", AmountNOK: 2_000_000}, {Source: "HDIR", AmountNOK: 300_000, Year: 2025}}
	p2.Results = []portfolio.Result{{Kind: "knowledge_return", Title: "Fagdag", Year: 2025}}
	p2.Positions = []portfolio.Position{{Kind: "adjunct", Municipality: "4627", StartYear: 2025, EndYear: 2025}}

	p3 := base("P3", "masters", "planned", "2025-08-01", "2026-06-30", askoyHome)
	p3.Funding = []portfolio.Funding{{Source: "RFF", AmountNOK: 100_000, Year: 2025}}

	p4 := base("P4", "follow_up_research", "active", "2025-06-01", "", voss)
	p4.Areas = []string{"prevention"}
	p4.Funding = []portfolio.Funding{{Source: "HDIR", AmountNOK: 1_000_000}}

	p5 := base("P5", "research", "completed", "2022-01-01", "2024-12-31", alver)
	p5.Results = []portfolio.Result{{Kind: "publication", Title: "Sen artikkel", Year: 2025}}

	for _, p := range []portfolio.Project{p1, p2, p3, p4, p5} {
		if _, err := reg.Create(ctx, admin, p); err != nil {
			t.Fatal(err)
		}
	}

	inq := inquiry.New(reg)
	sub := func(title string, units ...portfolio.Unit) inquiry.Inquiry {
		s := inquiry.Submission{Title: title, Kind: "research", Description: "Beskrivelse.", Institution: "UiB", ResearcherName: "Forsker",
			ResearcherEmail: "forsker@uib.no", Funding: "NFR", FundingStatus: "applied", Resources: "Litt tid.", KnowledgeReturn: "Fagdag.",
			TargetGroups: "Eldre", EthicsStatus: "APPLIED", Start: "2025-09-01", End: "2026-12-31", Units: units}
		i, err := inq.Submit(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	contact := portfolio.Actor{ID: "fou", Role: portfolio.RoleAdmin}
	act := func(at string, id int64, actions ...string) {
		clock = at2(at)
		for _, a := range actions {
			if _, err := inq.Act(ctx, contact, id, a, "", "Svar."); err != nil {
				t.Fatal(err)
			}
		}
	}
	clock = at2("2024-12-02")
	sub("C (2024)", askoyHome)
	clock = at2("2025-03-03")
	a := sub("A", askoyHome, bergen)
	clock = at2("2025-03-10")
	sub("B", askoyHome)
	act("2025-03-12", a.Assignments[0].ID, "assess", "accept") // 7 working days, within the deadline 2025-03-24
	act("2025-03-31", a.Assignments[1].ID, "decline")          // 20 working days, late
	return db
}

func at2(d string) time.Time {
	t, _ := time.Parse(time.DateOnly, d)
	return t.Add(9 * time.Hour)
}

func TestReportFiguresCheckedByHand(t *testing.T) {
	rep, err := report.Compute(context.Background(), fixture(t), 2025)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]report.Figures{}
	for _, f := range rep.Figures {
		by[f.Municipality] = f
	}
	if len(rep.Figures) != 10 || rep.Figures[0].Municipality != "_T" {
		t.Fatalf("report has %d rows, first %s; want the cluster then nine municipalities", len(rep.Figures), rep.Figures[0].Municipality)
	}
	med := func(f report.Figures) float64 {
		if f.MedianDaysToAnswer == nil {
			return -1
		}
		return *f.MedianDaysToAnswer
	}
	tests := []struct {
		name      string
		got, want any
	}{
		// P1, P2 (ends March 2025) and P4 are active; P3 is only planned, P5 ended in 2024.
		{"cluster active", by["_T"].ActiveProjects, 3},
		{"cluster research", by["_T"].ProjectsByType["research"], 1},
		{"cluster follow-up", by["_T"].ProjectsByType["follow_up_research"], 1},
		{"cluster prevention", by["_T"].ProjectsByArea["prevention"], 1},
		// NFR 6 M (P1, 2025) + HDIR 0.3 M (P2) + 1 M (P4, no year: its start year 2025). Not: NFR 2024, OWN, EU (2023), RFF (planned).
		{"cluster NFR", by["_T"].ExternalFundingNOK["NFR"], int64(6_000_000)},
		{"cluster HDIR", by["_T"].ExternalFundingNOK["HDIR"], int64(1_300_000)},
		{"cluster EU", by["_T"].ExternalFundingNOK["EU"], int64(0)},
		{"cluster funding total", by["_T"].ExternalFundingTotal, int64(7_300_000)},
		{"cluster public PhDs", by["_T"].PublicPhDs, 1},
		{"cluster adjuncts", by["_T"].Positions["adjunct"], 1},
		{"cluster publications", by["_T"].Publications, 2}, // P1's 2025 article and P5's late one
		{"cluster reports", by["_T"].ResultsByKind["report"], 1},
		{"cluster knowledge returns", by["_T"].ResultsByKind["knowledge_return"], 1},
		{"cluster inquiries received", by["_T"].InquiriesReceived, 2}, // A and B; C is from 2024
		{"cluster answered", by["_T"].InquiriesAnswered, 2},
		{"cluster within deadline", by["_T"].AnsweredWithinDeadline, 1},
		{"cluster median", med(by["_T"]), 13.5}, // (7 + 20) / 2
		{"cluster accepted", by["_T"].InquiriesAccepted, 1},

		{"Bergen active", by["4601"].ActiveProjects, 2},
		{"Bergen funding", by["4601"].ExternalFundingTotal, int64(6_300_000)},
		{"Bergen public PhDs", by["4601"].PublicPhDs, 1},
		{"Bergen publications", by["4601"].Publications, 1},
		{"Bergen received", by["4601"].InquiriesReceived, 1},
		{"Bergen within deadline", by["4601"].AnsweredWithinDeadline, 0},
		{"Bergen median", med(by["4601"]), 20.0},

		{"Askøy active", by["4627"].ActiveProjects, 1},
		{"Askøy funding", by["4627"].ExternalFundingTotal, int64(6_000_000)},
		{"Askøy adjuncts", by["4627"].Positions["adjunct"], 1},
		{"Askøy received", by["4627"].InquiriesReceived, 2},
		{"Askøy answered", by["4627"].InquiriesAnswered, 1},
		{"Askøy median", med(by["4627"]), 7.0},
		{"Askøy accepted", by["4627"].InquiriesAccepted, 1},

		{"Voss active", by["4621"].ActiveProjects, 1},
		{"Voss funding", by["4621"].ExternalFundingNOK["HDIR"], int64(1_000_000)},
		{"Alver active", by["4631"].ActiveProjects, 0},
		{"Alver publications", by["4631"].Publications, 1},
		{"Masfjorden median", med(by["4634"]), -1.0},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestReportEncodings(t *testing.T) {
	rep, err := report.Compute(context.Background(), fixture(t), 2025)
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"report_2025.csv", func(b *bytes.Buffer) error { return rep.WriteCSV(b) }},
		{"report_2025.json", func(b *bytes.Buffer) error { return rep.WriteJSON(b) }},
	} {
		var b bytes.Buffer
		if err := enc.write(&b); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", "..", "..", "testdata", "portfolio", enc.file)
		if *update {
			os.WriteFile(path, b.Bytes(), 0o644)
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("golden file: %v (run with -update)", err)
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s differs from the golden file; run go test -update and review the diff", enc.file)
		}
	}
}
