package requests

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
)

//go:embed sql/population_place.sql
var populationPlace string

// placePopulation makes sure release_person_year holds the extract's
// population for every year of [from, to], with each person-year's events,
// placing the years not yet placed. Placing once per extract and year,
// rather than in every query, is what keeps a release at cluster scale
// within its latency budget: a count of persons with events becomes a
// scan of the person-years with a bit test, not a join over the events.
func (s *Service) placePopulation(ctx context.Context, extractID int64, from, to int) error {
	s.placing.Lock()
	defer s.placing.Unlock()
	placed := map[int]bool{}
	rows, err := s.DB.QueryContext(ctx, `SELECT year FROM release_person_year_filled WHERE extract_id = ? AND year BETWEEN ? AND ?`, extractID, from, to)
	if err != nil {
		return fmt.Errorf("read the placed years: %w", err)
	}
	for rows.Next() {
		var y int
		if err := rows.Scan(&y); err != nil {
			rows.Close()
			return err
		}
		placed[y] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(placed) == to-from+1 {
		return nil
	}
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		// A newer extract replaces the population of the older ones.
		if _, err := tx.ExecContext(ctx, `DELETE FROM release_person_year WHERE extract_id <> ?`, extractID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM release_person_year_filled WHERE extract_id <> ?`, extractID); err != nil {
			return err
		}
		for y := from; y <= to; y++ {
			if placed[y] {
				continue
			}
			hi := y
			for hi+1 <= to && !placed[hi+1] {
				hi++
			}
			fill, args := placeStatement(extractID, y, hi)
			if _, err := tx.ExecContext(ctx, fill, args...); err != nil {
				return fmt.Errorf("place the population in %d–%d: %w", y, hi, err)
			}
			for z := y; z <= hi; z++ {
				if _, err := tx.ExecContext(ctx, `INSERT INTO release_person_year_filled VALUES (?, ?)`, extractID, z); err != nil {
					return err
				}
				placed[z] = true
			}
			y = hi
		}
		return nil
	})
}
