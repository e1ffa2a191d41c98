package disclosure

import (
	"encoding/binary"
	"hash/fnv"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
)

// Round rounds every published count of t to a multiple of base and
// returns how many counts it changed. Withheld cells are untouched (their
// counts never leave the broker anyway).
//
// Totals are rounded like any other cell, independently of their parts,
// so a rounded table is in general not additive: a reader who adds the
// rounded parts gets a number within (parts × base/2) of the rounded
// total, not the total itself. This is deliberate — controlled rounding
// that keeps additivity would need a further search — and it only adds to
// an attacker's uncertainty: suppression and the LP audit run on the true
// counts before rounding, so the audit's guarantee holds for the rounded
// table too. Zero stays zero in both modes.
func Round(t *cube.Table, base int, mode RoundingMode) int {
	if base <= 1 {
		return 0
	}
	b := int64(base)
	changed := 0
	for i := range t.Cells {
		c := &t.Cells[i]
		if c.Status != cube.Published {
			continue
		}
		r := roundCount(c.Count, b, mode, cellDraw(c))
		if r != c.Count {
			c.Count = r
			changed++
		}
	}
	return changed
}

func roundCount(n, b int64, mode RoundingMode, draw uint64) int64 {
	rem := n % b
	if rem == 0 {
		return n
	}
	down := n - rem
	switch mode {
	case RoundRandom:
		// Up with probability rem/b: unbiased in expectation.
		if draw%uint64(b) < uint64(rem) {
			return down + b
		}
		return down
	default:
		if 2*rem >= b {
			return down + b
		}
		return down
	}
}

// cellDraw is a stable pseudo-random number for a cell: the same cell
// (same coordinates, same people) draws the same number in every run, so
// asking again does not average the rounding away.
func cellDraw(c *cube.Cell) uint64 {
	h := fnv.New64a()
	for _, s := range c.Coords {
		h.Write([]byte(s))
		h.Write([]byte{0x1f})
	}
	var k [4]byte
	binary.LittleEndian.PutUint32(k[:], c.RecordKey)
	h.Write(k[:])
	return h.Sum64()
}
