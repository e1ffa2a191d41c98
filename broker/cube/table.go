// Package cube is the shared table model of everything the broker releases:
// dimensions with categories and hierarchies, SDMX `_T` totals, and cells
// carrying a count, measure values and a disclosure status. Releases,
// indicator tables and the protect command all use it, and its encoders
// (CSV, JSON, JSON-stat 2.0, Arrow IPC, Parquet) live beside it so that
// every output path writes the same table the same way.
package cube

import (
	"fmt"
	"strings"
)

// Total is the SDMX code of a dimension's total category.
const Total = "_T"

// Status is a cell's disclosure status.
type Status string

// Statuses a cell can have. Only published cells carry their count and
// values out of the broker.
const (
	Published Status = "published"
	Primary   Status = "primary"   // suppressed: the cell itself is small
	Secondary Status = "secondary" // suppressed: it would reveal a primary cell
)

// Label is a text in Norwegian bokmål and English.
type Label struct {
	NB string `json:"nb"`
	EN string `json:"en,omitempty"`
}

// Category is one value of a dimension. Parent names the category it adds
// up into; the top of a dimension is the total `_T`, whose Parent is empty.
// A category with children equals the sum of its children (district →
// municipality → cluster; 5-year → 10-year → all ages).
type Category struct {
	Code   string `json:"code"`
	Label  Label  `json:"label"`
	Parent string `json:"parent,omitempty"`
}

// Dimension is one classification of a table.
type Dimension struct {
	ID         string     `json:"id"`
	Label      Label      `json:"label"`
	Categories []Category `json:"categories"`
}

// Measure is a value carried by each cell besides the count, for example an
// indicator's rate or the bounds of its confidence interval.
type Measure struct {
	ID    string `json:"id"`
	Label Label  `json:"label"`
	Unit  string `json:"unit,omitempty"`
}

// Cell is one combination of categories, one per dimension, in the order of
// Table.Dimensions. Values align with Table.Measures; NaN means missing.
//
// RecordKey is the sum, modulo 2^32, of the cell-key record keys of the
// people counted in the cell (person.record_key). The release query fills
// it so that the cell-key method can perturb the cell the same way in every
// table that contains it; it never leaves the broker, hence no JSON name.
type Cell struct {
	Coords    []string  `json:"coords"`
	Count     int64     `json:"count"`
	Values    []float64 `json:"values,omitempty"`
	Status    Status    `json:"status"`
	RecordKey uint32    `json:"-"`
}

// Table is a complete table: every combination of categories, marginal
// totals included.
type Table struct {
	Dimensions []Dimension `json:"dimensions"`
	CountLabel Label       `json:"count_label"`
	Measures   []Measure   `json:"measures,omitempty"`
	Cells      []Cell      `json:"cells"`
}

// Key joins coordinates into a map key.
func Key(coords []string) string { return strings.Join(coords, "\x1f") }

// Index maps each cell's coordinates to its position in Cells.
func (t *Table) Index() map[string]int {
	idx := make(map[string]int, len(t.Cells))
	for i, c := range t.Cells {
		idx[Key(c.Coords)] = i
	}
	return idx
}

// Dimension finds a dimension by id.
func (t *Table) Dimension(id string) (*Dimension, bool) {
	for i := range t.Dimensions {
		if t.Dimensions[i].ID == id {
			return &t.Dimensions[i], true
		}
	}
	return nil, false
}

// Children lists, for each category code, the codes of its direct children.
func (d *Dimension) Children() map[string][]string {
	ch := map[string][]string{}
	for _, c := range d.Categories {
		if c.Parent != "" {
			ch[c.Parent] = append(ch[c.Parent], c.Code)
		}
	}
	return ch
}

// Validate checks the dimensions' structure: unique codes, parents that
// exist, exactly one root per dimension, and no cycles.
func (t *Table) Validate() error {
	for _, d := range t.Dimensions {
		codes := map[string]bool{}
		roots := 0
		for _, c := range d.Categories {
			if c.Code == "" {
				return fmt.Errorf("dimension %s: a category has an empty code", d.ID)
			}
			if codes[c.Code] {
				return fmt.Errorf("dimension %s: category %s appears twice", d.ID, c.Code)
			}
			codes[c.Code] = true
			if c.Parent == "" {
				roots++
			}
		}
		if roots != 1 {
			return fmt.Errorf("dimension %s: want exactly one total category, found %d", d.ID, roots)
		}
		parent := map[string]string{}
		for _, c := range d.Categories {
			if c.Parent != "" && !codes[c.Parent] {
				return fmt.Errorf("dimension %s: category %s has unknown parent %s", d.ID, c.Code, c.Parent)
			}
			parent[c.Code] = c.Parent
		}
		for _, c := range d.Categories {
			seen := map[string]bool{}
			for p := c.Code; p != ""; p = parent[p] {
				if seen[p] {
					return fmt.Errorf("dimension %s: category %s is its own ancestor", d.ID, c.Code)
				}
				seen[p] = true
			}
		}
	}
	return nil
}
