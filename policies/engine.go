// Package policies holds the privacy officer's rules — who may receive which
// aggregate, for which purpose, with which protection — as OPA/Rego v1
// policy, and the Go engine that loads, checks and evaluates them.
//
// The Rego files beside this one are the policy: readable, annotated with
// their legal basis, and tested apart from the Go code (`opa test
// --fail-on-empty policies/`). The engine compiles a policy version once
// into a prepared query, and refuses a version that does not compile, whose
// rules lack their documentation or tests, or whose own tests fail; the
// running version keeps serving until a good one replaces it. Every
// decision can be recorded in the audit log with the version that took it,
// and the logged decisions of a period can be replayed against a candidate
// version to show which would flip.
package policies

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/kunnskapskommunen/folkekommune/broker/audit"
)

// Embedded is the policy the broker ships with.
//
//go:embed *.rego data.json
var Embedded embed.FS

// Query is the policy's one entry point.
const Query = "data.folkekommune.decision.result"

// Version is one compiled, checked and tested policy.
type Version struct {
	Hash     string    // SHA-256 over the policy's files and data
	Source   string    // "embedded" or the directory it was loaded from
	LoadedAt time.Time // when it was compiled
	Rules    []Rule    // every rule with its documentation, tests and coverage
	Tests    TestReport
	Files    []string // the files hashed, in hash order
	// FastShape is true when typed requests have their shape checked in Go
	// (see shape.go); FastShapeOff says why not, when not.
	FastShape    bool
	FastShapeOff string

	query   rego.PreparedEvalQuery
	mask    []string // JSON pointers masked before logging
	modules map[string]*ast.Module
	// sources are the policy files' text as compiled (file name → Rego), so
	// that what is shown as the rules is what decides, whatever the files
	// on disk say now (a refused reload leaves them ahead of the engine).
	sources map[string]string

	// A version's data never changes, so one read transaction and one
	// read-only copy of the data as AST serve every decision: evaluation
	// neither opens a transaction nor reads the store per decision.
	txn  storage.Transaction
	data frozenData

	shape shapeFacts
	fast  *rego.PreparedEvalQuery // the decision with lib.well_formed answered by Go

	prep []func(*rego.Rego) // compiler and store, for the version's further queries
	strs termTable          // the strings of the policy data as terms, for typed inputs

	// evalOpts are the evaluation options every decision shares.
	evalOpts []rego.EvalOption
}

// Short is the first 12 hex digits of the hash, enough to tell versions apart.
func (v *Version) Short() string {
	if len(v.Hash) < 12 {
		return v.Hash
	}
	return v.Hash[:12]
}

// Engine evaluates requests against the running policy version.
type Engine struct {
	cur   atomic.Pointer[Version]
	audit *audit.Log
	now   func() time.Time
}

// LoadEmbedded loads the policy compiled into the broker.
func LoadEmbedded(ctx context.Context) (*Engine, error) {
	v, err := Compile(ctx, Embedded, "embedded")
	if err != nil {
		return nil, err
	}
	return newEngine(v), nil
}

// LoadDir loads the policy in dir (Rego files, their tests, data.json).
func LoadDir(ctx context.Context, dir string) (*Engine, error) {
	v, err := CompileDir(ctx, dir)
	if err != nil {
		return nil, err
	}
	return newEngine(v), nil
}

func newEngine(v *Version) *Engine {
	e := &Engine{now: time.Now}
	e.cur.Store(v)
	return e
}

// CompileDir compiles, checks and tests the policy in dir.
func CompileDir(ctx context.Context, dir string) (*Version, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("policy directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("policy directory %s is not a directory", dir)
	}
	return Compile(ctx, os.DirFS(dir), dir)
}

// Compile turns the policy files in fsys into a Version: it parses and
// compiles them, checks that every rule carries its documentation and its
// allow and deny tests, runs the tests with coverage, and prepares the
// decision query. Any failure refuses the whole version, with OPA's message.
func Compile(ctx context.Context, fsys fs.FS, source string) (*Version, error) {
	hash, files, err := hashFiles(fsys)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", source, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("policy %s: no .rego files", source)
	}
	loaded, err := loader.NewFileLoader().
		WithFS(fsys).
		WithRegoVersion(ast.RegoV1).
		WithProcessAnnotation(true).
		Filtered([]string{"."}, skipHidden)
	if err != nil {
		return nil, fmt.Errorf("policy %s does not load: %w", source, err)
	}
	all := loaded.ParsedModules()
	policy := map[string]*ast.Module{}
	for name, m := range all {
		if !strings.HasSuffix(name, "_test.rego") {
			policy[name] = m
		}
	}
	sources := make(map[string]string, len(policy))
	for _, f := range loaded.Modules {
		if _, ok := policy[f.Name]; ok {
			sources[f.Name] = string(f.Raw)
		}
	}
	compiler := ast.NewCompiler().
		WithDefaultRegoVersion(ast.RegoV1).
		WithEnablePrintStatements(false)
	if compiler.Compile(policy); compiler.Failed() {
		return nil, fmt.Errorf("policy %s does not compile: %w", source, compiler.Errors)
	}
	rules, err := documentRules(compiler)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", source, err)
	}
	tests, cov, err := runTests(ctx, all, loaded.Documents, policy)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", source, err)
	}
	attachTests(rules, tests, cov)
	if err := requireTests(rules, tests); err != nil {
		return nil, fmt.Errorf("policy %s: %w", source, err)
	}
	if tests.Failed > 0 {
		return nil, fmt.Errorf("policy %s fails its own tests: %s", source, strings.Join(tests.failures(), "; "))
	}
	// The store keeps the policy data as AST values, so that a decision does
	// not convert the whole configuration from Go values on every read.
	store := inmem.NewFromObjectWithOpts(loaded.Documents, inmem.OptReturnASTValuesOnRead(true))
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		return nil, fmt.Errorf("policy %s: open data: %w", source, err)
	}
	root, err := store.Read(ctx, txn, storage.RootPath)
	if err != nil {
		return nil, fmt.Errorf("policy %s: read data: %w", source, err)
	}
	rootValue, ok := root.(ast.Value)
	if !ok {
		return nil, fmt.Errorf("policy %s: data reads as %T, not AST", source, root)
	}
	strs := dataTerms(rootValue)
	frozen := frozenStore{Store: store, root: rootValue, keys: strs}
	opts := []func(*rego.Rego){rego.Compiler(compiler), rego.Store(frozen)}
	pq, err := rego.New(append([]func(*rego.Rego){rego.Query(Query)}, opts...)...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("policy %s: prepare %s: %w", source, Query, err)
	}
	v := &Version{
		Hash: hash, Source: source, LoadedAt: time.Now().UTC(),
		Rules: rules, Tests: tests, Files: files,
		query: pq, mask: maskPaths(loaded.Documents), modules: policy, sources: sources,
		txn: txn, data: frozenData{rootValue}, shape: newShapeFacts(loaded.Documents),
		prep: opts, strs: strs,
	}
	v.evalOpts = []rego.EvalOption{
		rego.EvalTransaction(v.txn),
		rego.EvalBaseCache(v.data),
		rego.EvalMetrics(metrics.NoOp()),
		rego.EvalGenerateJSON(keepAST),
	}
	if v.fast, err = v.prepareFastShape(ctx, opts, frozen); err != nil {
		v.FastShapeOff = err.Error()
	}
	v.FastShape = v.fast != nil
	return v, nil
}

// frozenData answers the evaluator's reads of base documents from the
// version's data, converted to AST once. Put is a no-op: nothing is written.
type frozenData struct{ root ast.Value }

func (f frozenData) Get(ref ast.Ref) ast.Value {
	if len(ref) == 0 || !ref[0].Equal(ast.DefaultRootDocument) {
		return nil
	}
	v, err := f.root.Find(ref[1:])
	if err != nil {
		return nil
	}
	return v
}

func (frozenData) Put(ast.Ref, ast.Value) {}

// frozenStore is the version's store with reads answered from its data as
// AST. The evaluator reads the store only for what frozenData does not
// hold, which is mostly paths that do not exist (a dimension without a
// geo_level): those cost a lookup here instead of the store building a
// not-found error each time.
type frozenStore struct {
	storage.Store
	root ast.Value
	keys termTable // every key of the data as a term
}

var errAbsent = &storage.Error{Code: storage.NotFoundErr, Message: "document missing"}

func (s frozenStore) Read(_ context.Context, _ storage.Transaction, p storage.Path) (any, error) {
	v := s.root
	for _, k := range p {
		switch x := v.(type) {
		case ast.Object:
			t, ok := s.keys[k]
			if !ok {
				return nil, errAbsent
			}
			e := x.Get(t)
			if e == nil {
				return nil, errAbsent
			}
			v = e.Value
		case *ast.Array:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= x.Len() {
				return nil, errAbsent
			}
			v = x.Elem(i).Value
		default:
			return nil, errAbsent
		}
	}
	return v, nil
}

// skipHidden keeps editor and VCS files out, as opa does not read them either.
func skipHidden(_ string, info fs.FileInfo, _ int) bool {
	return strings.HasPrefix(info.Name(), ".") && info.Name() != "."
}

// hashFiles is the policy version: SHA-256 over every Rego and data file,
// path and content, in path order.
func hashFiles(fsys fs.FS) (string, []string, error) {
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		switch path.Ext(p) {
		case ".rego", ".json", ".yaml", ".yml":
			if !strings.HasPrefix(d.Name(), ".") {
				files = append(files, p)
			}
		}
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	sort.Strings(files)
	h := sha256.New()
	regos := 0
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return "", nil, err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(b))
		h.Write(b)
		if path.Ext(f) == ".rego" {
			regos++
		}
	}
	if regos == 0 {
		return "", nil, nil
	}
	return hex.EncodeToString(h.Sum(nil)), files, nil
}

// maskPaths reads data.folkekommune.config.log_mask.
func maskPaths(docs map[string]any) []string {
	fk, _ := docs["folkekommune"].(map[string]any)
	cfg, _ := fk["config"].(map[string]any)
	list, _ := cfg["log_mask"].([]any)
	var out []string
	for _, p := range list {
		if s, ok := p.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Current is the running policy version.
func (e *Engine) Current() *Version { return e.cur.Load() }

// SetAudit makes the engine record every decision and policy change in log.
func (e *Engine) SetAudit(log *audit.Log) { e.audit = log }

// Reload compiles, checks and tests the policy in dir and, only if all of
// that succeeds, makes it the running version. On failure the old version
// keeps serving and the error carries OPA's message.
func (e *Engine) Reload(ctx context.Context, dir string) (*Version, error) {
	v, err := CompileDir(ctx, dir)
	if err != nil {
		return nil, err
	}
	return v, e.Switch(ctx, v)
}

// Switch makes v the running version and records the change.
func (e *Engine) Switch(ctx context.Context, v *Version) error {
	old := e.cur.Swap(v)
	if e.audit == nil || old.Hash == v.Hash {
		return nil
	}
	_, err := e.audit.Append(ctx, nil, audit.Event{
		Kind: audit.KindPolicyChange, Actor: "system", Object: v.Hash,
		Detail: map[string]any{
			"from": old.Hash, "to": v.Hash, "source": v.Source,
			"tests_passed": v.Tests.Passed, "coverage": v.Tests.Coverage,
		},
	})
	if err != nil {
		return fmt.Errorf("record policy change: %w", err)
	}
	return nil
}

// Watch polls dir every interval and reloads the policy when its files
// change. A version that fails is reported through onError and not
// retried until the files change again. Watch returns when ctx ends.
func (e *Engine) Watch(ctx context.Context, dir string, interval time.Duration, onError func(error)) {
	tried := e.Current().Hash
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h, _, err := hashFiles(os.DirFS(dir))
		if err != nil || h == tried {
			continue
		}
		tried = h
		if _, err := e.Reload(ctx, dir); err != nil && onError != nil {
			onError(err)
		}
	}
}

// Decide evaluates in against the running policy and, when the engine has
// an audit log, records the decision in its own transaction. A decision that
// cannot be taken is a denial: on error the returned decision denies with
// code policy_error.
func (e *Engine) Decide(ctx context.Context, in Input) (Decision, error) {
	return e.DecideTx(ctx, nil, in)
}

// DecideTx is Decide with the decision's audit entry written in tx, so that
// it commits or rolls back together with what the caller does about the
// decision (a release, a review case). With a nil tx it is Decide.
func (e *Engine) DecideTx(ctx context.Context, tx *sql.Tx, in Input) (Decision, error) {
	v, in := e.Current(), e.stamped(in)
	d, err := v.decideTyped(ctx, in, e.now())
	if e.audit != nil {
		if lerr := e.record(ctx, tx, v, d, in.doc(), in.Subject.ID); lerr != nil {
			// A decision that cannot be logged must not be acted on.
			return denied(d, lerr), errors.Join(err, lerr)
		}
	}
	return d, err
}

// DecideUnlogged takes a decision on a typed request like Decide, on the
// same path, but records nothing in the audit log. It is for reads of
// published aggregates (indicator values), which are protected before they
// are published and read far too often for the audit chain to take every
// read; a table request must go through Decide.
func (e *Engine) DecideUnlogged(ctx context.Context, in Input) (Decision, error) {
	return e.Current().decideTyped(ctx, e.stamped(in), e.now())
}

// stamped gives a request without a time the engine's present time.
func (e *Engine) stamped(in Input) Input {
	if in.Context.Time.IsZero() {
		in.Context.Time = e.now()
	}
	return in
}

// decideTyped decides a typed request, with the Go shape check when the
// version has it and it vouches for the request.
func (v *Version) decideTyped(ctx context.Context, in Input, now time.Time) (Decision, error) {
	q := &v.query
	if v.fast != nil && v.shape.wellFormed(in) {
		q = v.fast
	}
	return v.decideWith(ctx, q, in.valueWith(v.strs), now)
}

// WhatIf evaluates a hypothetical request, given as the JSON document the
// policy reads, without logging it or releasing anything. Malformed
// documents are evaluated as they are and denied by the policy.
func (e *Engine) WhatIf(ctx context.Context, doc map[string]any) (Decision, error) {
	return e.Current().evaluate(ctx, doc, e.now())
}

// Evaluate takes a decision on a raw input document with this version.
func (v *Version) Evaluate(ctx context.Context, doc map[string]any) (Decision, error) {
	return v.evaluate(ctx, doc, time.Now())
}

func (v *Version) evaluate(ctx context.Context, doc map[string]any, now time.Time) (Decision, error) {
	val, err := ast.InterfaceToValue(doc)
	if err != nil {
		d := Decision{ID: newID(), Time: now.UTC(), PolicyVersion: v.Hash}
		return denied(d, err), fmt.Errorf("policy input: %w", err)
	}
	return v.decideWith(ctx, &v.query, val, now)
}

// decideWith takes a decision with query q on an input in AST form.
func (v *Version) decideWith(ctx context.Context, q *rego.PreparedEvalQuery, input ast.Value, now time.Time) (Decision, error) {
	d := Decision{ID: newID(), Time: now.UTC(), PolicyVersion: v.Hash}
	cache := newRuleCache()
	defer cache.done()
	opts := append(make([]rego.EvalOption, 0, len(v.evalOpts)+3), v.evalOpts...)
	opts = append(opts, rego.EvalParsedInput(input), rego.EvalVirtualCache(cache))
	if ctx.Done() != nil {
		// Cancellation is wired by hand: rego would otherwise start a
		// goroutine per evaluation to watch ctx.
		cancel := topdown.NewCancel()
		stop := context.AfterFunc(ctx, cancel.Cancel)
		defer stop()
		opts = append(opts, rego.EvalExternalCancel(cancel))
	}
	rs, err := q.Eval(ctx, opts...)
	if err != nil {
		return denied(d, err), fmt.Errorf("evaluate policy %s: %w", v.Short(), err)
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		err := fmt.Errorf("policy %s gave no decision", v.Short())
		return denied(d, err), err
	}
	res, ok := rs[0].Expressions[0].Value.(*ast.Term)
	if !ok {
		err := fmt.Errorf("policy %s gave a %T, not a decision", v.Short(), rs[0].Expressions[0].Value)
		return denied(d, err), err
	}
	if err := d.fill(res.Value); err != nil {
		err = fmt.Errorf("policy %s: %w", v.Short(), err)
		return denied(d, err), err
	}
	return d, nil
}

// keepAST hands the result over as the evaluator's AST term; the decision
// reads the few fields it needs from it instead of converting the whole
// result to Go values first.
func keepAST(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }

func (e *Engine) record(ctx context.Context, tx *sql.Tx, v *Version, d Decision, doc map[string]any, actor string) error {
	if actor == "" {
		actor = "anonymous"
	}
	_, err := e.audit.Append(ctx, tx, audit.Event{
		Kind: audit.KindDecision, Actor: actor, Object: d.ID,
		Detail: DecisionDetail(d, v.MaskInput(doc)),
	})
	return err
}

// MaskInput masks the fields the policy lists in log_mask.
func (v *Version) MaskInput(doc map[string]any) map[string]any { return Mask(doc, v.mask) }

// DecisionDetail is what the audit log keeps of a decision: the masked
// input, the outcome, the reason codes, the obligations and the policy
// version. Callers that log decisions in their own transaction use it.
func DecisionDetail(d Decision, maskedInput map[string]any) map[string]any {
	codes := func(fs []Finding) []any {
		out := make([]any, len(fs))
		for i, f := range fs {
			out[i] = f.Code
		}
		return out
	}
	return map[string]any{
		"input":          maskedInput,
		"outcome":        d.Outcome(),
		"deny":           codes(d.Deny),
		"review_reasons": codes(d.ReviewReasons),
		"obligations":    d.Obligations.doc(),
		"policy_version": d.PolicyVersion,
		"decided_at":     d.Time.Format(time.RFC3339Nano),
	}
}

// Mask returns a copy of doc with the values at the given JSON pointers
// replaced by a keyless SHA-256 pseudonym. The pseudonym is consistent, so a
// replayed decision still sees that the subject is or is not among the
// project's members; it is pseudonymisation of user ids, not anonymisation.
func Mask(doc map[string]any, pointers []string) map[string]any {
	out := deepCopy(doc).(map[string]any)
	for _, p := range pointers {
		parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
		maskAt(out, parts)
	}
	return out
}

func maskAt(m map[string]any, parts []string) {
	if len(parts) == 0 {
		return
	}
	v, ok := m[parts[0]]
	if !ok {
		return
	}
	if len(parts) > 1 {
		if child, ok := v.(map[string]any); ok {
			maskAt(child, parts[1:])
		}
		return
	}
	m[parts[0]] = maskValue(v)
}

func maskValue(v any) any {
	switch x := v.(type) {
	case string:
		return Pseudonym(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = maskValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = maskValue(e)
		}
		return out
	default:
		return "masked"
	}
}

// Pseudonym is the masked form of a logged value.
func Pseudonym(s string) string {
	sum := sha256.Sum256([]byte("folkekommune/audit-mask\x00" + s))
	// Letters-first encoding keeps the pseudonym from ever looking like a
	// personal identity number.
	const alphabet = "abcdefghijkmnpqrstuvwxyz"
	var b strings.Builder
	b.WriteString("masked:")
	for _, c := range sum[:12] {
		b.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return b.String()
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	default:
		return v
	}
}

func newID() string {
	var b [10]byte
	rand.Read(b[:])
	return "dec-" + hex.EncodeToString(b[:])
}

// ParseInput reads a request document (what-if files, logged inputs). It
// only checks that the text is a JSON object; the policy judges the rest.
func ParseInput(b []byte) (map[string]any, error) {
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("request is not a JSON object: %w", err)
	}
	return doc, nil
}
