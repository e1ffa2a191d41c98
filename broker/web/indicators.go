package web

import (
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"github.com/kunnskapskommunen/folkekommune/broker/cube"
	"github.com/kunnskapskommunen/folkekommune/broker/requests"
	"github.com/kunnskapskommunen/folkekommune/indicators"
)

// The indicator pages: the barometer (every indicator's latest value for
// one municipality beside the cluster's, as in FHI's public-health
// profiles) and one page per indicator with its trend, the areas compared,
// the definition and the downloads. Values come from Deps.ReadIndicator:
// the API's own path, with the policy's indicator.read check. Visitors who
// have not signed in are read as the anonymous visitor (role public), so
// whether the public sees the indicators is the policy's decision
// (policies/data.json lists public for indicator.read); when it refuses,
// they are sent to the login page as on every other page.

// rolePublic is the role the policy knows visitors without a sign-in by.
const rolePublic = "public"

// anonymousVisitor is the subject the policy decides a visitor without a
// sign-in as: a non-empty id, as every subject has, and no municipality.
var anonymousVisitor = User{ID: "anonymous", Role: rolePublic}

// visitorFrom is the signed-in user, or the anonymous visitor.
func visitorFrom(r *http.Request) User {
	if u, ok := userFrom(r.Context()); ok {
		return u
	}
	return anonymousVisitor
}

// openToPublic serves a page of published indicators: signed-in users
// need one of roles (as with need); a visitor without a sign-in is served
// as the anonymous visitor, whom the policy decides on inside fn
// (ReadIndicator). A refusal sends them to sign in, as need would.
func (p *Pages) openToPublic(roles []string, fn handler) http.HandlerFunc {
	signedIn := p.need(roles, fn)
	return p.h(func(w http.ResponseWriter, r *http.Request) error {
		if _, ok := userFrom(r.Context()); ok {
			signedIn(w, r)
			return nil
		}
		err := fn(w, r)
		if errors.Is(err, requests.ErrForbidden) {
			// need answers a visitor without a sign-in: the login
			// redirect for a GET.
			signedIn(w, r)
			return nil
		}
		return err
	})
}

// point is one indicator value as the pages read it from the table.
type point struct {
	Value, Lower, Upper float64
	Comparison          float64 // 1 better, 0 no difference, -1 worse, NaN not tested
	Status              cube.Status
	Count, Denominator  int64
}

func (pt point) shown() bool { return pt.Status == cube.Published && finite(pt.Value) }

// indicatorTable indexes an indicator table by period, geo and sex.
type indicatorTable struct {
	t                             *cube.Table
	idx                           map[string]int
	value, lower, upper, cmp, den int // measure positions; value is the standardised rate when there is one
	periods                       []cube.Category
	geos                          []cube.Category
	unit                          string
}

func newIndicatorTable(t *cube.Table) *indicatorTable {
	it := &indicatorTable{t: t, idx: t.Index(), value: -1, lower: -1, upper: -1, cmp: -1, den: -1}
	for i, m := range t.Measures {
		switch m.ID {
		case indicators.MeasureCrude:
			if it.value < 0 {
				it.value = i
			}
			it.unit = m.Unit
		case indicators.MeasureStd:
			it.value = i
		case indicators.MeasureLower:
			it.lower = i
		case indicators.MeasureUpper:
			it.upper = i
		case indicators.MeasureComparison:
			it.cmp = i
		case indicators.MeasureDenominator:
			it.den = i
		}
	}
	if d, ok := t.Dimension("period"); ok {
		it.periods = d.Categories
	}
	if d, ok := t.Dimension("geo"); ok {
		it.geos = d.Categories
	}
	return it
}

func (it *indicatorTable) latest() string {
	if len(it.periods) == 0 {
		return ""
	}
	return it.periods[len(it.periods)-1].Code
}

// at reads the value of (period, geo, sex); a cell the table lacks is
// missing, never zero.
func (it *indicatorTable) at(period, geo, sex string) point {
	i, ok := it.idx[cube.Key([]string{period, geo, sex})]
	if !ok {
		return point{Value: math.NaN(), Lower: math.NaN(), Upper: math.NaN(), Comparison: math.NaN(), Status: indicators.StatusMissing}
	}
	c := it.t.Cells[i]
	get := func(k int) float64 {
		if k < 0 || c.Status != cube.Published {
			return math.NaN()
		}
		return at(c.Values, k)
	}
	pt := point{Value: get(it.value), Lower: get(it.lower), Upper: get(it.upper), Comparison: get(it.cmp), Status: c.Status}
	if c.Status == cube.Published {
		pt.Count = c.Count
		if d := get(it.den); finite(d) {
			pt.Denominator = int64(d)
		}
	}
	return pt
}

// valueCell shows a value: the number, or why there is none.
func valueCell(lang string, pt point, decimals int) cellView {
	switch {
	case pt.Status == indicators.StatusMissing:
		return cellView{Text: translate(lang, "table.missing"), Suppressed: true, Status: string(pt.Status), Title: translate(lang, "table.missing_title")}
	case pt.Status != cube.Published:
		return suppressedCell(lang, pt.Status)
	}
	return cellView{Text: formatNum(lang, pt.Value, decimals), Status: string(pt.Status)}
}

func intervalText(lang string, pt point) string {
	if !pt.shown() || !finite(pt.Lower) || !finite(pt.Upper) {
		return "–"
	}
	return formatNum(lang, pt.Lower, 1) + "–" + formatNum(lang, pt.Upper, 1)
}

// flag is the comparison with the cluster as a word and a class.
type flag struct{ Class, Text string }

func comparisonFlag(lang string, pt point) flag {
	switch {
	case !pt.shown() || !finite(pt.Comparison):
		return flag{"none", translate(lang, "flag.none")}
	case pt.Comparison > 0:
		return flag{"better", translate(lang, "flag.better")}
	case pt.Comparison < 0:
		return flag{"worse", translate(lang, "flag.worse")}
	}
	return flag{"same", translate(lang, "flag.same")}
}

func unitText(lang, unit string) string {
	switch unit {
	case "percent":
		return translate(lang, "unit.percent")
	case "":
		return ""
	}
	return translate(lang, "unit.per_1000")
}

func pickText(lang string, t indicators.Text) string {
	if lang == langEN && t.EN != "" {
		return t.EN
	}
	return t.NB
}

func pickCube(lang string, l cube.Label) string {
	if lang == langEN && l.EN != "" {
		return l.EN
	}
	return l.NB
}

// municipalityParam reads ?kommune=, defaulting to the user's own
// municipality, then Bergen.
func municipalityParam(r *http.Request, u User) (string, error) {
	m := r.URL.Query().Get("kommune")
	if m == "" {
		m = u.Municipality
	}
	if m == "" {
		m = catalog.BergenCode
	}
	if _, ok := catalog.MunicipalityByCode(m); !ok {
		return "", &requests.InputError{Field: "kommune", Problem: fmt.Sprintf("%q is not a kommunenummer of the collaboration", m)}
	}
	return m, nil
}

func sexParam(r *http.Request) (string, error) {
	s := r.URL.Query().Get("kjonn")
	switch s {
	case "":
		return cube.Total, nil
	case cube.Total, "M", "F":
		return s, nil
	}
	return "", &requests.InputError{Field: "kjonn", Problem: fmt.Sprintf("%q: want _T, M or F", s)}
}

type barometerRow struct {
	ID, Title, Period, Unit string
	Value, Cluster          cellView
	Interval                string
	Flag                    flag
}

type barometerPage struct {
	Municipality   string
	Name           string
	Municipalities []option
	Rows           []barometerRow
}

func (p *Pages) barometer(w http.ResponseWriter, r *http.Request) error {
	u := visitorFrom(r)
	lang := langFrom(r.Context())
	muni, err := municipalityParam(r, u)
	if err != nil {
		return err
	}
	m, _ := catalog.MunicipalityByCode(muni)
	bp := barometerPage{Municipality: muni, Name: m.Name}
	for _, x := range catalog.Municipalities {
		bp.Municipalities = append(bp.Municipalities, option{x.Code, x.Name, x.Code == muni})
	}
	for _, d := range p.deps.Indicators {
		t, err := p.deps.ReadIndicator(r.Context(), u, d.ID)
		if err != nil {
			return fmt.Errorf("read indicator %s: %w", d.ID, err)
		}
		it := newIndicatorTable(t)
		period := it.latest()
		own, cluster := it.at(period, muni, cube.Total), it.at(period, cube.Total, cube.Total)
		bp.Rows = append(bp.Rows, barometerRow{
			ID: d.ID, Title: pickText(lang, d.Title), Period: period, Unit: unitText(lang, it.unit),
			Value: valueCell(lang, own, 1), Cluster: valueCell(lang, cluster, 1),
			Interval: intervalText(lang, own), Flag: comparisonFlag(lang, own),
		})
	}
	return p.page(w, r, http.StatusOK, "indicators/barometer", "indicators.title", bp)
}

type trendRow struct {
	Period   string
	Value    cellView
	Interval string
	Cluster  cellView
}

type areaRow struct {
	Code, Label string
	Indent      bool
	Value       cellView
	Interval    string
	Flag        flag
}

type indicatorPage struct {
	ID, Title, Description  string
	Municipality, Name, Sex string
	Municipalities          []option
	Sexes                   []option
	Unit, Period            string
	Trend                   template.HTML
	TrendRows               []trendRow
	Compare                 template.HTML
	Areas                   []areaRow
	Method                  []methodItem
	Downloads               []option
	Suppressed              int // values withheld on this page
}

type methodItem struct{ Term, Text string }

func (p *Pages) indicatorPage(w http.ResponseWriter, r *http.Request) error {
	u := visitorFrom(r)
	lang := langFrom(r.Context())
	def := p.indByID[chi.URLParam(r, "id")]
	if def == nil {
		return fmt.Errorf("%w: no indicator %q", requests.ErrNotFound, chi.URLParam(r, "id"))
	}
	muni, err := municipalityParam(r, u)
	if err != nil {
		return err
	}
	sex, err := sexParam(r)
	if err != nil {
		return err
	}
	t, err := p.deps.ReadIndicator(r.Context(), u, def.ID)
	if err != nil {
		return err
	}
	it := newIndicatorTable(t)
	m, _ := catalog.MunicipalityByCode(muni)
	ip := indicatorPage{
		ID: def.ID, Title: pickText(lang, def.Title), Description: pickText(lang, def.Description),
		Municipality: muni, Name: m.Name, Sex: sex, Unit: unitText(lang, it.unit), Period: it.latest(),
	}
	for _, x := range catalog.Municipalities {
		ip.Municipalities = append(ip.Municipalities, option{x.Code, x.Name, x.Code == muni})
	}
	for _, s := range indicators.Sexes() {
		ip.Sexes = append(ip.Sexes, option{s.Code, pickCube(lang, s.Label), s.Code == sex})
	}
	suppressedLabel := translate(lang, "table.suppressed")

	// The trend: the municipality with its confidence band, the cluster
	// as the reference line.
	own := Series{Name: m.Name}
	ref := Series{Name: translate(lang, "indicators.cluster"), Ref: true}
	var x []string
	for _, pc := range it.periods {
		x = append(x, pc.Code)
		pt, cl := it.at(pc.Code, muni, sex), it.at(pc.Code, cube.Total, sex)
		own.Values = append(own.Values, pt.Value)
		own.Lower = append(own.Lower, pt.Lower)
		own.Upper = append(own.Upper, pt.Upper)
		own.Suppressed = append(own.Suppressed, pt.Status != cube.Published && pt.Status != indicators.StatusMissing)
		ref.Values = append(ref.Values, cl.Value)
		ip.TrendRows = append(ip.TrendRows, trendRow{Period: pc.Code, Value: valueCell(lang, pt, 1), Interval: intervalText(lang, pt), Cluster: valueCell(lang, cl, 1)})
		if pt.Status == cube.Primary || pt.Status == cube.Secondary {
			ip.Suppressed++
		}
	}
	ip.Trend = LineChart{
		ID: "trend", Lang: lang, X: x, Series: []Series{own, ref}, Unit: ip.Unit, SuppressedLabel: suppressedLabel,
		Title: translate(lang, "indicators.trend_title", ip.Title, m.Name),
		Desc:  translate(lang, "indicators.trend_desc", m.Name),
	}.SVG()

	// The areas compared in the latest period: the nine municipalities,
	// Bergen's districts under Bergen, the cluster as the reference line.
	cluster := it.at(ip.Period, cube.Total, sex)
	var rows []DotRow
	for _, g := range it.geos {
		if g.Code == cube.Total {
			continue
		}
		pt := it.at(ip.Period, g.Code, sex)
		indent := g.Parent != "" && g.Parent != cube.Total
		label := pickCube(lang, g.Label)
		fl := comparisonFlag(lang, pt)
		rows = append(rows, DotRow{Label: label, Value: pt.Value, Lower: pt.Lower, Upper: pt.Upper,
			Suppressed: !pt.shown(), Class: fl.Class, Indent: indent})
		ip.Areas = append(ip.Areas, areaRow{Code: g.Code, Label: label, Indent: indent, Value: valueCell(lang, pt, 1), Interval: intervalText(lang, pt), Flag: fl})
		if pt.Status == cube.Primary || pt.Status == cube.Secondary {
			ip.Suppressed++
		}
	}
	ip.Compare = DotChart{
		ID: "compare", Lang: lang, Rows: rows, Reference: cluster.Value, RefLabel: translate(lang, "indicators.cluster_short"),
		Unit: ip.Unit, SuppressedLabel: suppressedLabel,
		Title: translate(lang, "indicators.compare_title", ip.Title, ip.Period),
		Desc:  translate(lang, "indicators.compare_desc"),
	}.SVG()
	ip.Method = methodOf(lang, def)
	for _, f := range downloadFormats {
		ip.Downloads = append(ip.Downloads, option{Value: "/indikatorer/" + url.PathEscape(def.ID) + "/last-ned?format=" + f.Name, Label: translate(lang, f.Key)})
	}
	return p.page(w, r, http.StatusOK, "indicators/page", "indicators.one", ip)
}

// methodOf is the definition and method text of an indicator, from its
// definition file.
func methodOf(lang string, d *indicators.Definition) []methodItem {
	t := func(k string, args ...any) string { return translate(lang, k, args...) }
	items := []methodItem{
		{t("method.source"), datasetLabel(lang, d.Source)},
		{t("method.age"), d.Age.String()},
		{t("method.count"), t("method.count." + d.Count)},
		{t("method.unit"), t("method.unit." + d.Unit)},
		{t("method.period"), t("method.period." + d.Period)},
		{t("method.higher_is"), t("method.higher_is." + d.HigherIs)},
	}
	if d.Standardise != indicators.StandardiseNone {
		items = append(items, methodItem{t("method.standardise"), t("method.standardised", strings.ToUpper(d.Standardise))})
	} else {
		items = append(items, methodItem{t("method.standardise"), t("method.crude")})
	}
	if d.Smoothing == indicators.SmoothingMA3 {
		items = append(items, methodItem{t("method.smoothing"), t("method.ma3")})
	} else {
		items = append(items, methodItem{t("method.smoothing"), t("method.no_smoothing")})
	}
	items = append(items,
		methodItem{t("method.interval"), t("method.interval_text")},
		methodItem{t("method.comparison"), t("method.comparison_text")},
		methodItem{t("method.publish"), t("method.publish_text", d.Publish.MinNumerator, d.Publish.MinDenominator)},
		methodItem{t("method.reference"), d.Reference},
	)
	return items
}

// indicatorDownload writes the indicator's whole protected table with the
// cube encoders the API uses.
func (p *Pages) indicatorDownload(w http.ResponseWriter, r *http.Request) error {
	u := visitorFrom(r)
	def := p.indByID[chi.URLParam(r, "id")]
	if def == nil {
		return fmt.Errorf("%w: no indicator %q", requests.ErrNotFound, chi.URLParam(r, "id"))
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "csv"
	}
	if !validFormat(format) {
		return &requests.InputError{Field: "format", Problem: fmt.Sprintf("%q: want csv, excel, jsonstat or json", format)}
	}
	t, err := p.deps.ReadIndicator(r.Context(), u, def.ID)
	if err != nil {
		return err
	}
	return writeDownload(w, r, format, t, def.ID, cube.JSONStatOptions{
		Label:  cube.Label{NB: def.Title.NB, EN: def.Title.EN},
		Source: "FolkeKommune, Kunnskapskommunen Helse Omsorg Vest",
	})
}
