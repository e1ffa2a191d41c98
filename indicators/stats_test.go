package indicators

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestWilsonMatchesPublishedValues(t *testing.T) {
	tests := []struct {
		d, n, lo, hi float64
	}{
		// Newcombe (1998), Statistics in Medicine 17:857, table I, method 3.
		{81, 263, 0.2553, 0.3662},
		{15, 148, 0.0624, 0.1605},
		{0, 20, 0, 0.1611},
		{1, 29, 0.0061, 0.1718},
		// By hand: see TestGoldenValues.
		{10, 50, 0.1124, 0.3304},
	}
	for _, tc := range tests {
		lo, hi := wilson(tc.d, tc.n)
		if math.Abs(lo-tc.lo) > 5e-5 || math.Abs(hi-tc.hi) > 5e-5 {
			t.Errorf("wilson(%v, %v) = [%.4f, %.4f], want [%.4f, %.4f]", tc.d, tc.n, lo, hi, tc.lo, tc.hi)
		}
	}
}

func TestPoissonExactMatchesGarwoodTable(t *testing.T) {
	tests := []struct{ d, lo, hi float64 }{
		// Garwood (1936) / the usual exact table for a count.
		{0, 0, 3.6889},
		{1, 0.0253, 5.5716},
		{3, 0.6187, 8.7673},
		{10, 4.7954, 18.3904},
	}
	for _, tc := range tests {
		lo, hi := poissonExact(tc.d, 1)
		if math.Abs(lo-tc.lo) > 5e-5 || math.Abs(hi-tc.hi) > 5e-5 {
			t.Errorf("poissonExact(%v) = [%.4f, %.4f], want [%.4f, %.4f]", tc.d, lo, hi, tc.lo, tc.hi)
		}
	}
}

// TestDSROfOneStratumIsTheExactPoissonInterval: with a single stratum the
// Fay–Feuer gamma interval reduces to Garwood's exact interval, for any
// count and population.
func TestDSROfOneStratumIsTheExactPoissonInterval(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		n := float64(1 + r.IntN(100000))
		d := float64(r.IntN(int(n) + 1))
		rate, lo, hi := dsr([]stratum{{num: d, den: n, weight: 1}})
		plo, phi := poissonExact(d, n)
		if !near(rate, d/n) || !near(lo, plo) || !near(hi, phi) {
			t.Fatalf("d=%v n=%v: dsr %v [%v, %v], exact [%v, %v]", d, n, rate, lo, hi, plo, phi)
		}
	}
}

// TestDSRIntervalContainsTheRate over random strata.
func TestDSRIntervalContainsTheRate(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 500; i++ {
		var s []stratum
		for b := 0; b < 1+r.IntN(Bands); b++ {
			n := float64(r.IntN(2000))
			s = append(s, stratum{num: math.Floor(n * r.Float64() * 0.3), den: n, weight: r.Float64()})
		}
		var w float64
		for _, x := range s {
			w += x.weight
		}
		for j := range s {
			s[j].weight /= w
		}
		rate, lo, hi := dsr(s)
		if math.IsNaN(rate) {
			continue
		}
		if lo > rate+1e-12 || hi < rate-1e-12 || lo < 0 {
			t.Fatalf("strata %+v: rate %v outside [%v, %v]", s, rate, lo, hi)
		}
	}
}

func TestStandardPopulationsSumTo100000(t *testing.T) {
	for name, std := range standards {
		var sum float64
		for _, v := range std {
			sum += v
		}
		if sum != 100000 {
			t.Errorf("%s sums to %v", name, sum)
		}
	}
}
