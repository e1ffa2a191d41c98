package extract

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

// LocalFiler is implemented by sources whose parts are files on this
// machine that DuckDB can read itself, in parallel and far faster than
// records passed one by one. LocalFile checks what DuckDB would not say
// clearly (a truncated file, a wrong header) and returns the path.
type LocalFiler interface {
	LocalFile(ctx context.Context, p Part) (path string, err error)
}

// quoteIdent quotes an identifier from Layouts (never user input).
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func rawTable(ds Dataset) string { return "raw_" + string(ds) }

// loadRaw puts one part into raw_<dataset> (text columns as the source
// names them) and defines src_<dataset>, the same with each row's line.
func loadRaw(ctx context.Context, conn *sql.Conn, src Source, p Part) error {
	header := layoutOf(p.Dataset).Header
	raw := rawTable(p.Dataset)
	view := "src_" + string(p.Dataset)
	if lf, ok := src.(LocalFiler); ok {
		path, err := lf.LocalFile(ctx, p)
		if err != nil {
			return err
		}
		var q string
		var firstLine int
		typedStaged := false
		if strings.HasSuffix(path, ".parquet") {
			q = `CREATE OR REPLACE TEMP TABLE ` + raw + ` AS SELECT * FROM read_parquet(?)`
			firstLine = 1
		} else {
			cols := make([]string, len(header))
			for i, h := range header {
				cols[i] = "'" + h + "': 'VARCHAR'"
			}
			from := `read_csv(?, header = true, auto_detect = false,
				delim = ',', quote = '"', escape = '"', strict_mode = true, null_padding = false,
				columns = {` + strings.Join(cols, ", ") + `})`
			q = `CREATE OR REPLACE TEMP TABLE ` + raw + ` AS SELECT * FROM ` + from
			if typed := typedSQL(p.Dataset, "", from); typed != "" {
				// Staged typed, straight from the file: the view adds
				// nothing but the line.
				q = `CREATE OR REPLACE TEMP TABLE ` + raw + ` AS ` + typed
				typedStaged = true
			}
			firstLine = 2
		}
		if _, err := conn.ExecContext(ctx, q, path); err != nil {
			return fmt.Errorf("file %s cannot be read: %s", p.Name, firstSentence(err))
		}
		// A freshly created table's rowids follow insertion order, and
		// DuckDB preserves the file's order on insert.
		lined := fmt.Sprintf(`SELECT rowid + %d AS line, * FROM %s`, firstLine, raw)
		if typed := typedSQL(p.Dataset, "line, ", "("+lined+")"); typed != "" && !typedStaged {
			lined = typed
		}
		_, err = conn.ExecContext(ctx, `CREATE OR REPLACE TEMP VIEW `+view+` AS `+lined)
		if err != nil {
			return fmt.Errorf("stage %s: %w", p.Name, err)
		}
		return nil
	}
	cols := make([]string, len(header))
	for i, h := range header {
		cols[i] = quoteIdent(h) + " VARCHAR"
	}
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE `+raw+` (line BIGINT, `+strings.Join(cols, ", ")+`)`); err != nil {
		return fmt.Errorf("stage %s: %w", p.Name, err)
	}
	err := store.WithAppenders(ctx, conn, []store.AppenderTarget{{Catalog: "temp", Table: raw}}, func(a []*duckdb.Appender) error {
		row := make([]any, len(header)+1)
		vals := make([]driver.Value, len(header)+1)
		return src.Read(ctx, p, func(line int64, rec []string) error {
			row[0] = line
			for i, f := range rec {
				if f == "" {
					row[i+1] = nil
				} else {
					row[i+1] = strings.Clone(f)
				}
			}
			for i := range row {
				vals[i] = row[i]
			}
			return a[0].AppendRow(vals...)
		})
	})
	if err != nil {
		return err
	}
	staged := `SELECT * FROM ` + raw
	if typed := typedSQL(p.Dataset, "line, ", raw); typed != "" {
		staged = typed
	}
	_, err = conn.ExecContext(ctx, `CREATE OR REPLACE TEMP VIEW `+view+` AS `+staged)
	return err
}

// typedSQL is the query that types dataset ds's staged text values
// (load.sql, "typed <dataset>"), reading the relation from and passing
// line through as given, or "" for a dataset whose check types its values
// itself. Every path that stages a dataset gives its check the same view.
func typedSQL(ds Dataset, line, from string) string {
	if ds != GPContact {
		return ""
	}
	q := strings.TrimSpace(sqlFile("load.sql", "typed "+string(ds)))
	return strings.NewReplacer("{line}", line, "{from}", from).Replace(q)
}

// firstSentence keeps the first line of a DuckDB error (the later lines
// quote the offending row) and blanks any 11-digit run in it, so that an
// identity number can never reach a message, a log or the registry.
func firstSentence(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i > 0 {
		s = s[:i]
	}
	return elevenDigits.ReplaceAllString(s, "[identity number withheld]")
}

var elevenDigits = regexp.MustCompile(`\d{11}`)

// loadIdentities checks every distinct identity number once and stores its
// pseudonym, birth date, sex and record key (or its problem) in the pull's
// temporary ident table. DuckDB does the work itself through pull_identity,
// in parallel; ps.Collisions counts the pseudonyms shared by two numbers.
func loadIdentities(ctx context.Context, conn *sql.Conn, ps *Pseudonymiser) error {
	if err := duckdb.RegisterScalarUDF(conn, "pull_identity", &identityFunc{}); err != nil {
		return fmt.Errorf("collect identities: %w", err)
	}
	var parts []string
	for _, l := range Layouts {
		parts = append(parts, `SELECT fodselsnummer FROM `+rawTable(l.Dataset))
	}
	q := `INSERT INTO ident SELECT fnr, id.pid, id.problem, id.birth, id.male, id.record_key
		FROM (SELECT fnr, pull_identity(fnr) AS id FROM (
			SELECT DISTINCT fodselsnummer AS fnr FROM (` + strings.Join(parts, " UNION ALL ") + `) WHERE coalesce(fodselsnummer, '') <> ''))`
	if _, err := conn.ExecContext(withPseudonymiser(ctx, ps), q); err != nil {
		return fmt.Errorf("collect identities: %w", err)
	}
	var collisions int
	if err := conn.QueryRowContext(ctx, `SELECT count(pid) - count(DISTINCT pid) FROM ident`).Scan(&collisions); err != nil {
		return fmt.Errorf("check pseudonyms: %w", err)
	}
	ps.Collisions += collisions
	slog.Debug("pull identities stored")
	return nil
}

// defineCodeMacros turns the catalogue's code lists and the source
// systems' code mappings into SQL macros of the pull's connection
// (is_municipality, map_service, vaccine_doses, ...). An IN list or a CASE
// over a handful of constants costs far less per row than a join to a code
// table. The constants come from the catalogue, never from a user, and are
// quoted as SQL strings.
func defineCodeMacros(ctx context.Context, conn *sql.Conn) error {
	var munis, dists []string
	for _, m := range catalog.Municipalities {
		munis = append(munis, sqlString(m.Code))
	}
	for _, d := range catalog.Districts {
		dists = append(dists, sqlString(d.Code))
	}
	var icpc2 []string
	for _, c := range catalog.ICPC2Codes() {
		icpc2 = append(icpc2, sqlString(c))
	}
	doses := map[string]string{}
	for _, v := range catalog.Vaccines {
		doses[v.Code.Code] = strconv.Itoa(v.Doses)
	}
	stmts := []string{
		`CREATE OR REPLACE TEMP MACRO is_municipality(s) AS s IN (` + strings.Join(munis, ", ") + `)`,
		`CREATE OR REPLACE TEMP MACRO is_district(s) AS s IN (` + strings.Join(dists, ", ") + `)`,
		// Every code catalog.ValidICPC2 accepts (about a thousand): DuckDB
		// plans a long IN list as one hash lookup, ten times cheaper per row
		// than slicing the string and comparing its characters.
		`CREATE OR REPLACE TEMP MACRO is_icpc2(s) AS s IN (` + strings.Join(icpc2, ", ") + `)`,
		caseMacro("vaccine_doses", doses, "NULL::INTEGER"),
		// The contacts' code columns are stored as the ENUM types of
		// migration 0008 (the catalogue's lists): one lookup both checks a
		// code and turns it into the one- or two-byte value the table
		// stores, which DuckDB writes, sorts and compares far faster than
		// text. A text not in the type becomes NULL.
		`CREATE OR REPLACE TEMP MACRO icpc2_code(s) AS try_cast(s AS icpc2_enum)`,
		`CREATE OR REPLACE TEMP MACRO municipality_code(s) AS try_cast(s AS kommunenummer_enum)`,
		`CREATE OR REPLACE TEMP MACRO service_code(s) AS map_service(s)::gp_service_enum`,
		`CREATE OR REPLACE TEMP MACRO contact_code(s) AS map_contact(s)::contact_type_enum`,
	}
	var maps []string
	for name, m := range map[string]map[string]string{"map_sex": sexCodes, "map_check": checkCodes, "map_service": serviceCodes, "map_contact": contactCodes, "map_care": careCodes} {
		quoted := map[string]string{}
		for k, v := range m {
			quoted[k] = sqlString(v)
		}
		maps = append(maps, caseMacro(name, quoted, "NULL"))
	}
	// map_* first: the *_code macros call them.
	stmts = append(maps, stmts...)
	for _, q := range stmts {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("define code lists: %w", err)
		}
	}
	return nil
}

// caseMacro defines name(s) as a CASE mapping each key to its SQL value.
func caseMacro(name string, m map[string]string, otherwise string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(`CREATE OR REPLACE TEMP MACRO ` + name + `(s) AS CASE s`)
	for _, k := range keys {
		b.WriteString(` WHEN ` + sqlString(k) + ` THEN ` + m[k])
	}
	b.WriteString(` ELSE ` + otherwise + ` END`)
	return b.String()
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
