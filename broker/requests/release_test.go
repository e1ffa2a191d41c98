package requests

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/kunnskapskommunen/folkekommune/broker/audit"
	"github.com/kunnskapskommunen/folkekommune/broker/cube"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
	"github.com/kunnskapskommunen/folkekommune/policies"
)

// fixture is a real DuckDB with a hand-made extract: people living in
// Masfjorden (4634), Bergen (4601, one district and one unknown) and
// Voss (4621) on 1 January 2024.
func fixture(t *testing.T, people map[string]int) *Service {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO extract (source, connector, fingerprint, status, started_at) VALUES ('test', 'filedrop', 'x', 'loaded', now())`)
	pid := 0
	for area, n := range people {
		muni, district := area, sql.NullString{}
		if len(area) > 4 {
			muni, district = area[:4], sql.NullString{String: area, Valid: true}
		}
		if area == "4601_U" {
			district = sql.NullString{}
		}
		for i := 0; i < n; i++ {
			pid++
			sex := []string{"M", "F"}[i%2]
			exec(`INSERT INTO person (pid, birth_year, birth_month, sex, death_month, record_key) VALUES (?, 1980, 1, ?, NULL, ?)`, pid, sex, pid*7919)
			exec(`INSERT INTO residence (pid, municipality, district, moved_in, moved_out) VALUES (?, ?, ?, DATE '2000-01-01', NULL)`, pid, muni, district)
		}
	}
	engine, err := policies.LoadEmbedded(ctx)
	if err != nil {
		t.Fatal(err)
	}
	log := audit.New(db)
	engine.SetAudit(log)
	return &Service{DB: db, Policy: engine, Audit: log, Projects: func(ctx context.Context, id int64) (policies.Project, error) {
		if id != 1 {
			return policies.Project{}, fmt.Errorf("%w: project %d", ErrNotFound, id)
		}
		return policies.Project{ID: "1", Status: "approved", Purpose: "research", ApprovedAt: "2024-01-01", EndDate: "2030-12-31",
			REK: "2024/123456", DPIADone: true, LegalBasis: "hfl-35", Members: []string{"kari"}}, nil
	}}
}

var kari = User{ID: "kari", Role: RoleResearcher}

func TestTheCubeHoldsEveryCombinationWithTotalsAndTheDistrictHierarchy(t *testing.T) {
	s := fixture(t, map[string]int{"460101": 12, "4601_U": 6, "4621": 20})
	spec, err := Spec{Project: 1, Dataset: "population", Dimensions: []string{"district", "sex"}, Period: Period{2024, 2024},
		Filters: map[string][]string{"municipality": {"4601", "4621"}}, Purpose: "x"}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.placePopulation(context.Background(), 1, 2024, 2024); err != nil {
		t.Fatal(err)
	}
	q, err := buildQueryFor(spec, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := queryCube(context.Background(), s.DB, q, true)
	if err != nil {
		t.Fatal(err)
	}
	// _T, 4601, 4621, eight districts and the unknown one; × _T, M, F.
	if len(tab.Cells) != 12*3 {
		t.Fatalf("%d cells, want 36", len(tab.Cells))
	}
	if _, _, err := tab.CheckAdditive(); err != nil {
		t.Fatalf("not additive: %v", err)
	}
	idx := tab.Index()
	for _, tc := range []struct {
		coords []string
		want   int64
	}{
		{[]string{"_T", "_T"}, 38}, {[]string{"4601", "_T"}, 18}, {[]string{"460101", "M"}, 6},
		{[]string{"4601_U", "F"}, 3}, {[]string{"4621", "_T"}, 20}, {[]string{"460105", "_T"}, 0},
	} {
		i, ok := idx[cube.Key(tc.coords)]
		if !ok || tab.Cells[i].Count != tc.want {
			t.Errorf("cell %v: %v, want %d", tc.coords, tab.Cells[i].Count, tc.want)
		}
	}
	if tab.Cells[idx[cube.Key([]string{"_T", "_T"})]].RecordKey == 0 {
		t.Error("the grand total has no record-key sum")
	}
}

func TestAnUnprotectableTableFailsAndLeavesNoRelease(t *testing.T) {
	s := fixture(t, map[string]int{"4634": 3, "4621": 40})
	r, err := s.Submit(context.Background(), kari, Spec{Project: 1, Dataset: "population", Dimensions: []string{"sex"},
		Filters: map[string][]string{"municipality": {"4634"}}, Period: Period{2024, 2024}, Purpose: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if r.State != StateFailed || r.ReleaseID != "" || r.Message == "" {
		t.Fatalf("state %s, release %q, message %q", r.State, r.ReleaseID, r.Message)
	}
	var releases, cells int
	s.DB.QueryRow(`SELECT count(*) FROM release`).Scan(&releases)
	s.DB.QueryRow(`SELECT count(*) FROM release_cell`).Scan(&cells)
	if releases != 0 || cells != 0 {
		t.Errorf("a failed request left %d releases and %d ledger cells", releases, cells)
	}
	stored, err := s.Get(context.Background(), r.ID)
	if err != nil || stored.State != StateFailed {
		t.Errorf("stored: %+v %v", stored.State, err)
	}
	rep, err := s.Audit.Verify(context.Background())
	if err != nil || !rep.OK {
		t.Errorf("audit: %+v %v", rep, err)
	}
}

func TestAReleaseIsStoredWithItsLedgerAndChecksum(t *testing.T) {
	s := fixture(t, map[string]int{"4634": 30, "4621": 41, "460101": 22})
	ctx := context.Background()
	r, err := s.Submit(ctx, kari, Spec{Project: 1, Dataset: "population", Dimensions: []string{"municipality", "sex"}, Period: Period{2024, 2024}, Purpose: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if r.State != StateReleased {
		t.Fatalf("state %s: %s %v", r.State, r.Message, r.Reasons)
	}
	rel, err := s.GetRelease(ctx, r.ReleaseID)
	if err != nil {
		t.Fatal(err)
	}
	if rel.Cells != 10*3 || len(rel.Table.Cells) != 30 || rel.PolicyVersion == "" || rel.ExtractID != 1 || len(rel.SHA256) != 64 {
		t.Errorf("release %+v", rel)
	}
	var ledger int
	s.DB.QueryRow(`SELECT count(*) FROM release_cell WHERE release_id = ?`, rel.ID).Scan(&ledger)
	if ledger != rel.Cells {
		t.Errorf("ledger holds %d cells of %d", ledger, rel.Cells)
	}
	// Tampering with the stored table is caught on reading.
	if _, err := s.DB.Exec(`UPDATE release SET table_json = replace(table_json, '"published"', '"published" ') WHERE id = ?`, rel.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetRelease(ctx, rel.ID); err == nil {
		t.Error("an altered release was served")
	}
	// Unknown project and wrong role.
	if _, err := s.Submit(ctx, kari, Spec{Project: 9, Dataset: "population", Period: Period{2024, 2024}, Purpose: "x"}); !isInput(err, "project") {
		t.Errorf("unknown project: %v", err)
	}
	if _, err := s.Submit(ctx, User{ID: "p", Role: RolePrivacyOfficer}, Spec{}); !errors.Is(err, ErrForbidden) {
		t.Errorf("privacy officer requesting: %v", err)
	}
}

func isInput(err error, field string) bool {
	var ie *InputError
	return errors.As(err, &ie) && ie.Field == field
}

func TestNobodyReviewsTheirOwnRequestOrTwice(t *testing.T) {
	s := fixture(t, map[string]int{"4621": 300})
	ctx := context.Background()
	r, err := s.Submit(ctx, kari, Spec{Project: 1, Dataset: "gp_contact", Dimensions: []string{"icpc2_chapter"}, Period: Period{2024, 2024}, Purpose: "x"})
	if err != nil || r.State != StateReview {
		t.Fatalf("%v %s", err, r.State)
	}
	// Two approvals needed, as a policy may ask.
	if _, err := s.DB.Exec(`UPDATE data_request SET approvals_needed = 2 WHERE id = ?`, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Decide(ctx, User{ID: "kari", Role: RolePrivacyOfficer}, r.ID, ActionApprove, "mine"); !errors.Is(err, ErrForbidden) {
		t.Errorf("own request: %v", err)
	}
	per := User{ID: "per", Role: RolePrivacyOfficer}
	got, err := s.Decide(ctx, per, r.ID, ActionApprove, "ok")
	if err != nil || got.State != StateReview {
		t.Fatalf("first approval: %v %s", err, got.State)
	}
	if _, err := s.Decide(ctx, per, r.ID, ActionApprove, "ok again"); !errors.Is(err, ErrState) {
		t.Errorf("second approval by the same officer: %v", err)
	}
	got, err = s.Decide(ctx, User{ID: "pia", Role: RolePrivacyOfficer}, r.ID, ActionApprove, "ok")
	if err != nil || got.State != StateReleased || got.ReleaseID == "" || len(got.Reviews) != 2 {
		t.Fatalf("second officer: %v %s %+v", err, got.State, got.Reviews)
	}
}

func TestEarlierReleasesOfTheProjectBecomeFactsForTheNextAudit(t *testing.T) {
	s := fixture(t, map[string]int{"4634": 31, "4621": 40, "4630": 52})
	ctx := context.Background()
	first, err := s.Submit(ctx, kari, Spec{Project: 1, Dataset: "population", Dimensions: []string{"municipality"}, Period: Period{2024, 2024}, Purpose: "x"})
	if err != nil || first.State != StateReleased {
		t.Fatalf("first: %v %s %s", err, first.State, first.Message)
	}
	spec, err := Spec{Project: 1, Dataset: "population", Dimensions: []string{"municipality", "sex"}, Period: Period{2024, 2024}, Purpose: "y"}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	q, err := buildQueryFor(spec, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := queryCube(ctx, s.DB, q, false)
	if err != nil {
		t.Fatal(err)
	}
	r := &Request{Spec: spec, ExtractID: 1}
	facts, err := s.ledgerFacts(ctx, "1", r, tab)
	if err != nil {
		t.Fatal(err)
	}
	// The first table's cells are this table's (municipality, _T) margins:
	// the nine municipalities and the grand total, known to the project.
	if len(facts) != 10 {
		t.Fatalf("%d facts, want 10", len(facts))
	}
	for _, f := range facts {
		if len(f.Terms) != 1 || f.Terms[0].Coords[1] != cube.Total {
			t.Errorf("fact %+v is not a margin", f)
		}
	}
	// Another definition (other years) shares no cells.
	other := &Request{Spec: spec, ExtractID: 1}
	other.Spec.Period = Period{2023, 2024}
	if facts, _ := s.ledgerFacts(ctx, "1", other, tab); len(facts) != 0 {
		t.Errorf("facts across definitions: %d", len(facts))
	}
	// The second release goes through with the facts in its audit.
	second, err := s.Submit(ctx, kari, Spec{Project: 1, Dataset: "population", Dimensions: []string{"municipality", "sex"}, Period: Period{2024, 2024}, Purpose: "y"})
	if err != nil || second.State != StateReleased || !second.Obligations.Perturbation {
		t.Fatalf("second: %v %s %s, perturbation %v", err, second.State, second.Message, second.Obligations.Perturbation)
	}
}
