package disclosure

import (
	"context"
	"sort"
)

// prune gives back secondary cells the protection turned out not to need.
// Patterns chosen one primary cell at a time overlap, and the audit-driven
// fallback adds cells greedily, so some withheld cells end up protecting
// nobody. Each secondary cell, largest count first, is tentatively
// published; the primary cells whose proof of protection used it are
// proved again, and the cell stays published only if they all still hold.
// A proof that did not use a cell — a pattern without it, or an LP in
// which it was already fixed at its true count — stays valid when the cell
// is published, so only those primaries need a new look. The final audit
// in Protect runs after this, so pruning can cost information, never
// safety.
func (pr *problem) prune(ctx context.Context) {
	var primaries, secondaries []int
	for i := range pr.supp {
		switch {
		case pr.prim[i]:
			primaries = append(primaries, i)
		case pr.supp[i]:
			secondaries = append(secondaries, i)
		}
	}
	dependents := map[int][]int{} // withheld cell → primaries whose proof uses it
	proofs := map[int][]int{}
	record := func(p int, deps []int) {
		proofs[p] = deps
		for _, d := range deps {
			dependents[d] = append(dependents[d], p)
		}
	}
	// Proofs by LP are the expensive kind, and a cell whose proof is an LP
	// over its whole component depends on every cell there; a budget keeps
	// pruning near the cost of one audit, after which only pattern proofs
	// are tried.
	budget := 2*len(primaries) + 20
	for _, p := range primaries {
		deps, _, ok := pr.prove(p, true)
		if !ok {
			return // the pattern is not yet proved; nothing to give back
		}
		record(p, deps)
	}
	sort.SliceStable(secondaries, func(a, b int) bool { return pr.val[secondaries[a]] > pr.val[secondaries[b]] })
	for n, s := range secondaries {
		if n%32 == 0 && ctx.Err() != nil {
			return
		}
		// Primaries whose current proof still uses s.
		var affected []int
		seen := map[int]bool{}
		for _, p := range dependents[s] {
			if seen[p] || !contains(proofs[p], s) {
				continue
			}
			seen[p] = true
			affected = append(affected, p)
		}
		pr.supp[s] = false
		newDeps := make([][]int, len(affected))
		ok := true
		for k, p := range affected {
			var usedLP bool
			newDeps[k], usedLP, ok = pr.prove(p, budget > 0)
			if usedLP {
				budget--
			}
			if !ok {
				break
			}
		}
		if !ok {
			pr.supp[s] = true
			continue
		}
		for k, p := range affected {
			record(p, newDeps[k])
		}
	}
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// prove checks one primary cell against the current pattern and returns
// the withheld cells the proof relies on (and whether it took an LP,
// which allowLP permits): the corners of a fully withheld
// protecting pattern if there is one, else the unknowns of the attacker's
// LP (its whole component when small enough, else its neighbourhood).
func (pr *problem) prove(p int, allowLP bool) (deps []int, usedLP, ok bool) {
	if corners, _, _, ok := pr.bestPattern(p, true); ok {
		return corners, false, true
	}
	if !allowLP {
		return nil, false, false
	}
	vars := pr.component(p, pr.opt.AuditCells)
	if vars == nil {
		vars = pr.neighbourhood(p)
	}
	var lps int
	iv := pr.intervals(vars, []int{p}, &lps)[0]
	return vars, true, iv.Width() >= float64(pr.opt.P)-1e-6
}

// component returns the withheld cells connected to cell, or nil when
// there are more than limit of them.
func (pr *problem) component(cell, limit int) []int {
	in := map[int]bool{cell: true}
	out := []int{cell}
	seenRel := map[int32]bool{}
	for k := 0; k < len(out); k++ {
		for _, ri := range pr.cellRels[out[k]] {
			if seenRel[ri] {
				continue
			}
			seenRel[ri] = true
			for _, c := range pr.cons[ri].cells {
				if pr.supp[c] && !in[c] {
					in[c] = true
					out = append(out, c)
					if len(out) > limit {
						return nil
					}
				}
			}
		}
	}
	return out
}
