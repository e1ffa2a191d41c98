package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// The charts are drawn on the server as SVG: no script, no charting
// service, nothing to load. Each has a <title> and <desc> for screen
// readers, and the pages put a table of the same numbers beside it. Colours
// and strokes come from classes in style.css (the CSP allows no inline
// styles).

// Series is one line of a LineChart, aligned with its X labels. NaN is a
// missing value; Suppressed marks withheld values, drawn as hollow marks
// on the axis with no number, never as zero.
type Series struct {
	Name       string
	Values     []float64
	Lower      []float64 // the confidence band, when set
	Upper      []float64
	Suppressed []bool
	Ref        bool // a reference line (dashed)
}

// LineChart is a trend over periods, with a confidence band.
type LineChart struct {
	ID, Title, Desc string
	X               []string
	Series          []Series
	Unit            string
	Lang            string
	SuppressedLabel string
}

// DotRow is one area of a DotChart.
type DotRow struct {
	Label        string
	Value        float64
	Lower, Upper float64
	Suppressed   bool
	Class        string // better, worse, same, none
	Indent       bool   // a district under its municipality
}

// DotChart compares areas: a bar per area with its confidence interval
// and a reference line (the cluster).
type DotChart struct {
	ID, Title, Desc string
	Rows            []DotRow
	Reference       float64 // NaN: none
	RefLabel        string
	Unit            string
	Lang            string
	SuppressedLabel string
}

func esc(s string) string { return template.HTMLEscapeString(s) }

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// niceScale returns axis bounds and a tick step covering [lo, hi] with
// about n ticks on round numbers.
func niceScale(lo, hi float64, n int) (float64, float64, float64) {
	if !finite(lo) || !finite(hi) {
		return 0, 1, 0.2
	}
	if hi <= lo {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	return math.Floor(lo/step) * step, math.Ceil(hi/step) * step, step
}

func decimalsFor(step float64) int {
	d := 0
	for d < 4 && math.Abs(step*math.Pow(10, float64(d))-math.Round(step*math.Pow(10, float64(d)))) > 1e-9 {
		d++
	}
	return d
}

func openSVG(b *strings.Builder, id, title, desc string, w, h int) {
	fmt.Fprintf(b, `<svg class="chart" id="%s" role="img" aria-labelledby="%s-title %s-desc" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg">`,
		esc(id), esc(id), esc(id), w, h)
	fmt.Fprintf(b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, esc(id), esc(title), esc(id), esc(desc))
}

// SVG draws the chart.
func (c LineChart) SVG() template.HTML {
	const w, h, left, right, top, bottom = 640, 340, 56, 16, 28, 84
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for i, v := range s.Values {
			for _, x := range []float64{v, at(s.Lower, i), at(s.Upper, i)} {
				if finite(x) {
					lo, hi = math.Min(lo, x), math.Max(hi, x)
				}
			}
		}
	}
	if !finite(lo) {
		lo, hi = 0, 1
	}
	lo = math.Min(lo, 0) // rates: the axis starts at zero so differences are not exaggerated
	y0, y1, step := niceScale(lo, hi, 5)
	pw, ph := float64(w-left-right), float64(h-top-bottom)
	n := len(c.X)
	xAt := func(i int) float64 {
		if n <= 1 {
			return float64(left) + pw/2
		}
		return float64(left) + pw*float64(i)/float64(n-1)
	}
	yAt := func(v float64) float64 { return float64(top) + ph*(1-(v-y0)/(y1-y0)) }
	var b strings.Builder
	openSVG(&b, c.ID, c.Title, c.Desc, w, h)
	d := decimalsFor(step)
	for v := y0; v <= y1+step/2; v += step {
		y := yAt(v)
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, left, w-right, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`, left-6, y, esc(formatNum(c.Lang, v, d)))
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%d" x2="%d" y1="%d" y2="%d"/>`, left, w-right, h-bottom, h-bottom)
	every := max(1, (n+7)/8)
	for i, x := range c.X {
		if i%every != 0 && i != n-1 {
			continue
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="end" transform="rotate(-35 %.1f %d)">%s</text>`, xAt(i), h-bottom+16, xAt(i), h-bottom+16, esc(x))
	}
	if c.Unit != "" {
		fmt.Fprintf(&b, `<text x="4" y="14" class="muted">%s</text>`, esc(c.Unit))
	}
	for si, s := range c.Series {
		// The band: a polygon over each run of periods with both bounds.
		if len(s.Lower) == n && len(s.Upper) == n {
			for _, run := range runs(n, func(i int) bool { return finite(s.Lower[i]) && finite(s.Upper[i]) }) {
				var pts []string
				for _, i := range run {
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", xAt(i), yAt(s.Upper[i])))
				}
				for k := len(run) - 1; k >= 0; k-- {
					i := run[k]
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", xAt(i), yAt(s.Lower[i])))
				}
				fmt.Fprintf(&b, `<polygon class="band" points="%s"/>`, strings.Join(pts, " "))
			}
		}
		cls := "line"
		if s.Ref {
			cls = "line ref"
		}
		for _, run := range runs(n, func(i int) bool { return i < len(s.Values) && finite(s.Values[i]) }) {
			var pts []string
			for _, i := range run {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", xAt(i), yAt(s.Values[i])))
			}
			fmt.Fprintf(&b, `<polyline class="%s" points="%s"/>`, cls, strings.Join(pts, " "))
		}
		for i := 0; i < n && i < len(s.Values); i++ {
			switch {
			case i < len(s.Suppressed) && s.Suppressed[i]:
				fmt.Fprintf(&b, `<circle class="dot suppressed" cx="%.1f" cy="%d" r="5"><title>%s %s: %s</title></circle>`,
					xAt(i), h-bottom, esc(s.Name), esc(c.X[i]), esc(c.SuppressedLabel))
			case finite(s.Values[i]):
				dc := "dot"
				if s.Ref {
					dc = "dot ref"
				}
				fmt.Fprintf(&b, `<circle class="%s" cx="%.1f" cy="%.1f" r="3.5"><title>%s %s: %s</title></circle>`,
					dc, xAt(i), yAt(s.Values[i]), esc(s.Name), esc(c.X[i]), esc(formatNum(c.Lang, s.Values[i], 1)))
			}
		}
		// Legend.
		ly := h - 10
		lx := left + si*220
		fmt.Fprintf(&b, `<line class="%s" x1="%d" x2="%d" y1="%d" y2="%d"/><text x="%d" y="%d" dominant-baseline="middle">%s</text>`,
			cls, lx, lx+24, ly, ly, lx+30, ly, esc(s.Name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func at(xs []float64, i int) float64 {
	if i < len(xs) {
		return xs[i]
	}
	return math.NaN()
}

// runs splits 0..n-1 into maximal runs of consecutive indexes where ok.
func runs(n int, ok func(int) bool) [][]int {
	var out [][]int
	var cur []int
	for i := 0; i < n; i++ {
		if ok(i) {
			cur = append(cur, i)
			continue
		}
		if len(cur) > 0 {
			out = append(out, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// SVG draws the chart.
func (c DotChart) SVG() template.HTML {
	const w, left, right, top, rowH = 640, 170, 24, 40, 22
	h := top + rowH*len(c.Rows) + 24
	hi := 0.0
	for _, r := range c.Rows {
		for _, x := range []float64{r.Value, r.Upper} {
			if finite(x) {
				hi = math.Max(hi, x)
			}
		}
	}
	if finite(c.Reference) {
		hi = math.Max(hi, c.Reference)
	}
	x0, x1, step := niceScale(0, hi, 5)
	pw := float64(w - left - right)
	xAt := func(v float64) float64 { return float64(left) + pw*(v-x0)/(x1-x0) }
	var b strings.Builder
	openSVG(&b, c.ID, c.Title, c.Desc, w, h)
	d := decimalsFor(step)
	for v := x0; v <= x1+step/2; v += step {
		x := xAt(v)
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" x2="%.1f" y1="%d" y2="%d"/>`, x, x, top-6, h-24)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x, h-8, esc(formatNum(c.Lang, v, d)))
	}
	if c.Unit != "" {
		fmt.Fprintf(&b, `<text x="%d" y="14" text-anchor="end" class="muted">%s</text>`, w-right, esc(c.Unit))
	}
	for i, r := range c.Rows {
		y := top + i*rowH
		cy := y + rowH/2
		lx := left - 8
		label := r.Label
		if r.Indent {
			label = "– " + label
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" dominant-baseline="middle">%s</text>`, lx, cy, esc(label))
		switch {
		case r.Suppressed:
			fmt.Fprintf(&b, `<text x="%d" y="%d" dominant-baseline="middle" class="muted">%s</text>`, left+6, cy, esc(c.SuppressedLabel))
		case finite(r.Value):
			cls := r.Class
			if cls == "" {
				cls = "none"
			}
			fmt.Fprintf(&b, `<rect class="bar %s" x="%d" y="%d" width="%.1f" height="%d"><title>%s: %s</title></rect>`,
				esc(cls), left, y+5, math.Max(0, xAt(r.Value)-float64(left)), rowH-10, esc(r.Label), esc(formatNum(c.Lang, r.Value, 1)))
			if finite(r.Lower) && finite(r.Upper) {
				fmt.Fprintf(&b, `<line class="whisker" x1="%.1f" x2="%.1f" y1="%d" y2="%d"/>`, xAt(r.Lower), xAt(r.Upper), cy, cy)
				fmt.Fprintf(&b, `<line class="whisker" x1="%.1f" x2="%.1f" y1="%d" y2="%d"/>`, xAt(r.Lower), xAt(r.Lower), cy-4, cy+4)
				fmt.Fprintf(&b, `<line class="whisker" x1="%.1f" x2="%.1f" y1="%d" y2="%d"/>`, xAt(r.Upper), xAt(r.Upper), cy-4, cy+4)
			}
		default:
			fmt.Fprintf(&b, `<text x="%d" y="%d" dominant-baseline="middle" class="muted">–</text>`, left+6, cy)
		}
	}
	if finite(c.Reference) {
		x := xAt(c.Reference)
		fmt.Fprintf(&b, `<line class="refline" x1="%.1f" x2="%.1f" y1="%d" y2="%d"/>`, x, x, top-6, h-24)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" class="muted">%s</text>`, x, top-14, esc(c.RefLabel))
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%d" x2="%d" y1="%d" y2="%d"/>`, left, left, top-6, h-24)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
