package web

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
	"github.com/kunnskapskommunen/folkekommune/broker/requests"
)

// cellView is one number of a table as a page shows it: a withheld cell
// shows the word for suppressed, never a number and never zero.
type cellView struct {
	Text       string
	Suppressed bool
	Status     string
	Title      string
}

func suppressedCell(lang string, st cube.Status) cellView {
	key := "table.suppressed_title"
	switch st {
	case cube.Primary:
		key = "table.primary"
	case cube.Secondary:
		key = "table.secondary"
	}
	return cellView{Text: translate(lang, "table.suppressed"), Suppressed: true, Status: string(st), Title: translate(lang, key)}
}

// flatTable is a cube table as rows: one per cell, one column per
// dimension (the category's label), then the count and the measures.
type flatTable struct {
	Columns []string
	Numbers []string // headers of the number columns
	Rows    []flatRow
	Total   int // cells in the table
}

type flatRow struct {
	Coords []string
	Cells  []cellView
}

// maxRowsShown bounds a table on a page; the downloads carry all of it.
const maxRowsShown = 400

func flatten(lang string, t *cube.Table, decimals int) flatTable {
	pick := func(l cube.Label) string {
		if lang == langEN && l.EN != "" {
			return l.EN
		}
		return l.NB
	}
	ft := flatTable{Total: len(t.Cells)}
	labels := make([]map[string]string, len(t.Dimensions))
	for i, d := range t.Dimensions {
		ft.Columns = append(ft.Columns, pick(d.Label))
		labels[i] = map[string]string{}
		for _, c := range d.Categories {
			labels[i][c.Code] = pick(c.Label)
		}
	}
	ft.Numbers = append(ft.Numbers, pick(t.CountLabel))
	for _, m := range t.Measures {
		ft.Numbers = append(ft.Numbers, pick(m.Label))
	}
	for i, c := range t.Cells {
		if i >= maxRowsShown {
			break
		}
		row := flatRow{}
		for j, code := range c.Coords {
			l := labels[j][code]
			if l == "" {
				l = code
			}
			row.Coords = append(row.Coords, l)
		}
		if c.Status != cube.Published {
			for range ft.Numbers {
				row.Cells = append(row.Cells, suppressedCell(lang, c.Status))
			}
		} else {
			row.Cells = append(row.Cells, cellView{Text: formatNum(lang, float64(c.Count), 0), Status: string(c.Status)})
			for k := range t.Measures {
				v := at(c.Values, k)
				row.Cells = append(row.Cells, cellView{Text: formatNum(lang, v, decimals), Status: string(c.Status)})
			}
		}
		ft.Rows = append(ft.Rows, row)
	}
	return ft
}

// Download formats the pages offer: the cube encoders the API uses.
var downloadFormats = []struct{ Name, Key string }{
	{"csv", "download.csv"},
	{"excel", "download.excel"},
	{"jsonstat", "download.jsonstat"},
	{"json", "download.json"},
}

func validFormat(name string) bool {
	for _, f := range downloadFormats {
		if f.Name == name {
			return true
		}
	}
	return false
}

// writeDownload writes t in format as an attachment. It encodes to memory
// first, so a failure is an error page rather than half a file.
func writeDownload(w http.ResponseWriter, r *http.Request, format string, t *cube.Table, name string, meta cube.JSONStatOptions) error {
	lang := langFrom(r.Context())
	var buf bytes.Buffer
	var ct, file string
	var err error
	switch format {
	case "csv":
		ct, file = "text/csv; charset=utf-8; header=present", name+".csv"
		err = cube.WriteCSV(&buf, t, cube.CSVOptions{Lang: lang, Labels: true})
	case "excel":
		// Norwegian Excel: semicolons, decimal commas, and a byte-order
		// mark so that æ, ø and å open as letters.
		ct, file = "text/csv; charset=utf-8; header=present", name+"-excel.csv"
		buf.WriteString("\ufeff")
		err = cube.WriteCSV(&buf, t, cube.CSVOptions{Lang: lang, Labels: true, Separator: ';', DecimalComma: true})
	case "jsonstat":
		ct, file = "application/vnd.json-stat+json", name+".jsonstat.json"
		meta.Lang = lang
		err = cube.WriteJSONStat(&buf, t, meta)
	case "json":
		ct, file = "application/json", name+".json"
		err = cube.WriteJSON(&buf, t)
	default:
		return &requests.InputError{Field: "format", Problem: fmt.Sprintf("%q: want csv, excel, jsonstat or json", format)}
	}
	if err != nil {
		return fmt.Errorf("encode %s as %s: %w", name, format, err)
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, file))
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(buf.Bytes())
	return err
}
