package disclosure

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/protect")

const fixtures = "../../testdata/protect"

var bergen = map[string]map[string]string{"area": {
	"460101": "4601", "460102": "4601", "460103": "4601", "460104": "4601",
	"460105": "4601", "460106": "4601", "460107": "4601", "460108": "4601",
}}

func TestProtectCSVMatchesGolden(t *testing.T) {
	cases := []struct {
		in, golden string
		opt        Options
		parents    map[string]map[string]string
	}{
		{"care_users.csv", "care_users.k5.golden.csv", Options{K: 5}, nil},
		{"care_users.csv", "care_users.k5.rounded5.golden.csv", Options{K: 5, RoundingBase: 5}, nil},
		{"bergen_districts.csv", "bergen_districts.k3.golden.csv", Options{K: 3}, bergen},
	}
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join(fixtures, tc.in))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if _, err := ProtectCSV(context.Background(), bytes.NewReader(in), &out, tc.opt, tc.parents); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(fixtures, tc.golden)
			if *update {
				if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Fatalf("output differs from %s (run with -update after checking):\n%s", tc.golden, out.String())
			}
			// Same rows, same order, count empty exactly where withheld.
			inLines := strings.Split(strings.TrimSpace(string(in)), "\n")
			outLines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(inLines) != len(outLines) {
				t.Fatalf("%d rows in, %d out", len(inLines), len(outLines))
			}
			for i := 1; i < len(inLines); i++ {
				inF, outF := strings.Split(inLines[i], ","), strings.Split(outLines[i], ",")
				nd := len(inF) - 1
				if strings.Join(inF[:nd], ",") != strings.Join(outF[:nd], ",") {
					t.Fatalf("line %d: %s became %s", i+1, inLines[i], outLines[i])
				}
				if withheld := outF[nd+1] != "published"; withheld != (outF[nd] == "") {
					t.Fatalf("line %d: %s", i+1, outLines[i])
				}
				if outF[nd+1] == "published" && tc.opt.RoundingBase == 0 && outF[nd] != inF[nd] {
					t.Fatalf("line %d: published %s, true %s", i+1, outF[nd], inF[nd])
				}
			}
		})
	}
}

func TestProtectCSVRefusesBadInputNamingTheLine(t *testing.T) {
	good := "a,b,count\n_T,_T,30\n_T,x,12\n_T,y,18\nu,_T,10\nu,x,4\nu,y,6\nv,_T,20\nv,x,8\nv,y,12\n"
	cases := []struct {
		name, in string
		opt      Options
		want     string
	}{
		{"not additive", strings.Replace(good, "u,x,4", "u,x,5", 1), Options{K: 3}, "line 3 (a=_T, b=x): count 12 is not the sum 13 of its parts along a"},
		{"duplicate row", good + "u,x,4\n", Options{K: 3}, "line 11 (a=u, b=x): repeats the row on line 6"},
		{"missing row", strings.Replace(good, "v,y,12\n", "", 1), Options{K: 3}, "the row a=v, b=y is missing"},
		{"negative count", strings.Replace(good, "u,x,4", "u,x,-4", 1), Options{K: 3}, "line 6: count -4 is negative"},
		{"fractional count", strings.Replace(good, "u,x,4", "u,x,4.5", 1), Options{K: 3}, `line 6: count "4.5" is not a whole number`},
		{"empty count", strings.Replace(good, "u,x,4", "u,x,", 1), Options{K: 3}, `line 6: count "" is not a whole number`},
		{"short row", strings.Replace(good, "u,x,4", "u,4", 1), Options{K: 3}, "line 6: record on line 6: wrong number of fields"},
		{"no count column", "a,b,n\n_T,_T,1\n", Options{K: 3}, "line 1: the header must list the dimensions and end with count"},
		{"empty input", "", Options{K: 3}, "line 1: the input is empty"},
		{"zero k", good, Options{K: 0}, "threshold k = 0"},
		{"negative p", good, Options{K: 3, P: -1}, "protection level p = -1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := ProtectCSV(context.Background(), strings.NewReader(tc.in), &out, tc.opt, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a message containing %q", err, tc.want)
			}
			if out.Len() != 0 {
				t.Fatalf("wrote output for refused input: %q", out.String())
			}
		})
	}
}

func TestProtectCSVRefusesATableWhoseTotalIsSmall(t *testing.T) {
	in := "a,count\n_T,4\nu,1\nv,3\n"
	var out bytes.Buffer
	_, err := ProtectCSV(context.Background(), strings.NewReader(in), &out, Options{K: 5}, nil)
	if !errors.Is(err, ErrUnprotectable) || out.Len() != 0 {
		t.Fatalf("got %v and %q", err, out.String())
	}
}

// FuzzReadCSV feeds arbitrary bytes to the reader and the whole protect
// path: it may refuse, but never panic, and what it accepts is protected.
func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("a,b,count\n_T,_T,30\n_T,x,12\n_T,y,18\nu,_T,10\nu,x,4\nu,y,6\nv,_T,20\nv,x,8\nv,y,12\n"))
	f.Add([]byte("a,count\n_T,4\nu,1\nv,3\n"))
	f.Add([]byte("a,count\n\"_T\",\"4\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ct, err := ReadCSV(bytes.NewReader(data), nil)
		if err != nil {
			return
		}
		if err := ct.Check(); err != nil {
			return
		}
		if len(ct.Table.Cells) > 400 {
			return
		}
		orig := cloneTable(ct.Table)
		if _, err := Protect(context.Background(), ct.Table, Options{K: 3}); err != nil {
			if !errors.Is(err, ErrUnprotectable) {
				t.Fatalf("valid table refused: %v", err)
			}
			return
		}
		for i, c := range ct.Table.Cells {
			if c.Status == cube.Published && c.Count > 0 && c.Count < 3 {
				t.Fatalf("small cell %v published", c.Coords)
			}
			if c.Count != orig.Cells[i].Count {
				t.Fatalf("count of %v changed", c.Coords)
			}
		}
	})
}
