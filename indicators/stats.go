package indicators

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// Bands is the number of 5-year age bands used for standardisation:
// 0-4, 5-9, …, 85-89 and 90+.
const Bands = 19

// band is the 5-year age band of an age.
func band(age int) int { return min(age/5, Bands-1) }

// standards are the versioned standard populations, by 5-year band (the
// same for both sexes). A definition names one in `standardise`; changing
// a population's numbers means adding a new name, never editing one, so
// that stored results stay reproducible.
var standards = map[string][Bands]float64{
	// European Standard Population 2013 (Eurostat, "Revision of the European
	// Standard Population", 2013), per 100 000; 0 and 1-4 merged into 0-4,
	// and 90-94 and 95+ merged into 90+.
	"esp2013": {5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000, 5500, 5000, 4000, 2500, 1500, 1000},
}

func standardNames() []string {
	var out []string
	for n := range standards {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// z975 is the standard normal quantile for a two-sided 95 % interval.
const z975 = 1.959963984540054

// wilson is the Wilson score interval for a proportion d/n (Wilson 1927):
// well behaved for small counts and for proportions near 0 or 1, where the
// normal approximation fails.
func wilson(d, n float64) (lo, hi float64) {
	if n <= 0 {
		return math.NaN(), math.NaN()
	}
	p := d / n
	z2 := z975 * z975
	centre := (p + z2/(2*n)) / (1 + z2/n)
	half := z975 / (1 + z2/n) * math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	return math.Max(0, centre-half), math.Min(1, centre+half)
}

// poissonExact is the exact (Garwood 1936) interval for a Poisson count d
// over a denominator n, as a rate per person.
func poissonExact(d, n float64) (lo, hi float64) {
	if n <= 0 {
		return math.NaN(), math.NaN()
	}
	if d > 0 {
		lo = distuv.Gamma{Alpha: d, Beta: 1}.Quantile(0.025) / n
	}
	hi = distuv.Gamma{Alpha: d + 1, Beta: 1}.Quantile(0.975) / n
	return lo, hi
}

// stratum is one age band (by sex when standardising both sexes together).
type stratum struct {
	num, den float64
	weight   float64 // standard population share, summing to 1 over the strata used
}

// dsr is the directly standardised rate per person, with the gamma
// interval of Fay and Feuer (1997): the rate is a weighted sum of Poisson
// counts, approximated by a gamma distribution with its mean and variance,
// widened at the top by the largest weight per person so that it stays
// conservative with few events. A stratum without population contributes
// nothing (its rate is taken as 0), as Public Health England's tools do.
func dsr(strata []stratum) (rate, lo, hi float64) {
	var y, v, wm float64
	for _, s := range strata {
		if s.den <= 0 {
			continue
		}
		wi := s.weight / s.den
		y += wi * s.num
		v += wi * wi * s.num
		wm = math.Max(wm, wi)
	}
	if wm == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	if y > 0 && v > 0 {
		lo = distuv.Gamma{Alpha: y * y / v, Beta: y / v}.Quantile(0.025)
	}
	a := (y + wm) * (y + wm) / (v + wm*wm)
	b := (y + wm) / (v + wm*wm)
	hi = distuv.Gamma{Alpha: a, Beta: b}.Quantile(0.975)
	return y, lo, hi
}
