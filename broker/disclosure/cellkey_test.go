package disclosure

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
)

func TestPTableBoundsHoldForEveryCountAndKey(t *testing.T) {
	tables := []struct{ d, js int }{{3, 2}, {5, 4}, {2, 0}, {1, 0}, {4, 1}}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range tables {
		p, err := NewPTable(tc.d, tc.js, 1.5)
		if err != nil {
			t.Fatal(err)
		}
		for n := int64(0); n <= 60; n++ {
			for range 2000 {
				v := p.Perturb(n, rng.Uint32())
				switch {
				case n == 0 && v != 0:
					t.Fatalf("D=%d JS=%d: zero published as %d", tc.d, tc.js, v)
				case v < 0:
					t.Fatalf("D=%d JS=%d: %d published as negative %d", tc.d, tc.js, n, v)
				case v >= 1 && v <= int64(tc.js):
					t.Fatalf("D=%d JS=%d: %d published as %d, inside 1..JS", tc.d, tc.js, n, v)
				case v-n > int64(tc.d) || n-v > int64(tc.d):
					t.Fatalf("D=%d JS=%d: %d published as %d, more than D away", tc.d, tc.js, n, v)
				}
			}
			// The perturbation is unbiased for every count.
			mean := 0.0
			for d, pr := range p.Distribution(n) {
				mean += float64(d) * pr
			}
			if math.Abs(mean) > 1e-9 {
				t.Fatalf("D=%d JS=%d: count %d has mean perturbation %g", tc.d, tc.js, n, mean)
			}
		}
	}
}

func TestNewPTableRefusesBadParameters(t *testing.T) {
	for _, tc := range []struct {
		d, js int
		v     float64
	}{{0, 0, 1}, {2, 2, 1}, {3, -1, 1}, {3, 1, 0}, {3, 1, math.NaN()}} {
		if _, err := NewPTable(tc.d, tc.js, tc.v); err == nil {
			t.Errorf("NewPTable(%d, %d, %g) accepted", tc.d, tc.js, tc.v)
		}
	}
}

// recordKey stands in for the pull's keyed derivation of a person's
// record key from the pseudonym.
func recordKey(secret []byte, pid uint64) uint32 {
	mac := hmac.New(sha256.New, secret)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], pid)
	mac.Write(b[:])
	return binary.BigEndian.Uint32(mac.Sum(nil))
}

// TestSameCellPerturbedAlikeInEveryQuery builds two different tables in
// DuckDB — municipality × sex and municipality × age band — from the same
// people. The municipality totals are the same cells in both (the same
// people), so they must be published with the same perturbed count.
func TestSameCellPerturbedAlikeInEveryQuery(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE person (pid UBIGINT, municipality VARCHAR, sex VARCHAR, age SMALLINT, record_key UINTEGER)`); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	munis := []string{"4601", "4621", "4628", "4634"}
	secret := []byte("test secret")
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for pid := uint64(1); pid <= 1500; pid++ {
		m := munis[min(rng.IntN(10), 3)]
		sex := []string{"M", "F"}[rng.IntN(2)]
		if _, err := tx.ExecContext(ctx, `INSERT INTO person VALUES (?, ?, ?, ?, ?)`,
			pid, m, sex, rng.IntN(100), recordKey(secret, pid)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	query := func(col string, dims []cube.Dimension) *cube.Table {
		rows, err := db.QueryContext(ctx, `SELECT municipality, `+col+` AS d2, count(*),
			(sum(record_key) % 4294967296)::BIGINT
			FROM (SELECT *, CASE WHEN age < 18 THEN '0-17' WHEN age < 67 THEN '18-66' ELSE '67+' END AS band FROM person)
			GROUP BY CUBE (municipality, d2)`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		tab := &cube.Table{Dimensions: dims}
		if err := cube.ScanCells(rows, tab, true); err != nil {
			t.Fatal(err)
		}
		if _, _, err := tab.CheckAdditive(); err != nil {
			t.Fatalf("the cube query is not additive: %v", err)
		}
		return tab
	}
	muni := cube.Dimension{ID: "municipality", Categories: []cube.Category{{Code: cube.Total}}}
	for _, m := range munis {
		muni.Categories = append(muni.Categories, cube.Category{Code: m, Parent: cube.Total})
	}
	flat := func(id string, codes ...string) cube.Dimension {
		d := cube.Dimension{ID: id, Categories: []cube.Category{{Code: cube.Total}}}
		for _, c := range codes {
			d.Categories = append(d.Categories, cube.Category{Code: c, Parent: cube.Total})
		}
		return d
	}
	bySex := query("sex", []cube.Dimension{muni, flat("sex", "M", "F")})
	byAge := query("band", []cube.Dimension{muni, flat("age", "0-17", "18-66", "67+")})
	trueBySex := cloneTable(bySex)
	DefaultPTable.PerturbTable(bySex)
	DefaultPTable.PerturbTable(byAge)

	total := func(tab *cube.Table) map[string]cube.Cell {
		out := map[string]cube.Cell{}
		for _, c := range tab.Cells {
			if c.Coords[1] == cube.Total {
				out[c.Coords[0]] = c
			}
		}
		return out
	}
	a, b := total(bySex), total(byAge)
	if len(a) != len(munis)+1 {
		t.Fatalf("%d municipality totals, want %d", len(a), len(munis)+1)
	}
	changed := 0
	for code, ca := range a {
		cb := b[code]
		if ca.RecordKey != cb.RecordKey || ca.Count != cb.Count {
			t.Errorf("municipality %s: published %d (key %d) by sex, %d (key %d) by age",
				code, ca.Count, ca.RecordKey, cb.Count, cb.RecordKey)
		}
	}
	for i, c := range bySex.Cells {
		if c.Count != trueBySex.Cells[i].Count {
			changed++
		}
		if d := c.Count - trueBySex.Cells[i].Count; d > 3 || d < -3 {
			t.Errorf("cell %v moved by %d", c.Coords, d)
		}
	}
	if changed == 0 {
		t.Error("no cell was perturbed at all")
	}
}

func TestRoundingKeepsZeroAndStaysNearTheCount(t *testing.T) {
	for _, mode := range []RoundingMode{RoundNearest, RoundRandom} {
		tab := flat2D([]string{"A", "B"}, []string{"M", "F"}, [][]int64{{0, 12}, {13, 27}})
		orig := cloneTable(tab)
		Round(tab, 5, mode)
		again := cloneTable(orig)
		Round(again, 5, mode)
		for i, c := range tab.Cells {
			o := orig.Cells[i].Count
			if c.Count%5 != 0 || c.Count-o >= 5 || o-c.Count >= 5 || (o == 0 && c.Count != 0) {
				t.Errorf("mode %d: %d rounded to %d", mode, o, c.Count)
			}
			if again.Cells[i].Count != c.Count {
				t.Errorf("mode %d: %d rounded to %d and then %d", mode, o, c.Count, again.Cells[i].Count)
			}
		}
	}
	tab := flat2D([]string{"A", "B"}, []string{"M", "F"}, [][]int64{{0, 12}, {13, 27}})
	Round(tab, 5, RoundNearest)
	if got := tab.Cells[1].Count; got != 10 {
		t.Errorf("12 rounded to nearest 5 gave %d", got)
	}
}
