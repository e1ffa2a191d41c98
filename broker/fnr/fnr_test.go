package fnr

import (
	"errors"
	"testing"
	"time"
)

func TestParseRecognisesKindsAndRefusesBadNumbers(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Info
		wantErr error
	}{
		// Published test numbers from the tax administration's examples.
		{"ordinary, individual number 501 means the 2000s", "01010750160", Info{time.Date(2007, 1, 1, 0, 0, 0, 0, time.UTC), true, Ordinary}, nil},
		{"wrong length", "0101075016", Info{}, ErrLength},
		{"letters", "0101075016X", Info{}, ErrLength},
		{"changed last digit", "01010750161", Info{}, ErrCheckDigit},
		{"changed first digit", "11010750160", Info{}, ErrCheckDigit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Parse(%q) error = %v, want %v", tc.in, err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestSynthesizerNumbersAreValidSyntheticAndDistinct(t *testing.T) {
	s := NewSynthesizer()
	seen := map[string]bool{}
	for _, birth := range []time.Time{
		time.Date(1931, 2, 28, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC),
	} {
		for i := 0; i < 150; i++ {
			male := i%2 == 0
			n, err := s.New(birth, male)
			if err != nil {
				t.Fatalf("New(%s): %v", birth, err)
			}
			if seen[n] {
				t.Fatalf("number %s handed out twice", n)
			}
			seen[n] = true
			info, err := Parse(n)
			if err != nil {
				t.Fatalf("synthetic number %s does not parse: %v", n, err)
			}
			if info.Kind != Synthetic || !info.Birth.Equal(birth) || info.Male != male {
				t.Fatalf("Parse(%s) = %+v, want synthetic %s male=%v", n, info, birth, male)
			}
			if n[2] < '8' {
				t.Fatalf("synthetic number %s does not carry month+80", n)
			}
		}
	}
}

func TestSynthesizerReportsExhaustion(t *testing.T) {
	s := NewSynthesizer()
	birth := time.Date(1950, 6, 15, 0, 0, 0, 0, time.UTC)
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		_, err = s.New(birth, true)
	}
	if err == nil {
		t.Fatal("expected exhaustion of individual numbers for one date and sex")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"01010750160", "41010750160", "01810750160", "", "abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		info, err := Parse(s)
		if err != nil {
			return
		}
		if info.Birth.IsZero() || info.Birth.Year() < 1854 || info.Birth.Year() > 2039 {
			t.Fatalf("Parse(%q) accepted an impossible birth date %s", s, info.Birth)
		}
	})
}
