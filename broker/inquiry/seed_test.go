package inquiry_test

import (
	"context"
	"testing"

	"github.com/kunnskapskommunen/folkekommune/broker/inquiry"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio/report"
)

func TestDemoSeedsABelievablePortfolioAndInquiries(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.db.Exec(`DELETE FROM rd_contact`) // the demo brings its own directory
	projects, err := portfolio.SeedDemo(ctx, e.port, "demo-researcher")
	if err != nil {
		t.Fatal(err)
	}
	titles := map[string]portfolio.Project{}
	for _, p := range projects {
		titles[p.Title] = p
	}
	for _, want := range []string{"FolkeKommune", "Kunnskapsoppsummeringer med kommunene", "Ungdom og sosiale medier", "LIVE@Home.Path",
		"ALMUTH – musikkterapi ved Alzheimers sykdom", "SELFIE – behandlingsmodeller for sammensatte lidelser", "Praksisnett – forskningsnettverk for fastleger",
		"IMPAKT – redusere gapet mellom kunnskap og praksis"} {
		if _, ok := titles[want]; !ok {
			t.Errorf("demo portfolio lacks %q", want)
		}
	}
	ap, err := e.port.AccessApproval(ctx, titles["FolkeKommune"].ID)
	if err != nil || !ap.Approved || ap.Members[0] != "demo-researcher" || len(ap.Municipalities) != 9 {
		t.Fatalf("FolkeKommune approval = %+v, %v", ap, err)
	}
	unmet, _ := e.port.Needs(ctx, portfolio.NeedFilter{Unmet: true})
	if len(unmet) != 2 {
		t.Errorf("%d unmet needs, want 2 (samhandling, boformer): %+v", len(unmet), unmet)
	}

	inqs, err := inquiry.SeedDemo(ctx, e.inq)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]int{}
	for _, i := range inqs {
		for _, a := range i.Assignments {
			states[a.Status]++
		}
	}
	for _, s := range inquiry.Statuses {
		if states[s.Code] == 0 {
			t.Errorf("no demo assignment is %s (have %v)", s.Code, states)
		}
	}
	if inqs[0].ProjectID == nil {
		t.Error("the accepted demo inquiry did not become a project")
	}
	if inqs[0].Assignments[2].RoutedBy != "advisers" {
		t.Errorf("Vaksdal, without a contact, routed by %s", inqs[0].Assignments[2].RoutedBy)
	}
	// Seeding twice changes nothing.
	if again, err := portfolio.SeedDemo(ctx, e.port); err != nil || again != nil {
		t.Fatalf("second seed: %v, %v", again, err)
	}
	if again, err := inquiry.SeedDemo(ctx, e.inq); err != nil || again != nil {
		t.Fatalf("second seed: %v, %v", again, err)
	}
	// The seeded registries report without error, and the cluster figures
	// add up: FolkeKommune and the summaries run in 2025.
	rep, err := report.Compute(ctx, e.db, 2025)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Figures[0].ActiveProjects < 5 || rep.Figures[0].ExternalFundingTotal == 0 || rep.Figures[0].PublicPhDs != 2 {
		t.Errorf("cluster 2025 = %+v", rep.Figures[0])
	}
}
