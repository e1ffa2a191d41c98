package policies

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// leaves lists the JSON paths of doc's scalar and list values.
func leaves(doc map[string]any, prefix []string, out *[][]string) {
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := append(slices.Clone(prefix), k)
		if m, ok := doc[k].(map[string]any); ok && len(m) > 0 {
			leaves(m, p, out)
			continue
		}
		*out = append(*out, p)
	}
}

func setPath(doc map[string]any, p []string, v any, remove bool) map[string]any {
	out := deepCopy(doc).(map[string]any)
	m := out
	for _, k := range p[:len(p)-1] {
		m = m[k].(map[string]any)
	}
	if remove {
		delete(m, p[len(p)-1])
	} else {
		m[p[len(p)-1]] = v
	}
	return out
}

// TestNoMissingOrMistypedFieldIsAllowed is a property over every field of a
// request that is otherwise allowed: dropping a required field, or giving
// any checked field a value of the wrong type, never yields an allow.
func TestNoMissingOrMistypedFieldIsAllowed(t *testing.T) {
	e := engine(t)
	ctx := context.Background()
	in := researchRequest()
	in.Resource.Filters = map[string][]string{"municipality": {"4601"}}
	in.Context.Releases = nil
	base := mustDoc(t, in)
	if d, _ := e.WhatIf(ctx, base); !d.Allow {
		t.Fatalf("base request not allowed: %s", d.Explain("en"))
	}
	// Fields a request may leave out: they only ever narrow or describe it.
	optional := map[string]bool{
		"subject.organisation": true, "subject.municipality": true, "resource.period.from": true,
		"resource.period.to": true, "resource.filters.municipality": true, "resource.row_level": true,
		"resource.published": true, "project.dpia_done": true, "context.releases": true, "project.id": true,
	}
	// Fields the policy does not read for a research table.
	unread := map[string]bool{
		"subject.organisation": true, "resource.period.from": true, "resource.period.to": true,
		"resource.published": true, "project.id": true,
	}
	var paths [][]string
	leaves(base, nil, &paths)
	wrong := []any{7.0, "x", true, []any{1.0}, map[string]any{"a": 1.0}, nil}
	for _, p := range paths {
		name := strings.Join(p, ".")
		if !optional[name] {
			if d, _ := e.WhatIf(ctx, setPath(base, p, nil, true)); d.Allow {
				t.Errorf("request without %s was allowed", name)
			}
		}
		if unread[name] {
			continue
		}
		orig, _ := json.Marshal(getPath(base, p))
		for _, w := range wrong {
			if b, _ := json.Marshal(w); string(b) == string(orig) || sameKind(getPath(base, p), w) {
				continue
			}
			if d, _ := e.WhatIf(ctx, setPath(base, p, w, false)); d.Allow {
				t.Errorf("request with %s = %s was allowed", name, must(json.Marshal(w)))
			}
		}
	}
}

func getPath(doc map[string]any, p []string) any {
	var v any = doc
	for _, k := range p {
		v = v.(map[string]any)[k]
	}
	return v
}

// sameKind reports whether a and b have the same JSON type; a list of
// strings and a list of numbers differ.
func sameKind(a, b any) bool {
	ka, kb := fmt.Sprintf("%T", a), fmt.Sprintf("%T", b)
	if ka != kb {
		return false
	}
	la, okA := a.([]any)
	lb, _ := b.([]any)
	if okA && len(la) > 0 && len(lb) > 0 {
		return fmt.Sprintf("%T", la[0]) == fmt.Sprintf("%T", lb[0])
	}
	return !okA
}

// FuzzWhatIf feeds arbitrary JSON to the policy: it must never fail or
// panic, and an allow must never come with a finding, for an unknown action,
// or for a table to someone outside the project.
func FuzzWhatIf(f *testing.F) {
	e := engine(f)
	seed := must(json.Marshal(researchRequest().doc()))
	f.Add(seed)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"action":"indicator.read","subject":{"id":"u","roles":["admin"]},"resource":{"dataset":"indicators","published":true},"context":{"time":"2026-01-01T00:00:00Z"}}`))
	f.Add([]byte(`{"subject":{"id":1},"project":[],"resource":{"dimensions":{"a":1}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, err := ParseInput(b)
		if err != nil {
			return
		}
		d, err := e.WhatIf(context.Background(), doc)
		if err != nil {
			t.Fatalf("evaluation failed on %s: %v", b, err)
		}
		if !d.Allow {
			return
		}
		if len(d.Deny)+len(d.ReviewReasons) > 0 {
			t.Fatalf("allowed with findings: %s", b)
		}
		action, _ := doc["action"].(string)
		switch action {
		case ActionReleaseRequest, ActionGovernanceRequest:
			subject, _ := doc["subject"].(map[string]any)
			project, _ := doc["project"].(map[string]any)
			members, _ := project["members"].([]any)
			if subject == nil || !slices.Contains(members, subject["id"]) {
				t.Fatalf("table allowed to a non-member: %s", b)
			}
			if d.Obligations.K < 5 {
				t.Fatalf("table allowed with k=%d: %s", d.Obligations.K, b)
			}
		case ActionIndicatorRead:
		default:
			t.Fatalf("unknown action %q allowed: %s", action, b)
		}
	})
}

// TestPolicyDirectoryPassesItsTests runs the files on disk — what `opa test
// --fail-on-empty policies/` reads — through the same tester, and checks
// that they are the embedded policy.
func TestPolicyDirectoryPassesItsTests(t *testing.T) {
	v, err := CompileDir(context.Background(), ".")
	if err != nil {
		t.Fatal(err)
	}
	if v.Tests.Failed != 0 || v.Tests.Passed == 0 {
		t.Fatalf("tests: %d passed, %d failed", v.Tests.Passed, v.Tests.Failed)
	}
	if v.Hash != engine(t).Current().Hash {
		t.Fatalf("policy on disk (%s, files %v) differs from the embedded policy (%s)", v.Short(), v.Files, engine(t).Current().Short())
	}
	t.Logf("policy %s: %d tests pass, coverage %.1f%%", v.Short(), v.Tests.Passed, v.Tests.Coverage)
}
