package extract

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"github.com/kunnskapskommunen/folkekommune/broker/fnr"
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
		if strings.HasSuffix(path, ".parquet") {
			q = `CREATE OR REPLACE TEMP TABLE ` + raw + ` AS SELECT * FROM read_parquet(?)`
			firstLine = 1
		} else {
			cols := make([]string, len(header))
			for i, h := range header {
				cols[i] = "'" + h + "': 'VARCHAR'"
			}
			q = `CREATE OR REPLACE TEMP TABLE ` + raw + ` AS SELECT * FROM read_csv(?, header = true, auto_detect = false,
				delim = ',', quote = '"', escape = '"', strict_mode = true, null_padding = false,
				columns = {` + strings.Join(cols, ", ") + `})`
			firstLine = 2
		}
		if _, err := conn.ExecContext(ctx, q, path); err != nil {
			return fmt.Errorf("file %s cannot be read: %s", p.Name, firstSentence(err))
		}
		// A freshly created table's rowids follow insertion order, and
		// DuckDB preserves the file's order on insert.
		_, err = conn.ExecContext(ctx, fmt.Sprintf(`CREATE OR REPLACE TEMP VIEW %s AS SELECT rowid + %d AS line, * FROM %s`, view, firstLine, raw))
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
	_, err = conn.ExecContext(ctx, `CREATE OR REPLACE TEMP VIEW `+view+` AS SELECT * FROM `+raw)
	return err
}

func firstSentence(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i > 0 {
		s = s[:i]
	}
	return s
}

// loadIdentities checks every distinct identity number once, in Go, and
// stores its pseudonym, birth date, sex and record key (or its problem)
// in the pull's temporary ident table.
func loadIdentities(ctx context.Context, conn *sql.Conn, ps *Pseudonymiser) error {
	var parts []string
	for _, l := range Layouts {
		parts = append(parts, `SELECT fodselsnummer FROM `+rawTable(l.Dataset))
	}
	rows, err := conn.QueryContext(ctx, `SELECT DISTINCT fodselsnummer FROM (`+strings.Join(parts, " UNION ALL ")+`) WHERE coalesce(fodselsnummer, '') <> ''`)
	if err != nil {
		return fmt.Errorf("collect identities: %w", err)
	}
	var ids []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return fmt.Errorf("collect identities: %w", err)
		}
		ids = append(ids, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("collect identities: %w", err)
	}
	return store.WithAppenders(ctx, conn, []store.AppenderTarget{{Catalog: "temp", Table: "ident"}}, func(a []*duckdb.Appender) error {
		for _, s := range ids {
			info, err := fnr.Parse(s)
			if err != nil {
				if err := a[0].AppendRow(s, nil, err.Error(), nil, nil, nil); err != nil {
					return err
				}
				continue
			}
			pid := ps.PID(s)
			if err := a[0].AppendRow(s, pid, nil, info.Birth, info.Male, ps.RecordKey(pid)); err != nil {
				return err
			}
		}
		return nil
	})
}

// loadCodes fills the pull's code tables from the catalogue and the
// source systems' code mappings.
func loadCodes(ctx context.Context, conn *sql.Conn) error {
	targets := []store.AppenderTarget{
		{Catalog: "temp", Table: "code_municipality"}, {Catalog: "temp", Table: "code_district"},
		{Catalog: "temp", Table: "code_vaccine"}, {Catalog: "temp", Table: "code_icpc2"}, {Catalog: "temp", Table: "code_map"},
	}
	return store.WithAppenders(ctx, conn, targets, func(a []*duckdb.Appender) error {
		for _, m := range catalog.Municipalities {
			if err := a[0].AppendRow(m.Code); err != nil {
				return err
			}
		}
		for _, d := range catalog.Districts {
			if err := a[1].AppendRow(d.Code); err != nil {
				return err
			}
		}
		for _, v := range catalog.Vaccines {
			if err := a[2].AppendRow(v.Code.Code, int32(v.Doses)); err != nil {
				return err
			}
		}
		for _, c := range catalog.ICPC2Codes() {
			if err := a[3].AppendRow(c); err != nil {
				return err
			}
		}
		for list, m := range map[string]map[string]string{"sex": sexCodes, "check": checkCodes, "service": serviceCodes, "contact": contactCodes, "care": careCodes} {
			for src, code := range m {
				if err := a[4].AppendRow(list, src, code); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
