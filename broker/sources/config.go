// Package sources reads the sources file — the clinical systems the broker
// pulls from, how to reach them and when — builds the extract.Source for
// each, and runs their schedule: due sources one at a time, a missed run
// caught up once after a restart, failed pulls retried with bounded
// exponential backoff and jitter before the next slot. It is domain code:
// the HTTP API over it lives in package broker.
package sources

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/kunnskapskommunen/folkekommune/broker/extract"
)

// Kind is a connector kind.
type Kind string

// The connectors a source can use.
const (
	FileDrop Kind = "filedrop"
	FHIR     Kind = "fhir"
	SQL      Kind = "sql"
)

// Source is one configured clinical system. Secrets are never held here:
// only where to find them (a file or an environment variable).
type Source struct {
	Name string
	Kind Kind
	Line int // where the source starts in the file

	// filedrop
	Folder string

	// fhir
	BaseURL        string
	Group          string
	ClientID       string
	KeyID          string
	PrivateKeyFile string
	TokenURL       string
	Scope          string

	// sql: the DSN inline (never with a password), or from the
	// environment variable DSNEnv; the password from PasswordFile.
	DSN              string
	DSNEnv           string
	PasswordFile     string
	StatementTimeout time.Duration
	Queries          map[extract.Dataset]string

	// Datasets the source provides (for sql: the keys of Queries).
	Datasets []extract.Dataset
	// Schedule says when the source is pulled; the zero Schedule means
	// only on request.
	Schedule Schedule
	// Incremental (fhir only, on by default) asks only for what changed
	// after the source's high-water mark — the transactionTime of its last
	// loaded export, kept in the extract registry with the data — and
	// upserts it by resource id; off, every pull is a full export that
	// replaces the source's rows.
	Incremental bool
	// Timeout bounds one pull, from the first request to the commit.
	Timeout time.Duration
	// Retry bounds the retries of a failed scheduled pull.
	Retry Retry
}

// Retry is the backoff of a failed scheduled pull: the n-th retry waits
// Backoff·2^(n-1), at most MaxBackoff, with jitter over the upper half;
// after Attempts tries, or when the next try would fall after the next
// slot, the source waits for its next slot.
type Retry struct {
	Attempts   int
	Backoff    time.Duration
	MaxBackoff time.Duration
}

// Defaults of a source's optional settings.
var (
	DefaultTimeout          = 6 * time.Hour
	DefaultStatementTimeout = 5 * time.Minute
	DefaultRetry            = Retry{Attempts: 4, Backoff: time.Minute, MaxBackoff: 30 * time.Minute}
)

// Location says where the source is, for people: never a credential.
func (s *Source) Location() string {
	switch s.Kind {
	case FileDrop:
		return s.Folder
	case FHIR:
		if s.Group != "" {
			return strings.TrimRight(s.BaseURL, "/") + "/Group/" + s.Group
		}
		return strings.TrimRight(s.BaseURL, "/")
	case SQL:
		if s.DSN != "" {
			return redactDSN(s.DSN)
		}
		if v := os.Getenv(s.DSNEnv); v != "" {
			return redactDSN(v)
		}
		return "$" + s.DSNEnv
	}
	return ""
}

// redactDSN keeps a DSN's host, port and database, never its user or
// password.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		// The key=value form: keep only host, port and dbname.
		var keep []string
		for _, f := range strings.Fields(dsn) {
			k, _, _ := strings.Cut(f, "=")
			if k == "host" || k == "port" || k == "dbname" {
				keep = append(keep, f)
			}
		}
		if len(keep) == 0 {
			return "postgres"
		}
		return strings.Join(keep, " ")
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// File is a parsed and validated sources file.
type File struct {
	Path    string
	Sources []*Source
}

// Lookup finds a source by name.
func (f *File) Lookup(name string) (*Source, bool) {
	for _, s := range f.Sources {
		if s.Name == name {
			return s, true
		}
	}
	return nil, false
}

// Problem is one thing wrong with the sources file.
type Problem struct {
	Line   int
	Source string // "" for the file as a whole
	Field  string
	Text   string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Source != "" {
		fmt.Fprintf(&b, "source %q: ", p.Source)
	}
	if p.Field != "" {
		fmt.Fprintf(&b, "%s ", p.Field)
	}
	b.WriteString(p.Text)
	return b.String()
}

// Error lists every problem of a sources file, one sentence each.
type Error struct {
	Path     string
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = e.Path + ": " + p.String()
	}
	return strings.Join(lines, "\n")
}

// Load reads and validates the sources file at path: its structure, every
// value, and that each credential it names is there (the environment
// variable is set; the file exists and is readable by its owner only, as
// ssh demands of a private key). Relative paths are taken from the
// file's folder.
func Load(path string) (*File, error) {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sources file: %w", err)
	}
	return Parse(b, path)
}

// Parse validates the sources file's content; path names it in messages
// and anchors relative paths.
func Parse(b []byte, path string) (*File, error) {
	p := &parser{path: path, dir: filepath.Dir(path), names: map[string]int{}}
	f := &File{Path: path}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Path: path, Problems: []Problem{{Text: "is empty; it must list the sources under \"sources:\""}}}
		}
		return nil, &Error{Path: path, Problems: []Problem{{Text: "is not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &Error{Path: path, Problems: []Problem{{Line: root.Line, Text: "must be a mapping with a \"sources\" list"}}}
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "sources":
			list = v
		default:
			p.add(Problem{Line: k.Line, Field: fmt.Sprintf("%q", k.Value), Text: "is not a setting of the sources file (want \"sources\")"})
		}
	}
	switch {
	case list == nil:
		p.add(Problem{Line: root.Line, Text: "has no \"sources\" list"})
	case list.Kind != yaml.SequenceNode:
		p.add(Problem{Line: list.Line, Field: "sources", Text: "must be a list of sources"})
	case len(list.Content) == 0:
		p.add(Problem{Line: list.Line, Field: "sources", Text: "lists no source"})
	default:
		for _, n := range list.Content {
			if s := p.source(n); s != nil {
				f.Sources = append(f.Sources, s)
			}
		}
	}
	if len(p.problems) > 0 {
		sort.SliceStable(p.problems, func(i, j int) bool { return p.problems[i].Line < p.problems[j].Line })
		return nil, &Error{Path: path, Problems: p.problems}
	}
	return f, nil
}

type parser struct {
	path, dir string
	names     map[string]int
	problems  []Problem
}

func (p *parser) add(pr Problem) { p.problems = append(p.problems, pr) }

// clean reports whether no problem was found in s yet.
func (p *parser) clean(s *Source) bool {
	for _, pr := range p.problems {
		if pr.Source == s.Name {
			return false
		}
	}
	return true
}

// ok reports whether no problem was found on v's line of s yet.
func (p *parser) ok(s *Source, v *yaml.Node) bool {
	for _, pr := range p.problems {
		if pr.Line == v.Line && pr.Source == s.Name {
			return false
		}
	}
	return true
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// fields a source may have, so that a typo is named as one.
var sourceFields = []string{"name", "kind", "folder", "base_url", "group", "client_id", "key_id", "private_key_file",
	"token_url", "scope", "dsn", "dsn_env", "password_file", "statement_timeout", "datasets", "schedule",
	"incremental", "timeout", "retry"}

// kindFields are the fields that only one kind may have.
var kindFields = map[string]Kind{"folder": FileDrop, "base_url": FHIR, "group": FHIR, "client_id": FHIR, "key_id": FHIR,
	"private_key_file": FHIR, "token_url": FHIR, "scope": FHIR, "dsn": SQL, "dsn_env": SQL, "password_file": SQL, "statement_timeout": SQL, "incremental": FHIR}

func (p *parser) source(n *yaml.Node) *Source {
	if n.Kind != yaml.MappingNode {
		p.add(Problem{Line: n.Line, Field: "sources", Text: "must list sources as mappings (name: …, kind: …)"})
		return nil
	}
	s := &Source{Line: n.Line, Timeout: DefaultTimeout, Retry: DefaultRetry}
	valid := true
	fields := map[string]*yaml.Node{}
	keys := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		fields[k.Value], keys[k.Value] = v, k
	}
	// The name first, so that every later problem can say which source.
	if v := fields["name"]; v == nil {
		p.add(Problem{Line: n.Line, Field: "name", Text: "is missing; every source needs a name"})
	} else if v.Kind != yaml.ScalarNode {
		p.add(Problem{Line: v.Line, Field: "name", Text: "must be a text"})
		valid = false
	} else if !nameRE.MatchString(v.Value) {
		p.add(Problem{Line: v.Line, Field: "name", Text: fmt.Sprintf("%q must be lower-case letters, digits, - and _ (at most 63)", v.Value)})
		s.Name, valid = v.Value, false
	} else if first, dup := p.names[v.Value]; dup {
		p.add(Problem{Line: v.Line, Source: v.Value, Field: "name", Text: fmt.Sprintf("is used twice (first on line %d)", first)})
		s.Name, valid = v.Value, false
	} else {
		s.Name = v.Value
		p.names[v.Value] = v.Line
	}
	bad := func(v *yaml.Node, field, text string) {
		p.add(Problem{Line: v.Line, Source: s.Name, Field: field, Text: text})
	}
	if v := fields["kind"]; v == nil {
		p.add(Problem{Line: n.Line, Source: s.Name, Field: "kind", Text: "is missing (want filedrop, fhir or sql)"})
	} else {
		switch Kind(v.Value) {
		case FileDrop, FHIR, SQL:
			s.Kind = Kind(v.Value)
		default:
			bad(v, "kind", fmt.Sprintf("%q is not a connector (want filedrop, fhir or sql)", v.Value))
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(sourceFields, k.Value) {
			bad(k, fmt.Sprintf("%q", k.Value), "is not a field of a source"+suggest(k.Value, sourceFields))
			continue
		}
		if want, only := kindFields[k.Value]; only && s.Kind != "" && want != s.Kind {
			bad(k, k.Value, fmt.Sprintf("belongs to %s source, not to %s source", article(want), article(s.Kind)))
			continue
		}
		switch k.Value {
		case "name", "kind":
		case "folder":
			s.Folder = p.path_(s, v, k.Value)
		case "base_url":
			s.BaseURL = p.httpURL(s, v, k.Value)
		case "token_url":
			s.TokenURL = p.httpURL(s, v, k.Value)
		case "group":
			s.Group = p.str(s, v, k.Value)
		case "client_id":
			s.ClientID = p.str(s, v, k.Value)
		case "key_id":
			s.KeyID = p.str(s, v, k.Value)
		case "scope":
			s.Scope = p.str(s, v, k.Value)
		case "private_key_file":
			if s.PrivateKeyFile = p.secretFile(s, v, k.Value); s.PrivateKeyFile != "" && p.ok(s, v) {
				if _, err := extract.LoadFHIRKey(s.PrivateKeyFile); err != nil {
					bad(v, "private_key_file", "cannot be used: "+err.Error())
				}
			}
		case "password_file":
			s.PasswordFile = p.secretFile(s, v, k.Value)
		case "dsn":
			s.DSN = p.str(s, v, k.Value)
			if s.DSN != "" && dsnHasPassword(s.DSN) {
				bad(v, "dsn", "holds a password; put the password in password_file, or the whole DSN in an environment variable named by dsn_env")
				s.DSN = ""
			}
		case "dsn_env":
			s.DSNEnv = p.str(s, v, k.Value)
			if s.DSNEnv != "" && os.Getenv(s.DSNEnv) == "" {
				bad(v, "dsn_env", fmt.Sprintf("names the environment variable %s, which is not set", s.DSNEnv))
			}
		case "statement_timeout":
			s.StatementTimeout = p.duration(s, v, k.Value)
		case "timeout":
			if d := p.duration(s, v, k.Value); d > 0 {
				s.Timeout = d
			}
		case "incremental":
			if err := v.Decode(&s.Incremental); err != nil || v.Kind != yaml.ScalarNode {
				bad(v, "incremental", fmt.Sprintf("%q must be true or false", v.Value))
			}
		case "schedule":
			s.Schedule = p.schedule(s, v)
		case "retry":
			s.Retry = p.retry(s, v)
		case "datasets":
			p.datasets(s, v)
		}
	}
	// What each kind needs.
	need := func(field, what string) {
		if fields[field] == nil {
			p.add(Problem{Line: n.Line, Source: s.Name, Field: field, Text: "is missing; " + article(s.Kind) + " source needs " + what})
		}
	}
	switch s.Kind {
	case FileDrop:
		need("folder", "the folder the extract is dropped in")
	case FHIR:
		if fields["incremental"] == nil {
			s.Incremental = true
		}
		need("base_url", "the FHIR server's base URL")
		need("client_id", "the broker's SMART client id")
		need("key_id", "the id of the broker's key in the JWKS the server holds (kid)")
		need("private_key_file", "the broker's private key (PEM) for SMART Backend Services")
	case SQL:
		switch {
		case fields["dsn"] == nil && fields["dsn_env"] == nil:
			p.add(Problem{Line: n.Line, Source: s.Name, Field: "dsn", Text: "is missing; an sql source needs dsn (without a password) or dsn_env"})
		case fields["dsn"] != nil && fields["dsn_env"] != nil:
			p.add(Problem{Line: keys["dsn_env"].Line, Source: s.Name, Field: "dsn_env", Text: "and dsn are both given; keep one"})
		}
		if s.StatementTimeout == 0 {
			s.StatementTimeout = DefaultStatementTimeout
		}
		// The connector validates the DSN and the queries' form without
		// connecting; only worth it when nothing else is wrong here.
		if at := keys["dsn"]; at != nil || keys["dsn_env"] != nil {
			if at == nil {
				at = keys["dsn_env"]
			}
			if p.clean(s) && len(s.Queries) > 0 {
				if dsn, err := s.dsn(); err != nil {
					p.add(Problem{Line: at.Line, Source: s.Name, Field: at.Value, Text: "cannot be used: " + strings.TrimPrefix(err.Error(), fmt.Sprintf("source %q: ", s.Name))})
				} else if r, err := extract.NewSQLReplica(extract.SQLReplicaOptions{DSN: dsn, Queries: s.Queries, StatementTimeout: s.StatementTimeout}); err != nil {
					p.add(Problem{Line: at.Line, Source: s.Name, Field: at.Value, Text: "cannot be used: " + err.Error()})
				} else {
					r.Close()
				}
			}
		}
	}
	if fields["datasets"] == nil && s.Kind != "" {
		p.add(Problem{Line: n.Line, Source: s.Name, Field: "datasets", Text: "is missing; name the datasets the source provides"})
	}
	if !valid || s.Name == "" || s.Kind == "" {
		return nil
	}
	return s
}

func article(k Kind) string {
	if k == SQL {
		return "an sql"
	}
	return "a " + string(k)
}

func suggest(got string, from []string) string {
	best, bestD := "", 3
	for _, f := range from {
		if d := editDistance(got, f); d < bestD {
			best, bestD = f, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func (p *parser) str(s *Source, v *yaml.Node, field string) string {
	if v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) == "" {
		p.add(Problem{Line: v.Line, Source: s.Name, Field: field, Text: "must be a non-empty text"})
		return ""
	}
	return v.Value
}

func (p *parser) path_(s *Source, v *yaml.Node, field string) string {
	path := p.str(s, v, field)
	if path == "" {
		return ""
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.dir, path)
	}
	return filepath.Clean(path)
}

func (p *parser) httpURL(s *Source, v *yaml.Node, field string) string {
	raw := p.str(s, v, field)
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		p.add(Problem{Line: v.Line, Source: s.Name, Field: field, Text: fmt.Sprintf("%q is not an http(s) URL", raw)})
		return ""
	case u.User != nil:
		p.add(Problem{Line: v.Line, Source: s.Name, Field: field, Text: "must not carry credentials"})
		return ""
	}
	return raw
}

func (p *parser) duration(s *Source, v *yaml.Node, field string) time.Duration {
	d, err := time.ParseDuration(v.Value)
	if err != nil || d <= 0 || v.Kind != yaml.ScalarNode {
		p.add(Problem{Line: v.Line, Source: s.Name, Field: field, Text: fmt.Sprintf("%q is not a positive duration (like 90s, 5m or 6h)", v.Value)})
		return 0
	}
	return d
}

// secretFile checks a credential file as ssh checks a private key: it must
// exist, be a regular file, and be readable by its owner only.
func (p *parser) secretFile(s *Source, v *yaml.Node, field string) string {
	path := p.path_(s, v, field)
	if path == "" {
		return ""
	}
	st, err := os.Stat(path)
	switch {
	case err != nil:
		p.add(Problem{Line: v.Line, Source: s.Name, Field: field, Text: fmt.Sprintf("%s cannot be read: %v", path, errors.Unwrap(err))})
	case !st.Mode().IsRegular():
		p.add(Problem{Line: v.Line, Source: s.Name, Field: field, Text: fmt.Sprintf("%s is not a regular file", path)})
	case st.Mode().Perm()&0o077 != 0:
		p.add(Problem{Line: v.Line, Source: s.Name, Field: field, Text: fmt.Sprintf("%s is open to others (mode %#o); make it readable by its owner only (chmod 600)", path, st.Mode().Perm())})
	}
	return path
}

func dsnHasPassword(dsn string) bool {
	if u, err := url.Parse(dsn); err == nil && u.Host != "" {
		if _, ok := u.User.Password(); ok {
			return true
		}
		return u.Query().Has("password")
	}
	for _, f := range strings.Fields(dsn) {
		if strings.HasPrefix(f, "password=") {
			return true
		}
	}
	return false
}

// knownDatasets are the datasets a source may provide, in load order.
func knownDatasets() []string {
	out := make([]string, len(extract.Layouts))
	for i, l := range extract.Layouts {
		out[i] = string(l.Dataset)
	}
	return out
}

// datasets reads the list of datasets (filedrop, fhir) or the query per
// dataset (sql).
func (p *parser) datasets(s *Source, v *yaml.Node) {
	known := knownDatasets()
	seen := map[string]bool{}
	one := func(n *yaml.Node) bool {
		switch {
		case !slices.Contains(known, n.Value):
			p.add(Problem{Line: n.Line, Source: s.Name, Field: "datasets", Text: fmt.Sprintf("%q is not a dataset (want %s)", n.Value, strings.Join(known, ", "))})
		case seen[n.Value]:
			p.add(Problem{Line: n.Line, Source: s.Name, Field: "datasets", Text: fmt.Sprintf("names %s twice", n.Value)})
		default:
			seen[n.Value] = true
			return true
		}
		return false
	}
	switch {
	case s.Kind == SQL && v.Kind == yaml.MappingNode:
		s.Queries = map[extract.Dataset]string{}
		for i := 0; i+1 < len(v.Content); i += 2 {
			k, q := v.Content[i], v.Content[i+1]
			if !one(k) {
				continue
			}
			if q.Kind != yaml.ScalarNode || !strings.HasPrefix(strings.ToUpper(strings.TrimSpace(q.Value)), "SELECT") &&
				!strings.HasPrefix(strings.ToUpper(strings.TrimSpace(q.Value)), "WITH") {
				p.add(Problem{Line: q.Line, Source: s.Name, Field: "datasets." + k.Value, Text: "must be one SELECT query whose columns are named as the dataset's header"})
				continue
			}
			s.Queries[extract.Dataset(k.Value)] = q.Value
		}
	case s.Kind == SQL:
		p.add(Problem{Line: v.Line, Source: s.Name, Field: "datasets", Text: "of an sql source must map each dataset to its query (care: SELECT …)"})
		return
	case v.Kind == yaml.SequenceNode:
		for _, n := range v.Content {
			if n.Kind != yaml.ScalarNode {
				p.add(Problem{Line: n.Line, Source: s.Name, Field: "datasets", Text: "must list dataset names, not lists or mappings"})
				continue
			}
			one(n)
		}
	default:
		p.add(Problem{Line: v.Line, Source: s.Name, Field: "datasets", Text: fmt.Sprintf("must be a list of datasets (%s)", strings.Join(known, ", "))})
		return
	}
	for _, d := range known {
		if seen[d] {
			s.Datasets = append(s.Datasets, extract.Dataset(d))
		}
	}
	if len(s.Datasets) == 0 {
		p.add(Problem{Line: v.Line, Source: s.Name, Field: "datasets", Text: "is empty; name at least one dataset"})
	}
}

func (p *parser) retry(s *Source, v *yaml.Node) Retry {
	r := DefaultRetry
	if v.Kind != yaml.MappingNode {
		p.add(Problem{Line: v.Line, Source: s.Name, Field: "retry", Text: "must be a mapping (attempts, backoff, max_backoff)"})
		return r
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, x := v.Content[i], v.Content[i+1]
		switch k.Value {
		case "attempts":
			if err := x.Decode(&r.Attempts); err != nil || r.Attempts < 1 || r.Attempts > 20 {
				p.add(Problem{Line: x.Line, Source: s.Name, Field: "retry.attempts", Text: fmt.Sprintf("%q must be a whole number from 1 to 20", x.Value)})
				r.Attempts = DefaultRetry.Attempts
			}
		case "backoff":
			if d := p.duration(s, x, "retry.backoff"); d > 0 {
				r.Backoff = d
			}
		case "max_backoff":
			if d := p.duration(s, x, "retry.max_backoff"); d > 0 {
				r.MaxBackoff = d
			}
		default:
			p.add(Problem{Line: k.Line, Source: s.Name, Field: fmt.Sprintf("retry.%s", k.Value), Text: "is not a retry setting (want attempts, backoff, max_backoff)"})
		}
	}
	if r.MaxBackoff < r.Backoff {
		p.add(Problem{Line: v.Line, Source: s.Name, Field: "retry.max_backoff", Text: "is shorter than retry.backoff"})
	}
	return r
}
