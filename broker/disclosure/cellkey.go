package disclosure

import (
	"fmt"
	"math"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
)

// The cell-key method (ABS TableBuilder, the 2021 UK census). Each person
// carries a record key fixed at pull time, uniform on [0, 2^32): the pull
// derives it from the pseudonym with a keyed HMAC
// (extract.Pseudonymiser.RecordKey) and stores it in person.record_key. A cell's
// key is the sum of its people's record keys modulo 2^32, read as a number
// in [0, 1). Because the key depends only on who is in the cell, any query
// that produces the same cell — however it was phrased, whatever else the
// table holds — gets the same key, and the perturbation table turns (count,
// key) into the same published value. Differencing two overlapping tables
// then yields noise, not a person.

// CellKey is a cell's key in [0, 1) from the sum of its record keys
// modulo 2^32 (cube.Cell.RecordKey).
func CellKey(recordKeySum uint32) float64 { return float64(recordKeySum) / (1 << 32) }

// PTable is a perturbation table: for each true count n a probability
// distribution over published values n+d with |d| ≤ D, chosen by the
// cell key as a uniform draw. Its guarantees, whatever the key:
//
//   - zero stays zero (an empty cell reveals nothing and stays empty);
//   - no published value is negative;
//   - no published value lies in 1..JS, so a small non-zero count is never
//     shown (a true count in 1..JS is published as 0 or as JS+1 or more);
//   - |published − true| ≤ D;
//   - the perturbation has mean zero for every n ≥ 1 (the distribution is
//     tilted where the bounds cut it), so sums of many cells stay unbiased.
//
// Variance sets the spread for counts away from the bounds: the weights
// are a discretised normal with that variance over −D..D. A larger D or
// Variance protects more against differencing and costs more accuracy;
// JS trades small-cell protection for bias near zero.
type PTable struct {
	D        int
	JS       int
	Variance float64
	rows     [][]pEntry // rows[n] for n < len(rows); larger n use the last row
}

type pEntry struct {
	d   int
	cum float64 // cumulative probability up to and including d
}

// DefaultPTable is the broker's table: D = 3, JS = 2, variance 1.5 (a
// published count is within ±3 of the truth, typically ±1; 1 and 2 are
// never shown).
var DefaultPTable = mustPTable(3, 2, 1.5)

func mustPTable(d, js int, v float64) *PTable {
	p, err := NewPTable(d, js, v)
	if err != nil {
		panic(err)
	}
	return p
}

// NewPTable builds a perturbation table. D must exceed JS so that every
// count in 1..JS can be moved above JS as well as down to 0.
func NewPTable(d, js int, variance float64) (*PTable, error) {
	switch {
	case d < 1:
		return nil, fmt.Errorf("perturbation table: maximum perturbation D = %d, want at least 1", d)
	case js < 0 || js >= d:
		return nil, fmt.Errorf("perturbation table: JS = %d, want 0 ≤ JS < D = %d", js, d)
	case !(variance > 0):
		return nil, fmt.Errorf("perturbation table: variance %g, want more than 0", variance)
	}
	p := &PTable{D: d, JS: js, Variance: variance}
	last := js + d + 1 // from here on no bound cuts the distribution
	p.rows = make([][]pEntry, last+1)
	p.rows[0] = []pEntry{{0, 1}}
	for n := 1; n <= last; n++ {
		var ds []int
		var w []float64
		for t := max(0, n-d); t <= n+d; t++ {
			if t >= 1 && t <= js {
				continue
			}
			ds = append(ds, t-n)
			w = append(w, math.Exp(-float64((t-n)*(t-n))/(2*variance)))
		}
		w = tiltToZeroMean(ds, w)
		row := make([]pEntry, len(ds))
		cum := 0.0
		for i := range ds {
			cum += w[i]
			row[i] = pEntry{ds[i], cum}
		}
		row[len(row)-1].cum = 1
		p.rows[n] = row
	}
	return p, nil
}

// tiltToZeroMean reweights w by exp(λd) so that Σ w d = 0 and Σ w = 1
// (the maximum-entropy change of the normal weights with mean zero).
func tiltToZeroMean(ds []int, w []float64) []float64 {
	mean := func(l float64) (float64, []float64) {
		out := make([]float64, len(w))
		s, m := 0.0, 0.0
		for i := range w {
			out[i] = w[i] * math.Exp(l*float64(ds[i]))
			s += out[i]
		}
		for i := range out {
			out[i] /= s
			m += out[i] * float64(ds[i])
		}
		return m, out
	}
	lo, hi := -20.0, 20.0
	var out []float64
	for range 200 {
		mid := (lo + hi) / 2
		m, o := mean(mid)
		out = o
		if math.Abs(m) < 1e-12 {
			break
		}
		if m > 0 {
			hi = mid
		} else {
			lo = mid
		}
	}
	return out
}

// Perturb returns the published value for a true count n with the given
// record-key sum.
func (p *PTable) Perturb(n int64, recordKeySum uint32) int64 {
	if n <= 0 {
		return n
	}
	row := p.rows[min(int(n), len(p.rows)-1)]
	u := CellKey(recordKeySum)
	for _, e := range row {
		if u < e.cum {
			return n + int64(e.d)
		}
	}
	return n + int64(row[len(row)-1].d)
}

// Distribution returns the probabilities of each perturbation d for a
// true count n, for documentation and tests.
func (p *PTable) Distribution(n int64) map[int]float64 {
	out := map[int]float64{}
	if n <= 0 {
		out[0] = 1
		return out
	}
	prev := 0.0
	for _, e := range p.rows[min(int(n), len(p.rows)-1)] {
		out[e.d] = e.cum - prev
		prev = e.cum
	}
	return out
}

// PerturbTable perturbs every published count of t in place and returns
// how many changed. Totals are perturbed from their own keys like any
// other cell, so a perturbed table is not additive; each cell is
// consistent with itself across tables instead.
func (p *PTable) PerturbTable(t *cube.Table) int {
	changed := 0
	for i := range t.Cells {
		c := &t.Cells[i]
		if c.Status != cube.Published {
			continue
		}
		if v := p.Perturb(c.Count, c.RecordKey); v != c.Count {
			c.Count = v
			changed++
		}
	}
	return changed
}
