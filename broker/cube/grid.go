package cube

import (
	"database/sql"
	"fmt"
	"strings"
)

// CellError names the cell a table check refused, so that a caller that
// read the table from a file can point at the offending line.
type CellError struct {
	Cell    int      // index in Table.Cells; -1 when the cell is missing
	Coords  []string // the cell's coordinates
	Reason  string
	Earlier int // for a repeated cell, the index of its first occurrence; else -1
}

func (e *CellError) Error() string {
	return fmt.Sprintf("cell (%s): %s", strings.Join(e.Coords, ", "), e.Reason)
}

// Grid is the positional view of a complete table: every category has an
// index within its dimension and every cell a position in the product of
// the dimensions, so that neighbours along a line are found by arithmetic
// rather than by building string keys.
type Grid struct {
	Codes    [][]string // per dimension, category codes in Dimension order
	Parent   [][]int    // per dimension, each category's parent index, -1 for the total
	Children [][][]int  // per dimension, each category's children
	Stride   []int      // position = Σ category index × stride
	Cells    []int      // position → index in Table.Cells
	Coord    []int32    // cell index × len(dims) + dimension → category index
}

// Dims is the number of dimensions.
func (g *Grid) Dims() int { return len(g.Codes) }

// At is the cell index at the given category indices.
func (g *Grid) At(cats []int) int {
	pos := 0
	for j, c := range cats {
		pos += c * g.Stride[j]
	}
	return g.Cells[pos]
}

// Cat is cell's category index in dimension j.
func (g *Grid) Cat(cell, j int) int { return int(g.Coord[cell*len(g.Codes)+j]) }

// Grid checks that the table is complete, every combination of categories
// exactly once, and returns its positional view. The first duplicate,
// unknown category or missing combination is reported as a *CellError.
func (t *Table) Grid() (*Grid, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	nd := len(t.Dimensions)
	g := &Grid{
		Codes:    make([][]string, nd),
		Parent:   make([][]int, nd),
		Children: make([][][]int, nd),
		Stride:   make([]int, nd),
	}
	pos := make([]map[string]int, nd)
	size := 1
	for j := nd - 1; j >= 0; j-- {
		d := t.Dimensions[j]
		pos[j] = make(map[string]int, len(d.Categories))
		for i, c := range d.Categories {
			g.Codes[j] = append(g.Codes[j], c.Code)
			pos[j][c.Code] = i
		}
		g.Parent[j] = make([]int, len(d.Categories))
		g.Children[j] = make([][]int, len(d.Categories))
		for i, c := range d.Categories {
			g.Parent[j][i] = -1
			if c.Parent != "" {
				p := pos[j][c.Parent]
				g.Parent[j][i] = p
				g.Children[j][p] = append(g.Children[j][p], i)
			}
		}
		g.Stride[j] = size
		size *= len(d.Categories)
	}
	g.Cells = make([]int, size)
	for i := range g.Cells {
		g.Cells[i] = -1
	}
	g.Coord = make([]int32, len(t.Cells)*nd)
	for i, c := range t.Cells {
		if len(c.Coords) != nd {
			return nil, &CellError{Cell: i, Coords: c.Coords, Reason: fmt.Sprintf("has %d coordinates for %d dimensions", len(c.Coords), nd), Earlier: -1}
		}
		p := 0
		for j, code := range c.Coords {
			k, ok := pos[j][code]
			if !ok {
				return nil, &CellError{Cell: i, Coords: c.Coords, Reason: fmt.Sprintf("unknown category %q of dimension %s", code, t.Dimensions[j].ID), Earlier: -1}
			}
			g.Coord[i*nd+j] = int32(k)
			p += k * g.Stride[j]
		}
		if g.Cells[p] >= 0 {
			return nil, &CellError{Cell: i, Coords: c.Coords, Reason: fmt.Sprintf("appears twice (also cell %d)", g.Cells[p]), Earlier: g.Cells[p]}
		}
		g.Cells[p] = i
	}
	for p, ci := range g.Cells {
		if ci < 0 {
			coords := make([]string, nd)
			for j := range nd {
				coords[j] = g.Codes[j][p/g.Stride[j]%len(g.Codes[j])]
			}
			return nil, &CellError{Cell: -1, Coords: coords, Reason: "is missing", Earlier: -1}
		}
	}
	return g, nil
}

// Relation is one additivity constraint: the total cell equals the sum of
// the part cells. Dim is the dimension along which the parts vary.
type Relation struct {
	Dim   int
	Total int   // cell index
	Parts []int // cell indices
}

// Relations lists every additivity constraint of the table: for every
// dimension, every category with children and every combination of the
// other dimensions' categories, the parent cell equals the sum of its
// children's cells. With hierarchies this covers every level (district →
// municipality and municipality → cluster alike).
func (g *Grid) Relations() []Relation {
	var out []Relation
	nd := len(g.Codes)
	cats := make([]int, nd)
	for j := range nd {
		for p, ch := range g.Children[j] {
			if len(ch) == 0 {
				continue
			}
			// Walk every combination of the other dimensions.
			var walk func(k int)
			walk = func(k int) {
				if k == nd {
					cats[j] = p
					r := Relation{Dim: j, Total: g.At(cats), Parts: make([]int, len(ch))}
					for i, c := range ch {
						cats[j] = c
						r.Parts[i] = g.At(cats)
					}
					out = append(out, r)
					return
				}
				if k == j {
					walk(k + 1)
					return
				}
				for c := range g.Codes[k] {
					cats[k] = c
					walk(k + 1)
				}
			}
			walk(0)
		}
	}
	return out
}

// CheckAdditive checks that the table is complete and that every total
// equals the sum of its parts, every line, every dimension and every level
// of a hierarchy, and that no count is negative. The first offending cell,
// in table order, is reported as a *CellError.
func (t *Table) CheckAdditive() (*Grid, []Relation, error) {
	for i, c := range t.Cells {
		if c.Count < 0 {
			return nil, nil, &CellError{Cell: i, Coords: c.Coords, Reason: fmt.Sprintf("count %d is negative", c.Count), Earlier: -1}
		}
	}
	g, err := t.Grid()
	if err != nil {
		return nil, nil, err
	}
	rels := g.Relations()
	bad := -1
	var badRel Relation
	var badSum int64
	for _, r := range rels {
		var sum int64
		for _, p := range r.Parts {
			sum += t.Cells[p].Count
		}
		if sum != t.Cells[r.Total].Count && (bad < 0 || r.Total < bad) {
			bad, badRel, badSum = r.Total, r, sum
		}
	}
	if bad >= 0 {
		return nil, nil, &CellError{Cell: bad, Coords: t.Cells[bad].Coords, Reason: fmt.Sprintf(
			"count %d is not the sum %d of its parts along %s", t.Cells[bad].Count, badSum, t.Dimensions[badRel.Dim].ID), Earlier: -1}
	}
	return g, rels, nil
}

// ScanCells appends to t one cell per row of a DuckDB GROUPING SETS / CUBE
// query. The row holds one column per dimension, in Table.Dimensions order
// (NULL where the query rolled the dimension up, read as the total `_T`),
// then the count, then — when withRecordKey — the sum of the people's
// record keys reduced modulo 2^32 as a BIGINT, for example
// (SUM(record_key) % 4294967296)::BIGINT (a plain SUM is a HUGEINT). A hierarchical
// dimension comes from one expression such as COALESCE(district,
// municipality) over ROLLUP(municipality, district). Call CheckAdditive
// afterwards: a query that lost or doubled rows is caught there.
func ScanCells(rows *sql.Rows, t *Table, withRecordKey bool) error {
	nd := len(t.Dimensions)
	codes := make([]sql.NullString, nd)
	dest := make([]any, 0, nd+2)
	for i := range codes {
		dest = append(dest, &codes[i])
	}
	var count int64
	var key sql.NullInt64
	dest = append(dest, &count)
	if withRecordKey {
		dest = append(dest, &key)
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("read table row %d: %w", len(t.Cells)+1, err)
		}
		c := Cell{Coords: make([]string, nd), Count: count, Status: Published}
		for j, s := range codes {
			c.Coords[j] = Total
			if s.Valid {
				c.Coords[j] = s.String
			}
		}
		if key.Valid {
			c.RecordKey = uint32(uint64(key.Int64))
		}
		t.Cells = append(t.Cells, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read table rows: %w", err)
	}
	return nil
}
