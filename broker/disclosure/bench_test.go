package disclosure

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkProtect10000 protects and audits a three-dimensional table of
// 25 × 21 × 21 = 11 025 cells (24 × 20 × 20 categories plus totals), about
// one in ten inner cells small. Beside it run the two honest floors: in
// time, one exact-as-configured audit of the final pattern (no release can
// skip the gate), reported as protect/audit; in information, the primary
// cells alone (no pattern can withhold fewer), reported as
// secondary/primary.
func BenchmarkProtect10000(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 7))
	orig := randomTable(rng, tableSpec{leaves: []int{24, 20, 20}, groups: []int{0, 0, 0}, small: 0.08, zero: 0.03, big: 120})
	ctx := context.Background()
	var protect, audit time.Duration
	var rep Report
	for b.Loop() {
		t := cloneTable(orig)
		start := time.Now()
		r, err := Protect(ctx, t, Options{K: 5})
		if err != nil {
			b.Fatal(err)
		}
		rep = r
		protect += time.Since(start)
		start = time.Now()
		if _, err := Audit(ctx, t, Options{K: 5}); err != nil {
			b.Fatal(err)
		}
		audit += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(float64(len(orig.Cells)), "cells")
	b.ReportMetric(protect.Seconds()/n, "protect-s")
	b.ReportMetric(audit.Seconds()/n, "audit-s")
	b.ReportMetric(protect.Seconds()/audit.Seconds(), "protect/audit")
	b.ReportMetric(float64(rep.Secondary)/float64(rep.Primary), "secondary/primary")
	b.ReportMetric(float64(rep.Primary), "primary")
	b.ReportMetric(float64(rep.Secondary), "secondary")
	b.ReportMetric(100*rep.SuppressedShare, "%withheld")
}

// suite is a fixed set of tables whose suppressed share is tracked over
// time: a change in the algorithm that loses more information shows here.
var suite = []struct {
	name string
	spec tableSpec
	k    int
}{
	{"2d-9x2-k5", tableSpec{leaves: []int{9, 2}, groups: []int{0, 0}, small: 0.15, zero: 0.05, big: 60}, 5},
	{"2d-17x10-k5", tableSpec{leaves: []int{17, 10}, groups: []int{0, 0}, small: 0.1, zero: 0.05, big: 100}, 5},
	{"2d-hier-16x5-k5", tableSpec{leaves: []int{16, 5}, groups: []int{4, 0}, small: 0.1, zero: 0.05, big: 100}, 5},
	{"3d-9x2x8-k5", tableSpec{leaves: []int{9, 2, 8}, groups: []int{0, 0, 0}, small: 0.15, zero: 0.05, big: 60}, 5},
	{"3d-hier-8x2x6-k5", tableSpec{leaves: []int{8, 2, 6}, groups: []int{2, 0, 3}, small: 0.15, zero: 0.05, big: 60}, 5},
	{"4d-5x2x4x3-k3", tableSpec{leaves: []int{5, 2, 4, 3}, groups: []int{0, 0, 0, 0}, small: 0.2, zero: 0.05, big: 40}, 3},
}

// BenchmarkSuppressedShare reports the share of cells withheld (and the
// share of secondary cells) for each table of the fixed suite.
func BenchmarkSuppressedShare(b *testing.B) {
	for _, s := range suite {
		b.Run(s.name, func(b *testing.B) {
			orig := randomTable(rand.New(rand.NewPCG(11, 13)), s.spec)
			var rep Report
			for b.Loop() {
				t := cloneTable(orig)
				r, err := Protect(context.Background(), t, Options{K: s.k})
				if err != nil {
					b.Fatal(err)
				}
				rep = r
			}
			b.ReportMetric(float64(rep.Cells), "cells")
			b.ReportMetric(100*rep.SuppressedShare, "%withheld")
			b.ReportMetric(100*float64(rep.Secondary)/float64(rep.Cells), "%secondary")
			b.ReportMetric(100*float64(rep.Primary)/float64(rep.Cells), "%primary")
		})
	}
}
