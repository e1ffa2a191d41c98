package cube

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
)

// JSONStatOptions chooses the JSON-stat dataset's identity and language.
type JSONStatOptions struct {
	// Label is the dataset's title; Source and Updated (ISO 8601) are
	// written when set.
	Label   Label
	Source  string
	Updated string
	// Lang, "nb" (default) or "en", chooses every label written.
	Lang string
}

// MeasureDimension is the id of the metric dimension WriteJSONStat adds:
// the count and each measure become its categories, as SSB's
// "ContentsCode" does.
const MeasureDimension = "measure"

// JSONStatCountID is the measure-dimension category that holds the count.
const JSONStatCountID = "count"

// WriteJSONStat writes t as a JSON-stat 2.0 dataset (https://json-stat.org/format/):
// the table's dimensions in order, then the metric dimension "measure"
// (count first, then each measure), a row-major value array with null for
// withheld, missing or absent cells, and a status entry (the cell's status
// string) for every value that is not published. Hierarchies are written as
// category.child. Dimensions with id "year", "period" or "time" get the
// time role and "geo" or "region" the geo role.
func WriteJSONStat(w io.Writer, t *Table, opt JSONStatOptions) error {
	if err := checkShape(t); err != nil {
		return fmt.Errorf("write JSON-stat: %w", err)
	}
	if err := checkLang(opt.Lang); err != nil {
		return fmt.Errorf("write JSON-stat: %w", err)
	}
	type category struct {
		Index map[string]int      `json:"index"`
		Label map[string]string   `json:"label"`
		Child map[string][]string `json:"child,omitempty"`
		Unit  map[string]jsUnit   `json:"unit,omitempty"`
	}
	type dimension struct {
		Label    string   `json:"label"`
		Category category `json:"category"`
	}
	type dataset struct {
		Version   string               `json:"version"`
		Class     string               `json:"class"`
		Label     string               `json:"label,omitempty"`
		Source    string               `json:"source,omitempty"`
		Updated   string               `json:"updated,omitempty"`
		ID        []string             `json:"id"`
		Size      []int                `json:"size"`
		Role      map[string][]string  `json:"role,omitempty"`
		Dimension map[string]dimension `json:"dimension"`
		Value     []*float64           `json:"value"`
		Status    map[string]string    `json:"status,omitempty"`
	}
	ds := dataset{
		Version: "2.0", Class: "dataset",
		Label: labelIn(opt.Label, opt.Lang), Source: opt.Source, Updated: opt.Updated,
		Dimension: map[string]dimension{}, Role: map[string][]string{},
	}
	pos := make([]map[string]int, len(t.Dimensions))
	for d, dim := range t.Dimensions {
		if dim.ID == MeasureDimension {
			return fmt.Errorf("write JSON-stat: dimension id %q is reserved for the measures", MeasureDimension)
		}
		cat := category{Index: map[string]int{}, Label: map[string]string{}}
		pos[d] = cat.Index
		for i, c := range dim.Categories {
			cat.Index[c.Code] = i
			cat.Label[c.Code] = labelIn(c.Label, opt.Lang)
		}
		if ch := dim.Children(); len(ch) > 0 {
			cat.Child = ch
		}
		ds.ID = append(ds.ID, dim.ID)
		ds.Size = append(ds.Size, len(dim.Categories))
		ds.Dimension[dim.ID] = dimension{Label: labelIn(dim.Label, opt.Lang), Category: cat}
		switch dim.ID {
		case "year", "period", "time":
			ds.Role["time"] = append(ds.Role["time"], dim.ID)
		case "geo", "region":
			ds.Role["geo"] = append(ds.Role["geo"], dim.ID)
		}
	}
	metric := category{Index: map[string]int{JSONStatCountID: 0}, Label: map[string]string{JSONStatCountID: labelIn(t.CountLabel, opt.Lang)}, Unit: map[string]jsUnit{JSONStatCountID: {Decimals: 0}}}
	for i, m := range t.Measures {
		if m.ID == JSONStatCountID {
			return fmt.Errorf("write JSON-stat: measure id %q is reserved for the count", JSONStatCountID)
		}
		metric.Index[m.ID] = i + 1
		metric.Label[m.ID] = labelIn(m.Label, opt.Lang)
		metric.Unit[m.ID] = jsUnit{Label: m.Unit, Decimals: 1}
	}
	ds.ID = append(ds.ID, MeasureDimension)
	ds.Size = append(ds.Size, 1+len(t.Measures))
	ds.Dimension[MeasureDimension] = dimension{Label: map[string]string{"nb": "Måltall", "en": "Measure"}[langOr(opt.Lang)], Category: metric}
	ds.Role["metric"] = []string{MeasureDimension}

	total := 1
	for _, s := range ds.Size {
		total *= s
	}
	ds.Value = make([]*float64, total)
	status := map[string]string{}
	nm := 1 + len(t.Measures)
	for i := range t.Cells {
		c := &t.Cells[i]
		off := 0
		for d, code := range c.Coords {
			p, ok := pos[d][code]
			if !ok {
				return fmt.Errorf("write JSON-stat: cell %d: %s is not a category of dimension %s", i, code, t.Dimensions[d].ID)
			}
			off = off*ds.Size[d] + p
		}
		off *= nm
		if disclosed(c) {
			n := float64(c.Count)
			ds.Value[off] = &n
			for m := range t.Measures {
				if v := value(c, m); !math.IsNaN(v) && !math.IsInf(v, 0) {
					ds.Value[off+1+m] = &v
				}
			}
			continue
		}
		for m := 0; m < nm; m++ {
			status[strconv.Itoa(off+m)] = string(c.Status)
		}
	}
	if len(status) > 0 {
		ds.Status = status
	}
	if len(ds.Role) == 0 {
		ds.Role = nil
	}
	enc := json.NewEncoder(w)
	if err := enc.Encode(ds); err != nil {
		return fmt.Errorf("write JSON-stat: %w", err)
	}
	return nil
}

type jsUnit struct {
	Label    string `json:"label,omitempty"`
	Decimals int    `json:"decimals"`
}

func langOr(lang string) string {
	if lang == "" {
		return "nb"
	}
	return lang
}
