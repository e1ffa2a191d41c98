package inquiry

import (
	"time"
	_ "time/tzdata" // the deadline rules need Norway's clock wherever the broker runs
)

// Oslo is Norway's time zone: a day's date, and so a deadline, is the date
// in Norway, not in UTC.
var Oslo = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		panic("embedded time zone data lacks Europe/Oslo: " + err.Error())
	}
	return loc
}()

// Norwegian working days: Monday to Friday except the public holidays
// (helligdager and 1 and 17 May). The moving holidays follow Easter, which
// is computed, so no year is hard-coded.

// Easter returns Easter Sunday of year (Gregorian, the anonymous algorithm).
func Easter(year int) time.Time {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
}

// Holidays returns Norway's public holidays in year, in date order.
func Holidays(year int) []time.Time {
	e := Easter(year)
	fixed := func(m time.Month, d int) time.Time { return time.Date(year, m, d, 0, 0, 0, 0, time.UTC) }
	return []time.Time{
		fixed(time.January, 1),   // nyttårsdag
		e.AddDate(0, 0, -3),      // skjærtorsdag
		e.AddDate(0, 0, -2),      // langfredag
		e,                        // første påskedag
		e.AddDate(0, 0, 1),       // andre påskedag
		fixed(time.May, 1),       // offentlig høytidsdag
		fixed(time.May, 17),      // grunnlovsdag
		e.AddDate(0, 0, 39),      // Kristi himmelfartsdag
		e.AddDate(0, 0, 49),      // første pinsedag
		e.AddDate(0, 0, 50),      // andre pinsedag
		fixed(time.December, 25), // første juledag
		fixed(time.December, 26), // andre juledag
	}
}

func day(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// IsWorkingDay reports whether t's date is a Norwegian working day.
func IsWorkingDay(t time.Time) bool {
	d := day(t)
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	for _, h := range Holidays(d.Year()) {
		if h.Equal(d) {
			return false
		}
	}
	return true
}

// AddWorkingDays returns the date n working days after t's date (n ≥ 0);
// the day of t itself does not count, as with a deadline "within n working
// days of receipt".
func AddWorkingDays(t time.Time, n int) time.Time {
	d := day(t)
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if IsWorkingDay(d) {
			n--
		}
	}
	return d
}

// WorkingDaysBetween counts the working days after from's date up to and
// including to's date; negative when to is before from.
func WorkingDaysBetween(from, to time.Time) int {
	a, b := day(from), day(to)
	sign := 1
	if b.Before(a) {
		a, b, sign = b, a, -1
	}
	n := 0
	for d := a.AddDate(0, 0, 1); !d.After(b); d = d.AddDate(0, 0, 1) {
		if IsWorkingDay(d) {
			n++
		}
	}
	return sign * n
}
