package portfolio_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
)

var tagLike = regexp.MustCompile(`(?i)<[a-z/!?]`)

// FuzzText: whatever comes in, Text either refuses it naming the field, or
// returns trimmed, valid UTF-8 plain text within the limit and without
// markup or control characters.
func FuzzText(f *testing.F) {
	for _, s := range []string{"Søvn og uro", "<script>x</script>", "a < b og c > d", "&lt;img", "\x00", "  ok  ", "javascript:void(0)", "linje1\nlinje2", "\xff\xfe"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, multiline bool) {
		out, err := portfolio.Text("field", s, 50, true, multiline)
		if err != nil {
			var ie *portfolio.InputError
			if !errors.As(err, &ie) || ie.Field != "field" {
				t.Fatalf("error %v does not name the field", err)
			}
			return
		}
		if !utf8.ValidString(out) || out != strings.TrimSpace(out) || out == "" || utf8.RuneCountInString(out) > 50 {
			t.Fatalf("accepted %q", out)
		}
		if tagLike.MatchString(out) {
			t.Fatalf("accepted markup %q", out)
		}
		for _, r := range out {
			if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
				t.Fatalf("accepted control character in %q", out)
			}
		}
	})
}

func TestTextAcceptsOrdinaryComparisons(t *testing.T) {
	for _, s := range []string{"a < b", "alder 67 > 80?", "5<6", "Ja & nei", "e-post: kari@uib.no"} {
		if _, err := portfolio.Text("f", s, 100, true, false); err != nil {
			t.Errorf("%q refused: %v", s, err)
		}
	}
}
