package disclosure

import (
	"fmt"
	"math"
	"strings"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
)

// Fact is a linear equation over cells of the table that an attacker
// knows from outside it: Σ Coef·count(cell) = Value. It is the extension
// point for disclosure across releases (DESIGN.md): a project's earlier
// release published "67+" = 120, so now "67-79" + "80+" = 120 is known;
// it published Bergen = 612, so the eight district cells of this table add
// up to 612. The audit treats facts like the table's own relations, and a
// protecting pattern counts only if it keeps every fact true.
type Fact struct {
	Terms []FactTerm
	Value float64
}

// FactTerm is one cell of a fact, by its coordinates.
type FactTerm struct {
	Coords []string
	Coef   float64
}

// addFacts turns facts into constraints, refusing one that names a cell
// the table lacks or that the true counts do not satisfy (an attacker's
// knowledge cannot contradict the data; such a fact is a caller's bug).
func (pr *problem) addFacts(facts []Fact) error {
	if len(facts) == 0 {
		return nil
	}
	idx := pr.t.Index()
	pr.cellFacts = make([][]factRef, len(pr.val))
	for fi, f := range facts {
		c := constraint{rhs: f.Value}
		sum := 0.0
		for _, term := range f.Terms {
			i, ok := idx[cube.Key(term.Coords)]
			if !ok {
				return fmt.Errorf("fact %d: no cell (%s) in the table", fi+1, strings.Join(term.Coords, ", "))
			}
			c.cells = append(c.cells, i)
			c.coef = append(c.coef, term.Coef)
			sum += term.Coef * float64(pr.val[i])
		}
		if len(c.cells) == 0 {
			return fmt.Errorf("fact %d has no terms", fi+1)
		}
		if math.Abs(sum-f.Value) > 1e-6*(1+math.Abs(f.Value)) {
			return fmt.Errorf("fact %d: the table's counts give %g, not %g", fi+1, sum, f.Value)
		}
		for k, cell := range c.cells {
			pr.cellFacts[cell] = append(pr.cellFacts[cell], factRef{len(pr.facts), c.coef[k]})
		}
		pr.facts = append(pr.facts, len(pr.cons))
		pr.cons = append(pr.cons, c)
	}
	return nil
}

// factRef is a cell's coefficient in one fact.
type factRef struct {
	fact int
	coef float64
}

// keepsFacts reports whether moving the cells by sign×δ leaves every fact
// true. Table relations are kept by construction of the moves.
func (pr *problem) keepsFacts(cells []int, signs []int8, sums map[int]float64) bool {
	if pr.cellFacts == nil {
		return true
	}
	clear(sums)
	for k, c := range cells {
		for _, r := range pr.cellFacts[c] {
			sums[r.fact] += r.coef * float64(signs[k])
		}
	}
	for _, s := range sums {
		if math.Abs(s) > 1e-9 {
			return false
		}
	}
	return true
}
