package broker

import (
	"context"
	"sync"
)

// sourceRoutes are the routes that report the configured sources and the
// extract registry to admins.
var sourceRoutes = []route{}

// sourceRunner holds the configured sources and runs their schedule.
type sourceRunner struct{}

func newSourceRunner(ctx context.Context, s *Server) (*sourceRunner, error) {
	return &sourceRunner{}, nil
}

// run starts the schedule; it ends with ctx.
func (r *sourceRunner) run(ctx context.Context, background *sync.WaitGroup) {}
