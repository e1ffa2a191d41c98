package disclosure

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
)

// Interval is what an attacker who knows every published cell, every
// additivity relation and that counts are non-negative can learn about a
// withheld primary cell: its count lies in [Lower, Upper].
type Interval struct {
	Cell   int // index in Table.Cells
	Coords []string
	Count  int64
	Lower  float64
	Upper  float64 // +Inf when nothing bounds the cell from above
	// Exact is true when the LP ran over every withheld cell connected to
	// this one. When false the LP took some distant withheld cells as known
	// to the attacker, so the real interval contains this one: the width
	// is a lower bound, which is the safe direction for the gate.
	Exact bool
}

// Width is Upper − Lower.
func (iv Interval) Width() float64 { return iv.Upper - iv.Lower }

// AuditReport is the LP audit of a table's suppression pattern.
type AuditReport struct {
	Intervals []Interval // one per primary cell, table order
	Failures  []Interval // primary cells narrower than the protection level
	// Exposed are published cells that are themselves sensitive
	// (0 < n < k, or zero when zeros are sensitive).
	Exposed []int
	LPs     int // linear programs solved
	// Certified counts primary cells that Protect passed on a fully
	// withheld protecting pattern instead of an LP: the
	// pattern's interval is inside the attacker's, so it is a sound
	// certificate. Audit itself always solves the LP.
	Certified int
}

// OK reports whether the table may be released.
func (r AuditReport) OK() bool { return len(r.Failures) == 0 && len(r.Exposed) == 0 }

// Audit computes each primary cell's feasible interval from the table's
// statuses and true counts, and returns an error wrapping ErrAuditFailed
// when a primary cell can be narrowed below the protection level or a
// sensitive cell is published. It is the release path's final gate: call
// it on the protected table before rounding or perturbation.
func Audit(ctx context.Context, t *cube.Table, opt Options) (AuditReport, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return AuditReport{}, err
	}
	pr, err := newProblem(t, opt)
	if err != nil {
		return AuditReport{}, err
	}
	var exposed []int
	for i, c := range t.Cells {
		sensitive := (c.Count > 0 && c.Count < int64(opt.K)) || (c.Count == 0 && opt.ZerosSensitive)
		pr.prim[i] = c.Status == cube.Primary || (sensitive && c.Status != cube.Secondary)
		pr.supp[i] = c.Status != cube.Published
		if sensitive && c.Status == cube.Published {
			exposed = append(exposed, i)
		}
	}
	rep, err := pr.audit(ctx)
	rep.Exposed = exposed
	if err != nil {
		return rep, err
	}
	if len(exposed) > 0 {
		c := t.Cells[exposed[0]]
		return rep, fmt.Errorf("%w: cell (%s) with count %d is published below the threshold %d",
			ErrAuditFailed, joinCoords(c.Coords), c.Count, opt.K)
	}
	if len(rep.Failures) > 0 {
		f := rep.Failures[0]
		return rep, fmt.Errorf("%w: cell (%s) can be narrowed to [%g, %g], narrower than %d",
			ErrAuditFailed, joinCoords(f.Coords), f.Lower, f.Upper, opt.P)
	}
	return rep, nil
}

func joinCoords(c []string) string { return strings.Join(c, ", ") }

// audit solves the attacker's LPs for every primary cell. Withheld cells
// fall into connected components (two are connected when a relation or a
// fact holds both); constraints never cross components, so each is its
// own problem.
func (pr *problem) audit(ctx context.Context) (AuditReport, error) {
	n := len(pr.val)
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for _, r := range pr.cons {
		first := -1
		for _, c := range r.cells {
			if !pr.supp[c] {
				continue
			}
			if first < 0 {
				first = c
			} else if a, b := find(first), find(c); a != b {
				parent[a] = b
			}
		}
	}
	comps := map[int][]int{}
	var roots []int
	for i := range n {
		if pr.supp[i] {
			r := find(i)
			if comps[r] == nil {
				roots = append(roots, r)
			}
			comps[r] = append(comps[r], i)
		}
	}
	var rep AuditReport
	byCell := map[int]Interval{}
	for _, r := range roots {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		comp := comps[r]
		var targets []int
		for _, c := range comp {
			if pr.prim[c] {
				targets = append(targets, c)
			}
		}
		if len(targets) == 0 {
			continue
		}
		if pr.certify {
			// Inside Protect a fully withheld protecting pattern settles a
			// cell without an LP; only the others are solved.
			rest := targets[:0:0]
			for _, tc := range targets {
				if _, up, down, ok := pr.bestPattern(tc, true); ok {
					x := float64(pr.val[tc])
					byCell[tc] = Interval{Cell: tc, Coords: pr.t.Cells[tc].Coords, Count: pr.val[tc],
						Lower: x - down, Upper: x + up}
					rep.Certified++
					continue
				}
				rest = append(rest, tc)
			}
			targets = rest
			if len(targets) == 0 {
				continue
			}
		}
		if len(comp) <= pr.opt.AuditCells {
			for k, iv := range pr.intervals(comp, targets, &rep.LPs) {
				iv.Exact = true
				byCell[targets[k]] = iv
			}
			continue
		}
		for _, tc := range targets {
			ivs := pr.intervals(pr.neighbourhood(tc), []int{tc}, &rep.LPs)
			byCell[tc] = ivs[0]
		}
	}
	p := float64(pr.opt.P)
	for i := range n {
		iv, ok := byCell[i]
		if !ok {
			continue
		}
		rep.Intervals = append(rep.Intervals, iv)
		if iv.Width() < p-1e-6 {
			rep.Failures = append(rep.Failures, iv)
		}
	}
	return rep, nil
}

// neighbourhood picks the withheld cells a local LP for cell leaves
// unknown: first the corners of a fully withheld protecting pattern, if
// there is one (so the local LP sees at least that pattern's width), then
// the nearest withheld cells by shared relations, up to AuditCells.
func (pr *problem) neighbourhood(cell int) []int {
	limit := pr.opt.AuditCells
	in := map[int]bool{}
	var out []int
	add := func(c int) {
		if !in[c] && len(out) < limit {
			in[c] = true
			out = append(out, c)
		}
	}
	add(cell)
	if corners, _, _, ok := pr.bestPattern(cell, true); ok {
		for _, c := range corners {
			add(c)
		}
	}
	seenRel := map[int32]bool{}
	for k := 0; k < len(out) && len(out) < limit; k++ {
		for _, ri := range pr.cellRels[out[k]] {
			if seenRel[ri] {
				continue
			}
			seenRel[ri] = true
			for _, c := range pr.cons[ri].cells {
				if pr.supp[c] {
					add(c)
				}
			}
		}
	}
	return out
}

// intervals solves min and max of each target over the unknowns vars,
// every other cell fixed at its count (published cells are known; fixing
// a withheld one only helps the attacker, so the result stays sound).
func (pr *problem) intervals(vars, targets []int, lps *int) []Interval {
	col := make(map[int]int, len(vars))
	for k, c := range vars {
		col[c] = k
	}
	var rows [][]float64
	var rhs []float64
	seen := map[int32]bool{}
	for _, c := range vars {
		for _, ri := range pr.cellRels[c] {
			if seen[ri] {
				continue
			}
			seen[ri] = true
			r := pr.cons[ri]
			row := make([]float64, len(vars))
			b := r.rhs
			for k, cell := range r.cells {
				coef := r.coef[k]
				if j, ok := col[cell]; ok {
					row[j] += coef
				} else {
					b -= coef * float64(pr.val[cell])
				}
			}
			rows = append(rows, row)
			rhs = append(rhs, b)
		}
	}
	keep := independent(rows, len(vars))
	m := len(keep)
	out := make([]Interval, len(targets))
	for k, tc := range targets {
		out[k] = Interval{Cell: tc, Coords: pr.t.Cells[tc].Coords, Count: pr.val[tc],
			Lower: float64(pr.val[tc]), Upper: float64(pr.val[tc])}
	}
	if m == 0 {
		// No relation binds the unknowns: each is only known to be ≥ 0.
		for k := range out {
			out[k].Lower, out[k].Upper = 0, math.Inf(1)
		}
		return out
	}
	A := mat.NewDense(m, len(vars), nil)
	b := make([]float64, m)
	for i, r := range keep {
		A.SetRow(i, rows[r])
		b[i] = rhs[r]
	}
	var basis []int
	c := make([]float64, len(vars))
	for k, tc := range targets {
		j := col[tc]
		for _, dir := range []float64{1, -1} {
			clear(c)
			c[j] = dir
			*lps++
			f, x, unbounded, ok := solve(c, A, b, basis)
			if !ok && basis != nil {
				*lps++
				f, x, unbounded, ok = solve(c, A, b, nil)
			}
			if ok && x != nil {
				basis = basisOf(A, x)
			}
			truth := float64(pr.val[tc])
			switch {
			case dir > 0 && ok:
				out[k].Lower = math.Min(f, truth)
			case dir < 0 && unbounded:
				out[k].Upper = math.Inf(1)
			case dir < 0 && ok:
				out[k].Upper = math.Max(-f, truth)
			}
			// A failed solve leaves the bound at the true count: the
			// narrowest possible answer, so the gate errs on the safe side.
		}
	}
	return out
}

// solve runs gonum's simplex. A numerical failure that still returns a
// feasible point is used as is: a feasible, non-optimal point gives a
// narrower interval than the optimum, which is the safe side.
func solve(c []float64, A *mat.Dense, b []float64, basis []int) (f float64, x []float64, unbounded, ok bool) {
	defer func() {
		if recover() != nil { // a supplied basis the simplex finds infeasible
			f, x, unbounded, ok = 0, nil, false, false
		}
	}()
	f, x, err := lp.Simplex(c, A, b, 1e-10, basis)
	switch {
	case errors.Is(err, lp.ErrUnbounded):
		return f, nil, true, true
	case x != nil && !math.IsNaN(f) && feasible(A, b, x):
		// Any feasible point bounds the optimum from the safe side; only
		// one that breaks the constraints could widen the interval.
		return f, x, false, true
	}
	return 0, nil, false, false
}

// feasible checks A x = b and x ≥ 0 within a tolerance far below one
// person.
func feasible(A *mat.Dense, b, x []float64) bool {
	for _, v := range x {
		if v < -1e-6 {
			return false
		}
	}
	m, n := A.Dims()
	for i := range m {
		s := 0.0
		for j := range n {
			s += A.At(i, j) * x[j]
		}
		if math.Abs(s-b[i]) > 1e-6*(1+math.Abs(b[i])) {
			return false
		}
	}
	return true
}

// independent returns a maximal set of linearly independent rows: the
// table's relations are redundant (every line through a total repeats the
// others) and the simplex wants full row rank.
func independent(rows [][]float64, n int) []int {
	var basis [][]float64
	var pivots []int
	var keep []int
	v := make([]float64, n)
	for r, row := range rows {
		copy(v, row)
		for k, bv := range basis {
			if f := v[pivots[k]]; f != 0 {
				for j := range v {
					v[j] -= f * bv[j]
				}
			}
		}
		p, best := -1, 1e-9
		for j, x := range v {
			if a := math.Abs(x); a > best {
				p, best = j, a
			}
		}
		if p < 0 {
			continue
		}
		bv := make([]float64, n)
		for j := range v {
			bv[j] = v[j] / v[p]
		}
		// Keep earlier basis vectors reduced in the new pivot column.
		for k := range basis {
			if f := basis[k][p]; f != 0 {
				for j := range basis[k] {
					basis[k][j] -= f * bv[j]
				}
			}
		}
		basis = append(basis, bv)
		pivots = append(pivots, p)
		keep = append(keep, r)
	}
	return keep
}

// basisOf picks m independent columns of A that include the support of
// the vertex x, so the next LP over the same constraints can start from x
// instead of solving the feasibility phase again.
func basisOf(A *mat.Dense, x []float64) []int {
	m, n := A.Dims()
	order := make([]int, 0, n)
	for j, v := range x {
		if v > 1e-9 {
			order = append(order, j)
		}
	}
	for j, v := range x {
		if v <= 1e-9 {
			order = append(order, j)
		}
	}
	cols := make([][]float64, len(order))
	for k, j := range order {
		cols[k] = mat.Col(nil, j, A)
	}
	keep := independent(cols, m)
	if len(keep) != m {
		return nil
	}
	// The support must be inside the basis or x is not its vertex.
	support := 0
	for _, v := range x {
		if v > 1e-9 {
			support++
		}
	}
	basis := make([]int, m)
	for k, r := range keep {
		if k < support && r != k {
			return nil
		}
		basis[k] = order[r]
	}
	return basis
}
