package sources

import (
	"testing"
	"time"
)

func osloTime(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, oslo)
	if err != nil {
		panic(err)
	}
	return t
}

func TestScheduleSlotsAreOsloWallClockTimes(t *testing.T) {
	tests := []struct {
		name             string
		every, at        string
		t                string
		wantPrev, wantNx string
	}{
		{"daily, before the slot", "24h", "02:00", "2026-11-25 01:59", "2026-11-24 02:00", "2026-11-25 02:00"},
		{"daily, on the slot", "24h", "02:00", "2026-11-25 02:00", "2026-11-25 02:00", "2026-11-26 02:00"},
		{"six-hourly from 01:30", "6h", "01:30", "2026-11-25 08:00", "2026-11-25 07:30", "2026-11-25 13:30"},
		{"six-hourly across midnight", "6h", "01:30", "2026-11-25 23:00", "2026-11-25 19:30", "2026-11-26 01:30"},
		{"at later than every", "6h", "19:30", "2026-11-25 00:00", "2026-11-24 19:30", "2026-11-25 01:30"},
		{"weekly is Mondays", "168h", "03:00", "2026-11-25 12:00", "2026-11-23 03:00", "2026-11-30 03:00"},
		{"every other day", "48h", "00:00", "2026-11-25 12:00", "2026-11-24 00:00", "2026-11-26 00:00"},
		// Summer time: 02:30 on 29 March 2026 does not exist; the slot is
		// the same instant as 03:30 summer time.
		{"spring forward", "24h", "02:30", "2026-03-29 01:00", "2026-03-28 02:30", "2026-03-29 03:30"},
		{"daily in summer time", "24h", "02:00", "2026-07-01 12:00", "2026-07-01 02:00", "2026-07-02 02:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseSchedule(tc.every, tc.at, "")
			if err != nil {
				t.Fatal(err)
			}
			at := osloTime(tc.t)
			if got, want := s.Prev(at), osloTime(tc.wantPrev); !got.Equal(want) {
				t.Errorf("Prev(%s) = %s, want %s", tc.t, got.In(oslo), want)
			}
			if got, want := s.Next(at), osloTime(tc.wantNx); !got.Equal(want) {
				t.Errorf("Next(%s) = %s, want %s", tc.t, got.In(oslo), want)
			}
		})
	}
}

func TestDailyScheduleIsTwoOClockInBothWinterAndSummerUTC(t *testing.T) {
	s, _ := ParseSchedule("24h", "02:00", "")
	winter := s.Next(time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC))
	summer := s.Next(time.Date(2026, 7, 10, 12, 0, 0, 0, time.UTC))
	if winter.UTC().Hour() != 1 || summer.UTC().Hour() != 0 {
		t.Errorf("02:00 Oslo is %s UTC in winter and %s UTC in summer", winter.UTC(), summer.UTC())
	}
}

func TestOnRequestScheduleHasNoSlots(t *testing.T) {
	var s Schedule
	if !s.Next(time.Now()).IsZero() || !s.Prev(time.Now()).IsZero() || s.String() != "on request" {
		t.Error("the zero schedule has slots")
	}
}

func TestBadSchedulesAreRefused(t *testing.T) {
	for _, tc := range [][3]string{{"7h", "", ""}, {"30s", "", ""}, {"36h", "", ""}, {"1h", "2:0pm", ""}, {"1h", "", "Oslo"}, {"soon", "", ""}} {
		if _, err := ParseSchedule(tc[0], tc[1], tc[2]); err == nil {
			t.Errorf("ParseSchedule%q accepted", tc)
		}
	}
}
