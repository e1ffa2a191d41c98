package synth

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kunnskapskommunen/folkekommune/broker/fnr"
)

func generate(t *testing.T, opt Options) (string, Summary) {
	t.Helper()
	if opt.Out == "" {
		opt.Out = t.TempDir()
	}
	sum, err := Generate(context.Background(), opt)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return opt.Out, sum
}

func fileDigests(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range FileOrder {
		fh, err := os.Open(filepath.Join(dir, f+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		io.Copy(h, fh)
		fh.Close()
		out[f] = hex.EncodeToString(h.Sum(nil))
	}
	return out
}

func TestSameSeedGivesIdenticalFilesAndOtherSeedDoesNot(t *testing.T) {
	a, _ := generate(t, Options{Seed: 42, Scale: Small})
	b, _ := generate(t, Options{Seed: 42, Scale: Small})
	c, _ := generate(t, Options{Seed: 43, Scale: Small})
	da, db, dc := fileDigests(t, a), fileDigests(t, b), fileDigests(t, c)
	for _, f := range FileOrder {
		if da[f] != db[f] {
			t.Errorf("%s differs between two runs with seed 42", f)
		}
		if da[f] == dc[f] {
			t.Errorf("%s is identical for seeds 42 and 43", f)
		}
	}
}

// readRows returns a file's rows (header excluded) split into fields.
func readRows(t *testing.T, path string) [][]string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var rows [][]string
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	sc.Scan()
	for sc.Scan() {
		rows = append(rows, strings.Split(sc.Text(), ","))
	}
	return rows
}

func TestCleanExtractHasValidSyntheticIdentitiesAndRealisticSize(t *testing.T) {
	dir, sum := generate(t, Options{Seed: 1, Scale: Small, BadShare: -1})
	if len(sum.Broken) != 0 {
		t.Fatalf("BadShare < 0 still broke rows: %v", sum.Broken)
	}
	people := map[string]bool{}
	residentEnd := 0
	for _, row := range readRows(t, filepath.Join(dir, FilePopulation+".csv")) {
		info, err := fnr.Parse(row[0])
		if err != nil {
			t.Fatalf("invalid fødselsnummer %s: %v", row[0], err)
		}
		if info.Kind != fnr.Synthetic {
			t.Fatalf("fødselsnummer %s is not synthetic (month + 80)", row[0])
		}
		if info.Birth.Format("2006-01-02") != row[1] {
			t.Fatalf("birth date %s does not match fødselsnummer %s", row[1], row[0])
		}
		if (row[2] == "M") != info.Male {
			t.Fatalf("sex %s does not match fødselsnummer %s", row[2], row[0])
		}
		people[row[0]] = true
		if row[6] == "" && row[7] == "" {
			residentEnd++
		}
	}
	if len(people) != sum.Persons {
		t.Errorf("population file has %d persons, summary says %d", len(people), sum.Persons)
	}
	// Small is the cluster scaled to about 4 000 inhabitants at the end.
	if residentEnd < 3400 || residentEnd > 4600 {
		t.Errorf("residents at the end = %d, want about 4 000", residentEnd)
	}
	contacts := sum.Files[FileContacts]
	perPersonYear := float64(contacts) / float64(residentEnd) / 10
	if perPersonYear < 2.3 || perPersonYear > 3.8 {
		t.Errorf("GP contacts per inhabitant and year = %.2f, want about 3", perPersonYear)
	}
	for _, f := range []string{FileGrowth, FileVaccination, FileContacts, FileCare} {
		for _, row := range readRows(t, filepath.Join(dir, f+".csv")) {
			if !people[row[0]] {
				t.Fatalf("%s refers to %s, who is not in the population register", f, row[0])
			}
		}
	}
}

func TestBrokenRowsFollowTheConfiguredShare(t *testing.T) {
	_, sum := generate(t, Options{Seed: 3, Scale: Small, BadShare: 0.05})
	var rows, broken int64
	for _, n := range sum.Files {
		rows += n
	}
	kinds := map[string]bool{}
	for k, n := range sum.Broken {
		broken += n
		kinds[k[strings.LastIndex(k, "/")+1:]] = true
	}
	share := float64(broken) / float64(rows)
	if share < 0.04 || share > 0.06 {
		t.Errorf("broken share = %.3f, want about 0.05", share)
	}
	for _, k := range brokenKinds {
		if !kinds[k] {
			t.Errorf("no row broken as %s", k)
		}
	}
}

func TestOptionsAreValidated(t *testing.T) {
	tests := []struct {
		name string
		opt  Options
		want string
	}{
		{"unknown scale", Options{Out: t.TempDir(), Scale: "huge"}, "unknown scale"},
		{"unknown format", Options{Out: t.TempDir(), Format: "xlsx"}, "unknown format"},
		{"no output", Options{}, "no output folder"},
		{"too broken", Options{Out: t.TempDir(), BadShare: 0.9}, "at most 0.5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Generate(context.Background(), tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
