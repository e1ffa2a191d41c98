package disclosure

import (
	"fmt"
	"math/rand/v2"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
)

// tableSpec describes a random table for the property tests and
// benchmarks: leaves per dimension, and for each dimension whether its
// leaves are grouped under intermediate subtotals (a hierarchy
// total → group → leaf; negative for a ragged one).
type tableSpec struct {
	leaves []int
	groups []int // 0 = flat; g > 1 = leaves split into g groups
	small  float64
	zero   float64
	big    int
}

// randomTable builds a complete, additive table from random leaf counts:
// a share small of them in 1..4, a share zero of zeros, the rest in
// 5..big.
func randomTable(rng *rand.Rand, s tableSpec) *cube.Table {
	nd := len(s.leaves)
	t := &cube.Table{}
	leafSets := make([][][]int, nd) // per dimension, per category: leaf indices
	for j := range nd {
		d := cube.Dimension{ID: fmt.Sprintf("d%d", j)}
		d.Categories = append(d.Categories, cube.Category{Code: cube.Total})
		all := make([]int, s.leaves[j])
		for i := range all {
			all[i] = i
		}
		sets := [][]int{all}
		groupOf := func(i int) string { return cube.Total }
		if g := max(s.groups[j], -s.groups[j]); g > 1 {
			// A negative count of groups makes the hierarchy ragged: the
			// last leaf hangs directly under the total, as a municipality
			// without districts does beside Bergen's.
			last := s.leaves[j]
			if s.groups[j] < 0 {
				last--
			}
			for k := range g {
				code := fmt.Sprintf("g%d", k)
				d.Categories = append(d.Categories, cube.Category{Code: code, Parent: cube.Total})
				var set []int
				for i := range last {
					if i%g == k {
						set = append(set, i)
					}
				}
				sets = append(sets, set)
			}
			groupOf = func(i int) string {
				if i >= last {
					return cube.Total
				}
				return fmt.Sprintf("g%d", i%g)
			}
		}
		for i := range s.leaves[j] {
			d.Categories = append(d.Categories, cube.Category{Code: fmt.Sprintf("c%d", i), Parent: groupOf(i)})
			sets = append(sets, []int{i})
		}
		t.Dimensions = append(t.Dimensions, d)
		leafSets[j] = sets
	}
	// Leaf counts in mixed radix over the leaves.
	nleaf := 1
	for _, l := range s.leaves {
		nleaf *= l
	}
	leaf := make([]int64, nleaf)
	for i := range leaf {
		switch r := rng.Float64(); {
		case r < s.zero:
			leaf[i] = 0
		case r < s.zero+s.small:
			leaf[i] = 1 + rng.Int64N(4)
		default:
			leaf[i] = 5 + rng.Int64N(int64(s.big-4))
		}
	}
	cats := make([]int, nd)
	var walk func(j int)
	walk = func(j int) {
		if j == nd {
			c := cube.Cell{Coords: make([]string, nd), Status: cube.Published}
			for k := range nd {
				c.Coords[k] = t.Dimensions[k].Categories[cats[k]].Code
			}
			c.Count = sumLeaves(leaf, s.leaves, leafSets, cats, 0, 0)
			t.Cells = append(t.Cells, c)
			return
		}
		for k := range t.Dimensions[j].Categories {
			cats[j] = k
			walk(j + 1)
		}
	}
	walk(0)
	return t
}

func sumLeaves(leaf []int64, sizes []int, sets [][][]int, cats []int, j, pos int) int64 {
	if j == len(sizes) {
		return leaf[pos]
	}
	var s int64
	for _, l := range sets[j][cats[j]] {
		s += sumLeaves(leaf, sizes, sets, cats, j+1, pos*sizes[j]+l)
	}
	return s
}

func cloneTable(t *cube.Table) *cube.Table {
	c := *t
	c.Cells = make([]cube.Cell, len(t.Cells))
	for i, cell := range t.Cells {
		cell.Coords = append([]string(nil), cell.Coords...)
		c.Cells[i] = cell
	}
	return &c
}
