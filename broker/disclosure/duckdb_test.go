package disclosure

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"testing"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"github.com/kunnskapskommunen/folkekommune/broker/cube"
)

// TestProtectHierarchicalCubeFromDuckDB builds the area (district →
// municipality → cluster) × sex table the way a release does — one
// GROUPING SETS query in DuckDB — checks it on the way in, protects it and
// has the exact attacker audit it.
func TestProtectHierarchicalCubeFromDuckDB(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(21, 22))
	if _, err := db.ExecContext(ctx, `CREATE TABLE p (municipality VARCHAR, district VARCHAR, sex VARCHAR)`); err != nil {
		t.Fatal(err)
	}
	// A rare event: a few hundred people spread over the cluster.
	for range 150 {
		m := catalog.Municipalities[rng.IntN(len(catalog.Municipalities))]
		if rng.IntN(3) > 0 {
			m = catalog.Municipalities[0]
		}
		var d any
		if m.Code == catalog.BergenCode {
			d = catalog.Districts[rng.IntN(len(catalog.Districts))].Code
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO p VALUES (?, ?, ?)`, m.Code, d, []string{"M", "F"}[rng.IntN(2)]); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := db.QueryContext(ctx, `
		SELECT COALESCE(district, municipality) AS area, sex, count(*)
		FROM p
		GROUP BY GROUPING SETS ((municipality, district, sex), (municipality, district),
		                        (municipality, sex), (municipality), (sex), ())
		-- the district level exists only inside Bergen
		HAVING NOT (GROUPING(district) = 0 AND district IS NULL)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	area := cube.Dimension{ID: "area", Categories: []cube.Category{{Code: cube.Total}}}
	for _, m := range catalog.Municipalities {
		area.Categories = append(area.Categories, cube.Category{Code: m.Code, Parent: cube.Total})
	}
	for _, d := range catalog.Districts {
		area.Categories = append(area.Categories, cube.Category{Code: d.Code, Parent: catalog.BergenCode})
	}
	sex := cube.Dimension{ID: "sex", Categories: []cube.Category{{Code: cube.Total}, {Code: "M", Parent: cube.Total}, {Code: "F", Parent: cube.Total}}}
	tab := &cube.Table{Dimensions: []cube.Dimension{area, sex}}
	if err := cube.ScanCells(rows, tab, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tab.CheckAdditive(); err != nil {
		t.Fatalf("the GROUPING SETS cube is not a complete additive table: %v", err)
	}
	if got, want := len(tab.Cells), (1+len(catalog.Municipalities)+len(catalog.Districts))*3; got != want {
		t.Fatalf("%d cells, want %d", got, want)
	}
	orig := cloneTable(tab)
	rep, err := Protect(ctx, tab, Options{K: 5})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Primary == 0 {
		t.Fatal("the fixture has no small cell; the test proves nothing")
	}
	checkProtected(t, "area × sex", orig, tab, Options{K: 5})
}
