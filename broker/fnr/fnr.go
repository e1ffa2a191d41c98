// Package fnr handles Norwegian personal identity numbers (fødselsnummer):
// the mod-11 check digits, the birth date they encode, and the synthetic
// numbers the generator hands out.
//
// A synthetic number adds 80 to the birth month (the convention of the
// Norwegian tax administration's test numbers), so it can never be a real
// person's number; D-numbers (day + 40) and H-numbers (month + 40) are
// recognised too, because real extracts contain them.
package fnr

import (
	"errors"
	"fmt"
	"time"
)

// Kind says which numbering a valid number belongs to.
type Kind int

// The kinds of identity number.
const (
	Ordinary  Kind = iota // fødselsnummer
	DNumber               // day + 40
	HNumber               // month + 40
	Synthetic             // month + 80
)

var (
	w1 = [9]int{3, 7, 6, 1, 8, 9, 4, 5, 2}
	w2 = [10]int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2}
)

// Errors returned by Parse; callers use them as quarantine reasons.
var (
	ErrLength     = errors.New("must be 11 digits")
	ErrCheckDigit = errors.New("check digits do not match")
	ErrDate       = errors.New("encodes no valid birth date")
)

// checkDigits computes the two mod-11 check digits of the first nine
// digits; ok is false when no valid number exists for them (a remainder
// that would need the digit 10).
func checkDigits(d []int) (k1, k2 int, ok bool) {
	s := 0
	for i := 0; i < 9; i++ {
		s += w1[i] * d[i]
	}
	k1 = 11 - s%11
	if k1 == 11 {
		k1 = 0
	}
	if k1 == 10 {
		return 0, 0, false
	}
	s = 0
	for i := 0; i < 9; i++ {
		s += w2[i] * d[i]
	}
	s += w2[9] * k1
	k2 = 11 - s%11
	if k2 == 11 {
		k2 = 0
	}
	if k2 == 10 {
		return 0, 0, false
	}
	return k1, k2, true
}

// Info is what a valid number tells.
type Info struct {
	Birth time.Time
	Male  bool // the ninth digit is odd for men
	Kind  Kind
}

// Parse validates s and returns what it encodes.
func Parse(s string) (Info, error) {
	if len(s) != 11 {
		return Info{}, ErrLength
	}
	var d [11]int
	for i := 0; i < 11; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return Info{}, ErrLength
		}
		d[i] = int(c - '0')
	}
	k1, k2, ok := checkDigits(d[:9])
	if !ok || k1 != d[9] || k2 != d[10] {
		return Info{}, ErrCheckDigit
	}
	day := d[0]*10 + d[1]
	month := d[2]*10 + d[3]
	yy := d[4]*10 + d[5]
	ind := d[6]*100 + d[7]*10 + d[8]
	kind := Ordinary
	switch {
	case day > 40:
		day -= 40
		kind = DNumber
	case month > 80:
		month -= 80
		kind = Synthetic
	case month > 40:
		month -= 40
		kind = HNumber
	}
	year, ok := century(yy, ind)
	if !ok {
		return Info{}, ErrDate
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return Info{}, ErrDate
	}
	return Info{
		Birth: time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC),
		Male:  d[8]%2 == 1,
		Kind:  kind,
	}, nil
}

// century resolves the two-digit year with the individual number, by the
// ranges the population register allots.
func century(yy, ind int) (int, bool) {
	switch {
	case ind <= 499:
		return 1900 + yy, true
	case ind <= 749 && yy >= 54:
		return 1800 + yy, true
	case ind >= 900 && yy >= 40:
		return 1900 + yy, true
	case ind >= 500 && yy <= 39:
		return 2000 + yy, true
	}
	return 0, false
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// individualRange is the individual numbers allotted to a birth year.
func individualRange(year int) (lo, hi int, ok bool) {
	switch {
	case year >= 1900 && year <= 1999:
		return 0, 499, true
	case year >= 2000 && year <= 2039:
		return 500, 999, true
	}
	return 0, 0, false
}

// Synthesizer hands out distinct synthetic numbers. It is not safe for
// concurrent use.
type Synthesizer struct {
	next map[synthKey]int
}

type synthKey struct {
	date int32 // days since 1900-01-01
	male bool
}

// NewSynthesizer returns a generator of distinct synthetic numbers.
func NewSynthesizer() *Synthesizer { return &Synthesizer{next: map[synthKey]int{}} }

// New returns the next unused synthetic number for the birth date and sex,
// or an error when that date's individual numbers are exhausted.
func (s *Synthesizer) New(birth time.Time, male bool) (string, error) {
	lo, hi, ok := individualRange(birth.Year())
	if !ok {
		return "", fmt.Errorf("synthetic fødselsnummer: birth year %d outside 1900–2039", birth.Year())
	}
	key := synthKey{int32(birth.Sub(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)).Hours() / 24), male}
	ind := s.next[key]
	if ind < lo {
		ind = lo
	}
	var d [11]int
	day, month, yy := birth.Day(), int(birth.Month())+80, birth.Year()%100
	d[0], d[1] = day/10, day%10
	d[2], d[3] = month/10, month%10
	d[4], d[5] = yy/10, yy%10
	for ; ind <= hi; ind++ {
		if (ind%2 == 1) != male {
			continue
		}
		d[6], d[7], d[8] = ind/100, ind/10%10, ind%10
		k1, k2, ok := checkDigits(d[:9])
		if !ok {
			continue
		}
		d[9], d[10] = k1, k2
		s.next[key] = ind + 1
		var b [11]byte
		for i := range d {
			b[i] = byte('0' + d[i])
		}
		return string(b[:]), nil
	}
	return "", fmt.Errorf("synthetic fødselsnummer: individual numbers for %s exhausted", birth.Format(time.DateOnly))
}
