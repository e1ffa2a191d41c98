package cube

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// The encoders below share one rule: only a Published cell carries its
// count and measure values out of the broker. Every other status (primary,
// secondary, or a caller's own such as "missing") is written with the count
// and every value empty or null, never the true number, so that no output
// format can leak what disclosure control withheld.

// disclosed reports whether c's numbers may be written.
func disclosed(c *Cell) bool { return c.Status == Published }

// value is measure i of c, or NaN when the cell is withheld or the value is
// absent.
func value(c *Cell, i int) float64 {
	if !disclosed(c) || i >= len(c.Values) {
		return math.NaN()
	}
	return c.Values[i]
}

func labelIn(l Label, lang string) string {
	if lang == "en" && l.EN != "" {
		return l.EN
	}
	return l.NB
}

func checkLang(lang string) error {
	switch lang {
	case "", "nb", "en":
		return nil
	}
	return fmt.Errorf("language %q: want nb or en", lang)
}

func checkShape(t *Table) error {
	for i, c := range t.Cells {
		if len(c.Coords) != len(t.Dimensions) {
			return fmt.Errorf("cell %d has %d coordinates for %d dimensions", i, len(c.Coords), len(t.Dimensions))
		}
		if len(c.Values) > len(t.Measures) {
			return fmt.Errorf("cell %d has %d values for %d measures", i, len(c.Values), len(t.Measures))
		}
	}
	return nil
}

// JSON is the wire form WriteJSON writes: the table model with nullable
// numbers, so that a withheld cell reads as null rather than zero.
type JSON struct {
	Dimensions []Dimension `json:"dimensions"`
	CountLabel Label       `json:"count_label"`
	Measures   []Measure   `json:"measures,omitempty"`
	Cells      []JSONCell  `json:"cells"`
}

// JSONCell is one cell in WriteJSON's output.
type JSONCell struct {
	Coords []string   `json:"coords"`
	Count  *int64     `json:"count"`
	Values []*float64 `json:"values,omitempty"`
	Status Status     `json:"status"`
}

// WriteJSON writes t as one JSON object (see JSON).
func WriteJSON(w io.Writer, t *Table) error {
	if err := checkShape(t); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	out := JSON{Dimensions: t.Dimensions, CountLabel: t.CountLabel, Measures: t.Measures, Cells: make([]JSONCell, len(t.Cells))}
	for i := range t.Cells {
		c := &t.Cells[i]
		jc := JSONCell{Coords: c.Coords, Status: c.Status}
		if disclosed(c) {
			n := c.Count
			jc.Count = &n
		}
		if len(t.Measures) > 0 {
			jc.Values = make([]*float64, len(t.Measures))
			for m := range t.Measures {
				if v := value(c, m); !math.IsNaN(v) && !math.IsInf(v, 0) {
					jc.Values[m] = &v
				}
			}
		}
		out.Cells[i] = jc
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// CSVOptions chooses the CSV dialect.
type CSVOptions struct {
	// Separator between fields; 0 means ','. Norwegian Excel expects ';'.
	Separator rune
	// DecimalComma writes 12,5 instead of 12.5 (Norwegian Excel). It
	// requires a separator other than ','.
	DecimalComma bool
	// Lang, "nb" (default) or "en", chooses the labels written when Labels
	// is set.
	Lang string
	// Labels adds a "<dimension>_label" column after each dimension's code.
	Labels bool
}

// WriteCSV writes t with a header row: one column per dimension (its id),
// then "count", one column per measure (its id), then "status". A withheld
// cell has count and values empty. Without measures and labels this is the
// table format of `folkekommune protect`.
func WriteCSV(w io.Writer, t *Table, opt CSVOptions) error {
	if err := checkShape(t); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	if err := checkLang(opt.Lang); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	sep := opt.Separator
	if sep == 0 {
		sep = ','
	}
	if opt.DecimalComma && sep == ',' {
		return fmt.Errorf("write CSV: a decimal comma needs a separator other than ','")
	}
	labels := make([]map[string]string, len(t.Dimensions))
	for d, dim := range t.Dimensions {
		labels[d] = map[string]string{}
		for _, c := range dim.Categories {
			labels[d][c.Code] = labelIn(c.Label, opt.Lang)
		}
	}
	cw := csv.NewWriter(w)
	cw.Comma = sep
	var header []string
	for _, d := range t.Dimensions {
		header = append(header, d.ID)
		if opt.Labels {
			header = append(header, d.ID+"_label")
		}
	}
	header = append(header, "count")
	for _, m := range t.Measures {
		header = append(header, m.ID)
	}
	header = append(header, "status")
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	row := make([]string, 0, len(header))
	for i := range t.Cells {
		c := &t.Cells[i]
		row = row[:0]
		for d, code := range c.Coords {
			row = append(row, code)
			if opt.Labels {
				row = append(row, labels[d][code])
			}
		}
		if disclosed(c) {
			row = append(row, strconv.FormatInt(c.Count, 10))
		} else {
			row = append(row, "")
		}
		for m := range t.Measures {
			row = append(row, formatNumber(value(c, m), opt.DecimalComma))
		}
		row = append(row, string(c.Status))
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	return nil
}

// formatNumber writes the shortest decimal that reads back as v; NaN and
// infinities (missing) are empty.
func formatNumber(v float64, decimalComma bool) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if decimalComma {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}
