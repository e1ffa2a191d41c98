package disclosure

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
)

// TestFactsFromAnEarlierReleaseAreHonoured replays DESIGN.md's "67+ minus
// 80+ gives 67-79": an earlier release published 67+ by sex; the new table
// splits it into 67-79 and 80+. Protected alone, the new table hides the
// small 67-79 cell behind the cheaper 0-66 band — and the earlier 67+
// minus the published 80+ gives it away. Told the fact, Protect picks a
// pattern that keeps it.
func TestFactsFromAnEarlierReleaseAreHonoured(t *testing.T) {
	in := "age,sex,count\n" +
		"_T,_T,114\n_T,M,52\n_T,F,62\n" +
		"0-66,_T,22\n0-66,M,10\n0-66,F,12\n" +
		"67-79,_T,2\n67-79,M,2\n67-79,F,0\n" +
		"80+,_T,90\n80+,M,40\n80+,F,50\n"
	// 67+ by sex from the earlier release.
	facts := []Fact{
		{Terms: []FactTerm{{[]string{"67-79", "M"}, 1}, {[]string{"80+", "M"}, 1}}, Value: 42},
		{Terms: []FactTerm{{[]string{"67-79", "F"}, 1}, {[]string{"80+", "F"}, 1}}, Value: 50},
	}
	read := func() *cube.Table {
		ct, err := ReadCSV(strings.NewReader(in), nil)
		if err != nil {
			t.Fatal(err)
		}
		return ct.Table
	}
	ctx := context.Background()

	alone := read()
	if _, err := Protect(ctx, alone, Options{K: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := Audit(ctx, alone, Options{K: 3, AuditCells: exact}); err != nil {
		t.Fatalf("the table alone should pass: %v", err)
	}
	rep, err := Audit(ctx, alone, Options{K: 3, AuditCells: exact, Facts: facts})
	if !errors.Is(err, ErrAuditFailed) {
		t.Fatalf("beside the earlier release the table should fail the audit, got %v", err)
	}
	if f := rep.Failures[0]; f.Lower != 2 || f.Upper != 2 {
		t.Fatalf("attacker's interval [%g, %g], want exactly [2, 2]", f.Lower, f.Upper)
	}

	together := read()
	if _, err := Protect(ctx, together, Options{K: 3, Facts: facts}); err != nil {
		t.Fatal(err)
	}
	if _, err := Audit(ctx, together, Options{K: 3, AuditCells: exact, Facts: facts}); err != nil {
		t.Fatalf("protected with the facts, the table still fails: %v", err)
	}
}

func TestFactsThatContradictTheTableAreRefused(t *testing.T) {
	tab := flat2D([]string{"A", "B"}, []string{"M", "F"}, [][]int64{{10, 12}, {13, 27}})
	cases := []struct {
		name string
		fact Fact
		want string
	}{
		{"unknown cell", Fact{Terms: []FactTerm{{[]string{"C", "M"}, 1}}, Value: 1}, "no cell (C, M)"},
		{"false", Fact{Terms: []FactTerm{{[]string{"A", "M"}, 1}}, Value: 11}, "give 10, not 11"},
		{"empty", Fact{Value: 0}, "has no terms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Audit(context.Background(), tab, Options{K: 3, Facts: []Fact{tc.fact}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
