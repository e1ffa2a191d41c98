package broker

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"github.com/kunnskapskommunen/folkekommune/broker/cube"
	"github.com/kunnskapskommunen/folkekommune/broker/requests"
	"github.com/kunnskapskommunen/folkekommune/indicators"
	"github.com/kunnskapskommunen/folkekommune/policies"
)

// indicatorView is an indicator's definition and metadata.
type indicatorView struct {
	ID          string                 `json:"id"`
	Title       indicators.Text        `json:"title"`
	Description indicators.Text        `json:"description"`
	Reference   string                 `json:"reference"`
	Source      string                 `json:"source"`
	Age         string                 `json:"age"`
	Count       string                 `json:"count"`
	Unit        string                 `json:"unit"`
	Period      string                 `json:"period"`
	HigherIs    string                 `json:"higher_is"`
	Standardise string                 `json:"standardise"`
	Smoothing   string                 `json:"smoothing"`
	Publish     indicators.PublishRule `json:"publish"`
	SHA256      string                 `json:"definition_sha256"`
	Extract     int64                  `json:"extract"` // the extract version of the latest values, 0 when not computed
	Values      string                 `json:"values"`
}

func (s *Server) listIndicators(w http.ResponseWriter, r *http.Request) error {
	out := make([]indicatorView, 0, len(s.indicators))
	for _, d := range s.indicators {
		x, err := indicators.LatestExtract(r.Context(), s.db, d.ID)
		if err != nil {
			return err
		}
		out = append(out, indicatorView{
			ID: d.ID, Title: d.Title, Description: d.Description, Reference: d.Reference, Source: d.Source,
			Age: d.Age.String(), Count: d.Count, Unit: d.Unit, Period: d.Period, HigherIs: d.HigherIs,
			Standardise: d.Standardise, Smoothing: d.Smoothing, Publish: d.Publish, SHA256: d.SHA256, Extract: x,
			Values: "/api/v1/indicators/" + d.ID + "/values",
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"indicators": out})
	return nil
}

// indicatorCache keeps each indicator's stored table in memory: reads are
// many and the values change only when indicators are recomputed, which
// the cache notices within cacheTTL.
type indicatorCache struct {
	mu      sync.Mutex
	entries map[string]*cachedIndicator
}

type cachedIndicator struct {
	mu      sync.Mutex
	extract int64
	checked time.Time
	table   *cube.Table
}

const cacheTTL = 5 * time.Second

func newIndicatorCache() *indicatorCache {
	return &indicatorCache{entries: map[string]*cachedIndicator{}}
}

func (s *Server) indicatorTable(ctx context.Context, d *indicators.Definition) (*cube.Table, error) {
	s.indCache.mu.Lock()
	e := s.indCache.entries[d.ID]
	if e == nil {
		e = &cachedIndicator{}
		s.indCache.entries[d.ID] = e
	}
	s.indCache.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.table != nil && time.Since(e.checked) < cacheTTL {
		return e.table, nil
	}
	x, err := indicators.LatestExtract(ctx, s.db, d.ID)
	if err != nil {
		return nil, err
	}
	if x == 0 {
		return nil, fmt.Errorf("%w: indicator %s has not been computed yet", requests.ErrNotFound, d.ID)
	}
	if e.table == nil || e.extract != x {
		t, err := indicators.Table(ctx, s.db, d, x)
		if err != nil {
			return nil, err
		}
		e.table, e.extract = t, x
	}
	e.checked = time.Now()
	return e.table, nil
}

var yearPattern = regexp.MustCompile(`^\d{4}$`)

// indicatorFilter is the ?municipality, ?district, ?year and ?sex of a
// values request, checked against the catalogue.
type indicatorFilter struct {
	geo, year, sex map[string]bool
}

func parseIndicatorFilter(r *http.Request) (indicatorFilter, error) {
	q := r.URL.Query()
	list := func(name string) []string {
		var out []string
		for _, v := range q[name] {
			for _, x := range strings.Split(v, ",") {
				if x = strings.TrimSpace(x); x != "" {
					out = append(out, x)
				}
			}
		}
		return out
	}
	var f indicatorFilter
	for _, m := range list("municipality") {
		if _, ok := catalog.MunicipalityByCode(m); !ok && m != catalog.Total {
			return f, &requests.InputError{Field: "municipality", Problem: fmt.Sprintf("%q is not a kommunenummer of the collaboration (or _T)", m)}
		}
		f.geo = setAdd(f.geo, m)
	}
	for _, d := range list("district") {
		if _, ok := catalog.DistrictByCode(d); !ok && d != indicators.UnknownDistrict {
			return f, &requests.InputError{Field: "district", Problem: fmt.Sprintf("%q is not a district of Bergen", d)}
		}
		f.geo = setAdd(f.geo, d)
	}
	for _, y := range list("year") {
		if !yearPattern.MatchString(y) {
			return f, &requests.InputError{Field: "year", Problem: fmt.Sprintf("%q is not a year", y)}
		}
		f.year = setAdd(f.year, y)
	}
	for _, x := range list("sex") {
		if x != "M" && x != "F" && x != catalog.Total {
			return f, &requests.InputError{Field: "sex", Problem: fmt.Sprintf("%q: want M, F or _T", x)}
		}
		f.sex = setAdd(f.sex, x)
	}
	for name := range q {
		switch name {
		case "municipality", "district", "year", "sex", "format", "lang", "labels":
		default:
			return f, &requests.InputError{Field: name, Problem: "is not a filter of indicator values (municipality, district, year, sex)"}
		}
	}
	return f, nil
}

func setAdd(s map[string]bool, v string) map[string]bool {
	if s == nil {
		s = map[string]bool{}
	}
	s[v] = true
	return s
}

// keepPeriod matches a period ("2024" or the smoothed "2022-2024") to
// the years asked for, by the year it ends.
func (f indicatorFilter) keepPeriod(p string) bool {
	if f.year == nil {
		return true
	}
	if i := strings.LastIndex(p, "-"); i >= 0 {
		p = p[i+1:]
	}
	return f.year[p]
}

// apply returns the part of t the filter selects. A category whose parent
// is left out becomes a top category of its own.
func (f indicatorFilter) apply(t *cube.Table) *cube.Table {
	keep := []func(string) bool{
		f.keepPeriod,
		func(c string) bool { return f.geo == nil || f.geo[c] },
		func(c string) bool { return f.sex == nil || f.sex[c] },
	}
	out := &cube.Table{CountLabel: t.CountLabel, Measures: t.Measures}
	kept := make([]map[string]bool, len(t.Dimensions))
	for j, d := range t.Dimensions {
		nd := cube.Dimension{ID: d.ID, Label: d.Label}
		kept[j] = map[string]bool{}
		for _, c := range d.Categories {
			if j < len(keep) && !keep[j](c.Code) {
				continue
			}
			kept[j][c.Code] = true
			nd.Categories = append(nd.Categories, c)
		}
		for i, c := range nd.Categories {
			if c.Parent != "" && !kept[j][c.Parent] {
				nd.Categories[i].Parent = ""
			}
		}
		out.Dimensions = append(out.Dimensions, nd)
	}
	for _, c := range t.Cells {
		ok := true
		for j, code := range c.Coords {
			ok = ok && kept[j][code]
		}
		if ok {
			out.Cells = append(out.Cells, c)
		}
	}
	return out
}

func (s *Server) indicatorValues(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	var def *indicators.Definition
	for _, d := range s.indicators {
		if d.ID == id {
			def = d
		}
	}
	if def == nil {
		return fmt.Errorf("%w: no indicator %q", requests.ErrNotFound, id)
	}
	f, err := parseIndicatorFilter(r)
	if err != nil {
		return err
	}
	fm, err := negotiate(r)
	if err != nil {
		return err
	}
	u, _ := UserFrom(r.Context())
	if err := s.mayReadIndicators(r.Context(), u); err != nil {
		return err
	}
	t, err := s.indicatorTable(r.Context(), def)
	if err != nil {
		return err
	}
	t = f.apply(t)
	return writeTable(w, r, fm, t, def.ID, cube.JSONStatOptions{
		Label:  cube.Label{NB: def.Title.NB, EN: def.Title.EN},
		Source: "FolkeKommune, Kunnskapskommunen Helse Omsorg Vest",
	})
}

// mayReadIndicators asks the policy whether the caller may read published
// indicators. Reads are evaluated, not logged: the values are published
// aggregates, and logging every read would make the audit chain the
// bottleneck of the dashboards.
func (s *Server) mayReadIndicators(ctx context.Context, u User) error {
	d, err := s.policy.DecideUnlogged(ctx, policies.Input{
		Subject:  policies.Subject{ID: u.ID, Roles: []string{u.Role}, Municipality: u.Municipality},
		Action:   policies.ActionIndicatorRead,
		Resource: policies.Resource{Dataset: "indicators", Published: true},
		Context:  policies.Context{Time: time.Now()},
	})
	if err != nil {
		return fmt.Errorf("policy on indicator reads: %w", err)
	}
	if !d.Allow {
		return fmt.Errorf("%w: the policy refuses (%s)", requests.ErrForbidden, strings.Join(d.Codes(), ", "))
	}
	return nil
}
