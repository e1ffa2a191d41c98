package sources

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock the test moves; each timer the runner sets is
// announced on waits (the runner is then idle).
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
	waits  chan time.Duration
}

type fakeTimer struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, waits: make(chan time.Duration, 100)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Timer(d time.Duration) (<-chan time.Time, func()) {
	c.mu.Lock()
	ch := make(chan time.Time, 1)
	c.timers = append(c.timers, fakeTimer{c.now.Add(d), ch})
	c.mu.Unlock()
	c.waits <- d
	return ch, func() {}
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if !t.at.After(c.now) {
			t.c <- c.now
		} else {
			kept = append(kept, t)
		}
	}
	c.timers = kept
}

// idle waits until the runner sets a timer and returns its duration.
func (c *fakeClock) idle(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-c.waits:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("the runner did not go idle")
		return 0
	}
}

type call struct {
	source, actor string
	at            time.Time
}

// fakePulls records the pulls and answers with the results queued per
// source (nil: success).
type fakePulls struct {
	clock   *fakeClock
	mu      sync.Mutex
	calls   []call
	results map[string][]error
	block   chan struct{} // if set, a pull waits for it (or its ctx)
	active  atomic.Int32
	maxPar  atomic.Int32
	took    time.Duration
}

func (f *fakePulls) pull(ctx context.Context, s *Source, actor string) (Report, error) {
	n := f.active.Add(1)
	defer f.active.Add(-1)
	if n > f.maxPar.Load() {
		f.maxPar.Store(n)
	}
	f.mu.Lock()
	f.calls = append(f.calls, call{s.Name, actor, f.clock.Now()})
	var err error
	if q := f.results[s.Name]; len(q) > 0 {
		err, f.results[s.Name] = q[0], q[1:]
	}
	f.mu.Unlock()
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return Report{}, ctx.Err()
		}
	}
	if f.took > 0 {
		f.clock.Advance(f.took)
	}
	return Report{ExtractID: 1, Loaded: 10}, err
}

func (f *fakePulls) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, c.source+"/"+c.actor)
	}
	return out
}

func daily(t *testing.T, name, at string) *Source {
	s, err := ParseSchedule("24h", at, "")
	if err != nil {
		t.Fatal(err)
	}
	return &Source{Name: name, Kind: FileDrop, Schedule: s, Timeout: time.Hour, Retry: Retry{4, time.Minute, 30 * time.Minute}}
}

type runnerEnv struct {
	clock  *fakeClock
	pulls  *fakePulls
	runner *Runner
	cancel context.CancelFunc
	done   chan struct{}
}

func startRunner(t *testing.T, now time.Time, srcs []*Source, last map[string]time.Time, results map[string][]error, block chan struct{}) *runnerEnv {
	t.Helper()
	clock := newFakeClock(now)
	pulls := &fakePulls{clock: clock, results: results, block: block}
	r := NewRunner(srcs, pulls.pull, RunnerOptions{
		Clock: clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		LastRun: func(ctx context.Context, s *Source) (time.Time, error) { return last[s.Name], nil },
		Jitter:  func(n time.Duration) time.Duration { return n - 1 },
	})
	ctx, cancel := context.WithCancel(context.Background())
	e := &runnerEnv{clock: clock, pulls: pulls, runner: r, cancel: cancel, done: make(chan struct{})}
	go func() { r.Run(ctx); close(e.done) }()
	t.Cleanup(func() { cancel(); <-e.done })
	return e
}

func TestAMissedSlotIsCaughtUpOnceAfterARestart(t *testing.T) {
	now := osloTime("2026-11-25 12:00")
	e := startRunner(t, now, []*Source{daily(t, "a", "02:00"), daily(t, "b", "03:00")},
		map[string]time.Time{"a": now.Add(-72 * time.Hour), "b": osloTime("2026-11-25 03:05")}, nil, nil)
	wait := e.clock.idle(t)
	if got := e.pulls.names(); len(got) != 1 || got[0] != "a/system" {
		t.Fatalf("pulls after start %v, want one catch-up of a (three slots missed, b up to date)", got)
	}
	if want := osloTime("2026-11-26 02:00").Sub(now); wait != want {
		t.Errorf("then waits %s, want %s until a's next slot", wait, want)
	}
	e.clock.Advance(wait)
	wait = e.clock.idle(t)
	if got := e.pulls.names(); len(got) != 2 || got[1] != "a/system" || wait != time.Hour {
		t.Errorf("at 02:00: pulls %v, waits %s (want a pulled, then an hour until b)", got, wait)
	}
}

func TestAFailedPullIsRetriedWithExponentialBackoffUntilTheAttemptsRunOut(t *testing.T) {
	boom := errors.New("server unavailable")
	now := osloTime("2026-11-25 01:59")
	e := startRunner(t, now, []*Source{daily(t, "a", "02:00")}, map[string]time.Time{"a": now},
		map[string][]error{"a": {boom, boom, boom, boom}}, nil)
	if d := e.clock.idle(t); d != time.Minute {
		t.Fatalf("first wait %s", d)
	}
	e.clock.Advance(time.Minute)
	var waits []time.Duration
	for range 4 {
		d := e.clock.idle(t)
		waits = append(waits, d)
		e.clock.Advance(d)
	}
	// Jitter at its top: 1m, 2m, 4m, then no more retries: the next slot.
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 24*time.Hour - 7*time.Minute}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
	e.clock.idle(t)
	if n := len(e.pulls.names()); n != 5 {
		t.Errorf("%d pulls, want 4 tries of the slot and the next slot's", n)
	}
	st, _ := e.runner.Status("a")
	if st.LastError != "" || st.Failures != 0 {
		t.Errorf("after the next slot's pull succeeded: %+v", st)
	}
}

func TestARetryThatWouldPassTheNextSlotWaitsForTheSlot(t *testing.T) {
	s := daily(t, "a", "00:00")
	s.Schedule, _ = ParseSchedule("15m", "", "")
	s.Retry = Retry{Attempts: 10, Backoff: 4 * time.Minute, MaxBackoff: time.Hour}
	boom := errors.New("boom")
	now := osloTime("2026-11-25 10:00")
	e := startRunner(t, now, []*Source{s}, map[string]time.Time{"a": now.Add(-time.Hour)}, map[string][]error{"a": {boom, boom, boom}}, nil)
	var waits []time.Duration
	for range 3 {
		d := e.clock.idle(t)
		waits = append(waits, d)
		e.clock.Advance(d)
	}
	// The catch-up fails at 10:00: retry at 10:04, fails: 8 min would be
	// 10:12, before 10:15: retry; fails again: 16 min passes 10:15, so the
	// slot at 10:15 is next (3 min on).
	want := []time.Duration{4 * time.Minute, 8 * time.Minute, 3 * time.Minute}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
}

func TestOnePullAtATimeAndRequestsGoFirst(t *testing.T) {
	now := osloTime("2026-11-25 12:00")
	old := now.Add(-48 * time.Hour)
	e := startRunner(t, now, []*Source{daily(t, "a", "02:00"), daily(t, "b", "02:00"), daily(t, "c", "02:00")},
		map[string]time.Time{"a": old, "b": old, "c": now}, nil, make(chan struct{}))
	// a and b are due; while a runs, c is requested, and a twice.
	deadline := time.Now().Add(5 * time.Second)
	for e.pulls.active.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := e.runner.Trigger("c", "admin-1"); err != nil {
		t.Fatal(err)
	}
	if err := e.runner.Trigger("a", "admin-1"); !errors.Is(err, ErrBusy) {
		t.Errorf("trigger of a running source: %v, want ErrBusy", err)
	}
	if err := e.runner.Trigger("c", "admin-2"); !errors.Is(err, ErrBusy) {
		t.Errorf("second trigger of a queued source: %v, want ErrBusy", err)
	}
	if err := e.runner.Trigger("x", "admin-1"); !errors.Is(err, ErrUnknownSource) {
		t.Errorf("trigger of an unknown source: %v", err)
	}
	if st, _ := e.runner.Status("c"); !st.Queued {
		t.Errorf("c is not queued: %+v", st)
	}
	close(e.pulls.block)
	e.clock.idle(t)
	got := e.pulls.names()
	want := []string{"a/system", "c/admin-1", "b/system"}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("pulls %v, want %v", got, want)
	}
	if e.pulls.maxPar.Load() != 1 {
		t.Errorf("%d pulls ran at once", e.pulls.maxPar.Load())
	}
}

func TestStoppingCancelsThePullInProgress(t *testing.T) {
	now := osloTime("2026-11-25 12:00")
	e := startRunner(t, now, []*Source{daily(t, "a", "02:00")}, map[string]time.Time{}, nil, make(chan struct{}))
	deadline := time.Now().Add(5 * time.Second)
	for e.pulls.active.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	e.cancel()
	select {
	case <-e.done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return when its context ended")
	}
	st, _ := e.runner.Status("a")
	if st.Running || st.LastError == "" {
		t.Errorf("after stopping: %+v", st)
	}
}

func TestBackoffIsBoundedAndJittered(t *testing.T) {
	r := Retry{Attempts: 30, Backoff: time.Second, MaxBackoff: time.Minute}
	for n := 1; n <= 30; n++ {
		d := backoff(r, n, func(x time.Duration) time.Duration { return x - 1 })
		lo := backoff(r, n, func(time.Duration) time.Duration { return 0 })
		if d > time.Minute || lo < d/2-time.Nanosecond || lo <= 0 {
			t.Fatalf("retry %d: between %s and %s", n, lo, d)
		}
	}
}

func TestAFailedRequestedPullIsNotRetried(t *testing.T) {
	now := osloTime("2026-11-25 12:00")
	e := startRunner(t, now, []*Source{daily(t, "a", "02:00")}, map[string]time.Time{"a": now},
		map[string][]error{"a": {errors.New("refused")}}, nil)
	if d := e.clock.idle(t); d != 14*time.Hour {
		t.Fatalf("first wait %s", d)
	}
	if err := e.runner.Trigger("a", "admin-1"); err != nil {
		t.Fatal(err)
	}
	if d := e.clock.idle(t); d != 14*time.Hour {
		t.Errorf("after the requested pull failed the runner waits %s, want the 14h to the slot (no retry)", d)
	}
	st, _ := e.runner.Status("a")
	if st.LastError != "refused" || st.RetryAt != nil || st.Failures != 0 {
		t.Errorf("status %+v", st)
	}
}
