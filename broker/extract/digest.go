package extract

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Digest summarises the pulled tables' data — each table's row count and
// an order-free hash of its rows — leaving out which source a row came
// from and its record id. Two pulls of the same data through different
// connectors, or a pull before and after an interruption, give the same
// digest; it carries no row.
func Digest(ctx context.Context, db interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (string, error) {
	parts := make([]string, 0, len(pulledTables))
	for _, tbl := range pulledTables {
		var n int64
		var h sql.NullString
		// tbl comes from pulledTables, never from input.
		q := `SELECT count(*), bit_xor(hash(t))::VARCHAR FROM (SELECT * EXCLUDE (sid, rid) FROM ` + tbl + `) t`
		if err := db.QueryRowContext(ctx, q).Scan(&n, &h); err != nil {
			return "", fmt.Errorf("digest %s: %w", tbl, err)
		}
		parts = append(parts, fmt.Sprintf("%s=%d/%s", tbl, n, h.String))
	}
	return strings.Join(parts, " "), nil
}
