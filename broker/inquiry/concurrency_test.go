package inquiry_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/kunnskapskommunen/folkekommune/broker/audit"
)

// DuckDB has optimistic concurrency: simultaneous writers conflict, and the
// audit chain makes every registry write touch its head. Concurrent
// submissions and answers must all succeed (retried), each exactly once,
// and leave an intact chain.
func TestConcurrentWritesAllSucceedOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, 3*n)
	// Another part of the broker appends to the same audit chain meanwhile.
	other := audit.New(e.db)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for try := 0; try < 20; try++ {
				if _, err := other.Append(ctx, nil, audit.Event{Kind: "decision", Actor: "system", Object: fmt.Sprintf("request/%d", i)}); err == nil {
					return
				}
			}
			errs <- fmt.Errorf("the other writer could not append %d", i)
		}(i)
	}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := submission()
			s.Title = fmt.Sprintf("Samtidig studie %d", i)
			s.ResearcherEmail = fmt.Sprintf("forsker%d@uib.no", i)
			inq, err := e.inq.Submit(ctx, s)
			if err != nil {
				errs <- fmt.Errorf("submit %d: %w", i, err)
				return
			}
			if _, err := e.inq.Act(ctx, askoyRD, inq.Assignments[0].ID, "assess", "", ""); err != nil {
				errs <- fmt.Errorf("assess %d: %w", i, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := e.count(t, "inquiry"); got != n {
		t.Fatalf("%d inquiries stored, want %d", got, n)
	}
	if got := e.count(t, "inquiry_assignment"); got != n {
		t.Fatalf("%d assignments stored, want %d", got, n)
	}
	if got := e.count(t, "outbox"); got != 3*n {
		t.Fatalf("%d mails queued, want %d", got, 3*n)
	}
	v, err := audit.New(e.db).Verify(ctx)
	if err != nil || !v.OK {
		t.Fatalf("audit chain: %+v, %v", v, err)
	}
	list, _ := e.inq.List(ctx, admin)
	for _, i := range list {
		if i.Assignments[0].Status != "under_assessment" {
			t.Errorf("inquiry %d: %s", i.ID, i.Assignments[0].Status)
		}
	}
}
