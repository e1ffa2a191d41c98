package policies

import (
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// ruleCache is the evaluator's memory of the rule values one decision has
// worked out (topdown.VirtualCache), so that a helper several rules use is
// evaluated once per decision. OPA's own builds a trie of hash maps afresh
// for every evaluation, about a tenth of a decision's allocations; this one
// is a flat table keyed by the reference's hash, and its tables are reused
// from one decision to the next.
type ruleCache struct {
	frames []cacheFrame
	depth  int // frames in use; a with clause pushes one
}

// cacheFrame is one frame of the cache: what holds outside or inside a
// with clause.
type cacheFrame struct {
	head    map[int]int32 // reference hash → its newest entry
	entries []cacheEntry
	refs    []*ast.Term // the cached references, copied: the evaluator reuses its own
}

type cacheEntry struct {
	ref       ast.Ref
	value     *ast.Term
	undefined bool
	next      int32 // the next entry with the same hash, or -1
}

var _ topdown.VirtualCache = (*ruleCache)(nil)

var ruleCaches = sync.Pool{New: func() any { return &ruleCache{} }}

// newRuleCache is an empty cache for one evaluation; give it back with done.
func newRuleCache() *ruleCache {
	c := ruleCaches.Get().(*ruleCache)
	c.Push()
	return c
}

// done empties c, dropping every reference to the decision's values, and
// returns it to the pool.
func (c *ruleCache) done() {
	for c.depth > 0 {
		c.Pop()
	}
	ruleCaches.Put(c)
}

// Push opens an empty frame.
func (c *ruleCache) Push() {
	if c.depth == len(c.frames) {
		c.frames = append(c.frames, cacheFrame{head: make(map[int]int32, 32)})
	}
	c.depth++
}

// Pop drops the top frame and everything cached in it.
func (c *ruleCache) Pop() {
	if c.depth == 0 {
		return
	}
	f := &c.frames[c.depth-1]
	clear(f.head)
	clear(f.entries)
	clear(f.refs)
	f.entries, f.refs = f.entries[:0], f.refs[:0]
	c.depth--
}

func (c *ruleCache) top() *cacheFrame { return &c.frames[c.depth-1] }

// Get is the cached value of ref: (value, false) when it is defined,
// (nil, true) when it is known to be undefined, (nil, false) when the
// decision has not worked it out yet.
func (c *ruleCache) Get(ref ast.Ref) (*ast.Term, bool) {
	if c.depth == 0 {
		return nil, false
	}
	f := c.top()
	i, ok := f.head[ref.Hash()]
	for ok && i >= 0 {
		e := &f.entries[i]
		if e.ref.Equal(ref) {
			return e.value, e.undefined
		}
		i = e.next
	}
	return nil, false
}

// Put records ref's value; a nil value records that ref is undefined.
func (c *ruleCache) Put(ref ast.Ref, value *ast.Term) {
	if c.depth == 0 {
		c.Push()
	}
	f := c.top()
	h := ref.Hash()
	first, ok := f.head[h]
	for i := first; ok && i >= 0; i = f.entries[i].next {
		if e := &f.entries[i]; e.ref.Equal(ref) {
			e.value, e.undefined = value, value == nil
			return
		}
	}
	if !ok {
		first = -1
	}
	start := len(f.refs)
	f.refs = append(f.refs, ref...)
	f.entries = append(f.entries, cacheEntry{
		ref: f.refs[start:len(f.refs):len(f.refs)], value: value, undefined: value == nil, next: first,
	})
	f.head[h] = int32(len(f.entries) - 1)
}

// Keys lists the references with a cached value in the top frame.
func (c *ruleCache) Keys() []ast.Ref {
	if c.depth == 0 {
		return nil
	}
	var out []ast.Ref
	for _, e := range c.top().entries {
		if e.value != nil {
			out = append(out, e.ref)
		}
	}
	return out
}
