package broker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kunnskapskommunen/folkekommune/broker/extract"
	"github.com/kunnskapskommunen/folkekommune/broker/requests"
	"github.com/kunnskapskommunen/folkekommune/broker/sources"
)

// Who may see the sources and the extract registry: admins, who run them,
// and the privacy officer, who oversees what data enter the broker (read
// only; only an admin may start a pull).
var sourceReaders = overseers
var sourceAdmins = []string{requests.RoleAdmin}

// sourceRoutes are the routes that report the configured sources and the
// extract registry to admins.
var sourceRoutes = []route{
	{"GET", "/api/v1/sources", sourceReaders, "The configured sources: kind, location, schedule, next run, last pull, high-water mark, datasets", "sources", false, func(s *Server) handlerFunc { return s.listSources }},
	{"GET", "/api/v1/sources/{name}", sourceReaders, "One configured source and its state", "sources", false, func(s *Server) handlerFunc { return s.getSource }},
	{"POST", "/api/v1/sources/{name}/pull", sourceAdmins, "Pull a source now, ahead of its schedule (202); 409 while it is being pulled or queued", "sources", false, func(s *Server) handlerFunc { return s.pullSource }},
	{"GET", "/api/v1/extracts", sourceReaders, "The extract registry, newest first (?source=NAME, ?status=running|loaded|failed|unchanged, ?limit, default 50)", "sources", false, func(s *Server) handlerFunc { return s.listExtracts }},
	{"GET", "/api/v1/extracts/{id}", sourceReaders, "One pull with its files and its quarantine counted per reason (never a row)", "sources", false, func(s *Server) handlerFunc { return s.getExtract }},
}

// sourceRunner holds the configured sources and runs their schedule.
type sourceRunner struct {
	s      *Server
	file   *sources.File // nil: no sources file
	runner *sources.Runner
	key    []byte
	spool  string

	pulls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newSourceRunner(ctx context.Context, s *Server) (*sourceRunner, error) {
	r := &sourceRunner{
		s: s,
		pulls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "folkekommune_source_pulls_total", Help: "Pulls of configured sources by source, trigger (schedule, retry, request) and result (loaded, unchanged, failed, cancelled).",
		}, []string{"source", "trigger", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "folkekommune_source_pull_duration_seconds", Help: "How long pulls of configured sources took, by source.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}, []string{"source"}),
	}
	s.metrics.reg.MustRegister(r.pulls, r.duration, &sourceCollector{r: r,
		next:    prometheus.NewDesc("folkekommune_source_next_run_timestamp_seconds", "When each source is next pulled (Unix time).", []string{"source"}, nil),
		running: prometheus.NewDesc("folkekommune_source_running", "1 while the source is being pulled.", []string{"source"}, nil),
		fails:   prometheus.NewDesc("folkekommune_source_consecutive_failures", "Failed tries of the source since its last success or slot.", []string{"source"}, nil),
	})
	if s.cfg.SourcesFile == "" {
		return r, nil
	}
	f, err := sources.Load(s.cfg.SourcesFile)
	if err != nil {
		return nil, err
	}
	if r.key, err = extract.LoadKey(s.cfg.DataDir); err != nil {
		return nil, err
	}
	r.configure(f)
	return r, nil
}

// configure takes the sources of f; the schedule starts with run.
func (r *sourceRunner) configure(f *sources.File) {
	r.file = f
	r.spool = filepath.Join(r.s.cfg.DataDir, "spool")
	r.runner = sources.NewRunner(f.Sources, r.pull, sources.RunnerOptions{
		Log: r.s.log,
		LastRun: func(ctx context.Context, src *sources.Source) (time.Time, error) {
			return sources.LastRun(ctx, r.s.db, src)
		},
		Done: r.done,
	})
}

// run starts the schedule; it ends with ctx.
func (r *sourceRunner) run(ctx context.Context, background *sync.WaitGroup) {
	if r.runner == nil {
		return
	}
	r.s.log.Info("sources: schedule running", "file", r.file.Path, "sources", len(r.file.Sources))
	background.Go(func() { r.runner.Run(ctx) })
}

func (r *sourceRunner) pull(ctx context.Context, src *sources.Source, actor string) (sources.Report, error) {
	res, err := sources.Pull(ctx, r.s.db, src, sources.PullOptions{Key: r.key, Audit: r.s.audit, Actor: actor, SpoolDir: r.spool})
	return sources.Report{ExtractID: res.ExtractID, Unchanged: res.Unchanged, RowsRead: res.RowsRead, Loaded: res.Loaded, Quarantined: res.Quarantined}, err
}

func (r *sourceRunner) done(src *sources.Source, trigger string, rep sources.Report, err error, took time.Duration) {
	result := "loaded"
	switch {
	case errors.Is(err, context.Canceled):
		result = "cancelled"
	case err != nil:
		result = "failed"
	case rep.Unchanged:
		result = "unchanged"
	}
	r.pulls.WithLabelValues(src.Name, trigger, result).Inc()
	r.duration.WithLabelValues(src.Name).Observe(took.Seconds())
}

// sourceCollector reads the runner's state at scrape time.
type sourceCollector struct {
	r                    *sourceRunner
	next, running, fails *prometheus.Desc
}

func (c *sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.next
	ch <- c.running
	ch <- c.fails
}

func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	if c.r.runner == nil {
		return
	}
	for _, src := range c.r.file.Sources {
		st, _ := c.r.runner.Status(src.Name)
		if st.NextRun != nil {
			ch <- prometheus.MustNewConstMetric(c.next, prometheus.GaugeValue, float64(st.NextRun.Unix()), src.Name)
		}
		running := 0.0
		if st.Running {
			running = 1
		}
		ch <- prometheus.MustNewConstMetric(c.running, prometheus.GaugeValue, running, src.Name)
		ch <- prometheus.MustNewConstMetric(c.fails, prometheus.GaugeValue, float64(st.Failures), src.Name)
	}
}

// sourceView is a source as the API shows it: where, what and when, never
// a credential.
type sourceView struct {
	Name          string           `json:"name"`
	Kind          string           `json:"kind"`
	Location      string           `json:"location"`
	Schedule      string           `json:"schedule"`
	Datasets      []string         `json:"datasets"`
	Incremental   bool             `json:"incremental"`
	HighWaterMark string           `json:"high_water_mark,omitempty"` // where the next incremental pull starts
	Rows          map[string]int64 `json:"rows,omitempty"`            // the source's rows in the pulled tables, by table (one source only)
	LastPull      *sources.Extract `json:"last_pull"`
	sources.Status
}

// sourceView describes src; with rows, it counts the source's rows in the
// pulled tables too (a scan of each: for one source, not for the list).
func (s *Server) sourceView(ctx context.Context, src *sources.Source, rows bool) (sourceView, error) {
	v := sourceView{Name: src.Name, Kind: string(src.Kind), Location: src.Location(), Schedule: src.Schedule.String(),
		Datasets: []string{}, Incremental: src.Incremental}
	for _, d := range src.Datasets {
		v.Datasets = append(v.Datasets, string(d))
	}
	v.Status, _ = s.sources.runner.Status(src.Name)
	var err error
	if v.LastPull, err = sources.LastPull(ctx, s.db.DB, src); err != nil {
		return v, err
	}
	if v.HighWaterMark, err = sources.HighWaterMark(ctx, s.db.DB, src.Name); err != nil {
		return v, err
	}
	if rows {
		st, err := extract.ReadSourceState(ctx, s.db, src.Name)
		if err != nil {
			return v, err
		}
		v.Rows = st.Rows
	}
	return v, nil
}

func (s *Server) lookupSource(r *http.Request) (*sources.Source, error) {
	name := chi.URLParam(r, "name")
	if s.sources.file != nil {
		if src, ok := s.sources.file.Lookup(name); ok {
			return src, nil
		}
	}
	return nil, fmt.Errorf("%w: no source %q in the sources file", requests.ErrNotFound, name)
}

func (s *Server) listSources(w http.ResponseWriter, r *http.Request) error {
	out := struct {
		File    string       `json:"file,omitempty"`
		Sources []sourceView `json:"sources"`
	}{Sources: []sourceView{}}
	if f := s.sources.file; f != nil {
		out.File = f.Path
		for _, src := range f.Sources {
			v, err := s.sourceView(r.Context(), src, false)
			if err != nil {
				return err
			}
			out.Sources = append(out.Sources, v)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getSource(w http.ResponseWriter, r *http.Request) error {
	src, err := s.lookupSource(r)
	if err != nil {
		return err
	}
	v, err := s.sourceView(r.Context(), src, true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) pullSource(w http.ResponseWriter, r *http.Request) error {
	src, err := s.lookupSource(r)
	if err != nil {
		return err
	}
	u, _ := UserFrom(r.Context())
	if err := s.sources.runner.Trigger(src.Name, u.ID); err != nil {
		if errors.Is(err, sources.ErrBusy) {
			return fmt.Errorf("%w: source %q is being pulled or is queued already", requests.ErrState, src.Name)
		}
		return err
	}
	s.log.Info("sources: pull requested", "source", src.Name, "actor", u.ID)
	v, err := s.sourceView(r.Context(), src, false)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/sources/"+src.Name)
	writeJSON(w, http.StatusAccepted, v)
	return nil
}

func (s *Server) listExtracts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := sources.ExtractFilter{Status: q.Get("status"), Limit: 50}
	if q.Has("source") {
		// A configured source's name; "" picks the one-off pulls of the
		// command line.
		name := q.Get("source")
		f.Source = &name
	}
	if f.Status != "" && !slices.Contains(sources.Statuses, f.Status) {
		return &requests.InputError{Field: "status", Problem: fmt.Sprintf("%q is not a pull status (want running, loaded, failed or unchanged)", f.Status)}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return &requests.InputError{Field: "limit", Problem: fmt.Sprintf("%q must be a whole number from 1 to 1000", v)}
		}
		f.Limit = n
	}
	list, err := sources.ListExtracts(r.Context(), s.db.DB, f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"extracts": list})
	return nil
}

func (s *Server) getExtract(w http.ResponseWriter, r *http.Request) error {
	raw := chi.URLParam(r, "id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 {
		return &requests.InputError{Field: "id", Problem: fmt.Sprintf("%q is not an extract id (a positive whole number)", raw)}
	}
	d, err := sources.GetExtract(r.Context(), s.db.DB, id)
	if errors.Is(err, sources.ErrNoExtract) {
		return fmt.Errorf("%w: no extract %d", requests.ErrNotFound, id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}
