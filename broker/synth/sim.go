package synth

import (
	"context"
	"math"
	"math/rand/v2"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"github.com/kunnskapskommunen/folkekommune/broker/fnr"
)

type residence struct {
	muni, district string
	in, out        day // out == 0 while resident
}

type careSpell struct {
	service    string // source system's code
	muni       string
	start, end day // end == 0: open
}

type person struct {
	id     string
	birth  day
	male   bool
	death  day
	res    []residence
	gone   bool       // dead or moved out of the cluster
	u      [4]float32 // stable per-person draws: diabetes, asthma, COPD, vaccine hesitancy
	ltc    bool       // long-term nursing-home resident
	spells []careSpell
}

// unit is a municipality or, in Bergen, a district: the level at which the
// simulation varies its rates.
type unit struct {
	muni, district string
	target         float64 // population at the end year
	gp, psych      float64 // rate factors
	diabetes, care float64
	bmiShift       float64
	vaccCover      float64 // factor on the programme's coverage
	residents      int
}

type simulation struct {
	opt        Options
	factor     float64
	w          *writers
	r          *rand.Rand
	ids        *fnr.Synthesizer
	persons    []*person
	units      []*unit
	unitOf     map[string]*unit // by district, or by municipality outside Bergen
	start, end day
	line       []string
}

func newSimulation(opt Options, factor float64, w *writers) *simulation {
	s := &simulation{
		opt:    opt,
		factor: factor,
		w:      w,
		r:      rand.New(rand.NewPCG(opt.Seed, 0x5eed)),
		ids:    fnr.NewSynthesizer(),
		unitOf: map[string]*unit{},
		start:  ymd(opt.EndYear-opt.Years+1, 1, 1),
		end:    ymd(opt.EndYear, 12, 31),
	}
	prof := rand.New(rand.NewPCG(opt.Seed, 0x9f0f))
	add := func(muni, district string, pop int) {
		u := &unit{
			muni: muni, district: district, target: float64(pop) * factor,
			gp:        0.85 + 0.3*prof.Float64(),
			psych:     0.75 + 0.5*prof.Float64(),
			diabetes:  0.8 + 0.45*prof.Float64(),
			care:      0.75 + 0.5*prof.Float64(),
			bmiShift:  -0.5 + 1.0*prof.Float64(),
			vaccCover: 0.96 + 0.04*prof.Float64(),
		}
		s.units = append(s.units, u)
		if district != "" {
			s.unitOf[district] = u
		} else {
			s.unitOf[muni] = u
		}
	}
	for _, m := range catalog.Municipalities {
		if m.Code == catalog.BergenCode {
			for _, d := range catalog.Districts {
				add(m.Code, d.Code, d.Population)
			}
			continue
		}
		add(m.Code, "", m.Population)
	}
	return s
}

// ageWeight is the relative size of a one-year age group, close to
// Norway's population pyramid in the 2010s.
func ageWeight(age int) float64 {
	switch {
	case age < 20:
		return 12
	case age < 50:
		return 13.5
	case age < 65:
		return 13
	case age < 75:
		return 11
	case age < 85:
		return 6
	case age < 95:
		return 2.2
	case age < 105:
		return 0.25
	}
	return 0
}

var ageCDF = func() []float64 {
	cdf := make([]float64, 105)
	sum := 0.0
	for a := range cdf {
		sum += ageWeight(a)
		cdf[a] = sum
	}
	for a := range cdf {
		cdf[a] /= sum
	}
	return cdf
}()

func (s *simulation) drawAge() int {
	x := s.r.Float64()
	for a, c := range ageCDF {
		if x <= c {
			return a
		}
	}
	return 104
}

// drawMoverAge draws the age of someone moving into the cluster: mostly
// young adults, some children with them, a few older.
func (s *simulation) drawMoverAge() int {
	x := s.r.Float64()
	switch {
	case x < 0.68:
		return 18 + s.r.IntN(23)
	case x < 0.88:
		return s.r.IntN(16)
	default:
		return 41 + s.r.IntN(40)
	}
}

func (s *simulation) newPerson(birth day, male bool) (*person, error) {
	id, err := s.ids.New(birth.time(), male)
	if err != nil {
		// One date's individual numbers are exhausted: move the birth a day.
		return s.newPerson(birth+1, male)
	}
	p := &person{id: id, birth: birth, male: male}
	for i := range p.u {
		p.u[i] = s.r.Float32()
	}
	s.persons = append(s.persons, p)
	return p, nil
}

func (p *person) ageAt(d day) int {
	b, t := p.birth.time(), d.time()
	age := t.Year() - b.Year()
	if t.YearDay() < b.YearDay() {
		age--
	}
	return age
}

func (s *simulation) run(ctx context.Context) error {
	growth := math.Pow(1.008, float64(s.opt.Years))
	for _, u := range s.units {
		n := int(math.Round(u.target / growth))
		for i := 0; i < n; i++ {
			age := s.drawAge()
			birth := s.start - day(age*365+s.r.IntN(365)+1)
			p, err := s.newPerson(birth, s.r.IntN(2) == 0)
			if err != nil {
				return err
			}
			p.res = []residence{{muni: u.muni, district: u.district, in: max(birth, s.start-day(s.r.IntN(age*365+1)))}}
			u.residents++
			s.history(p, p.res[0].in, s.start-1, u)
		}
	}
	years := s.opt.Years
	for y := 0; y < years; y++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		year := s.opt.EndYear - years + 1 + y
		if err := s.year(year); err != nil {
			return err
		}
		if s.opt.Progress != nil {
			s.opt.Progress(float64(y+1) / float64(years))
		}
	}
	s.finish()
	return nil
}

// history writes the vaccinations and growth checks of a person's life
// before the simulated window (or before moving in), as the health
// station's records would hold them.
func (s *simulation) history(p *person, from, to day, u *unit) {
	if to < p.birth || p.ageAt(to) > 30 {
		return
	}
	s.vaccinations(p, p.birth, to, u)
	s.growthChecks(p, max(from, p.birth), to, u)
}

func mortality(age int, ltc bool) float64 {
	q := math.Exp(-10.2 + 0.094*float64(age))
	if age == 0 {
		q = 0.002
	}
	if ltc {
		q = math.Max(q*2.5, 0.3)
	}
	return math.Min(q, 0.6)
}

func (s *simulation) year(y int) error {
	ys, ye := ymd(y, 1, 1), ymd(y, 12, 31)
	n := len(s.persons)
	outBy := map[string]int{}
	for i := 0; i < n; i++ {
		p := s.persons[i]
		if p.gone {
			continue
		}
		cur := &p.res[len(p.res)-1]
		u := s.unit(cur)
		age := y - p.birth.time().Year()
		from := max(ys, cur.in)
		var deathDay, moveDay day
		internal := false
		if s.r.Float64() < mortality(age, p.ltc) {
			deathDay = from + day(s.r.IntN(int(ye-from)+1))
		} else if x := s.r.Float64(); x < pMoveOut(age) {
			moveDay = from + day(s.r.IntN(int(ye-from)+1))
		} else if x < pMoveOut(age)+0.02 && ye > from {
			moveDay = from + day(s.r.IntN(int(ye-from)))
			internal = true
		}
		switch {
		case deathDay > 0:
			s.events(p, from, deathDay, u, y)
			p.death, p.gone = deathDay, true
			s.closeSpells(p, deathDay)
			u.residents--
		case moveDay > 0 && !internal:
			s.events(p, from, moveDay, u, y)
			cur.out, p.gone = moveDay, true
			s.closeSpells(p, moveDay)
			u.residents--
			outBy[u.muni]++
		case internal:
			s.events(p, from, moveDay, u, y)
			cur.out = moveDay
			nu := s.pickUnit()
			u.residents--
			nu.residents++
			p.res = append(p.res, residence{muni: nu.muni, district: nu.district, in: moveDay + 1})
			s.events(p, moveDay+1, ye, nu, y)
		default:
			s.events(p, from, ye, u, y)
		}
	}
	// Births and moves into the cluster, per unit.
	for _, u := range s.units {
		births := poisson(s.r, float64(u.residents)*0.0105)
		for i := 0; i < births; i++ {
			b := ys + day(s.r.IntN(365))
			p, err := s.newPerson(b, s.r.IntN(2) == 0)
			if err != nil {
				return err
			}
			p.res = []residence{{muni: u.muni, district: u.district, in: b}}
			u.residents++
			s.events(p, b, ye, u, y)
		}
		share := u.target / s.muniTarget(u.muni)
		movers := poisson(s.r, float64(outBy[u.muni])*share+float64(u.residents)*0.0075)
		for i := 0; i < movers; i++ {
			age := s.drawMoverAge()
			in := ys + day(s.r.IntN(365))
			birth := in - day(age*365+s.r.IntN(365))
			p, err := s.newPerson(birth, s.r.IntN(2) == 0)
			if err != nil {
				return err
			}
			p.res = []residence{{muni: u.muni, district: u.district, in: in}}
			u.residents++
			s.history(p, p.birth, in-1, u)
			s.events(p, in, ye, u, y)
		}
	}
	return nil
}

func pMoveOut(age int) float64 {
	switch {
	case age >= 18 && age <= 35:
		return 0.06
	case age < 18:
		return 0.02
	case age < 67:
		return 0.015
	}
	return 0.005
}

func (s *simulation) unit(r *residence) *unit {
	if r.district != "" {
		return s.unitOf[r.district]
	}
	return s.unitOf[r.muni]
}

func (s *simulation) muniTarget(muni string) float64 {
	t := 0.0
	for _, u := range s.units {
		if u.muni == muni {
			t += u.target
		}
	}
	return t
}

func (s *simulation) pickUnit() *unit {
	total := 0.0
	for _, u := range s.units {
		total += u.target
	}
	x := s.r.Float64() * total
	for _, u := range s.units {
		x -= u.target
		if x <= 0 {
			return u
		}
	}
	return s.units[len(s.units)-1]
}

// events draws everything that happens to p while resident in u between
// days a and b (inclusive) of year y.
func (s *simulation) events(p *person, a, b day, u *unit, y int) {
	if b < a {
		return
	}
	s.contacts(p, a, b, u, y)
	s.vaccinations(p, a, b, u)
	s.growthChecks(p, a, b, u)
	s.care(p, a, b, u, y)
}

func (s *simulation) row(name string, fields ...string) { s.w.write(name, fields) }

func (s *simulation) date(d day) string { return string(appendDate(nil, d)) }

func (s *simulation) between(a, b day) day { return a + day(s.r.IntN(int(b-a)+1)) }
