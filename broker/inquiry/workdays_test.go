package inquiry_test

import (
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/inquiry"
)

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestEasterMatchesTheAlmanac(t *testing.T) {
	for year, want := range map[int]string{2019: "2019-04-21", 2024: "2024-03-31", 2025: "2025-04-20", 2026: "2026-04-05", 2038: "2038-04-25", 2285: "2285-03-22"} {
		if got := inquiry.Easter(year).Format(time.DateOnly); got != want {
			t.Errorf("Easter(%d) = %s, want %s", year, got, want)
		}
	}
}

func TestWorkingDays(t *testing.T) {
	tests := []struct {
		name string
		from string
		n    int
		want string
	}{
		{"plain week", "2025-03-03", 5, "2025-03-10"},
		{"over a weekend", "2025-03-07", 1, "2025-03-10"},
		{"over Easter 2025 (17, 18, 21 April off)", "2025-04-15", 3, "2025-04-23"},
		{"over 1 May and Ascension 2025 (29 May)", "2025-04-30", 2, "2025-05-05"},
		{"17 May on a weekday (2024 Friday)", "2024-05-16", 1, "2024-05-21"}, // 17 May, weekend, Whit Monday 20 May
		{"Christmas", "2025-12-23", 2, "2025-12-29"},
		{"new year", "2025-12-31", 1, "2026-01-02"},
		{"zero days", "2025-03-08", 0, "2025-03-08"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := inquiry.AddWorkingDays(date(tc.from), tc.n)
			if got.Format(time.DateOnly) != tc.want {
				t.Fatalf("AddWorkingDays(%s, %d) = %s, want %s", tc.from, tc.n, got.Format(time.DateOnly), tc.want)
			}
			if tc.n > 0 && inquiry.WorkingDaysBetween(date(tc.from), got) != tc.n {
				t.Fatalf("WorkingDaysBetween disagrees with AddWorkingDays")
			}
		})
	}
}

// Property: for every start day over several years and spans up to 30,
// counting back the days added gives the span, and the result is a working day.
func TestWorkingDaysRoundTrip(t *testing.T) {
	start := date("2024-01-01")
	for d := 0; d < 3*366; d += 3 {
		from := start.AddDate(0, 0, d)
		for n := 1; n <= 30; n += 7 {
			to := inquiry.AddWorkingDays(from, n)
			if !inquiry.IsWorkingDay(to) {
				t.Fatalf("AddWorkingDays(%s, %d) = %s is not a working day", from.Format(time.DateOnly), n, to.Format(time.DateOnly))
			}
			if got := inquiry.WorkingDaysBetween(from, to); got != n {
				t.Fatalf("between %s and %s: %d working days, want %d", from.Format(time.DateOnly), to.Format(time.DateOnly), got, n)
			}
			if got := inquiry.WorkingDaysBetween(to, from); got != -n {
				t.Fatalf("reverse count = %d, want %d", got, -n)
			}
		}
	}
}

func TestDeadlineCountsFromTheNorwegianDate(t *testing.T) {
	// 23:30 UTC on Monday 3 March 2025 is already Tuesday in Norway.
	late := time.Date(2025, 3, 3, 23, 30, 0, 0, time.UTC)
	if got := inquiry.AddWorkingDays(late.In(inquiry.Oslo), 1).Format(time.DateOnly); got != "2025-03-05" {
		t.Fatalf("one working day after Tuesday = %s, want 2025-03-05", got)
	}
}
