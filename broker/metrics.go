package broker

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

// metrics are the service's Prometheus metrics, in a registry of its own
// so that several servers (tests) never collide.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	decisions *prometheus.CounterVec
	releases  prometheus.Counter
}

func newMetrics(db *store.DB) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "folkekommune_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "folkekommune_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "folkekommune_policy_decisions_total", Help: "Policy decisions on table requests by outcome.",
		}, []string{"outcome"}),
		releases: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "folkekommune_releases_total", Help: "Releases made.",
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.decisions, m.releases,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&pullCollector{db: db, desc: prometheus.NewDesc("folkekommune_extract_pulls", "Pulls recorded in the extract registry, by result.", []string{"status"}, nil)})
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// pullCollector reads the pull results from the extract registry at
// scrape time, so that pulls run by the command line count too.
type pullCollector struct {
	db   *store.DB
	desc *prometheus.Desc
}

func (c *pullCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *pullCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts := map[string]float64{"loaded": 0, "failed": 0, "unchanged": 0, "running": 0}
	rows, err := c.db.QueryContext(ctx, `SELECT status, count(*) FROM extract GROUP BY status`)
	if err != nil {
		slog.Warn("metrics: read the extract registry", "err", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n int64
		if rows.Scan(&status, &n) == nil {
			counts[status] = float64(n)
		}
	}
	for status, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, n, status)
	}
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe logs each request and counts it by route pattern (never by raw
// path, which would carry ids into the metrics).
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		elapsed := time.Since(start)
		pattern := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			pattern = rc.RoutePattern()
		}
		s.metrics.requests.WithLabelValues(pattern, r.Method, strconv.Itoa(sw.code)).Inc()
		s.metrics.latency.WithLabelValues(pattern, r.Method).Observe(elapsed.Seconds())
		attrs := []any{"method", r.Method, "route", pattern, "status", sw.code, "bytes", sw.bytes, "duration_ms", float64(elapsed.Microseconds()) / 1000}
		s.log.InfoContext(r.Context(), "http", attrs...)
	})
}
