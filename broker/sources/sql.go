package sources

import (
	"github.com/kunnskapskommunen/folkekommune/broker/extract"
)

// buildSQL makes the SQL replica connector. The replica is pulled as a
// full snapshot of its queries each time (its fingerprint makes an
// unchanged replica a no-op), so @since is not bound.
func buildSQL(s *Source, dsn string, spool string) (extract.Source, func() error, error) {
	r, err := extract.NewSQLReplica(extract.SQLReplicaOptions{
		DSN: dsn, Queries: s.Queries, StatementTimeout: s.StatementTimeout, SpoolDir: spool,
	})
	if err != nil {
		return nil, nil, err
	}
	return r, r.Close, nil
}
