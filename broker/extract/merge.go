package extract

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

// execer is what runs the merge: the pull's connection or transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// mergeSQL returns one statement of merge.sql with its {rid} and {join}
// filled in for the dataset: the record's id from rid_<dataset> when the
// source has ids, else NULL.
func mergeSQL(name string, ds Dataset, keyed bool) string {
	q := sqlFile("merge.sql", name)
	if keyed {
		return strings.NewReplacer("{rid}", "r.rid", "{join}", "LEFT JOIN rid_"+string(ds)+" r ON r.line = c.line").Replace(q)
	}
	return strings.NewReplacer("{rid}", "NULL", "{join}", "").Replace(q)
}

// checkPopulationOwner refuses a second source of the population: the
// person table has one row per person, which two registers would break.
func checkPopulationOwner(ctx context.Context, db execer, parts []Part, sid int) error {
	for _, p := range parts {
		if p.Dataset != Population {
			continue
		}
		var other string
		err := db.QueryRowContext(ctx, sqlFile("merge.sql", "population owner"), sid).Scan(&other)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("check the population's source: %w", err)
		}
		return fmt.Errorf("the population is already provided by source %s; only one source may provide it (one row per person)", sourceLabel(other))
	}
	return nil
}

func sourceLabel(name string) string {
	if name == "" {
		return "of one-off pulls (folkekommune pull)"
	}
	return fmt.Sprintf("%q", name)
}

// sourceKey is the key of the source called name in source_key, created
// on its first pull: the pulled tables carry the key, not the name.
func sourceKey(ctx context.Context, db *store.DB, name string) (int, error) {
	var sid int
	err := db.InTxRetry(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, sqlFile("merge.sql", "source key"), name, name); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, sqlFile("merge.sql", "source key of"), name).Scan(&sid)
	})
	if err != nil {
		return 0, fmt.Errorf("key of source %s: %w", sourceLabel(name), err)
	}
	return sid, nil
}

// merge writes the checked rows of the parts' datasets into the pulled
// tables as the source's rows: replacing all of them (a full snapshot) or
// only those of the records the change set carries (incremental).
func merge(ctx context.Context, tx execer, parts []Part, sid int, keyed, incremental bool) error {
	run := func(what, q string, args ...any) error {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("load pulled tables (%s): %w", what, err)
		}
		return nil
	}
	for _, p := range parts {
		ds := p.Dataset
		if incremental {
			if err := run("forget "+string(ds), mergeSQL("forget "+string(ds), ds, keyed), sid); err != nil {
				return err
			}
		} else {
			if err := run("clear "+string(ds), mergeSQL("clear "+string(ds), ds, keyed), sid); err != nil {
				return err
			}
			if ds == Population {
				if err := run("clear person", mergeSQL("clear person", ds, keyed), sid); err != nil {
					return err
				}
			}
		}
		if err := run("insert "+string(ds), mergeSQL("insert "+string(ds), ds, keyed), sid); err != nil {
			return err
		}
		if ds == Population {
			if incremental {
				if err := run("forget person", mergeSQL("forget person", ds, keyed), sid, sid); err != nil {
					return err
				}
			}
			if err := run("insert person", mergeSQL("insert person", ds, keyed), sid); err != nil {
				return err
			}
		}
	}
	return nil
}

// loadRecordIDs puts the ids of the records of part p (line → id) into
// rid_<dataset> on the pull's connection.
func loadRecordIDs(ctx context.Context, conn execer, src KeyedSource, p Part) error {
	table := "rid_" + string(p.Dataset)
	path, err := src.RecordIDs(ctx, p)
	if err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE `+table+` (line BIGINT, rid VARCHAR)`); err != nil {
		return fmt.Errorf("stage record ids of %s: %w", p.Name, err)
	}
	if st, err := os.Stat(path); err != nil {
		return fmt.Errorf("record ids of %s: %w", p.Name, err)
	} else if st.Size() == 0 {
		return nil
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO `+table+` SELECT * FROM read_csv(?, header = false, auto_detect = false,
		delim = ',', quote = '"', escape = '"', columns = {'line': 'BIGINT', 'rid': 'VARCHAR'})`, path); err != nil {
		return fmt.Errorf("record ids of %s cannot be read: %s", p.Name, firstSentence(err))
	}
	return nil
}

// loadPersonRefs puts the persons the source's records referred to (id →
// identity number) into the temporary person_ref, for identification.
func loadPersonRefs(ctx context.Context, conn execer, src PersonReferencing) (bool, error) {
	path, err := src.PersonRefs(ctx)
	if err != nil || path == "" {
		return false, err
	}
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE person_ref AS SELECT * FROM read_csv(?, header = false, auto_detect = false,
		delim = ',', quote = '"', escape = '"', columns = {'rid': 'VARCHAR', 'fnr': 'VARCHAR'})`, path); err != nil {
		return false, fmt.Errorf("person references cannot be read: %s", firstSentence(err))
	}
	return true, nil
}

// mergePersonRefs records the persons behind the ids of this pull as the
// source's: all of them anew for a full snapshot, the ones the change set
// carries for an incremental pull.
func mergePersonRefs(ctx context.Context, tx execer, srcName string, incremental bool) error {
	first := "clear person refs"
	if incremental {
		first = "forget person refs"
	}
	for _, q := range []string{first, "insert person refs"} {
		if _, err := tx.ExecContext(ctx, sqlFile("merge.sql", q), srcName); err != nil {
			return fmt.Errorf("record the source's persons: %w", err)
		}
	}
	return nil
}

// emptySource provides no records: the datasets a partial source does not
// provide are staged empty, so that every later stage finds its tables.
type emptySource struct{}

func (emptySource) Kind() string                                                  { return "none" }
func (emptySource) Location() string                                              { return "" }
func (emptySource) Parts(context.Context) ([]Part, error)                         { return nil, nil }
func (emptySource) Read(context.Context, Part, func(int64, []string) error) error { return nil }

func dropRecordIDs(ctx context.Context, conn execer) {
	for _, l := range Layouts {
		conn.ExecContext(ctx, `DROP TABLE IF EXISTS temp.rid_`+string(l.Dataset))
	}
	conn.ExecContext(ctx, `DROP TABLE IF EXISTS temp.person_ref`)
	conn.ExecContext(ctx, `DROP TABLE IF EXISTS temp.person_pid`)
}
