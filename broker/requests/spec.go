package requests

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
)

// Spec is what a requester asks for: one measure of one dataset, broken
// down by some of its dimensions, restricted by filters, over a period of
// years, for a project.
type Spec struct {
	Project    int64               `json:"project"`
	Dataset    string              `json:"dataset"`
	Measure    string              `json:"measure"`
	Dimensions []string            `json:"dimensions"`
	Filters    map[string][]string `json:"filters,omitempty"`
	Period     Period              `json:"period"`
	Purpose    string              `json:"purpose"`
}

// Period is an inclusive span of calendar years.
type Period struct {
	From int `json:"from"`
	To   int `json:"to"`
}

// InputError names the field of a request that is wrong.
type InputError struct {
	Field   string
	Problem string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Problem }

// Sentinel errors the HTTP layer maps to status codes.
var (
	ErrNotFound  = errors.New("not found")
	ErrForbidden = errors.New("forbidden")
	ErrState     = errors.New("the request's state does not allow this")
	ErrNoExtract = errors.New("no extract has been loaded yet")
)

// MaxPurpose bounds the purpose text.
const MaxPurpose = 2000

// Validate checks s against the catalogue and returns it in canonical form
// (filter values sorted). The first problem is returned as *InputError.
func (s Spec) Validate() (Spec, error) {
	bad := func(field, format string, args ...any) (Spec, error) {
		return Spec{}, &InputError{Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	if s.Project <= 0 {
		return bad("project", "is required: the id of an approved project")
	}
	ds, ok := catalog.DatasetByID(s.Dataset)
	if !ok {
		if s.Dataset == "" {
			return bad("dataset", "is required")
		}
		return bad("dataset", "%q is not in the catalogue (GET /api/v1/datasets)", s.Dataset)
	}
	if s.Measure == "" {
		s.Measure = catalog.MeasurePersons
	}
	if !ds.HasMeasure(s.Measure) {
		return bad("measure", "%q is not a measure of %s", s.Measure, ds.ID)
	}
	seen := map[string]bool{}
	ages := 0
	for i, d := range s.Dimensions {
		field := fmt.Sprintf("dimensions[%d]", i)
		if !ds.Has(d) {
			return bad(field, "%q is not a dimension of %s", d, ds.ID)
		}
		if seen[d] {
			return bad(field, "%q is given twice", d)
		}
		seen[d] = true
		if strings.HasPrefix(d, "age_") {
			ages++
		}
	}
	if seen["municipality"] && seen["district"] {
		return bad("dimensions", "district already breaks Bergen down under its municipality; ask for municipality or district, not both")
	}
	if ages > 1 {
		return bad("dimensions", "ask for one age grouping at a time")
	}
	if s.Dimensions == nil {
		s.Dimensions = []string{}
	}
	filters := map[string][]string{}
	for _, key := range sortedKeys(s.Filters) {
		vals := s.Filters[key]
		field := "filters." + key
		dim, ok := catalog.DimensionByID(key)
		if !ok || !ds.Has(key) {
			return bad(field, "%q is not a dimension of %s", key, ds.ID)
		}
		if !dim.Filterable {
			return bad(field, "%s cannot be filtered on; break the table down by it instead", key)
		}
		if len(vals) == 0 {
			return bad(field, "lists no codes")
		}
		codes := dim.Codes()
		uniq := map[string]bool{}
		for _, v := range vals {
			if v == catalog.Total || !codes[v] {
				return bad(field, "%q is not a code of %s", v, key)
			}
			if uniq[v] {
				return bad(field, "%q is given twice", v)
			}
			uniq[v] = true
		}
		sorted := append([]string(nil), vals...)
		sort.Strings(sorted)
		filters[key] = sorted
	}
	if len(filters) == 0 {
		filters = nil
	}
	s.Filters = filters
	if s.Period.From == 0 || s.Period.To == 0 {
		return bad("period", "needs from and to, as years")
	}
	if s.Period.From < catalog.FirstYear || s.Period.To > catalog.LastYear {
		return bad("period", "must lie within %d–%d", catalog.FirstYear, catalog.LastYear)
	}
	if s.Period.From > s.Period.To {
		return bad("period", "from %d is after to %d", s.Period.From, s.Period.To)
	}
	s.Purpose = strings.TrimSpace(s.Purpose)
	if s.Purpose == "" {
		return bad("purpose", "is required: say what the table is for")
	}
	if len(s.Purpose) > MaxPurpose {
		return bad("purpose", "is longer than %d bytes", MaxPurpose)
	}
	return s, nil
}

// Definition is the spec without project and purpose: what the numbers are.
// Two requests with the same definition on the same extract get the same
// numbers.
func (s Spec) Definition() string {
	b, _ := json.Marshal(struct {
		Dataset    string              `json:"dataset"`
		Measure    string              `json:"measure"`
		Dimensions []string            `json:"dimensions"`
		Filters    map[string][]string `json:"filters,omitempty"`
		Period     Period              `json:"period"`
	}{s.Dataset, s.Measure, s.Dimensions, s.Filters, s.Period})
	return string(b)
}

// Hash is the SHA-256 of the definition.
func (s Spec) Hash() string {
	sum := sha256.Sum256([]byte(s.Definition()))
	return hex.EncodeToString(sum[:])
}

// smallestPopulation is the smallest population the table involves, as far
// as the catalogue knows: the filtered municipalities, every municipality
// (or Bergen's districts) when broken down by area, the cluster otherwise.
func (s Spec) smallestPopulation() int {
	munis := s.Filters["municipality"]
	if len(munis) == 0 {
		for _, m := range catalog.Municipalities {
			munis = append(munis, m.Code)
		}
	}
	byArea := false
	for _, d := range s.Dimensions {
		if d == "municipality" || d == "district" {
			byArea = true
		}
	}
	total := 0
	smallest := 0
	for _, code := range munis {
		m, _ := catalog.MunicipalityByCode(code)
		total += m.Population
		pop := m.Population
		if code == catalog.BergenCode && slicesContains(s.Dimensions, "district") {
			for _, d := range catalog.Districts {
				pop = min(pop, d.Population)
			}
		}
		if smallest == 0 || pop < smallest {
			smallest = pop
		}
	}
	if !byArea {
		return total
	}
	return smallest
}

func slicesContains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
