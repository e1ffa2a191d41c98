package disclosure

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
)

// naiveInterval is a second attacker, written the plain way to check the
// audit's: every cell of the table is a variable, each published cell is
// pinned by two inequalities, each relation by two, each count by x ≥ 0,
// and gonum's Convert turns that into standard form (whose slack columns
// give full row rank without any rank reduction of ours).
func naiveInterval(t *testing.T, tab *cube.Table, target int) (lo, hi float64) {
	t.Helper()
	g, rels, err := tab.CheckAdditive()
	if err != nil {
		t.Fatal(err)
	}
	_ = g
	n := len(tab.Cells)
	var G [][]float64
	var h []float64
	add := func(row []float64, b float64) {
		G = append(G, row)
		h = append(h, b)
	}
	for _, r := range rels {
		row := make([]float64, n)
		row[r.Total] = 1
		for _, p := range r.Parts {
			row[p] = -1
		}
		neg := make([]float64, n)
		for i := range row {
			neg[i] = -row[i]
		}
		add(row, 0)
		add(neg, 0)
	}
	for i, c := range tab.Cells {
		row := make([]float64, n)
		row[i] = -1
		add(row, 0)
		if c.Status == cube.Published {
			up := make([]float64, n)
			up[i] = 1
			add(up, float64(c.Count))
			add(row, -float64(c.Count))
		}
	}
	gm := mat.NewDense(len(G), n, nil)
	for i, row := range G {
		gm.SetRow(i, row)
	}
	solve := func(dir float64) (float64, bool) {
		c := make([]float64, n)
		c[target] = dir
		cs, A, b := lp.Convert(c, gm, h, nil, nil)
		f, _, err := lp.Simplex(cs, A, b, 1e-10, nil)
		if errors.Is(err, lp.ErrUnbounded) {
			return math.Inf(-1), true
		}
		if err != nil {
			t.Fatalf("naive attacker: %v", err)
		}
		return f, true
	}
	lo, _ = solve(1)
	f, _ := solve(-1)
	return lo, -f
}

func TestAuditAgreesWithANaiveAttacker(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	checked := 0
	for n := 0; n < 12; n++ {
		spec := tableSpec{leaves: []int{2 + rng.IntN(3), 2 + rng.IntN(2)}, groups: []int{0, 0}, small: 0.3, zero: 0.1, big: 30}
		if n%3 == 0 {
			spec = tableSpec{leaves: []int{2, 2, 2}, groups: []int{0, 0, 0}, small: 0.3, zero: 0.1, big: 30}
		}
		if n%3 == 1 {
			spec = tableSpec{leaves: []int{4, 2}, groups: []int{2, 0}, small: 0.3, zero: 0.1, big: 30}
		}
		tab := randomTable(rng, spec)
		// Judge both a protected pattern and the weaker primary-only one.
		if n%2 == 0 {
			if _, err := Protect(context.Background(), tab, Options{K: 4}); err != nil {
				continue
			}
		} else {
			primaryOnly(tab, 4)
		}
		rep, _ := Audit(context.Background(), tab, Options{K: 4, AuditCells: exact})
		for _, iv := range rep.Intervals {
			lo, hi := naiveInterval(t, tab, iv.Cell)
			if math.Abs(lo-iv.Lower) > 1e-6 || !(math.IsInf(hi, 1) && math.IsInf(iv.Upper, 1) || math.Abs(hi-iv.Upper) < 1e-6) {
				t.Fatalf("table %d cell %v: audit [%g, %g], naive attacker [%g, %g]", n, iv.Coords, iv.Lower, iv.Upper, lo, hi)
			}
			checked++
		}
	}
	if checked < 10 {
		t.Fatalf("only %d intervals compared", checked)
	}
}
