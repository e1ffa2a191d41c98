package inquiry_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"
)

// BenchmarkSubmit measures a whole submission (validation, duplicate and
// flood checks, routing, assignment, two notifications, the audit entry, one
// transaction) against the honest ceiling: the bare INSERT of the same
// inquiry row in its own transaction. The ratio is the price of doing it
// properly.
func BenchmarkSubmit(b *testing.B) {
	ctx := context.Background()
	e := newEnv(b)
	var submitNS, ceilingNS float64
	seq := 0 // unique across the benchmark's repeated runs
	b.Run("submit", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			seq++
			s := submission()
			s.Title = fmt.Sprintf("Studie %d", seq)
			s.ResearcherEmail = fmt.Sprintf("forsker%d@uib.no", seq)
			s.StartedAt = time.Time{}
			if _, err := e.inq.Submit(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
		submitNS = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("ceiling", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			seq++
			err := e.db.InTx(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO inquiry (title, kind, description, institution, researcher_name, researcher_email, funding,
					funding_status, resources_needed, knowledge_return, target_groups, ethics_status, start_date, end_date, fingerprint, received_at)
					VALUES (?, 'research', 'd', 'UiB', 'K', 'k@uib.no', 'f', 'applied', 'r', 'k', 't', 'APPLIED', '2025-09-01', '2027-12-31', ?, ?)`,
					fmt.Sprintf("Tak %d", seq), fmt.Sprint(seq), time.Now())
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		ceilingNS = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		if submitNS > 0 {
			b.ReportMetric(submitNS/ceilingNS, "submit/ceiling")
		}
	})
}
