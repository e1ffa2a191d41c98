package extract

import (
	"database/sql/driver"
	"strconv"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"github.com/kunnskapskommunen/folkekommune/broker/fnr"
)

// problem is why a record was refused: the source column and a sentence.
type problem struct {
	field, reason string
}

// validator turns a source record into a staging row, or says why not.
// It owns the pseudonymiser, so raw identity numbers stop here.
type validator struct {
	ps     *Pseudonymiser
	today  time.Time
	munis  map[string]bool
	dists  map[string]bool
	vacc   map[string]int
	person fnr.Info
	row    []driver.Value
}

func newValidator(ps *Pseudonymiser, today time.Time) *validator {
	v := &validator{ps: ps, today: today, munis: map[string]bool{}, dists: map[string]bool{}, vacc: map[string]int{}}
	for _, m := range catalog.Municipalities {
		v.munis[m.Code] = true
	}
	for _, d := range catalog.Districts {
		v.dists[d.Code] = true
	}
	for _, x := range catalog.Vaccines {
		v.vacc[x.Code.Code] = x.Doses
	}
	return v
}

// date parses an ISO 8601 calendar date strictly (YYYY-MM-DD) and refuses
// dates that cannot have happened: before 1850, after today, or before the
// person's birth when after is set.
func (v *validator) date(s, field string, required bool, after time.Time) (time.Time, bool, *problem) {
	if s == "" {
		if required {
			return time.Time{}, false, &problem{field, "is missing"}
		}
		return time.Time{}, false, nil
	}
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false, &problem{field, "is not a date in the form YYYY-MM-DD"}
	}
	y, e1 := strconv.Atoi(s[:4])
	m, e2 := strconv.Atoi(s[5:7])
	d, e3 := strconv.Atoi(s[8:])
	if e1 != nil || e2 != nil || e3 != nil {
		return time.Time{}, false, &problem{field, "is not a date in the form YYYY-MM-DD"}
	}
	if m < 1 || m > 12 || d < 1 || d > time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return time.Time{}, false, &problem{field, "is not a calendar date"}
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	switch {
	case y < 1850:
		return t, false, &problem{field, "is before 1850"}
	case t.After(v.today):
		return t, false, &problem{field, "is in the future"}
	case !after.IsZero() && t.Before(after):
		return t, false, &problem{field, "is before the person's birth"}
	}
	return t, true, nil
}

// identity checks the fødselsnummer and pseudonymises it.
func (v *validator) identity(s string) (uint64, *problem) {
	if s == "" {
		return 0, &problem{"fodselsnummer", "is missing"}
	}
	info, err := fnr.Parse(s)
	if err != nil {
		return 0, &problem{"fodselsnummer", err.Error()}
	}
	v.person = info
	return v.ps.PID(s), nil
}

func (v *validator) municipality(s string) *problem {
	if s == "" {
		return &problem{"kommunenummer", "is missing"}
	}
	if !v.munis[s] {
		return &problem{"kommunenummer", "is not a municipality of the collaboration"}
	}
	return nil
}

func code(m map[string]string, s, field string) (string, *problem) {
	if s == "" {
		return "", &problem{field, "is missing"}
	}
	c, ok := m[s]
	if !ok {
		return "", &problem{field, "has an unknown code"}
	}
	return c, nil
}

func nullDate(t time.Time, ok bool) driver.Value {
	if !ok {
		return nil
	}
	return t
}

func monthStart(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// validate dispatches on the dataset; line is written first in the row.
func (v *validator) validate(ds Dataset, line int64, rec []string) *problem {
	v.row = append(v.row[:0], line)
	switch ds {
	case Population:
		return v.population(rec)
	case Growth:
		return v.growth(rec)
	case Vaccination:
		return v.vaccination(rec)
	case GPContact:
		return v.gpContact(rec)
	case Care:
		return v.care(rec)
	}
	return &problem{"", "unknown dataset"}
}

// population: fodselsnummer, fodselsdato, kjonn, kommunenummer, bydel,
// innflyttet, utflyttet, dodsdato.
func (v *validator) population(rec []string) *problem {
	pid, p := v.identity(rec[0])
	if p != nil {
		return p
	}
	birth, _, p := v.date(rec[1], "fodselsdato", true, time.Time{})
	if p != nil {
		return p
	}
	if !birth.Equal(v.person.Birth) {
		return &problem{"fodselsdato", "does not match the fødselsnummer"}
	}
	sex, p := code(sexCodes, rec[2], "kjonn")
	if p != nil {
		return p
	}
	if (sex == "M") != v.person.Male {
		return &problem{"kjonn", "does not match the fødselsnummer"}
	}
	if p := v.municipality(rec[3]); p != nil {
		return p
	}
	var district driver.Value
	switch {
	case rec[3] == catalog.BergenCode && rec[4] == "":
		return &problem{"bydel", "is missing for a Bergen resident"}
	case rec[3] == catalog.BergenCode && !v.dists[rec[4]]:
		return &problem{"bydel", "is not a Bergen district"}
	case rec[3] != catalog.BergenCode && rec[4] != "":
		return &problem{"bydel", "is given outside Bergen"}
	case rec[4] != "":
		district = rec[4]
	}
	in, _, p := v.date(rec[5], "innflyttet", true, birth)
	if p != nil {
		return p
	}
	out, hasOut, p := v.date(rec[6], "utflyttet", false, birth)
	if p != nil {
		return p
	}
	if hasOut && out.Before(in) {
		return &problem{"utflyttet", "is before innflyttet"}
	}
	death, hasDeath, p := v.date(rec[7], "dodsdato", false, birth)
	if p != nil {
		return p
	}
	var deathMonth driver.Value
	if hasDeath {
		deathMonth = monthStart(death)
	}
	v.row = append(v.row, pid, int16(birth.Year()), int8(birth.Month()), sex, deathMonth,
		v.ps.RecordKey(pid), rec[3], district, in, nullDate(out, hasOut))
	return nil
}

// growth: fodselsnummer, kommunenummer, kontroll, maledato, hoyde_cm, vekt_kg.
func (v *validator) growth(rec []string) *problem {
	pid, p := v.identity(rec[0])
	if p != nil {
		return p
	}
	if p := v.municipality(rec[1]); p != nil {
		return p
	}
	check, p := code(checkCodes, rec[2], "kontroll")
	if p != nil {
		return p
	}
	on, _, p := v.date(rec[3], "maledato", true, v.person.Birth)
	if p != nil {
		return p
	}
	h, p := number(rec[4], "hoyde_cm", 40, 220)
	if p != nil {
		return p
	}
	w, p := number(rec[5], "vekt_kg", 5, 200)
	if p != nil {
		return p
	}
	if bmi := w / (h / 100) / (h / 100); bmi < 8 || bmi > 70 {
		return &problem{"vekt_kg", "gives an impossible BMI with hoyde_cm"}
	}
	v.row = append(v.row, pid, rec[1], check, on, h, w)
	return nil
}

func number(s, field string, lo, hi float64) (float64, *problem) {
	if s == "" {
		return 0, &problem{field, "is missing"}
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, &problem{field, "is not a number"}
	}
	if x < lo || x > hi {
		return 0, &problem{field, "is outside the plausible range " + strconv.FormatFloat(lo, 'f', -1, 64) + "–" + strconv.FormatFloat(hi, 'f', -1, 64)}
	}
	return x, nil
}

// vaccination: fodselsnummer, kommunenummer, vaksine, dose, vaksinasjonsdato.
func (v *validator) vaccination(rec []string) *problem {
	pid, p := v.identity(rec[0])
	if p != nil {
		return p
	}
	if p := v.municipality(rec[1]); p != nil {
		return p
	}
	if rec[2] == "" {
		return &problem{"vaksine", "is missing"}
	}
	doses, ok := v.vacc[rec[2]]
	if !ok {
		return &problem{"vaksine", "has an unknown code"}
	}
	if rec[3] == "" {
		return &problem{"dose", "is missing"}
	}
	dose, err := strconv.Atoi(rec[3])
	if err != nil || dose < 1 || dose > doses {
		return &problem{"dose", "is not a dose of the programme for this vaccine"}
	}
	on, _, p := v.date(rec[4], "vaksinasjonsdato", true, v.person.Birth)
	if p != nil {
		return p
	}
	v.row = append(v.row, pid, rec[1], rec[2], int8(dose), on)
	return nil
}

// gpContact: fodselsnummer, kommunenummer, kontaktdato, icpc2, tjeneste, kontakttype.
func (v *validator) gpContact(rec []string) *problem {
	pid, p := v.identity(rec[0])
	if p != nil {
		return p
	}
	if p := v.municipality(rec[1]); p != nil {
		return p
	}
	on, _, p := v.date(rec[2], "kontaktdato", true, v.person.Birth)
	if p != nil {
		return p
	}
	if rec[3] == "" {
		return &problem{"icpc2", "is missing"}
	}
	if !catalog.ValidICPC2(rec[3]) {
		return &problem{"icpc2", "is not an ICPC-2 symptom or diagnosis code"}
	}
	svc, p := code(serviceCodes, rec[4], "tjeneste")
	if p != nil {
		return p
	}
	ct, p := code(contactCodes, rec[5], "kontakttype")
	if p != nil {
		return p
	}
	v.row = append(v.row, pid, rec[1], on, rec[3], svc, ct)
	return nil
}

// care: fodselsnummer, kommunenummer, tjeneste, vedtak_fra, vedtak_til.
func (v *validator) care(rec []string) *problem {
	pid, p := v.identity(rec[0])
	if p != nil {
		return p
	}
	if p := v.municipality(rec[1]); p != nil {
		return p
	}
	svc, p := code(careCodes, rec[2], "tjeneste")
	if p != nil {
		return p
	}
	from, _, p := v.date(rec[3], "vedtak_fra", true, v.person.Birth)
	if p != nil {
		return p
	}
	to, hasTo, p := v.date(rec[4], "vedtak_til", false, v.person.Birth)
	if p != nil {
		return p
	}
	if hasTo && to.Before(from) {
		return &problem{"vedtak_til", "is before vedtak_fra"}
	}
	v.row = append(v.row, pid, rec[1], svc, from, nullDate(to, hasTo))
	return nil
}
