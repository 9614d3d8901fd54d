package consistency

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/cdc"
	"github.com/cachegen/cachegen/runtime/engine"
	cgredis "github.com/cachegen/cachegen/runtime/redis"
)

// Report is what a run found.
type Report struct {
	Backend      string
	Config       Config
	Result       *Result
	Faults       int
	FaultSummary string
	Stats        runtime.Stats      // summed over the runtimes
	Near         *NearReport        // with Config.Near: what the near caches and their buses did
	CDC          *cdc.ConsumerStats // with Config.CDC (not CDCOff): what the consumer did
	Herd         *Herd
	RunTime      time.Duration // the workload
	CheckTime    time.Duration // the checks
	LogEntries   int
}

// NearReport is what the near caches of a run did, summed over the
// runtimes.
type NearReport struct {
	MaxStaleness  time.Duration
	Stats         runtime.NearStats // Hits, Drops, Losses summed; Entries at the end
	Publishes     int64             // Publish calls on the buses
	PublishErrors int64             // of which failed
	Swallowed     int64             // of which the lossy bus swallowed (NearLossy)
}

// Line is the one-line verdict.
func (r *Report) Line() string {
	line := fmt.Sprintf("consistency: backend=%s ops=%d stale_after_ack=%d linearizability=%s lost_writes=%d faults=%d max_staleness_ms=%d",
		r.Backend, r.Result.Ops, r.Result.StaleAfterAck, r.Result.LinearizabilityWord(), r.Result.LostWrites, r.Faults, r.Result.MaxStaleness/int64(time.Millisecond))
	if r.Config.CDC {
		line += fmt.Sprintf(" lost_invalidations=%d", r.Result.LostInvalidations)
		if len(r.Result.CDCLag) > 0 {
			res := r.Result
			line += fmt.Sprintf(" cdc_lag_ms_p50=%d cdc_lag_ms_p99=%d cdc_lag_ms_max=%d",
				res.CDCLagQuantile(0.5).Milliseconds(), res.CDCLagQuantile(0.99).Milliseconds(), res.CDCLagQuantile(1).Milliseconds())
			// Apart: the lag of the changes no consumer fault held up, and
			// how many were held up.
			line += fmt.Sprintf(" cdc_lag_ms_p99_unfaulted=%d cdc_changes_held_by_faults=%d",
				res.CDCLagUnfaultedQuantile(0.99).Milliseconds(), len(res.CDCLag)-len(res.CDCLagUnfaulted))
		}
	}
	if r.Near != nil {
		line += fmt.Sprintf(" near_hits=%d near_stale_within_bound=%d near_max_staleness_ms=%d",
			r.Near.Stats.Hits, r.Result.NearWithinBound, r.Result.NearMaxStaleness/int64(time.Millisecond))
	}
	return line
}

// Run runs the workload on cfg's database and store and checks the history.
// It goes phase by phase: validate the whole configuration (nothing is
// opened or started before), set up the database, the store and its
// servers, the runtimes, run the workload, collect the history, analyze it.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.defaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.CDC {
		if err := checkCDCServer(ctx, cfg.DB); err != nil {
			return nil, err
		}
	}
	var r rig
	defer r.close()
	db, err := r.database(ctx, cfg.DB, cfg.CDC)
	if err != nil {
		return nil, err
	}
	w := newWorkload(cfg, db)
	if w.dialect, err = engine.DialectOf(db.driver); err != nil {
		return nil, err
	}
	rep := &Report{Backend: cfg.backend(db.Name), Config: cfg}
	inj := &injector{rng: rand.New(rand.NewPCG(cfg.Seed, 99)), keys: w.keys, undetectable: cfg.Undetectable, snapshot: cfg.RestartFromSnapshot}
	st, err := r.stores(cfg, inj)
	if err != nil {
		return nil, err
	}
	prefix := "cachecheck" + strings.ToLower(crand.Text()[:8])
	if cfg.Herd {
		fmt.Fprintf(cfg.Progress, "%s: thundering herd\n", rep.Backend)
		if rep.Herd, err = measureHerd(ctx, db, st.herd, prefix); err != nil {
			return nil, fmt.Errorf("thundering herd: %w", err)
		}
	}
	if err := db.Reset(ctx); err != nil {
		return nil, err
	}
	buses, err := r.runtimes(ctx, w, st, prefix)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Progress, "%s: %d operations, %d clients on %d runtimes, %d keys, faults %v, seed %d\n",
		rep.Backend, cfg.Ops, cfg.Clients, cfg.Runtimes, cfg.Keys, cfg.Faults, cfg.Seed)
	if cfg.TwoBuilds {
		fmt.Fprintf(cfg.Progress, "%s: even runtimes run %s, odd ones %s\n", rep.Backend, builds[0].name, builds[1].name)
	}
	var cr *cdcRig
	if cfg.CDC && !cfg.CDCOff {
		if cr, err = r.newCDCRig(ctx, w, st, prefix); err != nil {
			return nil, err
		}
		inj.cdc = cr
	}
	perClient := w.run(ctx, inj)
	rep.RunTime = time.Since(w.start)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h, err := w.collect(ctx, perClient)
	if err != nil {
		return nil, err
	}
	rep.LogEntries = len(h.log)
	rep.summarize(w, inj, buses)
	checkStart := time.Now()
	fmt.Fprintf(cfg.Progress, "%s: checking %d operations, %d log entries\n", rep.Backend, len(h.ops), len(h.log))
	var invalidated map[int64]int64
	var whole []int64
	var cdcFaults []Interval
	if cr != nil {
		invalidated, whole = cr.rec.snapshot()
		cdcFaults = cr.faultSpans(inj.LockLoss())
		s := cr.stats()
		rep.CDC = &s
	}
	rep.Result = analyze(cfg, w, inj, h, invalidated, whole, cdcFaults)
	rep.CheckTime = time.Since(checkStart)
	return rep, nil
}

// rig holds what a run set up, to be closed in the reverse order.
type rig struct{ closers []func() }

// onClose has close call f, after everything added later.
func (r *rig) onClose(f func()) { r.closers = append(r.closers, f) }

func (r *rig) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
}

// database makes the run's namespace and its tables.
func (r *rig) database(ctx context.Context, spec string, cdc bool) (*Database, error) {
	db, err := openDatabase(ctx, spec, cdc)
	if db != nil {
		r.onClose(db.Close)
	}
	return db, err
}

// stores is the store below each runtime's trace.
type stores struct {
	lowers []runtime.Store
	redis  []*goredis.Client // -store redis: each runtime's client, through its proxy
	// -cdc: each consumer's link, outside the runtimes' fault proxies, and
	// how the consumer faults cut it
	cdc      []runtime.Store
	cdcLinks []cdcLink
	cdcRedis []*goredis.Client // -store redis: each consumer's client, for its near cache's bus
	// herd: a link per runtime for the thundering-herd measure, with no
	// faults and timeouts a loaded machine does not run out of: a store
	// call that timed out reads the database, and the count would measure
	// the machine, not the protocol.
	herd []runtime.Store
}

// stores sets up the shared store and each runtime's link to it: for
// memory, one store behind a fault link per runtime; for Redis, a
// redis-server of the run's own (and with Failover its replica), a proxy
// and a client per runtime. The injector gets what it needs to reach them.
func (r *rig) stores(cfg Config, inj *injector) (*stores, error) {
	st := &stores{lowers: make([]runtime.Store, cfg.Runtimes), redis: make([]*goredis.Client, cfg.Runtimes)}
	if cfg.Store == "memory" {
		mem, err := newMemShared()
		if err != nil {
			return nil, err
		}
		r.onClose(mem.close)
		inj.mem = mem
		for i := range st.lowers {
			link := &memFault{inner: mem, timeout: 30 * time.Millisecond}
			inj.links = append(inj.links, link)
			st.lowers[i] = link
		}
		for range cdcConsumers {
			link := &memFault{inner: mem, timeout: 30 * time.Millisecond}
			st.cdc, st.cdcLinks = append(st.cdc, link), append(st.cdcLinks, memLink{link})
		}
		for range st.lowers {
			st.herd = append(st.herd, &memFault{inner: mem, timeout: herdTimeout})
		}
		return st, nil
	}
	server, err := StartRedis(cfg.RedisBin)
	if err != nil {
		return nil, err
	}
	r.onClose(server.Stop)
	inj.server = server
	inj.direct = goredis.NewClient(&goredis.Options{Addr: server.Addr(), MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: time.Second})
	r.onClose(func() { inj.direct.Close() })
	if cfg.Failover {
		stop, err := inj.startReplica(cfg.RedisBin)
		if err != nil {
			return nil, err
		}
		r.onClose(stop)
	}
	for range cdcConsumers * btoi(cfg.CDC) {
		p, err := NewProxy(server.Addr())
		if err != nil {
			return nil, err
		}
		r.onClose(p.Close)
		client := goredis.NewClient(&goredis.Options{Addr: p.Addr(), DialTimeout: 250 * time.Millisecond, ReadTimeout: 250 * time.Millisecond, WriteTimeout: 250 * time.Millisecond})
		r.onClose(func() { client.Close() })
		store, err := cgredis.New(client, cgredis.Options{})
		if err != nil {
			return nil, err
		}
		st.cdc, st.cdcLinks, st.cdcRedis = append(st.cdc, store), append(st.cdcLinks, proxyLink{p}), append(st.cdcRedis, client)
	}
	for range st.lowers {
		client := goredis.NewClient(&goredis.Options{Addr: server.Addr(), DialTimeout: time.Second, ReadTimeout: herdTimeout, WriteTimeout: herdTimeout, PoolSize: 64})
		r.onClose(func() { client.Close() })
		s, err := cgredis.New(client, cgredis.Options{})
		if err != nil {
			return nil, err
		}
		st.herd = append(st.herd, s)
	}
	for i := range st.lowers {
		p, err := NewProxy(server.Addr())
		if err != nil {
			return nil, err
		}
		r.onClose(func() { p.Close() })
		inj.proxies = append(inj.proxies, p)
		client := goredis.NewClient(cfg.redisClientOptions(i, p.Addr()))
		r.onClose(func() { client.Close() })
		st.redis[i] = client
		opts := cgredis.Options{}
		if cfg.RedisWait > 0 {
			opts.WaitReplicas, opts.WaitTimeout = cfg.RedisWait, redisWaitTimeout
		}
		if st.lowers[i], err = cgredis.New(client, opts); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// cdcConsumers is how many consumers a -cdc run has: two app instances.
const cdcConsumers = 2

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// redisClientOptions configures runtime i's go-redis client on addr, its
// proxy, with the retries cfg.RedisRetries gives it.
func (c *Config) redisClientOptions(i int, addr string) *goredis.Options {
	retries := 0 // go-redis's default
	if c.RedisRetries == "none" || c.RedisRetries == "mixed" && i%2 == 1 {
		retries = -1
	}
	return &goredis.Options{
		Addr:         addr,
		DialTimeout:  250 * time.Millisecond,
		ReadTimeout:  250 * time.Millisecond,
		WriteTimeout: 250 * time.Millisecond,
		PoolSize:     32,
		MaxRetries:   retries,
	}
}

// runtimes opens the run's repository instances, each on a database handle
// of its own and its link to the store, weakened for the negative controls,
// with its near cache (Config.Near) and its build (Config.TwoBuilds).
func (r *rig) runtimes(ctx context.Context, w *workload, st *stores, prefix string) (*busStats, error) {
	cfg := w.cfg
	w.opts = []runtime.Option{runtime.WithPrefix(prefix), runtime.WithTTL(cfg.TTL), runtime.WithNotFoundTTL(cfg.TTL), runtime.WithLockTTL(cfg.LockTTL)}
	buses := &busStats{}
	for i := range cfg.Runtimes {
		h, err := w.db.Open(cfg.Jitter, nil, 10)
		if err != nil {
			return nil, err
		}
		r.onClose(func() { h.Close() })
		lower := st.lowers[i]
		if cfg.Weak {
			lower = weakStore{lower}
		}
		if cfg.WeakBatch != "" {
			lower = &weakBatchStore{Store: lower, mode: cfg.WeakBatch}
		}
		in := &instance{id: i, db: h, lower: lower, build: builds[0]}
		if cfg.TwoBuilds {
			in.build = builds[i%2]
		}
		opts := w.opts
		if cfg.Near > 0 {
			// A channel of the run's own, on the runtime's own client: the
			// bus goes through the runtime's proxy, as its store does.
			rb, err := cgredis.NewBus(st.redis[i], prefix+":near")
			if err != nil {
				return nil, err
			}
			in.bus = &traceBus{inner: rb, lossy: cfg.NearLossy, stats: buses}
			if in.near, err = runtime.NewNearCache(in.bus, cfg.nearOptions()); err != nil {
				return nil, err
			}
			r.onClose(func() { in.near.Close() })
			opts = append(slices.Clip(opts), runtime.WithNearCache(in.near))
		}

		if cfg.NoBoard {
			opts = append(slices.Clip(opts), runtime.WithoutBuildBoard())
		}
		if in.repo, err = in.build.open(h, tracing(lower, w.keys), opts...); err != nil {
			return nil, err
		}
		w.inst = append(w.inst, in)
	}
	if cfg.Near > 0 {
		// Let every near cache see its first probe come back, so that the
		// tier is in use from the first operation.
		readyCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		for _, in := range w.inst {
			_ = in.near.Ready(readyCtx) // a cache that is not ready yet is still correct
		}
		cancel()
	}
	return buses, nil
}

// summarize adds to the report what the runtimes, their near caches and
// the injector counted.
func (rep *Report) summarize(w *workload, inj *injector, buses *busStats) {
	for _, in := range w.inst {
		rep.Stats = addStats(rep.Stats, in.repo.Stats())
	}
	if w.cfg.Near > 0 {
		rep.Near = &NearReport{MaxStaleness: w.cfg.Near, Publishes: buses.publishes.Load(),
			PublishErrors: buses.publishErrors.Load(), Swallowed: buses.swallowed.Load()}
		for _, in := range w.inst {
			s := in.near.Stats()
			rep.Near.Stats.Hits += s.Hits
			rep.Near.Stats.Entries += s.Entries
			rep.Near.Stats.Drops += s.Drops
			rep.Near.Stats.Losses += s.Losses
		}
	}
	rep.Faults, rep.FaultSummary = inj.Total(), inj.Summary()
}

// analyze checks the collected history against the database's log.
func analyze(cfg Config, w *workload, inj *injector, h *history, invalidated map[int64]int64, whole []int64, cdcFaults []Interval) *Result {
	return Check(&Input{
		CDC: cfg.CDC, CDCBound: int64(cfg.CDCBound), Invalidated: invalidated, WholeInvalidations: whole, CDCFaults: cdcFaults,
		Ops: h.ops, Log: h.log, Final: h.final, HaveFinal: true, IDs: w.ids,
		LockLoss: inj.LockLoss(), LockTTL: int64(cfg.LockTTL),
		StaleBound: int64(cfg.TTL + time.Second), NearBound: int64(cfg.Near), Timeout: 10 * time.Minute,
	})
}

func addStats(a, b runtime.Stats) runtime.Stats {
	a.Hits += b.Hits
	a.Misses += b.Misses
	a.Fills += b.Fills
	a.LeaseWaits += b.LeaseWaits
	a.NearHits += b.NearHits
	a.LockBypasses += b.LockBypasses
	a.DBReads += b.DBReads
	a.DBWrites += b.DBWrites
	a.Invalidations += b.Invalidations
	a.InvalidationRetries += b.InvalidationRetries
	a.InvalidationsDropped += b.InvalidationsDropped
	a.StoreErrors += b.StoreErrors
	a.CorruptValues += b.CorruptValues
	a.OtherSchema += b.OtherSchema
	a.IndexUncovered += b.IndexUncovered
	a.BreakerOpens += b.BreakerOpens
	a.BreakerCloses += b.BreakerCloses
	return a
}
