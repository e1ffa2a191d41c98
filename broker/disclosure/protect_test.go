package disclosure

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
)

// exact makes Audit solve every component whole: the attacker with full
// knowledge, used to judge Protect in the tests.
const exact = 1 << 30

// checkProtected asserts the three promises on a protected table: no
// sensitive cell published, every published count true, and the full LP
// attacker unable to narrow any primary cell below p.
func checkProtected(t *testing.T, name string, orig, prot *cube.Table, opt Options) {
	t.Helper()
	p := opt.P
	if p == 0 {
		p = opt.K
	}
	for i, c := range prot.Cells {
		o := orig.Cells[i]
		small := o.Count > 0 && o.Count < int64(opt.K)
		if small && c.Status == cube.Published {
			t.Fatalf("%s: cell %v with count %d is published", name, c.Coords, o.Count)
		}
		if c.Status == cube.Published && c.Count != o.Count {
			t.Fatalf("%s: cell %v published as %d, true %d", name, c.Coords, c.Count, o.Count)
		}
	}
	aopt := opt
	aopt.AuditCells = exact
	rep, err := Audit(context.Background(), prot, aopt)
	if err != nil {
		t.Fatalf("%s: exact audit: %v", name, err)
	}
	for _, iv := range rep.Intervals {
		if !iv.Exact {
			t.Fatalf("%s: exact audit gave an inexact interval", name)
		}
		if iv.Width() < float64(p)-1e-6 {
			t.Fatalf("%s: cell %v narrowed to [%g, %g]", name, iv.Coords, iv.Lower, iv.Upper)
		}
		if float64(iv.Count) < iv.Lower-1e-6 || float64(iv.Count) > iv.Upper+1e-6 {
			t.Fatalf("%s: cell %v true count %d outside [%g, %g]", name, iv.Coords, iv.Count, iv.Lower, iv.Upper)
		}
	}
}

func TestProtectRandomTablesWithstandTheLPAttacker(t *testing.T) {
	shapes := []struct {
		name   string
		n      int
		leaves func(*rand.Rand) tableSpec
	}{
		{"2d flat", 1500, func(r *rand.Rand) tableSpec {
			return tableSpec{leaves: []int{2 + r.IntN(5), 2 + r.IntN(5)}, groups: []int{0, 0}}
		}},
		{"2d hierarchy", 400, func(r *rand.Rand) tableSpec {
			return tableSpec{leaves: []int{5 + r.IntN(4), 2 + r.IntN(4)}, groups: []int{2 * (1 - 2*r.IntN(2)), 0}}
		}},
		{"3d flat", 150, func(r *rand.Rand) tableSpec {
			return tableSpec{leaves: []int{2 + r.IntN(4), 2 + r.IntN(3), 2 + r.IntN(3)}, groups: []int{0, 0, 0}}
		}},
		{"3d hierarchy", 60, func(r *rand.Rand) tableSpec {
			return tableSpec{leaves: []int{5 + r.IntN(3), 2 + r.IntN(3), 4}, groups: []int{-2, 0, 2}}
		}},
		{"4d flat", 80, func(r *rand.Rand) tableSpec {
			return tableSpec{leaves: []int{2 + r.IntN(2), 2 + r.IntN(2), 2, 2 + r.IntN(2)}, groups: []int{0, 0, 0, 0}}
		}},
		{"4d hierarchy", 25, func(r *rand.Rand) tableSpec {
			return tableSpec{leaves: []int{4, 2, 2 + r.IntN(2), 2}, groups: []int{2, 0, 0, 0}}
		}},
	}
	if testing.Short() {
		for i := range shapes {
			shapes[i].n /= 10
		}
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(len(sh.name))))
			refused := 0
			for n := range sh.n {
				spec := sh.leaves(rng)
				spec.small, spec.zero, spec.big = 0.1+0.3*rng.Float64(), 0.1*rng.Float64(), 10+rng.IntN(60)
				orig := randomTable(rng, spec)
				prot := cloneTable(orig)
				opt := Options{K: 3 + rng.IntN(4)}
				if rng.IntN(4) == 0 {
					opt.P = 1 + rng.IntN(opt.K+2)
				}
				_, err := Protect(context.Background(), prot, opt)
				if err != nil {
					if !errors.Is(err, ErrUnprotectable) {
						t.Fatalf("table %d: %v", n, err)
					}
					refused++
					continue
				}
				checkProtected(t, sh.name, orig, prot, opt)
			}
			if refused > sh.n/10 {
				t.Errorf("%d of %d tables refused", refused, sh.n)
			}
		})
	}
}
