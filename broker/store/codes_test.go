package store

import (
	"context"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
)

// The ENUM types of the stored code columns (migration 0008) must hold
// exactly the catalogue's codes, sorted: a code the catalogue accepts but
// the type lacks would make a pull fail, and one the type holds that the
// catalogue dropped would be stored unchecked. When the catalogue changes,
// this test fails until a migration brings the types along.
func TestCodeTypesFollowTheCatalogue(t *testing.T) {
	db, err := Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	codes := func(cs []catalog.Code) []string {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = c.Code
		}
		return out
	}
	tests := []struct {
		typ  string
		want []string
	}{
		{"kommunenummer_enum", catalog.MunicipalityCodes()},
		{"icpc2_enum", catalog.ICPC2Codes()},
		{"gp_service_enum", codes(catalog.Services)},
		{"contact_type_enum", codes(catalog.ContactTypes)},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			want := slices.Clone(tt.want)
			sort.Strings(want)
			var got []string
			// The type name is a constant of this table, not input.
			rows, err := db.Query(`SELECT unnest(enum_range(NULL::` + tt.typ + `))`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					t.Fatal(err)
				}
				got = append(got, s)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s holds %d values, the catalogue %d; first difference at %d (%v)", tt.typ, len(got), len(want), firstDiff(got, want), got)
			}
		})
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// Comparisons between a stored code and text behave as they did when the
// column was text: the readers (indicator predicates, request filters and
// breakdowns) bind codes as text parameters.
func TestCodeColumnsCompareWithTextAsBefore(t *testing.T) {
	db, err := Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO gp_contact (pid, municipality, contact_date, icpc2, service, contact_type)
		VALUES (1, '4601', DATE '2024-01-02', 'P76', 'gp', 'consultation'),
		       (2, '4634', DATE '2024-01-03', 'R74', 'emergency', 'video')`); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, where string
		args        []any
		want        int
	}{
		{"equal to a bound text", `service = ?`, []any{"gp"}, 1},
		{"a text outside the type matches nothing, without error", `service = ?`, []any{"dentist"}, 0},
		{"IN a list of texts", `contact_type IN (?, ?)`, []any{"video", "simple"}, 1},
		{"chapter by substr", `substr(icpc2, 1, 1) = ?`, []any{"P"}, 1},
		{"chapter by LIKE", `icpc2 LIKE ?`, []any{"R%"}, 1},
		{"ordered as text", `icpc2 > ?`, []any{"P9"}, 1},
		{"municipality as text", `municipality = ?`, []any{"4634"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n int
			if err := db.QueryRow(`SELECT count(*) FROM gp_contact WHERE `+tt.where, tt.args...).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != tt.want {
				t.Fatalf("%s: %d rows, want %d", tt.where, n, tt.want)
			}
		})
	}
	var s string
	if err := db.QueryRow(`SELECT icpc2 FROM gp_contact ORDER BY icpc2 DESC LIMIT 1`).Scan(&s); err != nil || s != "R74" {
		t.Fatalf("scan a stored code as text: %q, %v", s, err)
	}
	if _, err := db.Exec(`INSERT INTO gp_contact (pid, municipality, contact_date, icpc2, service, contact_type)
		VALUES (3, '4601', DATE '2024-01-02', 'P76', 'dentist', 'consultation')`); err == nil {
		t.Fatal("a service outside the code list was stored")
	}
}

// A new database file takes DuckDB's newest storage format (DICT_FSST for
// text, which the old default could not use).
func TestNewFileTakesTheNewestStorageFormat(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "f.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	if err := db.QueryRow(`SELECT tags['storage_version'] FROM duckdb_databases() WHERE database_name = current_database()`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v < "v1.5.0" {
		t.Fatalf("storage version %q, want v1.5.0 or newer", v)
	}
}
