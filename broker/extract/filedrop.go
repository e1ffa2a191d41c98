package extract

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// FileDrop reads an extract that the source systems dropped as files in a
// folder, laid out as Layouts says, each file in CSV (UTF-8, comma,
// header row) or Parquet (text columns named as the CSV header).
type FileDrop struct {
	dir string
}

// NewFileDrop returns a source reading the folder dir.
func NewFileDrop(dir string) *FileDrop { return &FileDrop{dir: dir} }

// Kind implements Source.
func (f *FileDrop) Kind() string { return "filedrop" }

// Location implements Source.
func (f *FileDrop) Location() string {
	if abs, err := filepath.Abs(f.dir); err == nil {
		return abs
	}
	return f.dir
}

// Parts implements Source: it finds each dataset's file, refuses missing
// folders and files, files in an unknown format and stray files, and
// computes every file's SHA-256.
func (f *FileDrop) Parts(ctx context.Context) ([]Part, error) {
	st, err := os.Stat(f.dir)
	if err != nil {
		return nil, fmt.Errorf("extract folder %s: %w", f.dir, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("extract folder %s is not a folder", f.dir)
	}
	expected := map[string]Dataset{}
	for _, l := range Layouts {
		expected[l.File] = l.Dataset
	}
	found := map[Dataset]string{}
	err = filepath.WalkDir(f.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(f.dir, path)
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		rel = filepath.ToSlash(rel)
		ext := filepath.Ext(rel)
		ds, known := expected[strings.TrimSuffix(rel, ext)]
		switch {
		case !known:
			return fmt.Errorf("file %s is not part of the extract layout (expected %s)", rel, strings.Join(layoutFiles(), ", "))
		case ext != ".csv" && ext != ".parquet":
			return fmt.Errorf("file %s is in an unknown format %q (want .csv or .parquet)", rel, ext)
		case found[ds] != "":
			return fmt.Errorf("dataset %s has two files, %s and %s", ds, found[ds], rel)
		}
		found[ds] = rel
		return nil
	})
	if err != nil {
		return nil, err
	}
	parts := make([]Part, len(Layouts))
	for i, l := range Layouts {
		rel, ok := found[l.Dataset]
		if !ok {
			if _, err := os.Stat(filepath.Join(f.dir, filepath.Dir(l.File))); err != nil {
				return nil, fmt.Errorf("extract folder %s has no folder %s", f.dir, filepath.Dir(l.File))
			}
			return nil, fmt.Errorf("extract folder %s has no file %s.csv or %s.parquet", f.dir, l.File, l.File)
		}
		parts[i] = Part{Dataset: l.Dataset, Name: rel}
	}
	// The files are hashed side by side: at cluster scale hashing them one
	// after the other is most of a second before the pull can start.
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i := range parts {
		wg.Go(func() {
			parts[i].SHA256, parts[i].Bytes, errs[i] = checksum(ctx, filepath.Join(f.dir, parts[i].Name))
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err // the first, in the layout's order: one sentence
		}
	}
	return parts, nil
}

func layoutFiles() []string {
	var out []string
	for _, l := range Layouts {
		out = append(out, l.File+".csv")
	}
	sort.Strings(out)
	return out
}

func checksum(ctx context.Context, path string) (string, int64, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("file %s: %w", path, errors.Unwrap(err))
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, &ctxReader{ctx, fh})
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func layoutOf(ds Dataset) Layout {
	for _, l := range Layouts {
		if l.Dataset == ds {
			return l
		}
	}
	panic("extract: unknown dataset " + string(ds))
}

// Read implements Source.
func (f *FileDrop) Read(ctx context.Context, p Part, fn func(line int64, rec []string) error) error {
	path := filepath.Join(f.dir, filepath.FromSlash(p.Name))
	if strings.HasSuffix(p.Name, ".parquet") {
		return readParquet(ctx, path, p.Name, layoutOf(p.Dataset).Header, fn)
	}
	return readCSV(ctx, path, p.Name, layoutOf(p.Dataset).Header, fn)
}

// readCSV streams a CSV file. A file that does not end in a newline is
// taken as truncated and refused whole, as is a row with the wrong number
// of fields: those are signs of a broken export, not of one bad record.
func readCSV(ctx context.Context, path, name string, header []string, fn func(int64, []string) error) error {
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("file %s: %w", name, errors.Unwrap(err))
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return fmt.Errorf("file %s: %w", name, err)
	}
	if st.Size() == 0 {
		return fmt.Errorf("file %s is empty (no header)", name)
	}
	last := make([]byte, 1)
	if _, err := fh.ReadAt(last, st.Size()-1); err != nil {
		return fmt.Errorf("file %s: %w", name, err)
	}
	if last[0] != '\n' {
		return fmt.Errorf("file %s is truncated: its last line has no line end", name)
	}
	r := csv.NewReader(bufio.NewReaderSize(&ctxReader{ctx, fh}, 1<<20))
	r.ReuseRecord = true
	r.FieldsPerRecord = len(header)
	got, err := r.Read()
	if err != nil {
		return fmt.Errorf("file %s: cannot read header: %w", name, err)
	}
	got[0] = strings.TrimPrefix(got[0], "\ufeff")
	if !slices.Equal(got, header) {
		return fmt.Errorf("file %s: header %q does not match the expected %q", name, strings.Join(got, ","), strings.Join(header, ","))
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return fmt.Errorf("file %s line %d: %v", name, pe.Line, pe.Err)
			}
			return fmt.Errorf("file %s: %w", name, err)
		}
		line, _ := r.FieldPos(0)
		if err := fn(int64(line), rec); err != nil {
			return err
		}
	}
}

// readParquet streams a Parquet file whose columns are the layout's header,
// as text.
func readParquet(ctx context.Context, path, name string, header []string, fn func(int64, []string) error) error {
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		return fmt.Errorf("file %s is not a readable Parquet file: %w", name, err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("file %s: %w", name, err)
	}
	schema, err := fr.Schema()
	if err != nil {
		return fmt.Errorf("file %s: %w", name, err)
	}
	var got []string
	for _, fld := range schema.Fields() {
		got = append(got, fld.Name)
		if fld.Type.ID() != arrow.STRING && fld.Type.ID() != arrow.LARGE_STRING && fld.Type.ID() != arrow.STRING_VIEW {
			return fmt.Errorf("file %s: column %s is %s, want text", name, fld.Name, fld.Type)
		}
	}
	if !slices.Equal(got, header) {
		return fmt.Errorf("file %s: columns %q do not match the expected %q", name, strings.Join(got, ","), strings.Join(header, ","))
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return fmt.Errorf("file %s: %w", name, err)
	}
	defer rr.Release()
	rec := make([]string, len(header))
	var row int64
	type stringer interface {
		Value(int) string
		IsNull(int) bool
	}
	for rr.Next() {
		batch := rr.RecordBatch()
		cols := make([]stringer, len(header))
		for i := range cols {
			switch c := batch.Column(i).(type) {
			case *array.String:
				cols[i] = c
			case *array.LargeString:
				cols[i] = c
			case *array.StringView:
				cols[i] = c
			default:
				return fmt.Errorf("file %s: column %s is not text", name, header[i])
			}
		}
		n := int(batch.NumRows())
		for i := 0; i < n; i++ {
			row++
			for j, c := range cols {
				if c.IsNull(i) {
					rec[j] = ""
				} else {
					rec[j] = c.Value(i)
				}
			}
			if err := fn(row, rec); err != nil {
				return err
			}
		}
	}
	if err := rr.Err(); err != nil && err != io.EOF {
		return fmt.Errorf("file %s is damaged: %w", name, err)
	}
	return nil
}

// LocalFile implements LocalFiler: it refuses a truncated CSV file or one
// whose header is not the layout's, and a Parquet file whose columns are
// not the layout's text columns, before DuckDB reads the file.
func (f *FileDrop) LocalFile(ctx context.Context, p Part) (string, error) {
	path := filepath.Join(f.dir, filepath.FromSlash(p.Name))
	header := layoutOf(p.Dataset).Header
	stop := errors.New("header checked")
	var err error
	if strings.HasSuffix(p.Name, ".parquet") {
		err = readParquet(ctx, path, p.Name, header, func(int64, []string) error { return stop })
	} else {
		err = readCSV(ctx, path, p.Name, header, func(int64, []string) error { return stop })
	}
	if err != nil && !errors.Is(err, stop) {
		return "", err
	}
	return path, nil
}
