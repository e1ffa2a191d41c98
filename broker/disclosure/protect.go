package disclosure

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
)

// ErrUnprotectable marks a table that cannot be released: its grand total
// is itself sensitive, or no suppression pattern passes the audit.
var ErrUnprotectable = errors.New("table cannot be protected")

// ErrAuditFailed marks a table whose suppression pattern lets an attacker
// narrow a primary cell below the protection level, or that publishes a
// sensitive cell. Such a table is never released.
var ErrAuditFailed = errors.New("disclosure audit failed")

// RoundingMode chooses how published counts are rounded to the base.
type RoundingMode int

const (
	// RoundNearest rounds each count to the nearest multiple of the base,
	// halves upwards.
	RoundNearest RoundingMode = iota
	// RoundRandom rounds each count up with probability remainder/base and
	// down otherwise; the draw is a hash of the cell's coordinates (and its
	// record-key sum), so the same cell rounds the same way in every run.
	RoundRandom
)

// Options are the obligations disclosure control applies to a table.
type Options struct {
	K              int  // threshold: 0 < n < K is primary
	P              int  // protection level (interval width the attacker must not beat); 0 means K
	ZerosSensitive bool // treat zero cells as primary too
	RoundingBase   int  // 0 or 1 = no rounding
	Rounding       RoundingMode
	// CellKey, when set, perturbs every published count with the cell-key
	// method after suppression (see PTable).
	CellKey *PTable
	// AuditCells bounds the number of unknown cells in one attacker LP. A
	// connected set of suppressed cells up to this size is audited exactly;
	// a larger one is audited per primary cell over its neighbourhood with
	// the other suppressed cells taken as known to the attacker, which can
	// only narrow the interval, so the audit stays sound. 0 means 28.
	AuditCells int
	// Facts are linear equations over this table's cells the attacker
	// knows from elsewhere, such as the project's earlier releases.
	Facts []Fact
}

func (o Options) withDefaults() (Options, error) {
	if o.K < 1 {
		return o, fmt.Errorf("threshold k = %d: want a whole number of at least 1", o.K)
	}
	if o.P < 0 {
		return o, fmt.Errorf("protection level p = %d: want 0 (meaning k) or more", o.P)
	}
	if o.P == 0 {
		o.P = o.K
	}
	if o.RoundingBase < 0 {
		return o, fmt.Errorf("rounding base %d: want 0 (none) or more", o.RoundingBase)
	}
	if o.AuditCells <= 0 {
		o.AuditCells = 28
	}
	return o, nil
}

// Report says what Protect did to a table.
type Report struct {
	Cells     int // cells in the table
	Primary   int // cells suppressed because they are small
	Secondary int // cells suppressed to protect the primary cells
	// SuppressedShare is the share of cells withheld, (primary+secondary)/cells.
	SuppressedShare float64
	// SecondaryCount is the sum of the counts withheld by secondary
	// suppression: the information lost beyond the small cells themselves.
	SecondaryCount int64
	Rounded        int // published counts that rounding changed
	Perturbed      int // published counts the cell-key method changed
	Audit          AuditReport
}

// Protect marks every cell's Status in place (cells the caller already
// marked Primary stay primary — indicators use that for their own
// numerator/denominator rule), runs secondary suppression and the LP audit,
// and refuses (error) a table it cannot protect. Rounding and cell-key
// perturbation, when asked for, are applied last to the published counts,
// after the audit has seen the true ones.
func Protect(ctx context.Context, t *cube.Table, opt Options) (Report, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return Report{}, err
	}
	pr, err := newProblem(t, opt)
	if err != nil {
		return Report{}, err
	}
	pr.markPrimary(true)
	pr.certify = true
	rep := Report{Cells: len(t.Cells)}
	if pr.prim[pr.grand] {
		return rep, fmt.Errorf("%w: the grand total %d is itself below the threshold %d", ErrUnprotectable, pr.val[pr.grand], opt.K)
	}
	// The greedy result depends on the order the primary cells are
	// served in; on tables small enough, a few orders are tried and the
	// pattern that withholds least is kept.
	orders := pr.primaryOrders()
	var best []bool
	var audit AuditReport
	var lastErr error
	bestCells, bestCount := math.MaxInt, int64(math.MaxInt64)
	for _, order := range orders {
		copy(pr.supp, pr.prim)
		pr.hypercubes(ctx, order)
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if _, err := pr.protectByAudit(ctx); err != nil {
			lastErr = err
			continue
		}
		pr.prune(ctx)
		// The gate: the audit runs again on the pattern that will be released.
		a, err := pr.protectByAudit(ctx)
		if err != nil {
			lastErr = err
			continue
		}
		cells, count := 0, int64(0)
		for i, s := range pr.supp {
			if s && !pr.prim[i] {
				cells++
				count += pr.val[i]
			}
		}
		if cells < bestCells || (cells == bestCells && count < bestCount) {
			best, audit = append(best[:0], pr.supp...), a
			bestCells, bestCount = cells, count
		}
	}
	if best == nil {
		return rep, lastErr
	}
	copy(pr.supp, best)
	for i := range t.Cells {
		switch {
		case pr.prim[i]:
			t.Cells[i].Status = cube.Primary
			rep.Primary++
		case pr.supp[i]:
			t.Cells[i].Status = cube.Secondary
			rep.Secondary++
			rep.SecondaryCount += pr.val[i]
		default:
			t.Cells[i].Status = cube.Published
		}
	}
	rep.Audit = audit
	if rep.Cells > 0 {
		rep.SuppressedShare = float64(rep.Primary+rep.Secondary) / float64(rep.Cells)
	}
	if opt.CellKey != nil {
		rep.Perturbed = opt.CellKey.PerturbTable(t)
	}
	if opt.RoundingBase > 1 {
		rep.Rounded = Round(t, opt.RoundingBase, opt.Rounding)
	}
	return rep, nil
}

// problem is a table prepared for suppression: counts, statuses and the
// additivity relations in positional form.
type problem struct {
	t         *cube.Table
	opt       Options
	g         *cube.Grid
	cons      []constraint
	cellRels  [][]int32 // constraints each cell takes part in
	val       []int64
	supp      []bool // withheld (primary or secondary)
	prim      []bool // must be protected
	grand     int
	moves     [][][]move  // per dimension and category: balanced moves through it
	certify   bool        // accept a withheld protecting pattern instead of an LP
	facts     []int       // indices in cons of the caller's facts
	cellFacts [][]factRef // per cell, the facts it appears in (nil without facts)
}

func newProblem(t *cube.Table, opt Options) (*problem, error) {
	if len(t.Dimensions) == 0 {
		return nil, errors.New("table has no dimensions")
	}
	g, rels, err := t.CheckAdditive()
	if err != nil {
		return nil, err
	}
	n := len(t.Cells)
	pr := &problem{t: t, opt: opt, g: g,
		cellRels: make([][]int32, n), val: make([]int64, n),
		supp: make([]bool, n), prim: make([]bool, n)}
	for i, c := range t.Cells {
		pr.val[i] = c.Count
	}
	for _, r := range rels {
		c := constraint{cells: append([]int{r.Total}, r.Parts...), coef: make([]float64, len(r.Parts)+1)}
		c.coef[0] = 1
		for k := 1; k < len(c.coef); k++ {
			c.coef[k] = -1
		}
		pr.cons = append(pr.cons, c)
	}
	if err := pr.addFacts(opt.Facts); err != nil {
		return nil, err
	}
	for ci, c := range pr.cons {
		for _, cell := range c.cells {
			pr.cellRels[cell] = append(pr.cellRels[cell], int32(ci))
		}
	}
	root := make([]int, g.Dims())
	for j := range root {
		for c, p := range g.Parent[j] {
			if p < 0 {
				root[j] = c
			}
		}
	}
	pr.grand = g.At(root)
	pr.moves = make([][][]move, g.Dims())
	for j := range pr.moves {
		pr.moves[j] = balancedMoves(g.Parent[j], g.Children[j])
	}
	return pr, nil
}

// markPrimary applies the threshold rule. With fresh set, earlier
// secondary marks are dropped; a cell the caller marked Primary stays so.
func (pr *problem) markPrimary(fresh bool) {
	for i, c := range pr.t.Cells {
		small := (c.Count > 0 && c.Count < int64(pr.opt.K)) || (c.Count == 0 && pr.opt.ZerosSensitive)
		pr.prim[i] = small || c.Status == cube.Primary
		if fresh {
			pr.supp[i] = pr.prim[i]
		} else {
			pr.supp[i] = c.Status == cube.Primary || c.Status == cube.Secondary || pr.prim[i]
		}
	}
}

// cost is what withholding a cell loses: one cell plus its count, so the
// search prefers few and small cells. The grand total costs more than any
// pattern without it, so it is only chosen when nothing else works.
func (pr *problem) cost(i int) float64 {
	if pr.supp[i] {
		return 0
	}
	c := 1 + float64(pr.val[i])
	if i == pr.grand {
		c += 1e12
	}
	return c
}

// protectByAudit runs the attacker's LP and, for every primary cell it can
// narrow below p, withholds the cheapest published cell that shares a
// relation with the cell's suppressed neighbourhood, until the audit
// passes. Each round withholds at least one more cell, so it ends.
func (pr *problem) protectByAudit(ctx context.Context) (AuditReport, error) {
	for {
		rep, err := pr.audit(ctx)
		if err != nil {
			return rep, err
		}
		if len(rep.Failures) == 0 {
			return rep, nil
		}
		added := 0
		for _, f := range rep.Failures {
			if c := pr.complement(f.Cell); c >= 0 && !pr.supp[c] {
				pr.supp[c] = true
				added++
			}
		}
		added += pr.closeSingletons()
		if added == 0 {
			f := rep.Failures[0]
			return rep, fmt.Errorf("%w: cell (%s) stays within [%g, %g] whatever else is withheld",
				ErrUnprotectable, joinCoords(pr.t.Cells[f.Cell].Coords), f.Lower, f.Upper)
		}
	}
}

// complement picks the published cell to withhold next for a failing
// primary cell: the cheapest one in a relation through the cell, or else
// through the nearest suppressed cells connected to it.
func (pr *problem) complement(cell int) int {
	seen := map[int]bool{cell: true}
	frontier := []int{cell}
	seenRel := map[int32]bool{}
	for len(frontier) > 0 {
		best, bestCost := -1, math.Inf(1)
		var next []int
		for _, c := range frontier {
			for _, ri := range pr.cellRels[c] {
				if seenRel[ri] {
					continue
				}
				seenRel[ri] = true
				for _, o := range pr.cons[ri].cells {
					if seen[o] {
						continue
					}
					seen[o] = true
					if pr.supp[o] {
						next = append(next, o)
						continue
					}
					if cc := pr.cost(o) + pr.zeroPenalty(o); cc < bestCost {
						best, bestCost = o, cc
					}
				}
			}
		}
		if best >= 0 {
			return best
		}
		frontier = next
	}
	return -1
}

// zeroPenalty steers the fallback away from zero cells: withholding a
// zero gives the attacker no room to move downwards.
func (pr *problem) zeroPenalty(i int) float64 {
	if pr.val[i] == 0 {
		return 1e6
	}
	return 0
}

// closeSingletons withholds, in every relation with exactly one withheld
// cell, the cheapest other cell: a lone withheld cell in a relation is the
// total minus the published parts.
func (pr *problem) closeSingletons() int {
	added := 0
	for changed := true; changed; {
		changed = false
		for _, r := range pr.cons {
			n, best, bestCost := 0, -1, math.Inf(1)
			for _, c := range r.cells {
				if pr.supp[c] {
					n++
				} else if cc := pr.cost(c) + pr.zeroPenalty(c); cc < bestCost {
					best, bestCost = c, cc
				}
			}
			if n == 1 && best >= 0 {
				pr.supp[best] = true
				added++
				changed = true
			}
		}
	}
	return added
}

// constraint is one linear equation the attacker knows:
// Σ coef·count(cells) = rhs. The table's relations have coefficients
// +1 (the total) and −1 (the parts) and rhs 0; facts bring their own.
type constraint struct {
	cells []int
	coef  []float64
	rhs   float64
}

// primaryOrders lists the orders in which the pattern search serves the
// primary cells: the most aggregated first (their patterns are the most
// constrained) then the smallest; the smallest first; the largest first.
// Tables with many primary cells get the first order only, to keep
// protection time near linear.
func (pr *problem) primaryOrders() [][]int {
	var cells []int
	for i, p := range pr.prim {
		if p {
			cells = append(cells, i)
		}
	}
	level := make(map[int]int, len(cells))
	for _, i := range cells {
		for j := range pr.g.Dims() {
			if len(pr.g.Children[j][pr.g.Cat(i, j)]) > 0 {
				level[i]++
			}
		}
	}
	sorted := func(less func(a, b int) bool) []int {
		out := append([]int(nil), cells...)
		sort.SliceStable(out, func(a, b int) bool { return less(out[a], out[b]) })
		return out
	}
	orders := [][]int{sorted(func(a, b int) bool {
		if level[a] != level[b] {
			return level[a] > level[b]
		}
		return pr.val[a] < pr.val[b]
	})}
	if len(cells) > maxPrimariesForRetries {
		return orders
	}
	return append(orders,
		sorted(func(a, b int) bool { return pr.val[a] < pr.val[b] }),
		sorted(func(a, b int) bool { return pr.val[a] > pr.val[b] }))
}

// maxPrimariesForRetries bounds the tables that get more than one order.
const maxPrimariesForRetries = 60
