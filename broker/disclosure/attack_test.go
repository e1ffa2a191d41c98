package disclosure

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
)

// flat2D builds a two-dimensional flat table from its inner cells, adding
// the margins.
func flat2D(rows, cols []string, inner [][]int64) *cube.Table {
	t := &cube.Table{Dimensions: []cube.Dimension{
		{ID: "area", Categories: []cube.Category{{Code: cube.Total}}},
		{ID: "sex", Categories: []cube.Category{{Code: cube.Total}}},
	}}
	for _, r := range rows {
		t.Dimensions[0].Categories = append(t.Dimensions[0].Categories, cube.Category{Code: r, Parent: cube.Total})
	}
	for _, c := range cols {
		t.Dimensions[1].Categories = append(t.Dimensions[1].Categories, cube.Category{Code: c, Parent: cube.Total})
	}
	var grand int64
	colSum := make([]int64, len(cols))
	for i, r := range rows {
		var rowSum int64
		for j, c := range cols {
			t.Cells = append(t.Cells, cube.Cell{Coords: []string{r, c}, Count: inner[i][j], Status: cube.Published})
			rowSum += inner[i][j]
			colSum[j] += inner[i][j]
		}
		t.Cells = append(t.Cells, cube.Cell{Coords: []string{r, cube.Total}, Count: rowSum, Status: cube.Published})
		grand += rowSum
	}
	for j, c := range cols {
		t.Cells = append(t.Cells, cube.Cell{Coords: []string{cube.Total, c}, Count: colSum[j], Status: cube.Published})
	}
	t.Cells = append(t.Cells, cube.Cell{Coords: []string{cube.Total, cube.Total}, Count: grand, Status: cube.Published})
	return t
}

// primaryOnly withholds the small cells and nothing else.
func primaryOnly(t *cube.Table, k int64) {
	for i := range t.Cells {
		c := &t.Cells[i]
		c.Status = cube.Published
		if c.Count > 0 && c.Count < k {
			c.Status = cube.Primary
		}
	}
}

func TestAttackerBeatsPrimaryOnlyAndLosesToProtect(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		rows  []string
		inner [][]int64
		cell  []string
		// the interval the attacker gets against primary-only suppression
		lower, upper float64
	}{
		{
			// One small cell in its row: the row total minus the other
			// published cell gives it exactly.
			name:  "subtraction",
			rows:  []string{"A", "B", "C"},
			inner: [][]int64{{3, 10}, {12, 15}, {20, 22}},
			cell:  []string{"A", "M"},
			lower: 3, upper: 3,
		},
		{
			// Every row and column holds two withheld cells, so no single
			// subtraction works; the LP over all lines still confines A/M
			// to [0, 3] because the cells on the other diagonal are small.
			name:  "linear programming across lines",
			rows:  []string{"A", "B", "C"},
			inner: [][]int64{{1, 2}, {2, 1}, {20, 22}},
			cell:  []string{"A", "M"},
			lower: 0, upper: 3,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			naive := flat2D(tc.rows, []string{"M", "F"}, tc.inner)
			primaryOnly(naive, 5)
			rep, err := Audit(ctx, naive, Options{K: 5, AuditCells: exact})
			if !errors.Is(err, ErrAuditFailed) {
				t.Fatalf("primary-only suppression passed the audit: %v", err)
			}
			found := false
			for _, iv := range rep.Intervals {
				if cube.Key(iv.Coords) == cube.Key(tc.cell) {
					found = true
					if iv.Lower != tc.lower || iv.Upper != tc.upper {
						t.Errorf("attacker's interval [%g, %g], want [%g, %g]", iv.Lower, iv.Upper, tc.lower, tc.upper)
					}
				}
			}
			if !found {
				t.Fatalf("no interval for %v", tc.cell)
			}

			orig := flat2D(tc.rows, []string{"M", "F"}, tc.inner)
			prot := cloneTable(orig)
			if _, err := Protect(ctx, prot, Options{K: 5}); err != nil {
				t.Fatal(err)
			}
			checkProtected(t, tc.name, orig, prot, Options{K: 5})
		})
	}
}

func TestProtectRefusesWhatCannotBeProtected(t *testing.T) {
	cases := []struct {
		name  string
		inner [][]int64
		opt   Options
	}{
		{"grand total below k", [][]int64{{1, 0}, {1, 1}}, Options{K: 5}},
		{"empty table with zeros sensitive", [][]int64{{0, 0}, {0, 0}}, Options{K: 3, ZerosSensitive: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tab := flat2D([]string{"A", "B"}, []string{"M", "F"}, tc.inner)
			_, err := Protect(context.Background(), tab, tc.opt)
			if !errors.Is(err, ErrUnprotectable) {
				t.Fatalf("got %v, want ErrUnprotectable", err)
			}
		})
	}
}

func TestProtectKeepsCallerPrimaryCells(t *testing.T) {
	tab := flat2D([]string{"A", "B", "C"}, []string{"M", "F"}, [][]int64{{30, 10}, {12, 15}, {20, 22}})
	tab.Cells[0].Status = cube.Primary // A/M = 30, withheld by the caller's own rule
	rep, err := Protect(context.Background(), tab, Options{K: 5})
	if err != nil {
		t.Fatal(err)
	}
	if tab.Cells[0].Status != cube.Primary || rep.Primary != 1 || rep.Secondary < 3 {
		t.Fatalf("status %s, %d primary, %d secondary", tab.Cells[0].Status, rep.Primary, rep.Secondary)
	}
	if _, err := Audit(context.Background(), tab, Options{K: 5, AuditCells: exact}); err != nil {
		t.Fatal(err)
	}
}

func TestProtectAvoidsTheGrandTotal(t *testing.T) {
	// A small margin cell: its pattern must run through totals, but the
	// grand total is never needed.
	tab := flat2D([]string{"A", "B", "C"}, []string{"M", "F"}, [][]int64{{1, 2}, {12, 15}, {20, 22}})
	if _, err := Protect(context.Background(), tab, Options{K: 5}); err != nil {
		t.Fatal(err)
	}
	grand := tab.Cells[len(tab.Cells)-1]
	if grand.Status != cube.Published {
		t.Fatalf("grand total is %s", grand.Status)
	}
}

func TestBalancedMovesKeepEveryLevelAdditive(t *testing.T) {
	// _T → {g0, g1}; g0 → {a, b}; g1 → {c}
	parent := []int{-1, 0, 0, 1, 1, 2}
	children := [][]int{{1, 2}, {3, 4}, {5}, nil, nil, nil}
	moves := balancedMoves(parent, children)
	for c, ms := range moves {
		if len(ms) == 0 {
			t.Fatalf("category %d has no balanced move", c)
		}
		for _, m := range ms {
			v := make([]int, len(parent))
			for k, cat := range m.cats {
				v[cat] = int(m.signs[k])
			}
			if m.cats[0] != c || m.signs[0] != 1 {
				t.Fatalf("move %v does not start at %d", m, c)
			}
			for p, ch := range children {
				if len(ch) == 0 {
					continue
				}
				s := v[p]
				for _, x := range ch {
					s -= v[x]
				}
				if s != 0 {
					t.Fatalf("move %v from %d unbalances category %d", m, c, p)
				}
			}
		}
	}
}

func TestProtectEdgeShapes(t *testing.T) {
	cases := []struct {
		name string
		csv  string
		opt  Options
		want map[string]cube.Status // by first coordinate + "/" + rest
	}{
		{"one dimension", "a,count\n_T,20\nu,2\nv,9\nw,9\n", Options{K: 3},
			map[string]cube.Status{"u": cube.Primary, "_T": cube.Published}},
		{"k of one withholds nothing", "a,count\n_T,3\nu,1\nv,2\n", Options{K: 1},
			map[string]cube.Status{"u": cube.Published, "v": cube.Published}},
		{"a dimension with only the total", "a,b,count\n_T,_T,20\nu,_T,2\nv,_T,18\n", Options{K: 3},
			map[string]cube.Status{"u/_T": cube.Primary, "_T/_T": cube.Published}},
		{"zeros sensitive", "a,count\n_T,20\nu,0\nv,10\nw,10\n", Options{K: 3, ZerosSensitive: true},
			map[string]cube.Status{"u": cube.Primary}},
		{"zeros not sensitive", "a,count\n_T,20\nu,0\nv,10\nw,10\n", Options{K: 3},
			map[string]cube.Status{"u": cube.Published, "v": cube.Published}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ct, err := ReadCSV(strings.NewReader(tc.csv), nil)
			if err != nil {
				t.Fatal(err)
			}
			orig := cloneTable(ct.Table)
			if _, err := Protect(context.Background(), ct.Table, tc.opt); err != nil {
				t.Fatal(err)
			}
			for _, c := range ct.Table.Cells {
				if want, ok := tc.want[strings.Join(c.Coords, "/")]; ok && c.Status != want {
					t.Errorf("%v is %s, want %s", c.Coords, c.Status, want)
				}
			}
			checkProtected(t, tc.name, orig, ct.Table, tc.opt)
		})
	}
}

// TestNeighbourhoodAuditStaysSound forces the audit's large-component
// path (small AuditCells): it must still catch primary-only suppression,
// pass what Protect releases, and never report an interval wider than the
// exact attacker's.
func TestNeighbourhoodAuditStaysSound(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(31, 37))
	orig := randomTable(rng, tableSpec{leaves: []int{8, 6, 6}, groups: []int{0, 0, 0}, small: 0.15, zero: 0.05, big: 60})
	local := Options{K: 5, AuditCells: 10}

	naive := cloneTable(orig)
	primaryOnly(naive, 5)
	if _, err := Audit(ctx, naive, local); !errors.Is(err, ErrAuditFailed) {
		t.Fatalf("primary-only suppression passed the neighbourhood audit: %v", err)
	}

	prot := cloneTable(orig)
	if _, err := Protect(ctx, prot, local); err != nil {
		t.Fatal(err)
	}
	rep, err := Audit(ctx, prot, local)
	if err != nil {
		t.Fatal(err)
	}
	full, err := Audit(ctx, prot, Options{K: 5, AuditCells: exact})
	if err != nil {
		t.Fatal(err)
	}
	inexact := 0
	for k, iv := range rep.Intervals {
		ex := full.Intervals[k]
		if iv.Cell != ex.Cell {
			t.Fatal("interval lists out of step")
		}
		if iv.Lower < ex.Lower-1e-6 || iv.Upper > ex.Upper+1e-6 {
			t.Fatalf("cell %v: neighbourhood [%g, %g] wider than exact [%g, %g]", iv.Coords, iv.Lower, iv.Upper, ex.Lower, ex.Upper)
		}
		if !iv.Exact {
			inexact++
		}
	}
	if inexact == 0 {
		t.Fatal("the neighbourhood path was not exercised")
	}
}
