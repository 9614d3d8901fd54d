package main

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/metrics/prom"
)

// telemetry is the example's Prometheus wiring: one prom.Metrics observes
// every repository and reads their Stats, in a registry of its own with the
// Go runtime's metrics, served on /metrics.
type telemetry struct {
	metrics  *prom.Metrics
	registry *prometheus.Registry

	mu    sync.Mutex
	stats map[string]func() runtime.Stats // what was registered, by model
}

func newTelemetry() *telemetry {
	t := &telemetry{metrics: prom.New(prom.Options{}), registry: prometheus.NewRegistry(), stats: map[string]func() runtime.Stats{}}
	t.registry.MustRegister(t.metrics, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return t
}

// options are the repository options that report to the metrics.
func (t *telemetry) options() []runtime.Option {
	return []runtime.Option{runtime.WithObserver(t.metrics)}
}

// register adds a repository's Stats under its table name.
func (t *telemetry) register(model string, stats func() runtime.Stats) {
	t.metrics.Register(model, stats)
	t.mu.Lock()
	t.stats[model] = stats
	t.mu.Unlock()
}

// handler serves the metrics on /metrics.
func (t *telemetry) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{Registry: t.registry}))
	return mux
}

// serve listens on addr and serves the handler in the background; it
// returns the address it listens on.
func (t *telemetry) serve(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: t.handler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return ln.Addr().String(), nil
}
