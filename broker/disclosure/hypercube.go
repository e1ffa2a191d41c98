package disclosure

import (
	"context"
	"math"
	"sort"
)

// move is a balanced change along one dimension: adding sign×δ to each
// listed category keeps every relation of that dimension (every level of
// its hierarchy) in balance. The first entry is the category the move
// starts from, with sign +1.
type move struct {
	cats  []int
	signs []int8
}

const (
	maxMoveSupport = 8  // categories in one move
	maxMoves       = 96 // moves kept per category
)

// balancedMoves lists, for every category of a dimension, the small
// balanced moves through it. In a flat dimension these are "this category
// and the total, same sign" and "this category and a sibling, opposite
// signs"; in a hierarchy a move that touches a subtotal also touches one of
// its children, so that every level stays additive.
func balancedMoves(parent []int, children [][]int) [][]move {
	out := make([][]move, len(parent))
	for c := range parent {
		seen := map[string]bool{}
		v := map[int]int8{c: 1}
		order := []int{c}
		var dfs func()
		dfs = func() {
			if len(out[c]) >= maxMoves {
				return
			}
			// Find the first unbalanced relation touching an assigned category.
			p, e := -1, 0
			for _, a := range order {
				for _, q := range []int{a, parent[a]} {
					if q < 0 || len(children[q]) == 0 {
						continue
					}
					s := int(v[q])
					for _, ch := range children[q] {
						s -= int(v[ch])
					}
					if s != 0 {
						p, e = q, s
						break
					}
				}
				if p >= 0 {
					break
				}
			}
			if p < 0 {
				m := move{cats: append([]int(nil), order...)}
				for _, a := range order {
					m.signs = append(m.signs, v[a])
				}
				key := moveKey(m)
				if !seen[key] {
					seen[key] = true
					out[c] = append(out[c], m)
				}
				return
			}
			if len(order) >= maxMoveSupport {
				return
			}
			assign := func(q int, s int8) {
				v[q] = s
				order = append(order, q)
				dfs()
				order = order[:len(order)-1]
				delete(v, q)
			}
			// v(p) - Σ v(children) = e: fix by setting the parent or a child.
			if _, ok := v[p]; !ok && (e == 1 || e == -1) {
				// parent unassigned: its value must become Σ children = -e.
				assign(p, int8(-e))
			}
			if e == 1 || e == -1 {
				for _, ch := range children[p] {
					if _, ok := v[ch]; !ok {
						assign(ch, int8(e))
					}
				}
			}
		}
		dfs()
	}
	return out
}

func moveKey(m move) string {
	type pair struct {
		c int
		s int8
	}
	ps := make([]pair, len(m.cats))
	for i := range m.cats {
		ps[i] = pair{m.cats[i], m.signs[i]}
	}
	sort.Slice(ps, func(a, b int) bool { return ps[a].c < ps[b].c })
	b := make([]byte, 0, 8*len(ps))
	for _, p := range ps {
		b = append(b, byte(p.c), byte(p.c>>8), byte(p.c>>16), byte(p.s))
	}
	return string(b)
}

// hypercubes gives each primary cell, in turn, the cheapest pattern that
// protects it on its own: a product of one balanced move per dimension
// (a hypercube in a flat table) whose corners are all withheld and whose
// values let the cell move by at least p. Such a pattern is a direction
// along which every relation stays true, so the attacker's interval for
// the cell is at least as wide as the pattern allows whatever else is
// published. Cells withheld for earlier primaries cost nothing to reuse.
func (pr *problem) hypercubes(ctx context.Context, order []int) {
	for n, i := range order {
		if n%64 == 0 && ctx.Err() != nil {
			return
		}
		corners, _, _, ok := pr.bestPattern(i, false)
		if !ok {
			continue // left to the audit-driven fallback
		}
		for _, c := range corners {
			pr.supp[c] = true
		}
	}
}

// bestPattern searches the patterns through cell i for the cheapest one
// that gives width ≥ p. With onlyWithheld it accepts only patterns whose
// corners are all withheld already (a certificate for the audit).
func (pr *problem) bestPattern(i int, onlyWithheld bool) (corners []int, up, down float64, ok bool) {
	g := pr.g
	nd := g.Dims()
	limit := patternBudget(nd)
	cands := make([][]move, nd)
	cats := make([]int, nd)
	for j := range nd {
		cats[j] = g.Cat(i, j)
	}
	for j := range nd {
		ms := pr.moves[j][cats[j]]
		type scored struct {
			m    move
			cost float64
		}
		sc := make([]scored, 0, len(ms))
		line := append([]int(nil), cats...)
		for _, m := range ms {
			cost := 0.0
			feasible := true
			for k, c := range m.cats {
				line[j] = c
				cell := g.At(line)
				if onlyWithheld && !pr.supp[cell] {
					feasible = false
					break
				}
				cost += pr.cost(cell)
				if m.signs[k] < 0 && float64(pr.val[cell]) == 0 {
					cost += 1e6 // a zero on the minus side blocks the upward move
				}
			}
			line[j] = cats[j]
			if feasible {
				sc = append(sc, scored{m, cost})
			}
		}
		if len(sc) == 0 {
			return nil, 0, 0, false
		}
		sort.SliceStable(sc, func(a, b int) bool { return sc[a].cost < sc[b].cost })
		if len(sc) > limit {
			sc = sc[:limit]
		}
		for _, s := range sc {
			cands[j] = append(cands[j], s.m)
		}
	}

	p := float64(pr.opt.P)
	bestCost := math.Inf(1)
	var best []int
	bestUp, bestDown := 0.0, 0.0
	choice := make([]int, nd)
	at := make([]int, nd)
	buf := make([]int, 0, 64)
	signs := make([]int8, 0, 64)
	sums := map[int]float64{}
	idx := make([]int, nd)
	for {
		// Evaluate the product of the chosen moves.
		cost, up, down := 0.0, math.Inf(1), math.Inf(1)
		buf, signs = buf[:0], signs[:0]
		clear(idx)
		valid := true
		for {
			sign := int8(1)
			for j := range nd {
				m := cands[j][choice[j]]
				at[j] = m.cats[idx[j]]
				sign *= m.signs[idx[j]]
			}
			cell := g.At(at)
			if onlyWithheld && !pr.supp[cell] {
				valid = false
				break
			}
			cost += pr.cost(cell)
			if cost >= bestCost {
				valid = false
				break
			}
			v := float64(pr.val[cell])
			if sign > 0 {
				down = math.Min(down, v)
			} else {
				up = math.Min(up, v)
			}
			buf = append(buf, cell)
			signs = append(signs, sign)
			// next corner
			j := 0
			for ; j < nd; j++ {
				idx[j]++
				if idx[j] < len(cands[j][choice[j]].cats) {
					break
				}
				idx[j] = 0
			}
			if j == nd {
				break
			}
		}
		if valid {
			// With no minus corner (every corner moves up with the cell,
			// totals included) the cell is unbounded above.
			w := up + down
			if w >= p && pr.keepsFacts(buf, signs, sums) {
				bestCost, bestUp, bestDown = cost, up, down
				best = append(best[:0], buf...)
			}
		}
		// next combination
		j := 0
		for ; j < nd; j++ {
			choice[j]++
			if choice[j] < len(cands[j]) {
				break
			}
			choice[j] = 0
		}
		if j == nd {
			break
		}
	}
	if best == nil {
		return nil, 0, 0, false
	}
	return best, bestUp, bestDown, true
}

// patternBudget keeps the product of candidate moves near a few thousand
// patterns per primary cell whatever the number of dimensions.
func patternBudget(nd int) int {
	switch {
	case nd <= 2:
		return 48
	case nd == 3:
		return 14
	case nd == 4:
		return 7
	case nd == 5:
		return 5
	default:
		return 3
	}
}
