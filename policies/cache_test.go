package policies

import (
	"fmt"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// TestRuleCacheRemembersPerFrame pins down the rule cache's contract with
// the evaluator: a value or an undefined result per reference, a reference
// the decision has not worked out reported as such, a with frame that sees
// nothing from outside and leaves nothing behind, and nothing carried over
// to the next decision.
func TestRuleCacheRemembersPerFrame(t *testing.T) {
	ref := func(s string) ast.Ref { return ast.MustParseRef(s) }
	sensitive, level := ref("data.folkekommune.lib.sensitive"), ref("data.folkekommune.decision.level")
	yes, standard := ast.BooleanTerm(true), ast.StringTerm("standard")

	c := newRuleCache()
	if v, undef := c.Get(sensitive); v != nil || undef {
		t.Fatalf("empty cache answers %v, %t", v, undef)
	}
	c.Put(sensitive, nil)
	c.Put(level, standard)
	if v, undef := c.Get(sensitive); v != nil || !undef {
		t.Fatalf("undefined helper reads %v, %t", v, undef)
	}
	if v, undef := c.Get(level); v != standard || undef {
		t.Fatalf("level reads %v, %t", v, undef)
	}
	if v, _ := c.Get(ref("data.folkekommune.decision")); v != nil {
		t.Fatalf("a prefix of a cached reference reads %v", v)
	}

	c.Push() // a with clause
	if v, undef := c.Get(level); v != nil || undef {
		t.Fatalf("a with frame sees the outer value %v, %t", v, undef)
	}
	c.Put(sensitive, yes)
	c.Pop()
	if v, undef := c.Get(sensitive); v != nil || !undef {
		t.Fatalf("the with frame's value leaked out: %v, %t", v, undef)
	}

	c.Put(sensitive, yes) // overwritten, not duplicated
	if v, undef := c.Get(sensitive); v != yes || undef {
		t.Fatalf("overwritten value reads %v, %t", v, undef)
	}
	if keys := c.Keys(); len(keys) != 2 {
		t.Fatalf("keys %v, want the two defined references", keys)
	}

	// The evaluator reuses the reference it passes in; the cache keeps its own.
	scratch := ref("data.folkekommune.lib.now_ns")
	c.Put(scratch, ast.IntNumberTerm(1))
	scratch[3] = ast.StringTerm("end_ns")
	if v, _ := c.Get(ref("data.folkekommune.lib.now_ns")); v == nil {
		t.Fatal("changing the caller's reference lost the cached value")
	}
	if v, _ := c.Get(ref("data.folkekommune.lib.end_ns")); v != nil {
		t.Fatalf("changing the caller's reference moved the cached value: %v", v)
	}

	// Many references, each found again (hash chains included).
	for i := range 500 {
		c.Put(ref(fmt.Sprintf("data.folkekommune.lib.h%d", i)), ast.IntNumberTerm(i))
	}
	for i := range 500 {
		if v, _ := c.Get(ref(fmt.Sprintf("data.folkekommune.lib.h%d", i))); v == nil || !v.Equal(ast.IntNumberTerm(i)) {
			t.Fatalf("h%d reads %v", i, v)
		}
	}

	c.done()
	next := newRuleCache()
	defer next.done()
	if v, undef := next.Get(level); v != nil || undef {
		t.Fatalf("the next decision sees the last one's value %v, %t", v, undef)
	}
}
