package web

import (
	"encoding/xml"
	"io/fs"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

// keyInTemplate finds the message keys templates pass to .T / $.T.
var keyInTemplate = regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)

func TestEveryMessageTheTemplatesUseExistsInBothLanguages(t *testing.T) {
	err := fs.WalkDir(assets, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		b, err := fs.ReadFile(assets, p)
		if err != nil {
			return err
		}
		for _, m := range keyInTemplate.FindAllStringSubmatch(string(b), -1) {
			if _, ok := messages[m[1]]; !ok {
				t.Errorf("%s uses message %q, which the catalogue lacks", p, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, m := range messages {
		if strings.TrimSpace(m.NB) == "" || strings.TrimSpace(m.EN) == "" {
			t.Errorf("message %q lacks its bokmål or English text", k)
		}
		if strings.Count(m.NB, "%") != strings.Count(m.EN, "%") {
			t.Errorf("message %q: bokmål and English take different arguments", k)
		}
	}
	// Keys built at run time: roles, states, outcomes, flags, formats.
	for _, k := range []string{"role.researcher", "role.coordinator", "role.privacy_officer", "role.fou_contact", "role.admin",
		"state.review", "state.released", "state.denied", "state.rejected", "state.failed",
		"decision.allow", "decision.review", "decision.deny", "method.count.persons", "method.count.events",
		"method.unit.percent", "method.unit.per_1000", "method.period.calendar_year", "method.period.school_year",
		"method.period.cohort", "method.higher_is.better", "method.higher_is.worse", "field.dataset", "field.dimensions"} {
		if _, ok := messages[k]; !ok {
			t.Errorf("the catalogue lacks %q", k)
		}
	}
}

func TestTranslateFallsBackVisibly(t *testing.T) {
	if got := translate(langEN, "no.such.key"); got != "[[no.such.key]]" {
		t.Fatalf("a missing key reads %q", got)
	}
	if got := translate(langNB, "table.suppressed"); got != "skjult" {
		t.Fatalf("nb: %q", got)
	}
	if got := translate(langEN, "table.suppressed"); got != "suppressed" {
		t.Fatalf("en: %q", got)
	}
}

func TestNumbersAreWrittenTheNorwegianWayInBokmål(t *testing.T) {
	cases := []struct {
		lang string
		x    float64
		d    int
		want string
	}{
		{langNB, 1234567.891, 1, "1\u00a0234\u00a0567,9"},
		{langEN, 1234567.891, 1, "1,234,567.9"},
		{langNB, -12.5, 1, "−12,5"},
		{langNB, 0, 0, "0"},
		{langNB, 999, 0, "999"},
		{langNB, 1000, 0, "1\u00a0000"},
		{langNB, math.NaN(), 1, "–"},
	}
	for _, c := range cases {
		if got := formatNum(c.lang, c.x, c.d); got != c.want {
			t.Errorf("formatNum(%s, %v, %d) = %q, want %q", c.lang, c.x, c.d, got, c.want)
		}
	}
}

// svgDoc checks that s is well-formed XML with a title and desc, and
// returns the element names it holds.
func svgDoc(t *testing.T, s string) map[string]int {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(s))
	names := map[string]int{}
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("the chart is not well-formed SVG: %v\n%s", err, s)
		}
		if se, ok := tok.(xml.StartElement); ok {
			names[se.Name.Local]++
		}
	}
	if names["title"] == 0 || names["desc"] == 0 {
		t.Fatalf("the chart lacks <title> or <desc>")
	}
	return names
}

func TestTheLineChartDrawsTheBandTheLinesAndSuppressedMarks(t *testing.T) {
	nan := math.NaN()
	c := LineChart{
		ID: "t", Title: "Trend <&>", Desc: "d", Lang: langNB, SuppressedLabel: "skjult",
		X: []string{"2020", "2021", "2022", "2023", "2024"},
		Series: []Series{
			{Name: "Bergen", Values: []float64{10, 12, nan, 14, 15}, Lower: []float64{8, 10, nan, 12, 13}, Upper: []float64{12, 14, nan, 16, 17},
				Suppressed: []bool{false, false, true, false, false}},
			{Name: "Samarbeidet", Values: []float64{11, 11, 11, 11, 11}, Ref: true},
		},
	}
	s := string(c.SVG())
	names := svgDoc(t, s)
	// The gap at 2022 splits the band and the line in two.
	if names["polygon"] != 2 {
		t.Errorf("%d band polygons, want 2 (one each side of the suppressed year)", names["polygon"])
	}
	if names["polyline"] != 3 {
		t.Errorf("%d lines, want 2 for Bergen and 1 for the reference", names["polyline"])
	}
	if !strings.Contains(s, `class="dot suppressed"`) || !strings.Contains(s, "2022: skjult") {
		t.Error("the suppressed year is not marked as suppressed")
	}
	if strings.Contains(s, "Trend <&>") {
		t.Error("the title is not escaped")
	}
}

func TestTheDotChartMarksSuppressedAreasAndTheReference(t *testing.T) {
	c := DotChart{
		ID: "c", Title: "t", Desc: "d", Lang: langEN, SuppressedLabel: "suppressed", Reference: 20, RefLabel: "Cluster",
		Rows: []DotRow{
			{Label: "Bergen", Value: 21, Lower: 19, Upper: 23, Class: "same"},
			{Label: "Masfjorden", Value: math.NaN(), Suppressed: true},
			{Label: "Arna", Value: 30, Lower: 25, Upper: 35, Class: "worse", Indent: true},
		},
	}
	s := string(c.SVG())
	names := svgDoc(t, s)
	if names["rect"] != 2 {
		t.Errorf("%d bars, want 2 (none for the suppressed area)", names["rect"])
	}
	if !strings.Contains(s, ">suppressed<") || !strings.Contains(s, "– Arna") || !strings.Contains(s, `class="refline"`) {
		t.Errorf("missing the suppressed label, the indented district or the reference line:\n%s", s)
	}
}

func TestSafeNextKeepsRedirectsOnThisSite(t *testing.T) {
	cases := map[string]string{
		"":                         "/",
		"/foresporsler":            "/foresporsler",
		"/indikatorer/x?kommune=1": "/indikatorer/x?kommune=1",
		"//evil.example/":          "/",
		"https://evil.example/":    "/",
		"/\\evil.example":          "/",
		"javascript:alert(1)":      "/",
		"/a/../../b":               "/b",
	}
	for in, want := range cases {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSafeNextNeverLeavesTheSite(f *testing.F) {
	for _, s := range []string{"/", "//x", "/\\x", "http://x", "/a?b=//c", "/%2F%2Fx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := safeNext(in)
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") {
			t.Fatalf("safeNext(%q) = %q leaves the site", in, got)
		}
	})
}

func TestAFullSessionStoreDropsAnonymousSessionsBeforeSignedInOnes(t *testing.T) {
	defer func(n int) { maxSessions = n }(maxSessions)
	maxSessions = 100
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	s := NewSessions(time.Hour, 8*time.Hour, func() time.Time { return now })
	var signedIn []*Session
	for i := 0; i < 20; i++ {
		signedIn = append(signedIn, s.New(&User{ID: "u"}, "token"))
	}
	for i := 0; i < 1000; i++ {
		s.New(nil, "")
		if s.Len() > maxSessions {
			t.Fatalf("the store holds %d sessions, over its bound %d", s.Len(), maxSessions)
		}
	}
	for _, ss := range signedIn {
		if got, _ := s.Get(ss.ID); got == nil {
			t.Fatal("a flood of anonymous visitors signed someone out")
		}
	}
}

func TestSessionsEndAfterIdleOrAbsoluteTimeout(t *testing.T) {
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	s := NewSessions(30*time.Minute, 8*time.Hour, func() time.Time { return now })
	a := s.New(&User{ID: "a"}, "token")
	now = now.Add(29 * time.Minute)
	if got, _ := s.Get(a.ID); got == nil {
		t.Fatal("ended before the idle timeout")
	}
	now = now.Add(31 * time.Minute)
	if got, expired := s.Get(a.ID); got != nil || !expired {
		t.Fatalf("after 31 idle minutes: %v, expired %v", got, expired)
	}
	if got, expired := s.Get(a.ID); got != nil || expired {
		t.Fatal("an expired session is reported twice")
	}
	b := s.New(&User{ID: "b"}, "token")
	for i := 0; i < 17; i++ { // 17 × 29 min > 8 h
		now = now.Add(29 * time.Minute)
		s.Get(b.ID)
	}
	if got, _ := s.Get(b.ID); got != nil {
		t.Fatal("a busy session outlived its absolute timeout")
	}
}
