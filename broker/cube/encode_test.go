package cube

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/cube")

// secret is the count of the one primary cell and secretValue its rate: no
// encoding may contain either.
const (
	secret      = 98765
	secretValue = 4321.125
)

// fixture is a small geo × sex table with a hierarchy, two measures, one
// primary cell carrying distinctive numbers, one secondary cell, and one
// published cell with a missing measure value.
func fixture() *Table {
	nan := math.NaN()
	return &Table{
		Dimensions: []Dimension{
			{ID: "geo", Label: Label{"Område", "Area"}, Categories: []Category{
				{Code: "_T", Label: Label{"Alle", "All"}},
				{Code: "4601", Label: Label{"Bergen", "Bergen"}, Parent: "_T"},
				{Code: "4621", Label: Label{"Voss herad", "Voss"}, Parent: "_T"},
			}},
			{ID: "sex", Label: Label{"Kjønn", "Sex"}, Categories: []Category{
				{Code: "_T", Label: Label{"Begge kjønn", "Both sexes"}},
				{Code: "F", Label: Label{"Kvinner", "Females"}, Parent: "_T"},
			}},
		},
		CountLabel: Label{"Antall", "Count"},
		Measures: []Measure{
			{ID: "rate", Label: Label{"Andel", "Share"}, Unit: "percent"},
			{ID: "ci_lower", Label: Label{"Nedre grense", "Lower bound"}, Unit: "percent"},
		},
		Cells: []Cell{
			{Coords: []string{"_T", "_T"}, Count: 120, Values: []float64{12.5, 10.25}, Status: Published},
			{Coords: []string{"_T", "F"}, Count: 60, Values: []float64{11, nan}, Status: Published},
			{Coords: []string{"4601", "_T"}, Count: 100, Values: []float64{13.75, 11}, Status: Published},
			{Coords: []string{"4601", "F"}, Count: 44, Values: []float64{9.5, 7}, Status: Secondary},
			{Coords: []string{"4621", "_T"}, Count: 20, Values: []float64{8, 5.5}, Status: Published},
			{Coords: []string{"4621", "F"}, Count: secret, Values: []float64{secretValue, 1}, Status: Primary},
		},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "cube", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden %s (run with -update to create it): %v", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

// expectation is what every decoder must read back for cell i: the count
// and values when published, nothing otherwise.
type readBack struct {
	coords []string
	count  *int64
	values []*float64
	status string
}

func wantReadBack(t *Table) []readBack {
	var out []readBack
	for i := range t.Cells {
		c := &t.Cells[i]
		rb := readBack{coords: c.Coords, status: string(c.Status), values: make([]*float64, len(t.Measures))}
		if c.Status == Published {
			n := c.Count
			rb.count = &n
			for m, v := range c.Values {
				if !math.IsNaN(v) {
					v := v
					rb.values[m] = &v
				}
			}
		}
		out = append(out, rb)
	}
	return out
}

func compareReadBack(t *testing.T, format string, got, want []readBack) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: read back %d cells, want %d", format, len(got), len(want))
	}
	eqp := func(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	for i := range want {
		g, w := got[i], want[i]
		if strings.Join(g.coords, ",") != strings.Join(w.coords, ",") || g.status != w.status {
			t.Errorf("%s cell %d: got %v %s, want %v %s", format, i, g.coords, g.status, w.coords, w.status)
		}
		if (g.count == nil) != (w.count == nil) || (g.count != nil && *g.count != *w.count) {
			t.Errorf("%s cell %d %v: count %v, want %v", format, i, w.coords, deref(g.count), deref(w.count))
		}
		for m := range w.values {
			if m >= len(g.values) || !eqp(g.values[m], w.values[m]) {
				t.Errorf("%s cell %d %v: measure %d differs", format, i, w.coords, m)
			}
		}
	}
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestWriteJSONReadsBackWithSuppressedCellsNull(t *testing.T) {
	tab := fixture()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, tab); err != nil {
		t.Fatal(err)
	}
	golden(t, "fixture.json", buf.Bytes())
	var got JSON
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	var rb []readBack
	for _, c := range got.Cells {
		rb = append(rb, readBack{coords: c.Coords, count: c.Count, values: c.Values, status: string(c.Status)})
	}
	compareReadBack(t, "JSON", rb, wantReadBack(tab))
	if len(got.Dimensions) != 2 || got.Dimensions[0].Categories[1].Parent != "_T" {
		t.Errorf("JSON lost the hierarchy: %+v", got.Dimensions)
	}
}

func TestWriteCSVDialects(t *testing.T) {
	tests := []struct {
		name   string
		opt    CSVOptions
		golden string
	}{
		{"comma and decimal point", CSVOptions{}, "fixture.csv"},
		{"semicolon and decimal comma for Norwegian Excel", CSVOptions{Separator: ';', DecimalComma: true}, "fixture_excel_nb.csv"},
		{"English labels", CSVOptions{Labels: true, Lang: "en"}, "fixture_labels_en.csv"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab := fixture()
			var buf bytes.Buffer
			if err := WriteCSV(&buf, tab, tc.opt); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.golden, buf.Bytes())
			r := csv.NewReader(&buf)
			if tc.opt.Separator != 0 {
				r.Comma = tc.opt.Separator
			}
			rows, err := r.ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			header := rows[0]
			col := map[string]int{}
			for i, h := range header {
				col[h] = i
			}
			var rb []readBack
			for _, row := range rows[1:] {
				c := readBack{coords: []string{row[col["geo"]], row[col["sex"]]}, status: row[col["status"]]}
				if s := row[col["count"]]; s != "" {
					n, err := strconv.ParseInt(s, 10, 64)
					if err != nil {
						t.Fatal(err)
					}
					c.count = &n
				}
				for _, m := range tab.Measures {
					s := row[col[m.ID]]
					if s == "" {
						c.values = append(c.values, nil)
						continue
					}
					if tc.opt.DecimalComma {
						s = strings.Replace(s, ",", ".", 1)
					}
					v, err := strconv.ParseFloat(s, 64)
					if err != nil {
						t.Fatal(err)
					}
					c.values = append(c.values, &v)
				}
				rb = append(rb, c)
			}
			compareReadBack(t, "CSV", rb, wantReadBack(tab))
		})
	}
}

func TestWriteCSVRefusesDecimalCommaWithCommaSeparator(t *testing.T) {
	err := WriteCSV(&bytes.Buffer{}, fixture(), CSVOptions{DecimalComma: true})
	if err == nil || !strings.Contains(err.Error(), "decimal comma") {
		t.Fatalf("got %v, want an error about the decimal comma", err)
	}
}

func TestWriteJSONStatIsRowMajorWithStatus(t *testing.T) {
	tab := fixture()
	var buf bytes.Buffer
	if err := WriteJSONStat(&buf, tab, JSONStatOptions{Label: Label{"Prøve", "Sample"}, Source: "test"}); err != nil {
		t.Fatal(err)
	}
	golden(t, "fixture.jsonstat.json", buf.Bytes())
	var ds struct {
		Version   string   `json:"version"`
		Class     string   `json:"class"`
		ID        []string `json:"id"`
		Size      []int    `json:"size"`
		Dimension map[string]struct {
			Category struct {
				Index map[string]int      `json:"index"`
				Child map[string][]string `json:"child"`
			} `json:"category"`
		} `json:"dimension"`
		Role   map[string][]string `json:"role"`
		Value  []*float64          `json:"value"`
		Status map[string]string   `json:"status"`
	}
	if err := json.Unmarshal(buf.Bytes(), &ds); err != nil {
		t.Fatal(err)
	}
	if ds.Version != "2.0" || ds.Class != "dataset" {
		t.Errorf("version %q class %q", ds.Version, ds.Class)
	}
	if strings.Join(ds.ID, ",") != "geo,sex,measure" || len(ds.Size) != 3 || ds.Size[0] != 3 || ds.Size[1] != 2 || ds.Size[2] != 3 {
		t.Fatalf("id %v size %v", ds.ID, ds.Size)
	}
	if len(ds.Value) != 18 {
		t.Fatalf("value has %d entries, want 3×2×3", len(ds.Value))
	}
	if got := ds.Dimension["geo"].Category.Child["_T"]; strings.Join(got, ",") != "4601,4621" {
		t.Errorf("geo children of _T: %v", got)
	}
	if ds.Role["geo"][0] != "geo" || ds.Role["metric"][0] != "measure" {
		t.Errorf("roles %v", ds.Role)
	}
	var rb []readBack
	for _, c := range tab.Cells {
		off := (ds.Dimension["geo"].Category.Index[c.Coords[0]]*2 + ds.Dimension["sex"].Category.Index[c.Coords[1]]) * 3
		r := readBack{coords: c.Coords, status: "published"}
		if v := ds.Value[off]; v != nil {
			n := int64(*v)
			r.count = &n
		}
		r.values = ds.Value[off+1 : off+3]
		if s, ok := ds.Status[strconv.Itoa(off)]; ok {
			r.status = s
		}
		rb = append(rb, r)
	}
	compareReadBack(t, "JSON-stat", rb, wantReadBack(tab))
}

func checkMetadata(t *testing.T, md string, ok bool) {
	t.Helper()
	if !ok || !strings.Contains(md, `"parent":"_T"`) || !strings.Contains(md, `"count_label"`) {
		t.Errorf("metadata %q lacks the dimensions", md)
	}
}

func arrowReadBack(t *testing.T, rec arrow.RecordBatch, tab *Table) []readBack {
	t.Helper()
	s := rec.Schema()
	col := func(name string) arrow.Array {
		idx := s.FieldIndices(name)
		if len(idx) != 1 {
			t.Fatalf("column %s: %v", name, idx)
		}
		return rec.Column(idx[0])
	}
	geo := col("geo").(*array.String)
	sex := col("sex").(*array.String)
	count := col("count").(*array.Int64)
	status := col("status").(*array.String)
	var rb []readBack
	for i := 0; i < int(rec.NumRows()); i++ {
		r := readBack{coords: []string{geo.Value(i), sex.Value(i)}, status: status.Value(i)}
		if count.IsValid(i) {
			n := count.Value(i)
			r.count = &n
		}
		for _, m := range tab.Measures {
			a := col(m.ID).(*array.Float64)
			if a.IsValid(i) {
				v := a.Value(i)
				r.values = append(r.values, &v)
			} else {
				r.values = append(r.values, nil)
			}
		}
		rb = append(rb, r)
	}
	return rb
}

func TestWriteArrowIPCReadsBack(t *testing.T) {
	tab := fixture()
	var buf bytes.Buffer
	if err := WriteArrowIPC(&buf, tab); err != nil {
		t.Fatal(err)
	}
	r, err := ipc.NewReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	md := r.Schema().Metadata()
	v, ok := md.GetValue(ArrowMetadataKey)
	checkMetadata(t, v, ok)
	var rb []readBack
	for r.Next() {
		rb = append(rb, arrowReadBack(t, r.RecordBatch(), tab)...)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	compareReadBack(t, "Arrow IPC", rb, wantReadBack(tab))
}

func TestWriteParquetReadsBack(t *testing.T) {
	tab := fixture()
	var buf bytes.Buffer
	if err := WriteParquet(&buf, tab); err != nil {
		t.Fatal(err)
	}
	pt, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(buf.Bytes()), parquet.NewReaderProperties(memory.DefaultAllocator), pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	defer pt.Release()
	pf, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	kv := pf.MetaData().KeyValueMetadata().FindValue(ArrowMetadataKey)
	checkMetadata(t, derefString(kv), kv != nil)
	pf.Close()
	tr := array.NewTableReader(pt, -1)
	defer tr.Release()
	var rb []readBack
	for tr.Next() {
		rb = append(rb, arrowReadBack(t, tr.RecordBatch(), tab)...)
	}
	compareReadBack(t, "Parquet", rb, wantReadBack(tab))
}

// TestNoFormatCarriesASuppressedNumber looks for the primary cell's count
// and rate in every encoding's bytes, as text and as little-endian binary.
func TestNoFormatCarriesASuppressedNumber(t *testing.T) {
	tab := fixture()
	var i64, f64 [8]byte
	binary.LittleEndian.PutUint64(i64[:], secret)
	binary.LittleEndian.PutUint64(f64[:], math.Float64bits(secretValue))
	writers := map[string]func(*bytes.Buffer) error{
		"json":     func(b *bytes.Buffer) error { return WriteJSON(b, tab) },
		"csv":      func(b *bytes.Buffer) error { return WriteCSV(b, tab, CSVOptions{Separator: ';', DecimalComma: true}) },
		"jsonstat": func(b *bytes.Buffer) error { return WriteJSONStat(b, tab, JSONStatOptions{}) },
		"arrow":    func(b *bytes.Buffer) error { return WriteArrowIPC(b, tab) },
		"parquet":  func(b *bytes.Buffer) error { return WriteParquet(b, tab) },
	}
	for name, write := range writers {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, needle := range [][]byte{[]byte("98765"), []byte("4321"), i64[:], f64[:]} {
			if bytes.Contains(buf.Bytes(), needle) {
				t.Errorf("%s output contains the suppressed number %q", name, needle)
			}
		}
	}
}

func TestEncodersRefuseMisshapenCells(t *testing.T) {
	tab := fixture()
	tab.Cells[2].Coords = []string{"4601"}
	for name, err := range map[string]error{
		"json":     WriteJSON(&bytes.Buffer{}, tab),
		"csv":      WriteCSV(&bytes.Buffer{}, tab, CSVOptions{}),
		"jsonstat": WriteJSONStat(&bytes.Buffer{}, tab, JSONStatOptions{}),
		"arrow":    WriteArrowIPC(&bytes.Buffer{}, tab),
		"parquet":  WriteParquet(&bytes.Buffer{}, tab),
	} {
		if err == nil || !strings.Contains(err.Error(), "cell 2") {
			t.Errorf("%s: got %v, want an error naming cell 2", name, err)
		}
	}
}

func derefString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
