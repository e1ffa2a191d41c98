package store

import (
	"context"
	"path/filepath"
	"testing"
)

// Migration 0009 replaces each pulled row's source name by its key: rows
// keep their source, one-off pulls (”) are key 0, every name the registry
// knows gets a key, and a row inserted without one is a one-off pull's.
func TestSourceNamesBecomeKeysAndRowsKeepTheirSource(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.duckdb")
	old, err := open(ctx, path, 8)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO person (pid, birth_year, birth_month, sex, record_key, src) VALUES (1, 1990, 1, 'F', 7, 'register'), (2, 1991, 2, 'M', 8, '')`,
		`INSERT INTO gp_contact (pid, municipality, contact_date, icpc2, service, contact_type, src, rid)
			VALUES (1, '4601', DATE '2024-01-02', 'P76', 'gp', 'consultation', 'ehr', 'enc1'),
			       (2, '4601', DATE '2024-01-03', 'R74', 'gp', 'consultation', '', NULL)`,
		`INSERT INTO extract (source, connector, fingerprint, status, started_at, source_name) VALUES ('x', 'sql', 'f', 'failed', now(), 'replica')`,
	} {
		if _, err := old.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.SchemaVersion(ctx); err != nil || v < 9 {
		t.Fatalf("schema version %d (%v) after reopening, want 9 or later", v, err)
	}
	keys := map[string]int{}
	rows, err := db.Query(`SELECT name, sid FROM source_key`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		var sid int
		if err := rows.Scan(&name, &sid); err != nil {
			t.Fatal(err)
		}
		keys[name] = sid
	}
	rows.Close()
	if len(keys) != 4 || keys[""] != 0 {
		t.Fatalf("source keys %v, want '', ehr, register and replica with '' = 0", keys)
	}
	tests := []struct {
		query string
		want  string
	}{
		{`SELECT string_agg(pid || ':' || k.name, ',' ORDER BY pid) FROM person JOIN source_key k USING (sid)`, "1:register,2:"},
		{`SELECT string_agg(pid || ':' || k.name || ':' || coalesce(rid, '-'), ',' ORDER BY pid) FROM gp_contact JOIN source_key k USING (sid)`, "1:ehr:enc1,2::-"},
	}
	for _, tt := range tests {
		var got string
		if err := db.QueryRow(tt.query).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("%s = %q, want %q", tt.query, got, tt.want)
		}
	}
	if _, err := db.Exec(`INSERT INTO residence (pid, municipality, moved_in) VALUES (3, '4601', DATE '2020-01-01')`); err != nil {
		t.Fatal(err)
	}
	var sid int
	if err := db.QueryRow(`SELECT sid FROM residence WHERE pid = 3`).Scan(&sid); err != nil || sid != 0 {
		t.Fatalf("a row inserted without a key has key %d (%v), want 0", sid, err)
	}
}
