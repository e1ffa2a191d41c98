package sources

import (
	"context"
	"fmt"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/audit"
	"github.com/kunnskapskommunen/folkekommune/broker/extract"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

// PullOptions are what a pull of a configured source needs.
type PullOptions struct {
	Key      []byte     // the pseudonymisation key
	Audit    *audit.Log // records the pull
	Actor    string     // "system" for the schedule, the admin's id, or "cli"
	SpoolDir string     // see BuildOptions
	// Progress, if set, is told the bytes done of the total (the load);
	// ExportProgress the FHIR export's progress texts.
	Progress       func(done, total int64)
	ExportProgress func(string)
}

// Pull builds the source's connector and pulls it now as the rows of the
// source: its datasets only, incrementally when the source is, through
// the same validation, pseudonymisation and atomic load as every pull.
func Pull(ctx context.Context, db *store.DB, s *Source, opt PullOptions) (extract.Result, error) {
	src, close, err := Build(s, BuildOptions{SpoolDir: opt.SpoolDir, Progress: opt.ExportProgress})
	if err != nil {
		return extract.Result{}, err
	}
	defer close()
	res, err := extract.Pull(ctx, db, src, extract.Options{
		Key: opt.Key, Audit: opt.Audit, Actor: opt.Actor, Progress: opt.Progress,
		SourceName: s.Name, Datasets: s.Datasets, Full: !s.Incremental,
	})
	if err != nil {
		return res, fmt.Errorf("source %q: %w", s.Name, err)
	}
	return res, nil
}

// LastRun is when the source was last pulled according to the registry,
// whatever the outcome (zero: never), for the runner's catch-up after a
// restart. A pull that found nothing new leaves no registry row, so a
// source that is never changed is pulled (a no-op) once per restart.
func LastRun(ctx context.Context, db *store.DB, s *Source) (time.Time, error) {
	e, err := LastPull(ctx, db.DB, s)
	if err != nil || e == nil {
		return time.Time{}, err
	}
	return e.StartedAt, nil
}
