package portfolio

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// markup matches the start of an HTML tag, comment or processing
// instruction as HTML parsers read it ("<" directly followed by a letter,
// "/", "!" or "?"), its entity-encoded form, and javascript: URLs. Text
// fields are plain text; refusing markup at the border keeps a stored-XSS
// payload out of every page and e-mail that shows it later, while "a < b"
// stays allowed. Pages must still escape on output.
var markup = regexp.MustCompile(`(?i)<[a-z/!?]|&lt;[a-z/!?]|javascript:`)

// Text checks a plain-text field: trimmed, valid UTF-8, no control
// characters (newlines allowed when multiline), no markup, at most max
// characters, and present when required. It returns the trimmed text.
func Text(field, s string, max int, required, multiline bool) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", &InputError{field, "is not valid UTF-8 text"}
	}
	if s == "" {
		if required {
			return "", &InputError{field, "is required"}
		}
		return "", nil
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", &InputError{field, fmt.Sprintf("is %d characters; at most %d are allowed", n, max)}
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
			return "", &InputError{field, "contains a control character"}
		}
	}
	if markup.MatchString(s) {
		return "", &InputError{field, "contains HTML or script; plain text only"}
	}
	return s, nil
}

// Email checks an e-mail address and returns it in lower case.
func Email(field, s string, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			return "", &InputError{field, "is required"}
		}
		return "", nil
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 || !strings.Contains(s[strings.LastIndex(s, "@"):], ".") {
		return "", &InputError{field, fmt.Sprintf("%q is not an e-mail address", s)}
	}
	return strings.ToLower(s), nil
}

// Date is a calendar date in ISO 8601 form (YYYY-MM-DD); "" is no date.
type Date string

// Time parses the date; the zero time for "".
func (d Date) Time() time.Time {
	t, _ := time.Parse(time.DateOnly, string(d))
	return t
}

// DateOf is the date of t.
func DateOf(t time.Time) Date { return Date(t.Format(time.DateOnly)) }

func checkDate(field string, d Date, required bool) error {
	if d == "" {
		if required {
			return &InputError{field, "is required"}
		}
		return nil
	}
	t, err := time.Parse(time.DateOnly, string(d))
	if err != nil || t.Year() < 1990 || t.Year() > 2100 {
		return &InputError{field, fmt.Sprintf("%q is not a date in the form YYYY-MM-DD between 1990 and 2100", string(d))}
	}
	return nil
}

// Period checks a start and end date, both required when required, and in order.
func Period(startField string, start Date, endField string, end Date, required bool) error {
	if err := checkDate(startField, start, required); err != nil {
		return err
	}
	if err := checkDate(endField, end, required); err != nil {
		return err
	}
	if start != "" && end != "" && end < start {
		return &InputError{endField, fmt.Sprintf("%s is before %s %s", end, startField, start)}
	}
	return nil
}
