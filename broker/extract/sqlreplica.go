package extract

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgtype"
)

// SQLReplicaOptions configure a SQL replica source.
type SQLReplicaOptions struct {
	// DSN is a PostgreSQL connection string (postgres://… or key=value).
	// Its credentials never appear in Location() or in errors.
	DSN string
	// Queries holds one SELECT per dataset this source provides, its
	// columns named as Layouts' header for that dataset (in any order).
	Queries map[Dataset]string
	// StatementTimeout bounds each query (SET LOCAL statement_timeout);
	// default 5 minutes.
	StatementTimeout time.Duration
	// Since, if set, is bound as the named argument @since for the queries
	// that use it; zero binds -infinity, so that "changed > @since"
	// selects every row. It is bound as text in UTC, so PostgreSQL reads
	// it as the type it is compared with (date, timestamp, timestamptz).
	// The source is not an IncrementalSource (its rows carry no record
	// id): Pull loads what the queries return as the source's full
	// snapshot, so a pull with Since replaces the source's rows with the
	// changed ones only.
	Since time.Time
	// SpoolDir is where query results are spooled; default the system's
	// temporary folder.
	SpoolDir string
}

// SQLReplica pulls an extract from a clinical system's read-only reporting
// replica in PostgreSQL, through one configured query per dataset.
//
// Parts opens one READ ONLY, REPEATABLE READ transaction, so that all the
// datasets come from one consistent snapshot, sets a statement timeout in
// it, and streams each query's rows (never all in memory) into a spool
// file per dataset: Parquet with text columns in the layout's header
// order, which DuckDB reads itself (LocalFiler) as it reads a file drop's
// Parquet. PostgreSQL's values are spooled as the text a file drop would
// carry (dates ISO 8601, numbers with a decimal point, char(n) without its
// padding), so the same validation applies unchanged.
//
// Each part's SHA-256 is a hash of the multiset of its rows, independent
// of their order: an unchanged replica gives an unchanged fingerprint (and
// the pull is a no-op) even where PostgreSQL returns the rows in another
// physical order, as it may without an ORDER BY. The quarantine's line is
// the row number in the query's result (from 1); give the query an ORDER
// BY if those numbers should point at the same rows next time.
//
// A query whose columns are not the dataset's, or of a type with no
// agreed text form (timestamp, boolean, ...), stops the pull with one
// sentence naming the source, the dataset and the columns; so do a
// statement timeout, a permission error and a query that tries to write.
// Connecting is retried with bounded exponential backoff and jitter, and
// so is a snapshot the server lost (a standby's conflict with recovery, a
// restart, a cut connection); a query's own error is not. Close removes
// the spool.
type SQLReplica struct {
	opt      SQLReplicaOptions
	cfg      *pgx.ConnConfig
	password string
	location string

	// Connection retries: attempts in all, the first wait and its cap.
	attempts            int
	backoff, maxBackoff time.Duration
	sleep               func(ctx context.Context, d time.Duration) error

	mu    sync.Mutex
	spool string
	files map[Dataset]string // spooled Parquet file per dataset
}

// NewSQLReplica validates the options and returns the source; it does
// not connect.
func NewSQLReplica(opt SQLReplicaOptions) (*SQLReplica, error) {
	if strings.TrimSpace(opt.DSN) == "" {
		return nil, errors.New("SQL replica: no DSN given")
	}
	cfg, err := pgx.ParseConfig(opt.DSN)
	if err != nil {
		return nil, fmt.Errorf("SQL replica: the DSN is not a PostgreSQL connection string: %s", dsnParseReason(err))
	}
	if len(opt.Queries) == 0 {
		return nil, errors.New("SQL replica: no query is configured (one SELECT per dataset it provides)")
	}
	queries := make(map[Dataset]string, len(opt.Queries))
	for ds, q := range opt.Queries {
		if !knownDataset(ds) {
			return nil, fmt.Errorf("SQL replica: query for unknown dataset %q (want one of %s)", ds, strings.Join(datasetNames(), ", "))
		}
		q = strings.TrimRight(strings.TrimSpace(q), "; \t\r\n")
		if q == "" {
			return nil, fmt.Errorf("SQL replica: the query for dataset %s is empty", ds)
		}
		queries[ds] = q
	}
	opt.Queries = queries
	if opt.StatementTimeout < 0 {
		return nil, fmt.Errorf("SQL replica: statement timeout %s is negative", opt.StatementTimeout)
	}
	if opt.StatementTimeout == 0 {
		opt.StatementTimeout = 5 * time.Minute
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 30 * time.Second
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "folkekommune"
	}
	// One statement per Parts: nothing to gain from named prepared statements.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeDescribeExec
	// An abandoned pull must stop the query on the server, not only drop
	// the socket (the server would go on until the statement timeout).
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 2 * time.Second}
	}
	s := &SQLReplica{
		opt:        opt,
		cfg:        cfg,
		password:   cfg.Password,
		location:   replicaLocation(cfg),
		attempts:   5,
		backoff:    500 * time.Millisecond,
		maxBackoff: 15 * time.Second,
		sleep:      sleepCtx,
	}
	return s, nil
}

func knownDataset(ds Dataset) bool {
	for _, l := range Layouts {
		if l.Dataset == ds {
			return true
		}
	}
	return false
}

func datasetNames() []string {
	var out []string
	for _, l := range Layouts {
		out = append(out, string(l.Dataset))
	}
	return out
}

// dsnParseReason keeps pgx's reason for refusing a DSN but none of the
// DSN: pgx masks a password it recognises, but in a DSN it cannot parse
// it may not recognise one, and its reasons quote fragments of the input
// (missing "=" after "leser:hemmelig@db").
func dsnParseReason(err error) string {
	s := backquoted.ReplaceAllString(err.Error(), "the DSN")
	s = strings.TrimPrefix(s, "cannot parse the DSN: ")
	// Every quoted fragment but a single character ("=") goes; quotes
	// pair from the left, and an escaped quote is not one.
	var b strings.Builder
	var quoted strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case in && c == '\\' && i+1 < len(s):
			quoted.WriteByte(c)
			quoted.WriteByte(s[i+1])
			i++
		case c == '"' && in:
			if quoted.Len() <= 1 {
				b.WriteString(`"` + quoted.String() + `"`)
			} else {
				b.WriteString(`"…"`)
			}
			quoted.Reset()
			in = false
		case c == '"':
			in = true
		case in:
			quoted.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	if in {
		b.WriteString(`"…`)
	}
	return b.String()
}

var backquoted = regexp.MustCompile("`[^`]*`")

// replicaLocation names the server and database as a URL without
// credentials.
func replicaLocation(cfg *pgx.ConnConfig) string {
	db := url.PathEscape(cfg.Database)
	if strings.HasPrefix(cfg.Host, "/") {
		return fmt.Sprintf("postgres:///%s?host=%s&port=%d", db, url.QueryEscape(cfg.Host), cfg.Port)
	}
	return "postgres://" + net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))) + "/" + db
}

// Kind implements Source.
func (s *SQLReplica) Kind() string { return "sql" }

// Location implements Source.
func (s *SQLReplica) Location() string { return s.location }

// Close removes the spooled query results.
func (s *SQLReplica) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files = nil
	if s.spool == "" {
		return nil
	}
	err := os.RemoveAll(s.spool)
	s.spool = ""
	return err
}

// errorf makes the one sentence a user sees: it names the replica, and
// never carries the password or an identity number (a PostgreSQL message
// may quote a value).
func (s *SQLReplica) errorf(format string, args ...any) error {
	return &replicaError{msg: s.scrub(fmt.Sprintf("SQL replica %s: "+format, append([]any{s.location}, args...)...)), err: causeOf(args)}
}

func (s *SQLReplica) scrub(msg string) string {
	// A password of a few characters would blank half the sentence where
	// it happens to occur; the server never echoes one anyway.
	if len(s.password) >= 4 {
		msg = strings.ReplaceAll(msg, s.password, "[password withheld]")
	}
	return elevenDigits.ReplaceAllString(msg, "[identity number withheld]")
}

// replicaError is a scrubbed message that still unwraps to a context's
// error, so that callers can tell a cancelled pull.
type replicaError struct {
	msg   string
	err   error
	retry bool // the snapshot was lost, not refused: a new one may succeed
}

func (e *replicaError) Error() string { return e.msg }
func (e *replicaError) Unwrap() error { return e.err }

func causeOf(args []any) error {
	for _, a := range args {
		if err, ok := a.(error); ok {
			if errors.Is(err, context.Canceled) {
				return context.Canceled
			}
			if errors.Is(err, context.DeadlineExceeded) {
				return context.DeadlineExceeded
			}
		}
	}
	return nil
}

// connect opens a connection, retrying what a new attempt may cure: a
// refused or cut connection, a server starting up or out of connection
// slots. A wrong password or database is not retried.
func (s *SQLReplica) connect(ctx context.Context) (*pgx.Conn, error) {
	var last error
	for attempt := 0; attempt < s.attempts; attempt++ {
		if attempt > 0 {
			d := s.backoffFor(attempt)
			slog.Debug("sql replica connect retry", "source", s.location, "attempt", attempt+1, "wait", d)
			if err := s.sleep(ctx, d); err != nil {
				return nil, s.errorf("connecting was abandoned: %v", err)
			}
		}
		conn, err := pgx.ConnectConfig(ctx, s.cfg)
		if err == nil {
			return conn, nil
		}
		if ctx.Err() != nil {
			return nil, s.errorf("connecting was abandoned: %v", ctx.Err())
		}
		reason, retry := connectReason(err)
		if !retry {
			return nil, s.errorf("cannot connect: %s", reason)
		}
		last = errors.New(reason)
	}
	return nil, s.errorf("cannot connect after %d attempts: %v", s.attempts, last)
}

// backoffFor is the wait before retry number attempt (from 1): doubling
// from the first backoff up to its cap, with full jitter over its upper
// half.
func (s *SQLReplica) backoffFor(attempt int) time.Duration {
	d := s.backoff << min(attempt-1, 20)
	if d > s.maxBackoff || d <= 0 {
		d = s.maxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// connectReason says in a few words why a connection failed, and whether
// trying again may help.
func connectReason(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "28P01" || pe.Code == "28000":
			return "the server refused the login (wrong user name or password, or no access to the database from here)", false
		case pe.Code == "3D000":
			return "the database does not exist", false
		case pe.Code == "57P03" || pe.Code == "53300":
			return pe.Message, true
		}
		return fmt.Sprintf("%s (SQLSTATE %s)", pe.Message, pe.Code), false
	}
	var dns *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused", true
	case errors.As(err, &dns):
		return "host " + dns.Name + " not found", dns.IsTemporary || dns.IsTimeout
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return "the server did not answer in time", true
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET):
		return "the server closed the connection", true
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Err.Error(), true
	}
	// pgconn's own text names user and database: keep only its last clause.
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg, false
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// begin opens the read-only snapshot every query of a pull runs in, with
// the statement timeout and ISO dates.
func (s *SQLReplica) begin(ctx context.Context, conn *pgx.Conn) (pgx.Tx, error) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, s.errorf("cannot open a read-only transaction: %v", s.queryReason(err))
	}
	ms := strconv.FormatInt(max(s.opt.StatementTimeout.Milliseconds(), 1), 10)
	if _, err := tx.Exec(ctx, `SELECT set_config('statement_timeout', $1, true), set_config('DateStyle', 'ISO, YMD', true),
		set_config('extra_float_digits', '1', true)`, ms); err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return nil, s.errorf("cannot set the statement timeout: %v", s.queryReason(err))
	}
	return tx, nil
}

// sinceArg is the value of @since: the time in UTC as text, so that
// PostgreSQL reads it as whatever type the query compares it with (date,
// timestamp or timestamptz).
func (s *SQLReplica) sinceArg() string {
	if s.opt.Since.IsZero() {
		return "-infinity"
	}
	return s.opt.Since.UTC().Format("2006-01-02 15:04:05.999999Z07:00")
}

// queryReason says in a few words why a query failed.
func (s *SQLReplica) queryReason(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "57014" && strings.Contains(pe.Message, "statement timeout"):
			return fmt.Sprintf("it ran longer than the statement timeout (%s) and was stopped", s.opt.StatementTimeout)
		case pe.Code == "25006" || pe.Code == "0A000" && strings.Contains(pe.Message, "data-modifying"):
			return "it tries to change data (" + pe.Message + "), and a replica query may only read"
		case pe.Code == "42501":
			return "the replica's account may not read it (" + pe.Message + ")"
		case pe.Code == "42601":
			return "its SQL has a syntax error (" + pe.Message + ")"
		}
		return fmt.Sprintf("%s (SQLSTATE %s)", pe.Message, pe.Code)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "it was stopped: " + err.Error()
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return "the server closed the connection"
	}
	if isTimeout(err) {
		return "the connection timed out"
	}
	return err.Error()
}

// textTypes are the PostgreSQL types whose text form is what a file drop
// carries; trimmed are those whose padding is not part of the value.
var (
	textTypes = map[uint32]bool{
		pgtype.TextOID: true, pgtype.VarcharOID: true, pgtype.BPCharOID: true, pgtype.NameOID: true, pgtype.UnknownOID: true,
		pgtype.DateOID: true, pgtype.Int2OID: true, pgtype.Int4OID: true, pgtype.Int8OID: true,
		pgtype.NumericOID: true, pgtype.Float4OID: true, pgtype.Float8OID: true,
	}
	dateColumns = map[string]bool{
		"fodselsdato": true, "innflyttet": true, "utflyttet": true, "dodsdato": true, "maledato": true,
		"vaksinasjonsdato": true, "kontaktdato": true, "vedtak_fra": true, "vedtak_til": true,
	}
)

// columnOrder checks a query's column names against the dataset's header
// and returns, for each header column, its position in the result.
func (s *SQLReplica) columnOrder(ds Dataset, fields []pgconn.FieldDescription) ([]int, error) {
	header := layoutOf(ds).Header
	var got []string
	pos := map[string]int{}
	dup := ""
	for i, f := range fields {
		got = append(got, f.Name)
		if _, seen := pos[f.Name]; seen && dup == "" {
			dup = f.Name
		}
		pos[f.Name] = i
	}
	var missing, extra []string
	for _, h := range header {
		if _, ok := pos[h]; !ok {
			missing = append(missing, h)
		}
	}
	for _, g := range got {
		if !slices.Contains(header, g) {
			extra = append(extra, g)
		}
	}
	if len(missing) > 0 || len(extra) > 0 || dup != "" {
		var what []string
		if len(missing) > 0 {
			what = append(what, "missing "+strings.Join(missing, ", "))
		}
		if len(extra) > 0 {
			what = append(what, "unexpected "+strings.Join(extra, ", "))
		}
		if dup != "" {
			what = append(what, dup+" twice")
		}
		return nil, s.errorf("the query for dataset %s returns the columns (%s) but %s needs (%s): %s",
			ds, strings.Join(got, ", "), ds, strings.Join(header, ", "), strings.Join(what, "; "))
	}
	order := make([]int, len(header))
	for i, h := range header {
		order[i] = pos[h]
	}
	return order, nil
}

// baseTypeSQL finds what a column's type is made of: the type under any
// domains, whether that is an enum, and the type's SQL name.
const baseTypeSQL = `WITH RECURSIVE t(oid, typtype, typbasetype, depth) AS (
	SELECT oid, typtype, typbasetype, 0 FROM pg_catalog.pg_type WHERE oid = $1
	UNION ALL
	SELECT p.oid, p.typtype, p.typbasetype, t.depth + 1 FROM pg_catalog.pg_type p JOIN t ON p.oid = t.typbasetype WHERE t.typtype = 'd')
SELECT oid, typtype = 'e', pg_catalog.format_type($1, NULL) FROM t ORDER BY depth DESC LIMIT 1`

// checkTypes refuses a column whose type has no agreed text form, and
// says which columns are char(n), whose padding is not part of the value.
// Enums (their labels are codes) and domains over an accepted type pass.
func (s *SQLReplica) checkTypes(ctx context.Context, tx pgx.Tx, ds Dataset, fields []pgconn.FieldDescription, order []int) ([]bool, error) {
	header := layoutOf(ds).Header
	trim := make([]bool, len(order))
	for i, p := range order {
		oid := fields[p].DataTypeOID
		if textTypes[oid] {
			trim[i] = oid == pgtype.BPCharOID
			continue
		}
		var base uint32
		var enum bool
		var name string
		if err := tx.QueryRow(ctx, baseTypeSQL, oid).Scan(&base, &enum, &name); err != nil {
			return nil, s.queryError(ctx, ds, err)
		}
		if enum || textTypes[base] {
			trim[i] = base == pgtype.BPCharOID
			continue
		}
		hint := "text"
		if dateColumns[header[i]] {
			hint = "date (or to text in ISO 8601)"
		}
		return nil, s.errorf("the query for dataset %s returns column %s as %s, which has no agreed text form: cast it to %s", ds, header[i], name, hint)
	}
	return trim, nil
}

// describe binds @since and has the server describe the query without
// running it, so that a query with the wrong columns is refused before the
// server does its work. It returns the query to run with its arguments,
// for each header column its position in the result, and whether its
// padding is to be trimmed (char(n)).
func (s *SQLReplica) describe(ctx context.Context, tx pgx.Tx, ds Dataset, q string) (string, []any, []int, []bool, error) {
	q, args, err := pgx.NamedArgs{"since": s.sinceArg()}.RewriteQuery(ctx, tx.Conn(), q, nil)
	if err != nil {
		return "", nil, nil, nil, s.errorf("the query for dataset %s cannot be read: %v", ds, err)
	}
	sd, err := tx.Prepare(ctx, "", q)
	if err != nil {
		return "", nil, nil, nil, s.queryError(ctx, ds, err)
	}
	order, err := s.columnOrder(ds, sd.Fields)
	if err != nil {
		return "", nil, nil, nil, err
	}
	trim, err := s.checkTypes(ctx, tx, ds, sd.Fields, order)
	if err != nil {
		return "", nil, nil, nil, err
	}
	return q, args, order, trim, nil
}

// queryError is the sentence for a failed query; a pull abandoned through
// its context says so (and unwraps to the context's error), whatever the
// server answered to the cancel request.
func (s *SQLReplica) queryError(ctx context.Context, ds Dataset, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return s.errorf("the query for dataset %s was stopped: %v", ds, cerr)
	}
	e := s.errorf("the query for dataset %s failed: %s", ds, s.queryReason(err))
	e.(*replicaError).retry = snapshotLost(err)
	return e
}

// snapshotLost tells an error that is not the query's fault and that a
// new snapshot may cure.
func snapshotLost(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "57P01", "57P02", "57P03": // admin or crash shutdown, starting up
			return true
		case "40001", "40P01":
			return strings.Contains(pe.Message, "conflict with recovery")
		}
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || isTimeout(err)
}

// Parts implements Source: in one read-only snapshot it runs each
// configured query and spools its rows, in Layouts' order. A snapshot
// lost to the server (a standby cancelling the queries for a conflict
// with recovery, a restart, a cut connection) is taken again from the
// start, with the connection's backoff; a query's own error is not.
func (s *SQLReplica) Parts(ctx context.Context) (parts []Part, err error) {
	for attempt := 0; ; attempt++ {
		parts, err = s.snapshot(ctx)
		var re *replicaError
		if err == nil || !errors.As(err, &re) || !re.retry || attempt+1 >= s.attempts || ctx.Err() != nil {
			return parts, err
		}
		slog.Warn("sql replica snapshot lost; taking it again", "source", s.location, "attempt", attempt+2, "cause", err)
		if serr := s.sleep(ctx, s.backoffFor(attempt+1)); serr != nil {
			return nil, err
		}
	}
}

func (s *SQLReplica) snapshot(ctx context.Context) (parts []Part, err error) {
	if err := s.Close(); err != nil {
		return nil, fmt.Errorf("remove old SQL replica spool: %w", err)
	}
	spool, err := os.MkdirTemp(s.opt.SpoolDir, "sql-spool-")
	if err != nil {
		return nil, fmt.Errorf("create SQL replica spool: %w", err)
	}
	s.mu.Lock()
	s.spool = spool
	s.files = map[Dataset]string{}
	s.mu.Unlock()
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	conn, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := s.begin(ctx, conn)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	for _, l := range Layouts {
		q, ok := s.opt.Queries[l.Dataset]
		if !ok {
			continue
		}
		path := filepath.Join(spool, string(l.Dataset)+".parquet")
		sum, n, err := s.spoolQuery(ctx, tx, l.Dataset, q, path)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.files[l.Dataset] = path
		s.mu.Unlock()
		parts = append(parts, Part{Dataset: l.Dataset, Name: "sql:" + string(l.Dataset), SHA256: sum, Bytes: n})
	}
	return parts, nil
}

// spoolBatch is the number of rows per Parquet row group of the spool.
const spoolBatch = 64 << 10

// spoolQuery runs one dataset's query and writes its rows to path as
// Parquet with text columns in header order, returning the rows' hash and
// the file's size.
func (s *SQLReplica) spoolQuery(ctx context.Context, tx pgx.Tx, ds Dataset, q, path string) (_ string, _ int64, err error) {
	header := layoutOf(ds).Header
	q, args, order, trim, err := s.describe(ctx, tx, ds, q)
	if err != nil {
		return "", 0, err
	}
	// Closing rows that are not finished would read them all; a failed
	// spool cancels the query instead (the connection is dropped after).
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows, err := tx.Query(qctx, q, append([]any{pgx.QueryResultFormats{pgx.TextFormatCode}}, args...)...)
	if err != nil {
		return "", 0, s.queryError(ctx, ds, err)
	}
	defer func() {
		if err != nil {
			cancel()
		}
		rows.Close()
	}()

	fh, err := os.Create(path)
	if err != nil {
		return "", 0, fmt.Errorf("SQL replica spool: %w", err)
	}
	defer fh.Close()
	fields := make([]arrow.Field, len(header))
	for i, h := range header {
		fields[i] = arrow.Field{Name: h, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	w, err := pqarrow.NewFileWriter(schema, fh, parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy), parquet.WithDictionaryDefault(false),
		parquet.WithCreatedBy("folkekommune sql replica spool")), pqarrow.DefaultWriterProps())
	if err != nil {
		return "", 0, fmt.Errorf("SQL replica spool: %w", err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	cols := make([]*array.StringBuilder, len(header))
	for i := range cols {
		cols[i] = b.Field(i).(*array.StringBuilder)
	}
	flush := func() error {
		rec := b.NewRecordBatch()
		defer rec.Release()
		return w.Write(rec)
	}
	var sum rowsHash
	vals := make([][]byte, len(header))
	var pending int
	for rows.Next() {
		raw := rows.RawValues()
		for i, p := range order {
			v := raw[p]
			if trim[i] {
				for len(v) > 0 && v[len(v)-1] == ' ' {
					v = v[:len(v)-1]
				}
			}
			vals[i] = v
			// As in a CSV file drop, an empty value and a missing one are
			// the same: missing.
			if len(v) == 0 {
				cols[i].AppendNull()
			} else {
				cols[i].BinaryBuilder.Append(v)
			}
		}
		sum.add(vals)
		if pending++; pending == spoolBatch {
			if err := flush(); err != nil {
				return "", 0, fmt.Errorf("SQL replica spool: %w", err)
			}
			pending = 0
		}
	}
	if err := rows.Err(); err != nil {
		return "", 0, s.queryError(ctx, ds, err)
	}
	if pending > 0 || sum.n == 0 {
		if err := flush(); err != nil {
			return "", 0, fmt.Errorf("SQL replica spool: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return "", 0, fmt.Errorf("SQL replica spool: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", 0, fmt.Errorf("SQL replica spool: %w", err)
	}
	return sum.hex(ds, header), st.Size(), nil
}

// rowsHash is a hash of a multiset of rows: the sum modulo 2^256 of each
// row's SHA-256. The order of the rows does not change it; a changed,
// added, removed or repeated row does.
type rowsHash struct {
	acc [4]uint64
	n   int64
	h   [sha256.Size]byte
	buf []byte
}

func (r *rowsHash) add(vals [][]byte) {
	r.buf = r.buf[:0]
	for _, v := range vals {
		r.buf = binary.AppendUvarint(r.buf, uint64(len(v)))
		r.buf = append(r.buf, v...)
	}
	r.h = sha256.Sum256(r.buf)
	var carry uint64
	for i := range 4 {
		r.acc[i], carry = bits.Add64(r.acc[i], binary.LittleEndian.Uint64(r.h[8*i:]), carry)
	}
	r.n++
}

func (r *rowsHash) hex(ds Dataset, header []string) string {
	h := sha256.New()
	fmt.Fprintf(h, "sql replica rows\n%s\n%s\n%d\n", ds, strings.Join(header, ","), r.n)
	for _, a := range r.acc {
		binary.Write(h, binary.LittleEndian, a)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (s *SQLReplica) spoolFile(p Part) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path, ok := s.files[p.Dataset]
	if !ok || p.Name != "sql:"+string(p.Dataset) {
		return "", fmt.Errorf("SQL replica %s: part %s was not spooled by this source's last Parts", s.location, p.Name)
	}
	return path, nil
}

// Read implements Source: it streams a spooled part, the row numbers
// being those of the query's result.
func (s *SQLReplica) Read(ctx context.Context, p Part, fn func(line int64, rec []string) error) error {
	path, err := s.spoolFile(p)
	if err != nil {
		return err
	}
	return readParquet(ctx, path, p.Name, layoutOf(p.Dataset).Header, fn)
}

// LocalFile implements LocalFiler: the spool is Parquet that DuckDB reads
// directly.
func (s *SQLReplica) LocalFile(ctx context.Context, p Part) (string, error) {
	return s.spoolFile(p)
}

// Check connects, opens the read-only snapshot a pull uses, and for each
// query has the server describe it (its columns are verified) and declare
// a cursor for it (the account's privileges are checked) without running
// it: for `sources check`. It returns every problem found, one sentence
// each.
func (s *SQLReplica) Check(ctx context.Context) error {
	conn, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := s.begin(ctx, conn)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var ro string
	if err := tx.QueryRow(ctx, `SHOW transaction_read_only`).Scan(&ro); err != nil {
		return s.errorf("cannot check that the transaction is read-only: %s", s.queryReason(err))
	}
	if ro != "on" {
		return s.errorf("the server did not open a read-only transaction")
	}
	var problems []error
	for _, l := range Layouts {
		q, ok := s.opt.Queries[l.Dataset]
		if !ok {
			continue
		}
		// A savepoint per query, so that one failed query does not hide
		// the next one's problems.
		sp, err := tx.Begin(ctx)
		if err != nil {
			return s.errorf("cannot check the queries: %s", s.queryReason(err))
		}
		q, args, _, _, err := s.describe(ctx, sp, l.Dataset, q)
		if err == nil {
			// Declaring a cursor starts the executor, which checks the
			// account's privileges, without fetching a row.
			if _, derr := sp.Exec(ctx, "DECLARE folkekommune_check NO SCROLL CURSOR FOR "+q, args...); derr != nil {
				err = s.queryError(ctx, l.Dataset, derr)
			}
		}
		if ctx.Err() != nil {
			return s.errorf("the check was abandoned: %v", ctx.Err())
		}
		if err != nil {
			problems = append(problems, err)
		}
		if rerr := sp.Rollback(ctx); rerr != nil {
			return errors.Join(append(problems, s.errorf("cannot check the queries: %s", s.queryReason(rerr)))...)
		}
	}
	return errors.Join(problems...)
}
