package cube

import (
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// ArrowMetadataKey is the schema metadata key under which the Arrow and
// Parquet encoders store the table's dimensions, categories, hierarchies,
// count label and measures as JSON, so that a reader can rebuild labels and
// totals without the broker.
const ArrowMetadataKey = "folkekommune.cube"

// ArrowSchema is the columnar layout of t: one non-null string column per
// dimension (named by its id), "count" (int64, null when withheld), one
// float64 column per measure (null when withheld or missing), and "status".
func ArrowSchema(t *Table) (*arrow.Schema, error) {
	meta, err := json.Marshal(struct {
		Dimensions []Dimension `json:"dimensions"`
		CountLabel Label       `json:"count_label"`
		Measures   []Measure   `json:"measures,omitempty"`
	}{t.Dimensions, t.CountLabel, t.Measures})
	if err != nil {
		return nil, fmt.Errorf("arrow schema: %w", err)
	}
	seen := map[string]bool{"count": true, "status": true}
	var fields []arrow.Field
	for _, d := range t.Dimensions {
		if seen[d.ID] {
			return nil, fmt.Errorf("arrow schema: column name %q is used twice", d.ID)
		}
		seen[d.ID] = true
		fields = append(fields, arrow.Field{Name: d.ID, Type: arrow.BinaryTypes.String})
	}
	fields = append(fields, arrow.Field{Name: "count", Type: arrow.PrimitiveTypes.Int64, Nullable: true})
	for _, m := range t.Measures {
		if seen[m.ID] {
			return nil, fmt.Errorf("arrow schema: column name %q is used twice", m.ID)
		}
		seen[m.ID] = true
		fields = append(fields, arrow.Field{Name: m.ID, Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	fields = append(fields, arrow.Field{Name: "status", Type: arrow.BinaryTypes.String})
	md := arrow.NewMetadata([]string{ArrowMetadataKey}, []string{string(meta)})
	return arrow.NewSchema(fields, &md), nil
}

// arrowRecord builds t as one record batch of schema s.
func arrowRecord(t *Table, s *arrow.Schema, mem memory.Allocator) (arrow.RecordBatch, error) {
	if err := checkShape(t); err != nil {
		return nil, err
	}
	b := array.NewRecordBuilder(mem, s)
	defer b.Release()
	nd, nm := len(t.Dimensions), len(t.Measures)
	for i := range t.Cells {
		c := &t.Cells[i]
		for d, code := range c.Coords {
			b.Field(d).(*array.StringBuilder).Append(code)
		}
		cb := b.Field(nd).(*array.Int64Builder)
		if disclosed(c) {
			cb.Append(c.Count)
		} else {
			cb.AppendNull()
		}
		for m := 0; m < nm; m++ {
			vb := b.Field(nd + 1 + m).(*array.Float64Builder)
			if v := value(c, m); math.IsNaN(v) || math.IsInf(v, 0) {
				vb.AppendNull()
			} else {
				vb.Append(v)
			}
		}
		b.Field(nd + 1 + nm).(*array.StringBuilder).Append(string(c.Status))
	}
	return b.NewRecordBatch(), nil
}

// WriteArrowIPC writes t as an Arrow IPC stream of one record batch with
// ArrowSchema(t).
func WriteArrowIPC(w io.Writer, t *Table) error {
	s, err := ArrowSchema(t)
	if err != nil {
		return fmt.Errorf("write Arrow IPC: %w", err)
	}
	mem := memory.NewGoAllocator()
	rec, err := arrowRecord(t, s, mem)
	if err != nil {
		return fmt.Errorf("write Arrow IPC: %w", err)
	}
	defer rec.Release()
	iw := ipc.NewWriter(w, ipc.WithSchema(s), ipc.WithAllocator(mem))
	if err := iw.Write(rec); err != nil {
		iw.Close()
		return fmt.Errorf("write Arrow IPC: %w", err)
	}
	if err := iw.Close(); err != nil {
		return fmt.Errorf("write Arrow IPC: %w", err)
	}
	return nil
}

// WriteParquet writes t as a Parquet file (zstd-compressed) with
// ArrowSchema(t); the schema metadata travels in the file's key-value
// metadata.
func WriteParquet(w io.Writer, t *Table) error {
	s, err := ArrowSchema(t)
	if err != nil {
		return fmt.Errorf("write Parquet: %w", err)
	}
	mem := memory.NewGoAllocator()
	rec, err := arrowRecord(t, s, mem)
	if err != nil {
		return fmt.Errorf("write Parquet: %w", err)
	}
	defer rec.Release()
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithAllocator(mem))
	// The Parquet writer closes a sink that is an io.Closer; the caller owns w.
	fw, err := pqarrow.NewFileWriter(s, writeOnly{w}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return fmt.Errorf("write Parquet: %w", err)
	}
	if err := fw.Write(rec); err != nil {
		fw.Close()
		return fmt.Errorf("write Parquet: %w", err)
	}
	if err := fw.Close(); err != nil {
		return fmt.Errorf("write Parquet: %w", err)
	}
	return nil
}

// writeOnly hides every method of a writer but Write.
type writeOnly struct{ w io.Writer }

func (o writeOnly) Write(p []byte) (int, error) { return o.w.Write(p) }
