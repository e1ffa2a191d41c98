package disclosure

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
)

// CSVTable is a table read from the protect command's CSV, with the line
// each cell came from so that errors can point at it.
type CSVTable struct {
	Table *cube.Table
	Lines []int // Lines[i] is the line of Table.Cells[i]
}

// ReadCSV reads the protect contract's input: a header with one column per
// dimension and then `count`, and one row per cell, marginal totals (`_T`)
// included. Each dimension is flat — its categories and the total — unless
// parents gives a hierarchy for it: parents[dim][code] is the parent code
// of a category (a category not listed has the total as parent). The
// first malformed row is reported with its line number; completeness and
// additivity are checked by Check.
func ReadCSV(r io.Reader, parents map[string]map[string]string) (*CSVTable, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("line 1: the input is empty; want a header with the dimensions and count")
	}
	if err != nil {
		return nil, fmt.Errorf("line 1: %w", err)
	}
	nd := len(header) - 1
	if nd < 1 || strings.TrimSpace(header[nd]) != "count" {
		return nil, errors.New("line 1: the header must list the dimensions and end with count")
	}
	t := &cube.Table{CountLabel: cube.Label{NB: "Antall", EN: "Count"}}
	seenCode := make([]map[string]bool, nd)
	for j := range nd {
		id := strings.TrimSpace(header[j])
		if id == "" {
			return nil, fmt.Errorf("line 1: column %d has no dimension name", j+1)
		}
		for _, d := range t.Dimensions {
			if d.ID == id {
				return nil, fmt.Errorf("line 1: dimension %s appears twice", id)
			}
		}
		t.Dimensions = append(t.Dimensions, cube.Dimension{ID: id, Label: cube.Label{NB: id},
			Categories: []cube.Category{{Code: cube.Total, Label: cube.Label{NB: "I alt", EN: "Total"}}}})
		seenCode[j] = map[string]bool{cube.Total: true}
	}
	for id := range parents {
		if _, ok := t.Dimension(id); !ok {
			return nil, fmt.Errorf("hierarchy: no dimension %s in the header", id)
		}
	}
	out := &CSVTable{Table: t}
	lastLine := 1
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("line %d: %w", pe.StartLine, err)
			}
			return nil, fmt.Errorf("after line %d: %w", lastLine, err)
		}
		line, _ := cr.FieldPos(0)
		lastLine = line
		c := cube.Cell{Coords: make([]string, nd), Status: cube.Published}
		for j := range nd {
			code := strings.TrimSpace(rec[j])
			if code == "" {
				return nil, fmt.Errorf("line %d: %s is empty", line, header[j])
			}
			c.Coords[j] = code
			if !seenCode[j][code] {
				seenCode[j][code] = true
				d := &t.Dimensions[j]
				d.Categories = append(d.Categories, cube.Category{Code: code, Label: cube.Label{NB: code}, Parent: cube.Total})
			}
		}
		raw := strings.TrimSpace(rec[nd])
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: count %q is not a whole number", line, raw)
		}
		if n < 0 {
			return nil, fmt.Errorf("line %d: count %d is negative", line, n)
		}
		c.Count = n
		t.Cells = append(t.Cells, c)
		out.Lines = append(out.Lines, line)
	}
	if len(t.Cells) == 0 {
		return nil, errors.New("the input has a header but no rows")
	}
	for j := range t.Dimensions {
		d := &t.Dimensions[j]
		for child, parent := range parents[d.ID] {
			if !seenCode[j][child] || !seenCode[j][parent] {
				return nil, fmt.Errorf("hierarchy of %s: %s → %s names a category not in the input", d.ID, child, parent)
			}
			for k := range d.Categories {
				if d.Categories[k].Code == child {
					d.Categories[k].Parent = parent
				}
			}
		}
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("hierarchy: %w", err)
	}
	return out, nil
}

// Check verifies completeness, uniqueness and additivity, naming the
// first offending row by its line.
func (ct *CSVTable) Check() error {
	_, _, err := ct.Table.CheckAdditive()
	return ct.locate(err)
}

// locate turns a *cube.CellError into a message with the input line.
func (ct *CSVTable) locate(err error) error {
	var ce *cube.CellError
	if !errors.As(err, &ce) {
		return err
	}
	where := make([]string, len(ce.Coords))
	for j, c := range ce.Coords {
		where[j] = ct.Table.Dimensions[j].ID + "=" + c
	}
	if ce.Cell < 0 {
		return fmt.Errorf("the row %s is missing", strings.Join(where, ", "))
	}
	reason := ce.Reason
	if ce.Earlier >= 0 {
		reason = fmt.Sprintf("repeats the row on line %d", ct.Lines[ce.Earlier])
	}
	return fmt.Errorf("line %d (%s): %s", ct.Lines[ce.Cell], strings.Join(where, ", "), reason)
}

// WriteCSV writes the protect contract's output: the input's rows and
// columns plus status, with count empty unless the cell is published.
func WriteCSV(w io.Writer, t *cube.Table) error {
	cw := csv.NewWriter(w)
	header := make([]string, 0, len(t.Dimensions)+2)
	for _, d := range t.Dimensions {
		header = append(header, d.ID)
	}
	header = append(header, "count", "status")
	if err := cw.Write(header); err != nil {
		return err
	}
	rec := make([]string, len(header))
	for _, c := range t.Cells {
		copy(rec, c.Coords)
		rec[len(c.Coords)] = ""
		if c.Status == cube.Published {
			rec[len(c.Coords)] = strconv.FormatInt(c.Count, 10)
		}
		rec[len(c.Coords)+1] = string(c.Status)
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ProtectCSV is the protect command: it reads the contract's CSV from r,
// checks it, protects it and writes the result to w. Nothing is written
// when the input is refused or the table cannot be protected.
func ProtectCSV(ctx context.Context, r io.Reader, w io.Writer, opt Options, parents map[string]map[string]string) (Report, error) {
	if _, err := opt.withDefaults(); err != nil {
		return Report{}, err
	}
	ct, err := ReadCSV(r, parents)
	if err != nil {
		return Report{}, err
	}
	if err := ct.Check(); err != nil {
		return Report{}, err
	}
	rep, err := Protect(ctx, ct.Table, opt)
	if err != nil {
		return rep, err
	}
	return rep, WriteCSV(w, ct.Table)
}
