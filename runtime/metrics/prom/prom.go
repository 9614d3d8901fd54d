// Package prom exports what cachegen repositories do as Prometheus metrics.
// It lives in a package of its own so that the runtime never imports
// Prometheus.
//
// A Metrics is both a observe.Observer (give it to every repository with
// runtime.WithObserver) and a prometheus.Collector (register it once):
//
//	m := prom.New(prom.Options{})
//	prometheus.MustRegister(m)
//	users, err := models.NewUserRepo(db, store, runtime.WithObserver(m))
//	m.Register("users", users.Stats)
//
// Most metrics come from the events each repository reports as it works
// (calls, their outcome and latency, store errors, the circuit breaker,
// invalidations that failed). The counters the runtime keeps without an
// event (fills, lease waits, lock bypasses, database queries, invalidations
// delivered, All over the cap) are read from Stats at scrape time, for the
// repositories given to Register.
//
// Every label comes from a table name, an index name or a fixed set of
// values (outcomes, write and store operations, corruption reasons): never
// from a key or a value, so the number of series is bounded by the schema.
// The model label is the table name. docs/operations.md describes each
// metric.
package prom

import (
	"context"
	"errors"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/observe"
)

// DefaultBuckets are the latency buckets in seconds: from 100µs (a store
// hit in the same data centre) to 10s (a query that should have timed out).
var DefaultBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}

// Options configure the metrics.
type Options struct {
	Namespace   string            // the first part of every name; default "cachegen"
	Subsystem   string            // an optional second part
	ConstLabels prometheus.Labels // labels added to every series (e.g. the service)
	Buckets     []float64         // latency histogram buckets in seconds; default DefaultBuckets
}

// Metrics counts what repositories do. It is safe for concurrent use; its
// Observe allocates nothing once a table's series exist.
type Metrics struct {
	reads       *prometheus.CounterVec
	readErrors  *prometheus.CounterVec
	readTime    *prometheus.HistogramVec
	readDB      *prometheus.HistogramVec
	readStore   *prometheus.HistogramVec
	writes      *prometheus.CounterVec
	writeErrors *prometheus.CounterVec
	writeTime   *prometheus.HistogramVec
	writeDB     *prometheus.HistogramVec
	storeErrors *prometheus.CounterVec
	invFailed   *prometheus.CounterVec
	invRetries  *prometheus.CounterVec
	invDropped  *prometheus.CounterVec
	corrupt     *prometheus.CounterVec
	brOpens     *prometheus.CounterVec
	brCloses    *prometheus.CounterVec
	brOpen      *prometheus.GaugeVec

	readSeries  cache[pair, *readSeries]
	writeSeries cache[pair, *writeSeries]
	tableSeries cache[string, *tableSeries]
	opSeries    cache[pair, prometheus.Counter] // store errors by table and op
	corrupts    cache[pair, prometheus.Counter] // corrupt values by table and reason

	statDescs []statDesc
	mu        sync.Mutex
	sources   map[*source]struct{}
}

// pair is a table and an index, op or reason.
type pair struct{ table, name string }

type readSeries struct {
	count          [5][2]prometheus.Counter // outcome × not found
	errors         prometheus.Counter
	time, db       prometheus.Observer
	hitStore, miss prometheus.Observer // store time of hits and of misses
}

type writeSeries struct {
	count, errors prometheus.Counter
	time, db      prometheus.Observer
}

type tableSeries struct {
	invFailed, invRetriedOK, invRetriedErr, invDropped prometheus.Counter
	brOpens, brCloses                                  prometheus.Counter
	brOpen                                             prometheus.Gauge
}

// statDesc is a counter read from Stats at scrape time.
type statDesc struct {
	desc *prometheus.Desc
	get  func(*runtime.Stats) uint64
}

type source struct {
	table string
	stats func() runtime.Stats
}

// New returns metrics named after o; register them with a
// prometheus.Registerer and pass them to repositories with
// runtime.WithObserver.
func New(o Options) *Metrics {
	if o.Namespace == "" {
		o.Namespace = "cachegen"
	}
	if o.Buckets == nil {
		o.Buckets = DefaultBuckets
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: o.Namespace, Subsystem: o.Subsystem,
			Name: name, Help: help, ConstLabels: o.ConstLabels}, labels)
	}
	histogram := func(name, help string, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: o.Namespace, Subsystem: o.Subsystem,
			Name: name, Help: help, ConstLabels: o.ConstLabels, Buckets: o.Buckets}, labels)
	}
	m := &Metrics{
		reads: counter("reads_total",
			"Get and All calls by outcome: hit (the store answered), miss (the database answered under a fill lease), bypass (the database answered, nothing was filled).",
			"model", "index", "outcome", "not_found"),
		readErrors: counter("read_errors_total", "Get and All calls that returned an error (not-found is not one).", "model", "index"),
		readTime:   histogram("read_duration_seconds", "Duration of Get and All calls.", "model", "index"),
		readDB: histogram("read_db_duration_seconds",
			"Time Get and All calls spent in the database, for the calls that queried it.", "model", "index"),
		readStore: histogram("read_store_duration_seconds",
			"Time Get and All calls spent outside the database (store round trips, lease waits, decoding), for hits and misses.",
			"model", "index", "outcome"),
		writes:      counter("writes_total", "Save, Delete and Invalidate calls.", "model", "op"),
		writeErrors: counter("write_errors_total", "Save, Delete and Invalidate calls that returned an error (a Delete of no row is not one).", "model", "op"),
		writeTime:   histogram("write_duration_seconds", "Duration of Save, Delete and Invalidate calls, invalidations included.", "model", "op"),
		writeDB:     histogram("write_db_duration_seconds", "Time Save, Delete and Invalidate calls spent in the database, for the calls that used it.", "model", "op"),
		storeErrors: counter("store_errors_total", "Store calls that failed, by store operation (calls the open circuit breaker skipped are not counted).", "model", "op"),
		invFailed:   counter("invalidations_failed_total", "Keys a write could not invalidate at once; each is queued for a retry.", "model"),
		invRetries:  counter("invalidation_retries_total", "Queued invalidations sent again: result ok (delivered) or error (queued again).", "model", "result"),
		invDropped:  counter("invalidations_dropped_total", "Queued invalidations given up because the retry queue was full: the key may be stale until its TTL.", "model"),
		corrupt:     counter("corrupt_values_total", "Cached values that could not be read, by reason (schema, foreign, decode); each was treated as a miss.", "model", "reason"),
		brOpens:     counter("breaker_opens_total", "Times repeated store errors opened a repository's circuit breaker.", "model"),
		brCloses:    counter("breaker_closes_total", "Times a successful probe closed a repository's circuit breaker.", "model"),
		brOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: o.Namespace, Subsystem: o.Subsystem,
			Name: "breaker_open", Help: "Repositories of the model whose circuit breaker is open now (their reads skip the store).",
			ConstLabels: o.ConstLabels}, []string{"model"}),
		sources: map[*source]struct{}{},
	}
	stat := func(name, help string, get func(*runtime.Stats) uint64) {
		m.statDescs = append(m.statDescs, statDesc{
			desc: prometheus.NewDesc(prometheus.BuildFQName(o.Namespace, o.Subsystem, name), help, []string{"model"}, o.ConstLabels),
			get:  get,
		})
	}
	stat("near_hits_total", "Reads the near cache answered without asking the store (registered repositories).", func(s *runtime.Stats) uint64 { return s.NearHits })
	stat("fills_total", "Values and not-founds stored after a miss (registered repositories).", func(s *runtime.Stats) uint64 { return s.Fills })
	stat("lease_waits_total", "Reads that found another reader's fill lease and waited for its value (registered repositories).", func(s *runtime.Stats) uint64 { return s.LeaseWaits })
	stat("lock_bypasses_total", "Reads that found a writer's lock and read the database without filling (registered repositories).", func(s *runtime.Stats) uint64 { return s.LockBypasses })
	stat("db_reads_total", "Read queries sent to the database (registered repositories).", func(s *runtime.Stats) uint64 { return s.DBReads })
	stat("db_writes_total", "Write transactions sent to the database (registered repositories).", func(s *runtime.Stats) uint64 { return s.DBWrites })
	stat("invalidations_total", "Keys invalidated in the store, retries that landed included (registered repositories).", func(s *runtime.Stats) uint64 { return s.Invalidations })
	stat("all_over_cap_total", "All calls on a table larger than the cap, read from the database and not cached (registered repositories).", func(s *runtime.Stats) uint64 { return s.AllOverCap })

	m.readSeries.make = m.newReadSeries
	m.writeSeries.make = func(k pair) *writeSeries {
		return &writeSeries{
			count:  m.writes.WithLabelValues(k.table, k.name),
			errors: m.writeErrors.WithLabelValues(k.table, k.name),
			time:   m.writeTime.WithLabelValues(k.table, k.name),
			db:     m.writeDB.WithLabelValues(k.table, k.name),
		}
	}
	m.tableSeries.make = func(t string) *tableSeries {
		return &tableSeries{
			invFailed:     m.invFailed.WithLabelValues(t),
			invRetriedOK:  m.invRetries.WithLabelValues(t, "ok"),
			invRetriedErr: m.invRetries.WithLabelValues(t, "error"),
			invDropped:    m.invDropped.WithLabelValues(t),
			brOpens:       m.brOpens.WithLabelValues(t),
			brCloses:      m.brCloses.WithLabelValues(t),
			brOpen:        m.brOpen.WithLabelValues(t),
		}
	}
	m.opSeries.make = func(k pair) prometheus.Counter { return m.storeErrors.WithLabelValues(k.table, k.name) }
	m.corrupts.make = func(k pair) prometheus.Counter { return m.corrupt.WithLabelValues(k.table, k.name) }
	return m
}

var notFoundLabel = [2]string{"false", "true"}

// newReadSeries makes the series of one index, with the hit, miss and
// bypass counters at zero so that ratios exist before the first miss.
func (m *Metrics) newReadSeries(k pair) *readSeries {
	s := &readSeries{
		errors:   m.readErrors.WithLabelValues(k.table, k.name),
		time:     m.readTime.WithLabelValues(k.table, k.name),
		db:       m.readDB.WithLabelValues(k.table, k.name),
		hitStore: m.readStore.WithLabelValues(k.table, k.name, observe.OutcomeHit.String()),
		miss:     m.readStore.WithLabelValues(k.table, k.name, observe.OutcomeMiss.String()),
	}
	for _, o := range []observe.Outcome{observe.OutcomeHit, observe.OutcomeMiss, observe.OutcomeBypass, observe.OutcomeNearHit} {
		for nf, label := range notFoundLabel {
			if nf == 1 && k.name == "all" { // All answers a list, never not-found
				continue
			}
			s.count[o][nf] = m.reads.WithLabelValues(k.table, k.name, o.String(), label)
		}
	}
	return s
}

// Observe counts e. It implements observe.Observer.
func (m *Metrics) Observe(_ context.Context, e observe.Event) {
	switch e.Kind {
	case observe.EventRead:
		s := m.readSeries.get(pair{e.Table, e.Index})
		nf := 0
		if e.NotFound {
			nf = 1
		}
		o := e.Outcome
		if int(o) >= len(s.count) {
			o = observe.OutcomeNone
		}
		c := s.count[o][nf]
		if c == nil { // not expected (OutcomeNone, All not found): looked up each time
			c = m.reads.WithLabelValues(e.Table, e.Index, o.String(), notFoundLabel[nf])
		}
		c.Inc()
		if e.Err != nil {
			s.errors.Inc()
		}
		s.time.Observe(e.Duration.Seconds())
		if e.DBTime > 0 {
			s.db.Observe(e.DBTime.Seconds())
		}
		switch o {
		case observe.OutcomeHit:
			s.hitStore.Observe(max(e.Duration-e.DBTime, 0).Seconds())
		case observe.OutcomeMiss:
			s.miss.Observe(max(e.Duration-e.DBTime, 0).Seconds())
		}
	case observe.EventWrite:
		s := m.writeSeries.get(pair{e.Table, e.Op})
		s.count.Inc()
		if e.Err != nil && !errors.Is(e.Err, runtime.ErrNotFound) {
			s.errors.Inc()
		}
		s.time.Observe(e.Duration.Seconds())
		if e.DBTime > 0 {
			s.db.Observe(e.DBTime.Seconds())
		}
	case observe.EventStoreError:
		m.opSeries.get(pair{e.Table, e.Op}).Inc()
	case observe.EventCorruptValue:
		m.corrupts.get(pair{e.Table, e.Op}).Inc()
	case observe.EventInvalidationFailed:
		m.tableSeries.get(e.Table).invFailed.Inc()
	case observe.EventInvalidationRetried:
		s := m.tableSeries.get(e.Table)
		if e.Err != nil {
			s.invRetriedErr.Inc()
		} else {
			s.invRetriedOK.Inc()
		}
	case observe.EventInvalidationDropped:
		m.tableSeries.get(e.Table).invDropped.Inc()
	case observe.EventBreakerOpen:
		s := m.tableSeries.get(e.Table)
		s.brOpens.Inc()
		s.brOpen.Inc()
	case observe.EventBreakerClose:
		s := m.tableSeries.get(e.Table)
		s.brCloses.Inc()
		s.brOpen.Dec()
	}
}

// Register adds a repository's Stats to the counters read at scrape time,
// under model (its table name): fills, lease waits, lock bypasses,
// database reads and writes, invalidations, All calls over the cap. Pass
// the generated repository's method value: m.Register("users",
// users.Stats). Repositories registered under one model are added up. The
// returned function removes the repository again (its counts leave the
// totals, which Prometheus reads as a counter reset).
func (m *Metrics) Register(model string, stats func() runtime.Stats) (unregister func()) {
	s := &source{table: model, stats: stats}
	m.mu.Lock()
	m.sources[s] = struct{}{}
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		delete(m.sources, s)
		m.mu.Unlock()
	}
}

func (m *Metrics) vecs() []prometheus.Collector {
	return []prometheus.Collector{m.reads, m.readErrors, m.readTime, m.readDB, m.readStore,
		m.writes, m.writeErrors, m.writeTime, m.writeDB, m.storeErrors,
		m.invFailed, m.invRetries, m.invDropped, m.corrupt, m.brOpens, m.brCloses, m.brOpen}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.vecs() {
		c.Describe(ch)
	}
	for _, d := range m.statDescs {
		ch <- d.desc
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.vecs() {
		c.Collect(ch)
	}
	m.mu.Lock()
	sources := make([]*source, 0, len(m.sources))
	for s := range m.sources {
		sources = append(sources, s)
	}
	m.mu.Unlock()
	if len(sources) == 0 {
		return
	}
	byModel := map[string][]uint64{}
	var order []string
	for _, s := range sources {
		st := s.stats()
		sums, ok := byModel[s.table]
		if !ok {
			sums = make([]uint64, len(m.statDescs))
			byModel[s.table] = sums
			order = append(order, s.table)
		}
		for i, d := range m.statDescs {
			sums[i] += d.get(&st)
		}
	}
	for _, model := range order {
		for i, d := range m.statDescs {
			ch <- prometheus.MustNewConstMetric(d.desc, prometheus.CounterValue, float64(byModel[model][i]), model)
		}
	}
}

var (
	_ observe.Observer     = (*Metrics)(nil)
	_ prometheus.Collector = (*Metrics)(nil)
)

// cache maps a label set to its series. Reads take no lock: the map is
// replaced, never changed, when a new label set appears (rarely: the
// tables and indexes of a schema).
type cache[K comparable, V any] struct {
	mu   sync.Mutex
	m    atomic.Pointer[map[K]V]
	make func(K) V
}

func (c *cache[K, V]) get(k K) V {
	if m := c.m.Load(); m != nil {
		if v, ok := (*m)[k]; ok {
			return v
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	if old != nil {
		if v, ok := (*old)[k]; ok {
			return v
		}
	}
	n := map[K]V{}
	if old != nil {
		n = maps.Clone(*old)
	}
	v := c.make(k)
	n[k] = v
	c.m.Store(&n)
	return v
}
