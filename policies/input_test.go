package policies

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// TestInputValueIsTheDocument pins down that the AST built directly from a
// typed request is the same document the JSON form gives, so that the fast
// conversion cannot change what the policy reads.
func TestInputValueIsTheDocument(t *testing.T) {
	tests := []struct {
		name   string
		change func(in *Input)
	}{
		{"research request", func(*Input) {}},
		{"no project", func(in *Input) { in.Project = nil }},
		{"empty lists", func(in *Input) {
			in.Subject.Roles, in.Resource.Dimensions, in.Project.Members = nil, nil, nil
		}},
		{"optional fields empty", func(in *Input) {
			in.Subject.Organisation, in.Subject.Municipality = "", ""
			in.Project.ApprovedAt, in.Project.REK, in.Project.LegalBasis = "", "", ""
			in.Resource.Period = nil
		}},
		{"filters, flags and releases", func(in *Input) {
			in.Resource.Filters = map[string][]string{"municipality": {"4601", "4634"}, "icpc2": {"P76"}, "sex": nil}
			in.Resource.RowLevel, in.Resource.Published, in.Project.DPIADone = true, true, true
			in.Resource.SmallestPopulation = -3
			in.Context.Releases = []time.Time{now.Add(-time.Hour), now.In(time.FixedZone("CET", 3600)).AddDate(0, -1, 0)}
			in.Context.Time = now.Add(123456789 * time.Nanosecond).In(time.FixedZone("CET", 3600))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := researchRequest()
			tt.change(&in)
			want, err := ast.InterfaceToValue(in.doc())
			if err != nil {
				t.Fatal(err)
			}
			if got := in.value(); ast.Compare(got, want) != 0 {
				t.Fatalf("AST input\n%v\ndiffers from the document\n%v", got, want)
			}
			// The same with the terms shared from the policy data.
			if got := in.valueWith(engine(t).Current().strs); ast.Compare(got, want) != 0 {
				t.Fatalf("AST input with shared terms\n%v\ndiffers from the document\n%v", got, want)
			}
		})
	}
}

// TestGoShapeCheckAgreesWithThePolicy pins down that the embedded policy
// takes typed requests on the fast path, and that the Go shape check agrees
// with the policy's own on every request of the corpus, both ways: it never
// vouches for a request the policy finds malformed (Compile enforces that)
// and it leaves few well-formed requests to the slow path.
func TestGoShapeCheckAgreesWithThePolicy(t *testing.T) {
	e := engine(t)
	v := e.Current()
	if !v.FastShape {
		t.Fatalf("the embedded policy does not use the Go shape check: %s", v.FastShapeOff)
	}
	ctx := context.Background()
	for i, in := range shapeCorpus(now) {
		d, err := v.Evaluate(ctx, in.doc())
		if err != nil {
			t.Fatal(err)
		}
		policySays := !slices.Contains(d.Codes(), "input_malformed")
		if goSays := v.shape.wellFormed(in); goSays != policySays {
			t.Errorf("corpus request %d: Go shape check says well-formed=%t, the policy %t (%v)", i, goSays, policySays, d.Codes())
		}
	}
}

// TestTypedDecisionsTakeTheFastPathUnchanged compares, for every request of
// the shape corpus and the benchmark mix, the decision of the typed path
// with that of the raw document through the full policy.
func TestTypedDecisionsTakeTheFastPathUnchanged(t *testing.T) {
	e := engine(t)
	ctx := context.Background()
	for i, in := range append(shapeCorpus(now), benchRequests()...) {
		typed, err := e.Decide(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := e.WhatIf(ctx, in.doc())
		if err != nil {
			t.Fatal(err)
		}
		if !sameDecision(typed, raw) {
			t.Errorf("request %d: typed decision\n%s\ndiffers from the full policy's\n%s", i, typed.Explain("en"), raw.Explain("en"))
		}
	}
}

// TestConcurrentDecisionsAgree pins down that one version serves decisions
// from many goroutines at once (shared transaction, data and prepared
// queries) with the same answers as one at a time.
func TestConcurrentDecisionsAgree(t *testing.T) {
	e := engine(t)
	ctx := context.Background()
	requests := append(benchRequests(), shapeCorpus(now)[:20]...)
	want := make([]Decision, len(requests))
	for i, in := range requests {
		d, err := e.Decide(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = d
	}
	errs := make(chan string, 4*len(requests))
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for k := range len(requests) {
				i := (k + g*7) % len(requests)
				d, err := e.Decide(ctx, requests[i])
				if err != nil || !sameDecision(d, want[i]) {
					errs <- fmt.Sprintf("request %d decided %v (%v) in parallel, %v alone", i, d.Codes(), err, want[i].Codes())
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
}

// TestStricterShapeCheckKeepsTheFullPath pins down the guard in Compile: a
// policy whose shape check refuses something the Go check lets through does
// not take the fast path, and decides the typed request as the policy says.
func TestStricterShapeCheckKeepsTheFullPath(t *testing.T) {
	// A shape rule the Go check does not know: subject ids may not start
	// with "u-1". No Rego test uses such an id, so the policy still passes
	// its tests.
	dir := policyCopy(t,
		edit{"lib.rego", "well_formed if {\n\tis_string(input.subject.id)\n", "well_formed if {\n\tis_string(input.subject.id)\n\tnot startswith(input.subject.id, \"u-1\")\n"},
		edit{"lib.rego", "shape_problems contains \"subject.id must be a non-empty string\" if not nonempty_string(object.get(input, [\"subject\", \"id\"], null))\n",
			"shape_problems contains \"subject.id must be a non-empty string\" if not nonempty_string(object.get(input, [\"subject\", \"id\"], null))\n\nshape_problems contains \"subject.id must not start with u-1\" if startswith(input.subject.id, \"u-1\")\n"},
	)
	v, err := CompileDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if v.FastShape || !strings.Contains(v.FastShapeOff, "malformed") {
		t.Fatalf("a stricter shape check kept the fast path (FastShapeOff %q)", v.FastShapeOff)
	}
	e := newEngine(v)
	in := researchRequest()
	in.Subject.ID = "u-1"
	in.Project.Members = []string{"u-1"}
	d, err := e.Decide(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if d.Allow || !slices.Contains(d.Codes(), "input_malformed") {
		t.Fatalf("the stricter policy's shape check was skipped: %s", d.Explain("en"))
	}
}

// TestFrozenStoreReadsAsTheStore pins down that the version's store answers
// every read as the in-memory store it wraps does: the same value where the
// path exists, not-found where it does not.
func TestFrozenStoreReadsAsTheStore(t *testing.T) {
	ctx := context.Background()
	docs := map[string]any{"folkekommune": map[string]any{"config": map[string]any{
		"dimensions": map[string]any{"district": map[string]any{"geo_level": "district"}, "sex": map[string]any{}},
		"list":       []any{"a", map[string]any{"b": 1}},
	}}}
	store := inmem.NewFromObjectWithOpts(docs, inmem.OptReturnASTValuesOnRead(true))
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Abort(ctx, txn)
	root, err := store.Read(ctx, txn, storage.RootPath)
	if err != nil {
		t.Fatal(err)
	}
	frozen := frozenStore{Store: store, root: root.(ast.Value), keys: dataTerms(root.(ast.Value))}
	for _, p := range []string{
		"/", "/folkekommune/config", "/folkekommune/config/dimensions/district/geo_level",
		"/folkekommune/config/dimensions/sex/geo_level", "/folkekommune/config/dimensions/pid",
		"/folkekommune/config/list/1/b", "/folkekommune/config/list/2", "/folkekommune/config/list/x",
		"/folkekommune/config/dimensions/district/geo_level/deeper", "/elsewhere",
	} {
		path := storage.MustParsePath(p)
		want, werr := store.Read(ctx, txn, path)
		got, gerr := frozen.Read(ctx, txn, path)
		if storage.IsNotFound(werr) != storage.IsNotFound(gerr) || (werr == nil) != (gerr == nil) {
			t.Errorf("%s: frozen store error %v, store %v", p, gerr, werr)
			continue
		}
		if werr == nil && ast.Compare(got.(ast.Value), want.(ast.Value)) != 0 {
			t.Errorf("%s: frozen store reads %v, store %v", p, got, want)
		}
	}
}

// TestShapeCheckGivenAtCompileTime pins down how the fast path is built: the
// policy compiled with lib.well_formed given as true, the modules themselves
// untouched, and a policy without that rule keeping the full path.
func TestShapeCheckGivenAtCompileTime(t *testing.T) {
	v := engine(t).Current()
	given, err := givenWellFormed(v.modules)
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range v.modules {
		var before, after []string
		for _, r := range m.Rules {
			before = append(before, r.Head.Ref().String())
		}
		for _, r := range given[name].Rules {
			after = append(after, r.Head.Ref().String())
			if r.Head.Ref().String() == "well_formed" && r.Body.String() != "true" {
				t.Errorf("%s: well_formed still has its body %v", name, r.Body)
			}
		}
		if m.Package.Path.String() != "data.folkekommune.lib" && !slices.Equal(before, after) {
			t.Errorf("%s changed: %v -> %v", name, before, after)
		}
	}
	dir := policyCopy(t,
		edit{"lib.rego", "well_formed if {", "shape_ok if {"},
		edit{"lib.rego", "if not well_formed", "if not shape_ok"},
		edit{"request.rego", "not lib.well_formed", "not lib.shape_ok"},
		edit{"request_test.rego", "not data.folkekommune.lib.well_formed", "not data.folkekommune.lib.shape_ok"},
		edit{"request_test.rego", "data.folkekommune.lib.well_formed with", "data.folkekommune.lib.shape_ok with"})
	nv, err := CompileDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if nv.FastShape || !strings.Contains(nv.FastShapeOff, "well_formed") {
		t.Fatalf("a policy without lib.well_formed took the fast path (FastShapeOff %q)", nv.FastShapeOff)
	}
}
