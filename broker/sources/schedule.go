package sources

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Oslo on machines without a zone database

	"go.yaml.in/yaml/v3"
)

// Schedule is when a source is pulled: every Every, at the wall-clock
// times of Zone (Europe/Oslo unless told) that are At plus a whole number
// of Every. Every is either a divisor of a day (15m, 1h, 6h, 24h) — the
// slots are then the same every day, At being one of them — or a whole
// number of days (48h, 168h), counted from Monday 2000-01-03, so that
// "every: 168h" is every Monday.
//
// The format is the simple one on purpose: a cron parser would add a
// dependency for expressions the sources do not need, and the Go cron
// library most used (robfig/cron) has had no release since 2020. The zero
// Schedule means the source is pulled only on request.
type Schedule struct {
	Every time.Duration
	At    time.Duration // since midnight
	Zone  *time.Location
}

var oslo = mustZone("Europe/Oslo")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // time/tzdata is embedded
	}
	return loc
}

const day = 24 * time.Hour

// monday is the day multi-day schedules count from.
var monday = time.Date(2000, 1, 3, 0, 0, 0, 0, time.UTC)

// IsZero reports whether the schedule is "only on request".
func (s Schedule) IsZero() bool { return s.Every == 0 }

func (s Schedule) String() string {
	if s.IsZero() {
		return "on request"
	}
	at := fmt.Sprintf("%02d:%02d", int(s.At/time.Hour), int(s.At%time.Hour/time.Minute))
	return fmt.Sprintf("every %s at %s %s", fmtDuration(s.Every), at, s.zone())
}

func fmtDuration(d time.Duration) string {
	str := d.String()
	str = strings.TrimSuffix(str, "0s")
	return strings.TrimSuffix(str, "0m")
}

func (s Schedule) zone() *time.Location {
	if s.Zone == nil {
		return oslo
	}
	return s.Zone
}

// slots returns the day's slots (in order) of the local day y-m-d.
func (s Schedule) slots(y int, m time.Month, d int) []time.Time {
	loc := s.zone()
	if s.Every >= day {
		n := int(s.Every / day)
		days := int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Sub(monday) / day)
		if ((days%n)+n)%n != 0 {
			return nil
		}
		return []time.Time{wall(y, m, d, s.At, loc)}
	}
	var out []time.Time
	for off := s.At % s.Every; off < day; off += s.Every {
		out = append(out, wall(y, m, d, off, loc))
	}
	return out
}

// wall is the instant the clocks of loc show off after midnight on y-m-d;
// a time the spring change skips moves forward by the gap.
func wall(y int, m time.Month, d int, off time.Duration, loc *time.Location) time.Time {
	return time.Date(y, m, d, int(off/time.Hour), int(off%time.Hour/time.Minute), int(off%time.Minute/time.Second), 0, loc)
}

// span is how many days to look either side for a slot.
func (s Schedule) span() int {
	if s.Every >= day {
		return int(s.Every/day) + 1
	}
	return 1
}

// Next is the first slot after t; the zero time for the zero Schedule.
func (s Schedule) Next(t time.Time) time.Time {
	if s.IsZero() {
		return time.Time{}
	}
	lt := t.In(s.zone())
	for i := -1; i <= s.span(); i++ {
		y, m, d := lt.AddDate(0, 0, i).Date()
		for _, slot := range s.slots(y, m, d) {
			if slot.After(t) {
				return slot
			}
		}
	}
	return time.Time{}
}

// Prev is the last slot at or before t; the zero time for the zero
// Schedule.
func (s Schedule) Prev(t time.Time) time.Time {
	if s.IsZero() {
		return time.Time{}
	}
	lt := t.In(s.zone())
	for i := 1; i >= -s.span(); i-- {
		y, m, d := lt.AddDate(0, 0, i).Date()
		slots := s.slots(y, m, d)
		for j := len(slots) - 1; j >= 0; j-- {
			if !slots[j].After(t) {
				return slots[j]
			}
		}
	}
	return time.Time{}
}

// ParseSchedule builds a schedule from its parts, as the sources file
// gives them: every ("6h"), at ("02:00", default "00:00") and zone
// (default "Europe/Oslo").
func ParseSchedule(every, at, zone string) (Schedule, error) {
	var s Schedule
	d, err := time.ParseDuration(every)
	if err != nil || d <= 0 {
		return s, fmt.Errorf("every %q is not a positive duration (like 1h, 6h, 24h or 168h)", every)
	}
	switch {
	case d < time.Minute:
		return s, fmt.Errorf("every %q is shorter than a minute", every)
	case d < day && day%d != 0:
		return s, fmt.Errorf("every %q does not divide a day (want one of 15m, 30m, 1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h, or whole days)", every)
	case d > day && d%day != 0:
		return s, fmt.Errorf("every %q is longer than a day but not a whole number of days (48h, 168h)", every)
	}
	s.Every = d
	if at != "" {
		t, err := time.Parse("15:04", at)
		if err != nil {
			return s, fmt.Errorf("at %q is not a time of day (like \"02:00\")", at)
		}
		s.At = time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
	}
	if zone != "" {
		if s.Zone, err = time.LoadLocation(zone); err != nil {
			return s, fmt.Errorf("zone %q is not a time zone (like Europe/Oslo)", zone)
		}
	}
	return s, nil
}

func (p *parser) schedule(s *Source, v *yaml.Node) Schedule {
	if v.Kind == yaml.ScalarNode && (v.Value == "manual" || v.Value == "on request") {
		return Schedule{}
	}
	if v.Kind != yaml.MappingNode {
		p.add(Problem{Line: v.Line, Source: s.Name, Field: "schedule", Text: "must be \"manual\" or a mapping like {every: 24h, at: \"02:00\"}"})
		return Schedule{}
	}
	parts := map[string]string{}
	lines := map[string]int{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, x := v.Content[i], v.Content[i+1]
		switch k.Value {
		case "every", "at", "zone":
			parts[k.Value] = x.Value
			lines[k.Value] = x.Line
		default:
			p.add(Problem{Line: k.Line, Source: s.Name, Field: "schedule." + k.Value, Text: "is not a schedule setting (want every, at, zone)"})
		}
	}
	if parts["every"] == "" {
		p.add(Problem{Line: v.Line, Source: s.Name, Field: "schedule.every", Text: "is missing (like every: 24h)"})
		return Schedule{}
	}
	sch, err := ParseSchedule(parts["every"], parts["at"], parts["zone"])
	if err != nil {
		field, text, _ := strings.Cut(err.Error(), " ")
		p.add(Problem{Line: lines[field], Source: s.Name, Field: "schedule." + field, Text: text})
		return Schedule{}
	}
	return sch
}
