package sources

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Report is what one pull did, as the runner records it.
type Report struct {
	ExtractID   int64
	Unchanged   bool
	RowsRead    int64
	Loaded      int64
	Quarantined int64
}

// PullFunc pulls one source now; actor is who asked ("system" for the
// schedule). It must stop when ctx ends.
type PullFunc func(ctx context.Context, src *Source, actor string) (Report, error)

// Clock is the runner's time: the real one, or a test's.
type Clock interface {
	Now() time.Time
	// Timer returns a channel that receives once d has passed, and a
	// function that stops it.
	Timer(d time.Duration) (<-chan time.Time, func())
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) Timer(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// Errors of Trigger.
var (
	ErrUnknownSource = errors.New("no such source")
	ErrBusy          = errors.New("the source is being pulled or is queued for a pull")
)

// RunnerOptions configure a Runner.
type RunnerOptions struct {
	Clock Clock // default the real clock
	Log   *slog.Logger
	// LastRun returns when the source was last pulled (zero: never), so
	// that a slot missed while the broker was down is caught up once.
	LastRun func(ctx context.Context, src *Source) (time.Time, error)
	// Done, if set, is told of every finished pull (metrics).
	Done func(src *Source, trigger string, rep Report, err error, took time.Duration)
	// Jitter draws a duration in [0, n); default math/rand.
	Jitter func(n time.Duration) time.Duration
}

// Runner runs the sources' schedule in one goroutine: one pull at a time,
// since the database has one writer and a pull uses much memory; never
// two pulls of one source at once; requests from admins go first.
type Runner struct {
	pull PullFunc
	opt  RunnerOptions
	wake chan struct{}

	mu      sync.Mutex
	order   []*state
	byName  map[string]*state
	started bool
}

// state is the runner's view of one source.
type state struct {
	src       *Source
	next      time.Time // next slot; zero: on request only
	retryAt   time.Time // zero unless a failed pull waits for a retry
	failures  int       // failed tries since the slot's first
	requested string    // who asked for a pull now; "" none
	running   string    // the running pull's trigger; "" none
	lastStart time.Time
	lastEnd   time.Time
	lastErr   string
	last      *Report
}

// Status is a source's state in the runner.
type Status struct {
	Running      bool       `json:"running"`
	Queued       bool       `json:"queued"`
	NextRun      *time.Time `json:"next_run,omitempty"`
	RetryAt      *time.Time `json:"retry_at,omitempty"`
	Failures     int        `json:"failures"`
	LastStarted  *time.Time `json:"last_started,omitempty"`
	LastFinished *time.Time `json:"last_finished,omitempty"`
	LastError    string     `json:"last_error,omitempty"`
}

// NewRunner returns a runner of srcs; Run starts it.
func NewRunner(srcs []*Source, pull PullFunc, opt RunnerOptions) *Runner {
	if opt.Clock == nil {
		opt.Clock = realClock{}
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Jitter == nil {
		opt.Jitter = func(n time.Duration) time.Duration { return rand.N(n) }
	}
	r := &Runner{pull: pull, opt: opt, wake: make(chan struct{}, 1), byName: map[string]*state{}}
	now := opt.Clock.Now()
	for _, s := range srcs {
		st := &state{src: s, next: s.Schedule.Next(now)}
		r.order = append(r.order, st)
		r.byName[s.Name] = st
	}
	return r
}

// Trigger asks for a pull of the named source now, ahead of the schedule.
func (r *Runner) Trigger(name, actor string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.byName[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownSource, name)
	}
	if st.running != "" || st.requested != "" {
		return fmt.Errorf("source %q: %w", name, ErrBusy)
	}
	st.requested = actor
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return nil
}

// Status returns the named source's state.
func (r *Runner) Status(name string) (Status, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.byName[name]
	if !ok {
		return Status{}, false
	}
	return Status{
		Running: st.running != "", Queued: st.requested != "", NextRun: opt(st.next), RetryAt: opt(st.retryAt),
		Failures: st.failures, LastStarted: opt(st.lastStart), LastFinished: opt(st.lastEnd), LastError: st.lastErr,
	}, true
}

func opt(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Run runs the schedule until ctx ends; a pull in progress is then
// cancelled (and recorded as failed by the pull itself). It first catches
// up, once, each source whose last slot passed while the broker was down.
func (r *Runner) Run(ctx context.Context) {
	r.catchUp(ctx)
	for {
		st, trigger, wait := r.due()
		if st != nil {
			r.run(ctx, st, trigger)
			if ctx.Err() != nil {
				return
			}
			continue
		}
		var timer <-chan time.Time
		stop := func() {}
		if wait >= 0 {
			timer, stop = r.opt.Clock.Timer(wait)
		}
		select {
		case <-ctx.Done():
			stop()
			return
		case <-r.wake:
		case <-timer:
		}
		stop()
	}
}

// catchUp makes a source due now when its last slot is later than its
// last pull: one pull for any number of missed slots.
func (r *Runner) catchUp(ctx context.Context) {
	if r.opt.LastRun == nil {
		return
	}
	now := r.opt.Clock.Now()
	for _, st := range r.order {
		prev := st.src.Schedule.Prev(now)
		if prev.IsZero() {
			continue
		}
		last, err := r.opt.LastRun(ctx, st.src)
		if err != nil {
			r.opt.Log.Warn("source: cannot read its last pull; waiting for the next slot", "source", st.src.Name, "err", err)
			continue
		}
		if last.Before(prev) {
			r.opt.Log.Info("source: a slot passed while the broker was down; pulling now", "source", st.src.Name, "missed", prev, "last_pull", last)
			r.mu.Lock()
			st.next = now
			r.mu.Unlock()
		}
	}
}

// due picks the source to pull now and why ("request", "schedule",
// "retry"), or says how long until one is due (-1: none ever).
func (r *Runner) due() (*state, string, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, st := range r.order {
		if st.requested != "" {
			return st, "request", 0
		}
	}
	now := r.opt.Clock.Now()
	var first *state
	var firstAt time.Time
	for _, st := range r.order {
		at := st.next
		if !st.retryAt.IsZero() && (at.IsZero() || st.retryAt.Before(at)) {
			at = st.retryAt
		}
		if at.IsZero() {
			continue
		}
		if first == nil || at.Before(firstAt) {
			first, firstAt = st, at
		}
	}
	if first == nil {
		return nil, "", -1
	}
	if firstAt.After(now) {
		return nil, "", firstAt.Sub(now)
	}
	if !first.retryAt.IsZero() && !first.retryAt.After(now) && (first.next.IsZero() || first.retryAt.Before(first.next)) {
		return first, "retry", 0
	}
	return first, "schedule", 0
}

func (r *Runner) run(ctx context.Context, st *state, trigger string) {
	r.mu.Lock()
	actor := "system"
	now := r.opt.Clock.Now()
	switch trigger {
	case "request":
		actor = st.requested
		st.requested = ""
	case "schedule":
		// The slot is taken: slots missed while pulling are not repeated.
		st.next = st.src.Schedule.Next(now)
		st.failures, st.retryAt = 0, time.Time{}
	case "retry":
		st.retryAt = time.Time{}
	}
	st.running = trigger
	st.lastStart = now
	r.mu.Unlock()

	log := r.opt.Log.With("source", st.src.Name, "kind", string(st.src.Kind), "trigger", trigger, "actor", actor)
	log.Info("source: pull started")
	pctx, cancel := context.WithTimeout(ctx, st.src.Timeout)
	rep, err := r.pull(pctx, st.src, actor)
	cancel()

	r.mu.Lock()
	end := r.opt.Clock.Now()
	took := end.Sub(now)
	st.running, st.lastEnd = "", end
	switch {
	case err == nil:
		st.lastErr, st.failures, st.retryAt = "", 0, time.Time{}
		st.last = &rep
		log.Info("source: pull done", "extract", rep.ExtractID, "unchanged", rep.Unchanged, "rows_read", rep.RowsRead,
			"rows_loaded", rep.Loaded, "rows_quarantined", rep.Quarantined, "took", took)
	case ctx.Err() != nil:
		st.lastErr = "cancelled: the broker stopped during the pull"
		log.Warn("source: pull cancelled as the broker stops", "took", took)
	default:
		st.lastErr = err.Error()
		if trigger == "request" {
			log.Error("source: pull failed", "err", err, "took", took)
			break
		}
		st.failures++
		if st.failures < st.src.Retry.Attempts {
			d := backoff(st.src.Retry, st.failures, r.opt.Jitter)
			at := end.Add(d)
			if st.next.IsZero() || at.Before(st.next) {
				st.retryAt = at
				log.Error("source: pull failed; retrying", "err", err, "failures", st.failures, "retry_in", d.Round(time.Second), "took", took)
				break
			}
		}
		log.Error("source: pull failed; waiting for the next slot", "err", err, "failures", st.failures, "next_run", st.next, "took", took)
		st.retryAt = time.Time{}
	}
	r.mu.Unlock()
	if r.opt.Done != nil {
		r.opt.Done(st.src, trigger, rep, err, took)
	}
}

// backoff is the wait before retry number n (1-based): Backoff·2^(n-1) up
// to MaxBackoff, drawn from its upper half so that sources failing
// together do not retry together.
func backoff(r Retry, n int, jitter func(time.Duration) time.Duration) time.Duration {
	d := r.Backoff << min(n-1, 30)
	if d > r.MaxBackoff || d <= 0 {
		d = r.MaxBackoff
	}
	return d/2 + jitter(d/2+1)
}
