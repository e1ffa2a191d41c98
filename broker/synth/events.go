package synth

import (
	"math"
	"strconv"
)

// gpRate is the expected number of GP and emergency-room contacts a year
// by age and sex: about three per inhabitant on average.
func gpRate(age int, male bool) float64 {
	var r float64
	switch {
	case age < 5:
		r = 2.6
	case age < 15:
		r = 1.4
	case age < 30:
		r = 2.0
	case age < 50:
		r = 2.5
	case age < 67:
		r = 3.3
	case age < 80:
		r = 5.0
	default:
		r = 6.5
	}
	if !male && age >= 15 && age < 67 {
		r *= 1.35
	}
	return r
}

// Prevalence of the chronic conditions by age, compared with the person's
// stable draw so that a person who has diabetes at 60 still has it at 61.
func prevDiabetes(age int) float64 {
	if age < 30 {
		return 0.003
	}
	return math.Min(0.003*math.Exp(0.055*float64(age-30))*1.2, 0.16)
}

func prevAsthma(age int) float64 {
	if age < 15 {
		return 0.05
	}
	return 0.045
}

func prevCOPD(age int) float64 {
	if age < 40 {
		return 0
	}
	return math.Min(0.002*math.Exp(0.07*float64(age-40)), 0.12)
}

// Yearly probabilities of being a user for a chapter: psychological
// problems rising among the young over the decade, musculoskeletal by age.
func pPsych(age int, male bool, yearIndex int) float64 {
	var p float64
	switch {
	case age < 15:
		p = 0.03
	case age < 30:
		p = 0.11
	case age < 67:
		p = 0.09
	default:
		p = 0.05
	}
	if !male {
		p *= 1.4
	}
	if age >= 15 && age < 30 {
		p *= 1 + 0.035*float64(yearIndex)
	}
	return p
}

func pMusculo(age int) float64 {
	switch {
	case age < 15:
		return 0.04
	case age < 30:
		return 0.12
	case age < 45:
		return 0.18
	case age < 75:
		return 0.24
	}
	return 0.22
}

var (
	psychCodes   = []string{"P01", "P02", "P03", "P06", "P29", "P74", "P76", "P78", "P81", "P82", "P15", "P19"}
	musculoCodes = []string{"L01", "L02", "L03", "L08", "L15", "L18", "L84", "L86", "L89", "L90"}
	fractureCode = []string{"L72", "L73", "L74", "L75", "L76"}
	acuteCodes   = []string{"R74", "R74", "R74", "R75", "R76", "R78", "R80", "R05", "A04", "A97", "A98", "D73", "H71", "S03", "S87", "U71", "K86", "N01", "F70", "W11", "X14", "Y07", "Z29", "T82", "B80"}
	childCodes   = []string{"R74", "R74", "H71", "H71", "A03", "D73", "S87", "R05", "A97", "A98"}
	contactTypes = []struct {
		code   string
		weight float64
	}{{"konsultasjon", 0.62}, {"enkel", 0.2}, {"video", 0.05}, {"e-konsultasjon", 0.1}, {"sykebesok", 0.03}}
)

func (s *simulation) pick(list []string) string { return list[s.r.IntN(len(list))] }

func (s *simulation) contactType(age int) string {
	x := s.r.Float64()
	if age >= 80 && x < 0.12 {
		return "sykebesok"
	}
	x = s.r.Float64()
	for _, c := range contactTypes {
		x -= c.weight
		if x <= 0 {
			return c.code
		}
	}
	return "konsultasjon"
}

func (s *simulation) contacts(p *person, a, b day, u *unit, y int) {
	age := y - p.birth.time().Year()
	if age < 0 {
		return
	}
	frac := float64(b-a+1) / 365
	yi := y - (s.opt.EndYear - s.opt.Years + 1)
	n := poisson(s.r, gpRate(age, p.male)*u.gp*frac*(1+0.01*float64(yi)))
	var required []string
	if s.r.Float64() < pPsych(age, p.male, yi)*u.psych*frac {
		required = append(required, s.pick(psychCodes))
	}
	if s.r.Float64() < pMusculo(age)*frac {
		required = append(required, s.pick(musculoCodes))
	}
	fracture := age >= 75 && s.r.Float64() < 0.022*frac*map[bool]float64{true: 0.7, false: 1.3}[p.male]
	var chronic []string
	if float64(p.u[0]) < prevDiabetes(age)*u.diabetes {
		chronic = append(chronic, "T90")
	}
	if float64(p.u[1]) < prevAsthma(age) {
		chronic = append(chronic, "R96")
	}
	if float64(p.u[2]) < prevCOPD(age) {
		chronic = append(chronic, "R95")
	}
	for _, c := range chronic {
		if s.r.Float64() < 0.85*frac {
			required = append(required, c)
		}
	}
	muni := u.muni
	emit := func(code, service string) {
		s.row(FileContacts, p.id, muni, s.date(s.between(a, b)), code, service, s.contactType(age))
	}
	if fracture {
		emit(s.pick(fractureCode), "legevakt")
		emit(s.pick(fractureCode), "fastlege")
	}
	erShare := 0.09
	if age >= 15 && age < 30 {
		erShare = 0.15
	}
	service := func() string {
		if s.r.Float64() < erShare {
			return "legevakt"
		}
		return "fastlege"
	}
	for i, code := range required {
		emit(code, service())
		if i < n {
			n--
		}
	}
	for i := 0; i < n; i++ {
		var code string
		switch {
		case len(chronic) > 0 && s.r.Float64() < 0.35:
			code = s.pick(chronic)
		case age < 15:
			code = s.pick(childCodes)
		default:
			code = s.pick(acuteCodes)
		}
		emit(code, service())
	}
}

// The childhood immunisation programme: vaccine, dose, age in days, and
// the birth years it applies to (HPV for girls from 1997, boys from 2006).
var programme = []struct {
	vaccine  string
	dose     int
	ageDays  int
	coverage float64
	eligible func(birthYear int, male bool) bool
}{
	{"ROTA", 1, 42, 0.93, func(y int, _ bool) bool { return y >= 2014 }},
	{"ROTA", 2, 91, 0.93, func(y int, _ bool) bool { return y >= 2014 }},
	{"DTAP-IPV-HIB-HEPB", 1, 91, 0.97, func(y int, _ bool) bool { return y >= 1995 }},
	{"DTAP-IPV-HIB-HEPB", 2, 152, 0.97, func(y int, _ bool) bool { return y >= 1995 }},
	{"DTAP-IPV-HIB-HEPB", 3, 365, 0.96, func(y int, _ bool) bool { return y >= 1995 }},
	{"PCV", 1, 91, 0.95, func(y int, _ bool) bool { return y >= 2006 }},
	{"PCV", 2, 152, 0.95, func(y int, _ bool) bool { return y >= 2006 }},
	{"PCV", 3, 365, 0.94, func(y int, _ bool) bool { return y >= 2006 }},
	{"MMR", 1, 456, 0.965, func(y int, _ bool) bool { return y >= 1985 }},
	{"MMR", 2, 4200, 0.93, func(y int, _ bool) bool { return y >= 1985 }},
	{"DTAP-IPV", 1, 2555, 0.94, func(y int, _ bool) bool { return y >= 1995 }},
	{"DTAP-IPV", 2, 5650, 0.88, func(y int, _ bool) bool { return y >= 1995 }},
	{"HPV", 1, 4450, 0.91, func(y int, male bool) bool { return y >= 1997 && (!male || y >= 2006) }},
	{"HPV", 2, 4630, 0.89, func(y int, male bool) bool { return y >= 1997 && (!male || y >= 2006) }},
}

// stable returns a uniform number on [0, 1) fixed by the person and a
// salt, so that a dose's date and whether it is given do not depend on
// which year of the simulation looks at it.
func stable(id string, salt int) float64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	h ^= uint64(salt) * 0x9e3779b97f4a7c15
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return float64(h>>11) / (1 << 53)
}

func (s *simulation) vaccinations(p *person, a, b day, u *unit) {
	by := p.birth.time().Year()
	for i, v := range programme {
		if !v.eligible(by, p.male) {
			continue
		}
		if p.u[3] < 0.015 { // refuses the whole programme
			return
		}
		vsalt := int(v.vaccine[0])<<8 | len(v.vaccine)
		if stable(p.id, vsalt) > math.Min(v.coverage*u.vaccCover/0.98, 0.995) {
			continue
		}
		if v.dose > 1 && stable(p.id, 100+i) < 0.02 {
			continue
		}
		delay := int(stable(p.id, 200+i) * 45)
		if stable(p.id, 300+i) < 0.05 {
			delay += int(stable(p.id, 400+i) * 360)
		}
		d := p.birth + day(v.ageDays+delay)
		if d < a || d > b || d > s.end {
			continue
		}
		s.row(FileVaccination, p.id, u.muni, v.vaccine, strconv.Itoa(v.dose), s.date(d))
	}
}

var checks = []struct {
	code             string
	height, heightSD float64
	bmi, bmiLogSD    float64
	when             func(birth day, by int, jitter float64) day
}{
	{"4ar", 104, 4.5, 16.0, 0.085, func(b day, _ int, j float64) day { return b + day(4*365+int(j*90)) }},
	{"3trinn", 131, 6, 16.9, 0.12, func(_ day, by int, j float64) day { return ymd(by+8, 9, 1) + day(int(j*240)) }},
	{"8trinn", 160, 8, 19.6, 0.14, func(_ day, by int, j float64) day { return ymd(by+13, 9, 1) + day(int(j*240)) }},
}

func (s *simulation) growthChecks(p *person, a, b day, u *unit) {
	by := p.birth.time().Year()
	for i, c := range checks {
		d := c.when(p.birth, by, stable(p.id, 500+i))
		if d < a || d > b || d > s.end || stable(p.id, 600+i) > 0.9 {
			continue
		}
		h := c.height + c.heightSD*s.r.NormFloat64()
		if p.male {
			h += 1
		}
		// Overweight among children grew slightly over the decade.
		yi := float64(d.time().Year() - (s.opt.EndYear - s.opt.Years + 1))
		bmi := (c.bmi + u.bmiShift + 0.04*yi) * math.Exp(c.bmiLogSD*s.r.NormFloat64())
		w := bmi * (h / 100) * (h / 100)
		s.row(FileGrowth, p.id, u.muni, c.code, s.date(d),
			strconv.FormatFloat(h, 'f', 1, 64), strconv.FormatFloat(w, 'f', 1, 64))
	}
}

// careServices are the IPLOS-like services with their yearly onset hazard
// by age and their typical duration in days (0: until death).
var careServices = []struct {
	code     string
	minAge   int
	base     float64
	slope    float64
	duration float64
}{
	{"hjemmesykepleie", 67, 0.014, 0.085, 900},
	{"praktisk_bistand", 67, 0.009, 0.08, 1100},
	{"trygghetsalarm", 70, 0.012, 0.08, 1500},
	{"korttidsopphold", 70, 0.012, 0.085, -1},
	{"langtidsopphold", 75, 0.004, 0.11, 0},
	{"dagaktivitet", 67, 0.003, 0.06, 400},
}

func (s *simulation) care(p *person, a, b day, u *unit, y int) {
	age := y - p.birth.time().Year()
	frac := float64(b-a+1) / 365
	for _, c := range careServices {
		hz := 0.0
		switch {
		case age >= c.minAge:
			hz = c.base * math.Exp(c.slope*float64(age-c.minAge))
		case age >= 18 && c.code == "hjemmesykepleie":
			hz = 0.002
		}
		if hz == 0 || s.hasOpen(p, c.code, a) || s.r.Float64() >= math.Min(hz*u.care*frac, 0.5) {
			continue
		}
		if c.code == "langtidsopphold" && p.ltc {
			continue
		}
		start := s.between(a, b)
		var end day
		switch {
		case c.duration < 0:
			end = start + day(7+s.r.IntN(36))
		case c.duration > 0:
			end = start + day(1+int(s.r.ExpFloat64()*c.duration))
		default:
			p.ltc = true
		}
		p.spells = append(p.spells, careSpell{service: c.code, muni: u.muni, start: start, end: end})
	}
}

func (s *simulation) hasOpen(p *person, service string, at day) bool {
	for _, sp := range p.spells {
		if sp.service == service && (sp.end == 0 || sp.end >= at) {
			return true
		}
	}
	return false
}

func (s *simulation) closeSpells(p *person, d day) {
	for i := range p.spells {
		if p.spells[i].end == 0 || p.spells[i].end > d {
			p.spells[i].end = d
		}
	}
	p.ltc = false
}

// finish writes the population register and the care decisions, which are
// only complete once the whole window has been simulated.
func (s *simulation) finish() {
	for _, p := range s.persons {
		sex := "K"
		if p.male {
			sex = "M"
		}
		death := ""
		if p.death > 0 {
			death = s.date(p.death)
		}
		birth := s.date(p.birth)
		for _, r := range p.res {
			out := ""
			if r.out > 0 {
				out = s.date(r.out)
			}
			s.row(FilePopulation, p.id, birth, sex, r.muni, r.district, s.date(r.in), out, death)
		}
		for _, sp := range p.spells {
			end := ""
			if sp.end > 0 && sp.end <= s.end {
				end = s.date(sp.end)
			}
			s.row(FileCare, p.id, sp.muni, sp.service, s.date(sp.start), end)
		}
	}
}
