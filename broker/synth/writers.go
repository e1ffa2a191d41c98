package synth

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Kinds of deliberately broken rows.
const (
	BrokenCheckDigit = "check_digit"
	BrokenCode       = "unknown_code"
	BrokenDate       = "impossible_date"
	BrokenMissing    = "missing_field"
	BrokenDuplicate  = "duplicate"
)

var brokenKinds = []string{BrokenCheckDigit, BrokenCode, BrokenDate, BrokenMissing, BrokenDuplicate}

// breakable says, per file, which column gets an unknown code, an
// impossible date and an empty value.
var breakable = map[string]struct{ code, date, missing int }{
	FilePopulation:  {3, 5, 2},
	FileGrowth:      {2, 3, 1},
	FileVaccination: {2, 4, 1},
	FileContacts:    {3, 2, 1},
	FileCare:        {2, 3, 1},
}

var unknownCode = map[string]string{
	FilePopulation:  "4699",
	FileGrowth:      "5trinn",
	FileVaccination: "XYZ",
	FileContacts:    "Q12",
	FileCare:        "ukjent",
}

type writers struct {
	opt    Options
	files  map[string]*os.File
	bufs   map[string]*bufio.Writer
	rows   map[string]int64
	broken map[string]int64
	rng    *rand.Rand
	line   []byte
}

func newWriters(opt Options) (*writers, error) {
	if err := mkdirs(opt.Out); err != nil {
		return nil, err
	}
	w := &writers{
		opt:    opt,
		files:  map[string]*os.File{},
		bufs:   map[string]*bufio.Writer{},
		rows:   map[string]int64{},
		broken: map[string]int64{},
		rng:    rand.New(rand.NewPCG(opt.Seed, 0xbad)),
	}
	for _, name := range FileOrder {
		path := filepath.Join(opt.Out, name+".csv")
		f, err := os.Create(path)
		if err != nil {
			w.abort()
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
		w.files[name] = f
		w.bufs[name] = bufio.NewWriterSize(f, 1<<20)
		w.bufs[name].WriteString(strings.Join(Headers[name], ",") + "\n")
	}
	return w, nil
}

// write emits one row, possibly broken on purpose. Fields never contain
// commas or quotes, so no CSV quoting is needed.
func (w *writers) write(name string, fields []string) {
	kind := ""
	if w.opt.BadShare > 0 && w.rng.Float64() < w.opt.BadShare {
		kind = brokenKinds[w.rng.IntN(len(brokenKinds))]
	}
	if kind == BrokenDuplicate {
		w.emit(name, fields)
	}
	if kind != "" && kind != BrokenDuplicate {
		fields = append([]string(nil), fields...)
		b := breakable[name]
		switch kind {
		case BrokenCheckDigit:
			id := []byte(fields[0])
			id[10] = '0' + (id[10]-'0'+1)%10
			fields[0] = string(id)
		case BrokenCode:
			fields[b.code] = unknownCode[name]
		case BrokenDate:
			d := fields[b.date]
			if len(d) == 10 {
				fields[b.date] = d[:5] + "02-30"
			} else {
				fields[b.date] = "2019-13-01"
			}
		case BrokenMissing:
			fields[b.missing] = ""
		}
	}
	if kind != "" {
		w.broken[name+"/"+kind]++
	}
	w.emit(name, fields)
}

func (w *writers) emit(name string, fields []string) {
	b := w.line[:0]
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, f...)
	}
	b = append(b, '\n')
	w.line = b
	w.bufs[name].Write(b)
	w.rows[name]++
}

func (w *writers) close() error {
	for _, name := range FileOrder {
		if err := w.bufs[name].Flush(); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		if err := w.files[name].Close(); err != nil {
			return fmt.Errorf("close %s: %w", name, err)
		}
	}
	return nil
}

func (w *writers) abort() {
	for _, f := range w.files {
		f.Close()
	}
}

// convertToParquet rewrites each CSV file as Parquet with text columns, the
// way an export tool that knows nothing of the data's types would, and
// removes the CSV. DuckDB does the conversion: it is already linked in and
// writes standard Parquet.
func convertToParquet(ctx context.Context, out string) error {
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return fmt.Errorf("parquet conversion: %w", err)
	}
	defer connector.Close()
	db := sql.OpenDB(connector)
	defer db.Close()
	for _, name := range FileOrder {
		src := filepath.Join(out, name+".csv")
		dst := filepath.Join(out, name+".parquet")
		// Paths are ours, not user input, but still go in as parameters.
		q := `COPY (SELECT * FROM read_csv(?, header = true, all_varchar = true, quote = '', escape = '')) TO '` +
			strings.ReplaceAll(dst, "'", "''") + `' (FORMAT parquet)`
		if _, err := db.ExecContext(ctx, q, src); err != nil {
			return fmt.Errorf("convert %s to parquet: %w", src, err)
		}
		if err := os.Remove(src); err != nil {
			return fmt.Errorf("remove %s: %w", src, err)
		}
	}
	return nil
}
