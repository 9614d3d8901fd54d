package consistency

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachegen/cachegen/runtime"
	cgredis "github.com/cachegen/cachegen/runtime/redis"
	"github.com/jmoiron/sqlx"
	goredis "github.com/redis/go-redis/v9"
)

// Config says what to run.
type Config struct {
	DB       string // "sqlite", a postgres:// URL or a mysql:// URL
	Store    string // "memory" or "redis" (a redis-server of the checker's own)
	RedisBin string // the redis-server to start; default: from PATH
	// RedisRetries is how the runtimes' go-redis clients retry a failed
	// command: "default" (go-redis's 3 retries, which hide short faults
	// and may run a command twice), "none", or "mixed" (the default: even
	// runtimes retry, odd ones do not, as separately configured servers
	// would).
	RedisRetries string

	Ops      int // operations the clients issue, all together
	Clients  int // concurrent clients
	Runtimes int // repository instances sharing the store, as separate app servers
	Keys     int // primary keys in the hot set

	Faults       bool // inject faults
	Undetectable bool // corrupt values in ways no header catches too (bit flips, another key's value)
	// RestartFromSnapshot makes the Redis server's restarts come back from
	// a snapshot (SAVE) taken a while before, with the values of every
	// write acknowledged since (see snapshot.go).
	RestartFromSnapshot bool
	// Failover gives the Redis server a replica, and fails over to it now
	// and then after promoting it early, so that it missed the releases of
	// writes acknowledged meanwhile (see failover.go).
	Failover bool
	// RedisWait is the Redis store's safe mode: each write's lock and
	// release phases wait for this many replicas (redis.Options.WaitReplicas,
	// with RedisWaitTimeout), so that acknowledged invalidations survive a
	// failover. 0: off, the default mode.
	RedisWait int
	Weak      bool // the negative control: plain get/set/delete, no lease, no lock
	Herd      bool // measure the thundering herd first

	// WeakBatch is the batch reads' negative control: WeakBatchFill or
	// WeakBatchSnapshot weakens the batch calls alone ("": none).
	WeakBatch string
	// TwoBuilds runs half the runtimes (the odd ones) on the second build
	// of the model, checkmodel/v2, which maps the same table with a column
	// more: a rolling deploy that adds a column, in one history.
	TwoBuilds bool
	// NoBoard is the negative control of TwoBuilds: the runtimes announce
	// nothing on the build board, so the first build's writes leave the
	// second build's version index (which the first does not declare) as
	// it was.
	NoBoard bool

	// Near puts a near cache (runtime.NearCache) in front of the store in
	// every runtime, with this MaxStaleness, on a Redis pub/sub bus over the
	// runtime's own client and proxy (0: none; -store redis only).
	Near time.Duration
	// NearLossy is the near cache's negative control: the buses swallow
	// every Publish, reporting it delivered.
	NearLossy bool

	Seed    uint64
	TTL     time.Duration // value and not-found TTL: the bound on by-design staleness
	LockTTL time.Duration
	Jitter  time.Duration // latency added after some database reads

	Progress io.Writer // progress notes; nil: none
	Dump     io.Writer // the history and the log, one line each; nil: none
}

func (c *Config) defaults() {
	if c.Store == "" {
		c.Store = "memory"
	}
	if c.RedisRetries == "" {
		c.RedisRetries = "mixed"
	}
	if c.Ops <= 0 {
		c.Ops = 20000
	}
	if c.Clients <= 0 {
		c.Clients = 16
	}
	if c.Runtimes <= 0 {
		c.Runtimes = 4
	}
	if c.Keys <= 0 {
		c.Keys = 12
	}
	if c.TTL <= 0 {
		c.TTL = 5 * time.Second
	}
	if c.LockTTL <= 0 {
		c.LockTTL = 2 * time.Second
	}
	if c.Seed == 0 {
		c.Seed = rand.Uint64()
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

// Report is what a run found.
type Report struct {
	Backend      string
	Config       Config
	Result       *Result
	Faults       int
	FaultSummary string
	Stats        runtime.Stats // summed over the runtimes
	Near         *NearReport   // with Config.Near: what the near caches and their buses did
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

// redisWaitTimeout bounds the safe mode's WAIT: well inside the runtime's
// phase timeout (50ms), so a phase fails on a replica's silence, not on the
// phase's deadline.
const redisWaitTimeout = 20 * time.Millisecond

// Line is the one-line verdict.
func (r *Report) Line() string {
	line := fmt.Sprintf("consistency: backend=%s ops=%d stale_after_ack=%d linearizability=%s lost_writes=%d faults=%d max_staleness_ms=%d",
		r.Backend, r.Result.Ops, r.Result.StaleAfterAck, r.Result.LinearizabilityWord(), r.Result.LostWrites, r.Faults, r.Result.MaxStaleness/int64(time.Millisecond))
	if r.Near != nil {
		line += fmt.Sprintf(" near_hits=%d near_stale_within_bound=%d near_max_staleness_ms=%d",
			r.Near.Stats.Hits, r.Result.NearWithinBound, r.Result.NearMaxStaleness/int64(time.Millisecond))
	}
	return line
}

// instance is one repository instance: its own database handle, its own
// store client (for Redis, its own connections through its own proxy),
// its own singleflight, leases, breaker and retry queue.
type instance struct {
	id    int
	db    *sqlx.DB
	lower runtime.Store // below the trace: what a crashing writer of this process uses
	build build         // the generated version of the model it runs
	repo  accounts
	near  *runtime.NearCache // with Config.Near: this runtime's near cache
	bus   runtime.Bus        // and its bus (a crashing writer of this process publishes on it)
}

type orgHandle struct {
	org    int64
	handle string
}

type workload struct {
	cfg     Config
	db      *Database
	dialect runtime.Dialect
	inst    []*instance
	inj     *injector // nil without faults
	keys    *keySet
	opts    []runtime.Option
	start   time.Time
	version atomic.Int64
	issued  atomic.Int64
	crashes atomic.Int64
	ids     []int64
	emails  []string
	handles []orgHandle
}

func (w *workload) now() int64 { return int64(time.Since(w.start)) }

// Run runs the workload on cfg's database and store and checks the history.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.defaults()
	db, err := OpenDatabase(ctx, cfg.DB)
	if err != nil {
		if db != nil {
			db.Close()
		}
		return nil, err
	}
	defer db.Close()
	dialect, err := runtime.DialectOf(db.driver)
	if err != nil {
		return nil, err
	}
	w := &workload{cfg: cfg, db: db, dialect: dialect, keys: &keySet{}}
	rep := &Report{Backend: db.Name + "+" + cfg.Store, Config: cfg}
	if cfg.RestartFromSnapshot {
		rep.Backend += "+snapshot"
	}
	if cfg.Failover {
		rep.Backend += "+failover"
	}
	if cfg.RedisWait > 0 {
		rep.Backend += "+wait"
	}
	if cfg.Weak {
		rep.Backend += "(weak)"
	}
	if err := checkWeakBatch(cfg.WeakBatch); err != nil {
		return nil, err
	}
	if cfg.WeakBatch != "" {
		rep.Backend += "(weak-batch=" + cfg.WeakBatch + ")"
	}
	if cfg.TwoBuilds {
		rep.Backend += "+two-builds"
	}
	switch {
	case cfg.Near < 0:
		return nil, fmt.Errorf("-near %s: want a positive MaxStaleness, or 0 for no near cache", cfg.Near)
	case cfg.Near > 0 && cfg.Store != "redis":
		return nil, fmt.Errorf("-near needs -store redis: the near caches' bus is Redis pub/sub (got -store %s)", cfg.Store)
	case cfg.NearLossy && cfg.Near == 0:
		return nil, errors.New("-near-lossy needs -near")
	case (cfg.RestartFromSnapshot || cfg.Failover) && (cfg.Store != "redis" || !cfg.Faults):
		return nil, errors.New("-restart-from-snapshot and -failover need -store redis and -faults")
	case cfg.RedisWait < 0 || cfg.RedisWait > 0 && !cfg.Failover:
		return nil, fmt.Errorf("-redis-wait %d: want 0, or a number of replicas with -failover (the only run whose server has one)", cfg.RedisWait)
	case cfg.Near > 0:
		rep.Backend += "+near"
		if cfg.NearLossy {
			rep.Backend += "(lossy)"
		}
	}
	for i := 1; i <= cfg.Keys; i++ {
		w.ids = append(w.ids, int64(i))
	}
	for i := 0; i < 2*cfg.Keys; i++ {
		w.emails = append(w.emails, fmt.Sprintf("u%d@x.org", i))
		w.handles = append(w.handles, orgHandle{int64(1 + i%2), fmt.Sprintf("h%d", i/2)})
	}
	inj := &injector{rng: rand.New(rand.NewPCG(cfg.Seed, 99)), keys: w.keys, undetectable: cfg.Undetectable, snapshot: cfg.RestartFromSnapshot}

	lowers := make([]runtime.Store, cfg.Runtimes)
	redisClients := make([]*goredis.Client, cfg.Runtimes) // -store redis: each runtime's, through its proxy
	switch cfg.Store {
	case "memory":
		mem, err := newMemShared()
		if err != nil {
			return nil, err
		}
		defer mem.close()
		inj.mem = mem
		for i := range lowers {
			link := &memFault{inner: mem, timeout: 30 * time.Millisecond}
			inj.links = append(inj.links, link)
			lowers[i] = link
		}
	case "redis":
		server, err := StartRedis(cfg.RedisBin)
		if err != nil {
			return nil, err
		}
		defer server.Stop()
		inj.server = server
		inj.direct = goredis.NewClient(&goredis.Options{Addr: server.Addr(), MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: time.Second})
		defer inj.direct.Close()
		if cfg.Failover {
			stop, err := inj.startReplica(cfg.RedisBin)
			if err != nil {
				return nil, err
			}
			defer stop()
		}
		for i := range lowers {
			p, err := NewProxy(server.Addr())
			if err != nil {
				return nil, err
			}
			defer p.Close()
			inj.proxies = append(inj.proxies, p)
			retries := 0 // go-redis's default
			if cfg.RedisRetries == "none" || cfg.RedisRetries == "mixed" && i%2 == 1 {
				retries = -1
			}
			client := goredis.NewClient(&goredis.Options{
				Addr:         p.Addr(),
				DialTimeout:  250 * time.Millisecond,
				ReadTimeout:  250 * time.Millisecond,
				WriteTimeout: 250 * time.Millisecond,
				PoolSize:     32,
				MaxRetries:   retries,
			})
			defer client.Close()
			redisClients[i] = client
			opts := cgredis.Options{}
			if cfg.RedisWait > 0 {
				opts.WaitReplicas, opts.WaitTimeout = cfg.RedisWait, redisWaitTimeout
			}
			s, err := cgredis.New(client, opts)
			if err != nil {
				return nil, err
			}
			lowers[i] = s
		}
	default:
		return nil, fmt.Errorf("-store %q: want memory or redis", cfg.Store)
	}
	switch cfg.RedisRetries {
	case "mixed", "default", "none":
	default:
		return nil, fmt.Errorf("-redis-retries %q: want mixed, default or none", cfg.RedisRetries)
	}

	prefix := "cachecheck" + strings.ToLower(crand.Text()[:8])
	if cfg.Herd {
		fmt.Fprintf(cfg.Progress, "%s: thundering herd\n", rep.Backend)
		if rep.Herd, err = measureHerd(ctx, db, lowers, prefix); err != nil {
			return nil, fmt.Errorf("thundering herd: %w", err)
		}
	}
	if err := db.Reset(ctx); err != nil {
		return nil, err
	}

	w.opts = []runtime.Option{runtime.WithPrefix(prefix), runtime.WithTTL(cfg.TTL), runtime.WithNotFoundTTL(cfg.TTL), runtime.WithLockTTL(cfg.LockTTL)}
	buses := &busStats{}
	for i := range cfg.Runtimes {
		h, err := db.Open(cfg.Jitter, nil, 10)
		if err != nil {
			return nil, err
		}
		defer h.Close()
		lower := lowers[i]
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
			rb, err := cgredis.NewBus(redisClients[i], prefix+":near")
			if err != nil {
				return nil, err
			}
			in.bus = &traceBus{inner: rb, lossy: cfg.NearLossy, stats: buses}
			if in.near, err = runtime.NewNearCache(in.bus, cfg.nearOptions()); err != nil {
				return nil, err
			}
			defer in.near.Close()
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

	fmt.Fprintf(cfg.Progress, "%s: %d operations, %d clients on %d runtimes, %d keys, faults %v, seed %d\n",
		rep.Backend, cfg.Ops, cfg.Clients, cfg.Runtimes, cfg.Keys, cfg.Faults, cfg.Seed)
	if cfg.TwoBuilds {
		fmt.Fprintf(cfg.Progress, "%s: even runtimes run %s, odd ones %s\n", rep.Backend, builds[0].name, builds[1].name)
	}
	w.start = time.Now()
	inj.start = w.start
	fctx, stopFaults := context.WithCancel(ctx)
	var faultsDone sync.WaitGroup
	if cfg.Faults {
		w.inj = inj
		faultsDone.Add(1)
		go func() {
			defer faultsDone.Done()
			inj.run(fctx)
		}()
	}
	stopProgress := w.progress(ctx)
	perClient := make([][]*Op, cfg.Clients)
	var clients sync.WaitGroup
	for c := range cfg.Clients {
		clients.Add(1)
		go func() {
			defer clients.Done()
			perClient[c] = w.client(ctx, c)
		}()
	}
	clients.Wait()
	stopProgress()
	stopFaults()
	faultsDone.Wait()
	rep.RunTime = time.Since(w.start)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Settle: every breaker closed, the retry queues given time to drain.
	// Then one sweep of every key through every runtime, checked like any
	// read, and after the value TTL (which bounds what a dead writer may
	// have left) a final sweep that must agree with the database.
	if err := w.settle(ctx); err != nil {
		return nil, err
	}
	var ops []*Op
	for _, o := range perClient {
		ops = append(ops, o...)
	}
	ops = append(ops, w.sweep(ctx, false)...)
	time.Sleep(cfg.TTL + 500*time.Millisecond)
	ops = append(ops, w.sweep(ctx, true)...)
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Call < ops[j].Call })
	for i, op := range ops {
		op.ID = i + 1
	}

	log, err := db.ReadLog(ctx)
	if err != nil {
		return nil, err
	}
	final, err := db.ReadTable(ctx)
	if err != nil {
		return nil, err
	}
	rep.LogEntries = len(log)
	if cfg.Dump != nil {
		for _, op := range ops {
			fmt.Fprintln(cfg.Dump, op)
		}
		for _, e := range log {
			fmt.Fprintf(cfg.Dump, "log %d %v deleted=%v\n", e.Seq, e.Row, e.Deleted)
		}
	}
	for _, in := range w.inst {
		rep.Stats = addStats(rep.Stats, in.repo.Stats())
	}
	if cfg.Near > 0 {
		rep.Near = &NearReport{MaxStaleness: cfg.Near, Publishes: buses.publishes.Load(),
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

	checkStart := time.Now()
	fmt.Fprintf(cfg.Progress, "%s: checking %d operations, %d log entries\n", rep.Backend, len(ops), len(log))
	rep.Result = Check(&Input{
		Ops: ops, Log: log, Final: final, HaveFinal: true, IDs: w.ids,
		LockLoss: inj.LockLoss(), LockTTL: int64(cfg.LockTTL),
		StaleBound: int64(cfg.TTL + time.Second), NearBound: int64(cfg.Near), Timeout: 10 * time.Minute,
	})
	rep.CheckTime = time.Since(checkStart)
	return rep, nil
}

func (w *workload) progress(ctx context.Context) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fmt.Fprintf(w.cfg.Progress, "  %d/%d operations after %s\n", min(w.issued.Load(), int64(w.cfg.Ops)), w.cfg.Ops, time.Since(w.start).Round(time.Second))
			}
		}
	}()
	return func() { cancel(); <-done }
}

func (w *workload) settle(ctx context.Context) error {
	deadline := time.Now().Add(90 * time.Second)
	for {
		open := 0
		for _, in := range w.inst {
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			_, _ = in.repo.GetByID(pctx, w.ids[0]) // a probe closes the breaker
			cancel()
			if in.repo.Stats().BreakerOpen {
				open++
			}
		}
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d circuit breakers still open 90s after the faults stopped", open)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The retry queue backs off to at most 2s between rounds.
	time.Sleep(2500 * time.Millisecond)
	return nil
}

// sweep reads every key of the key set through every runtime.
func (w *workload) sweep(ctx context.Context, final bool) []*Op {
	var ops []*Op
	for _, in := range w.inst {
		add := func(op *Op) { op.Sweep, op.Final = true, final; ops = append(ops, op) }
		for _, id := range w.ids {
			add(w.getByID(ctx, -1, in, id))
		}
		for _, e := range w.emails {
			add(w.getByEmail(ctx, -1, in, e))
		}
		for _, oh := range w.handles {
			add(w.getByOrgHandle(ctx, -1, in, oh))
		}
		add(w.all(ctx, -1, in))
		// The batch reads and the loaders, every key at once, with a
		// repeated key and one that names no row.
		ids := append(slices.Clone(w.ids), w.ids[0], w.absentID())
		add(w.getByIDs(ctx, -1, in, ids))
		add(w.loadAccounts(ctx, -1, in, ids))
		add(w.loadAccount(ctx, -1, in, w.ids[len(w.ids)-1]))
		add(w.getByEmails(ctx, -1, in, append(slices.Clone(w.emails), w.emails[0], w.absentEmail())))
	}
	return ops
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

// client issues operations until the run has issued cfg.Ops of them.
func (w *workload) client(ctx context.Context, c int) []*Op {
	rng := rand.New(rand.NewPCG(w.cfg.Seed, uint64(c)+1))
	in := w.inst[c%len(w.inst)]
	known := map[int64]Row{}
	var ops []*Op
	for ctx.Err() == nil && w.issued.Add(1) <= int64(w.cfg.Ops) {
		op := w.step(ctx, rng, c, in, known)
		if op.Outcome == OK && op.Kind.IsRead() {
			for _, r := range op.Rows {
				if r.ID != 0 { // a batch position no row answered
					known[r.ID] = r
				}
			}
		}
		ops = append(ops, op)
	}
	return ops
}

func (w *workload) step(ctx context.Context, rng *rand.Rand, c int, in *instance, known map[int64]Row) *Op {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	id := w.ids[rng.IntN(len(w.ids))]
	r := rng.IntN(100)
	if r >= 62 && w.inj.takeCrash() {
		return w.crash(ctx, rng, c, in, id, known)
	}
	switch {
	case r < 22:
		return w.getByID(ctx, c, in, id)
	case r < 26:
		return w.loadAccount(ctx, c, in, id)
	case r < 36:
		return w.getByEmail(ctx, c, in, w.emails[rng.IntN(len(w.emails))])
	case r < 41 && in.repo.Wide():
		return w.getByVersion(ctx, c, in, w.someVersion(rng, id, known))
	case r < 46:
		return w.getByOrgHandle(ctx, c, in, w.handles[rng.IntN(len(w.handles))])
	case r < 50:
		return w.getByIDs(ctx, c, in, w.batchIDs(rng))
	case r < 54:
		return w.loadAccounts(ctx, c, in, w.batchIDs(rng))
	case r < 58:
		return w.getByEmails(ctx, c, in, w.batchEmails(rng))
	case r < 62:
		return w.all(ctx, c, in)
	case r < 75:
		return w.save(ctx, c, in, in.repo, w.newRow(rng, id, known, false), known)
	case r < 83:
		return w.save(ctx, c, in, in.repo, w.newRow(rng, id, known, true), known)
	case r < 88:
		return w.delete(ctx, c, in, in.repo, id)
	case r < 94:
		return w.tx(ctx, rng, c, in, known, false)
	case r < 96:
		return w.tx(ctx, rng, c, in, known, true)
	}
	return w.oob(ctx, rng, c, in, id)
}

// newRow returns the row a write of id writes, with a fresh version: the
// unique values it last saw for id, or (change, or none seen) values drawn
// from the pools, which often belong to another row.
func (w *workload) newRow(rng *rand.Rand, id int64, known map[int64]Row, change bool) Row {
	row := Row{ID: id, Version: w.version.Add(1)}
	if k, ok := known[id]; ok && !change {
		row.Email, row.Org, row.Handle = k.Email, k.Org, k.Handle
		return row
	}
	if k, ok := known[id]; ok && rng.IntN(2) == 0 {
		row.Email = k.Email // change only the handle
	} else {
		row.Email = w.emails[rng.IntN(len(w.emails))]
	}
	oh := w.handles[rng.IntN(len(w.handles))]
	row.Org, row.Handle = oh.org, oh.handle
	return row
}

// batchIDs draws the keys of a batch read by primary key: two to six
// positions from the key set, some repeated, now and then one that names
// no row ever.
func (w *workload) batchIDs(rng *rand.Rand) []int64 {
	ids := make([]int64, 2+rng.IntN(5))
	for i := range ids {
		switch r := rng.IntN(8); {
		case r == 0 && i > 0:
			ids[i] = ids[rng.IntN(i)]
		case r == 1:
			ids[i] = w.absentID()
		default:
			ids[i] = w.ids[rng.IntN(len(w.ids))]
		}
	}
	return ids
}

// batchEmails draws the keys of a batch read by email, as batchIDs does:
// half the pool belongs to no row at any time.
func (w *workload) batchEmails(rng *rand.Rand) []string {
	emails := make([]string, 2+rng.IntN(5))
	for i := range emails {
		switch r := rng.IntN(8); {
		case r == 0 && i > 0:
			emails[i] = emails[rng.IntN(i)]
		case r == 1:
			emails[i] = w.absentEmail()
		default:
			emails[i] = w.emails[rng.IntN(len(w.emails))]
		}
	}
	return emails
}

// absentID and absentEmail name no row the run ever writes.
func (w *workload) absentID() int64 { return int64(len(w.ids)) + 1000 }

func (w *workload) absentEmail() string { return "nobody@x.org" }

func (w *workload) readOne(op *Op, a *Row, err error) *Op {
	op.Return = w.now()
	switch {
	case err == nil:
		op.Outcome, op.Rows = OK, []Row{*a}
	case errors.Is(err, runtime.ErrNotFound):
		op.Outcome = NotFound
	default:
		op.Outcome, op.Err = Failed, err.Error()
	}
	return op
}

// readMany records a batch read's result, one position per lookup.
func (w *workload) readMany(op *Op, rows []*Row, err error) *Op {
	op.Return = w.now()
	switch {
	case err != nil:
		op.Outcome, op.Err = Failed, err.Error()
	case len(rows) != len(op.Lookups):
		op.Outcome, op.Err = Failed, fmt.Sprintf("a batch read of %d keys returned %d positions", len(op.Lookups), len(rows))
	default:
		op.Outcome, op.Rows = OK, make([]Row, len(rows))
		for i, r := range rows {
			if r != nil {
				op.Rows[i] = *r
			}
		}
	}
	return op
}

func (w *workload) getByIDs(ctx context.Context, c int, in *instance, ids []int64) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: GetByIDs, Wide: in.repo.Wide(), Call: w.now()}
	for _, id := range ids {
		op.Lookups = append(op.Lookups, Row{ID: id})
	}
	rows, err := in.repo.GetByIDs(ctx, ids)
	return w.readMany(op, rows, err)
}

func (w *workload) loadAccounts(ctx context.Context, c int, in *instance, ids []int64) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: LoadAccounts, Wide: in.repo.Wide(), Call: w.now()}
	for _, id := range ids {
		op.Lookups = append(op.Lookups, Row{ID: id})
	}
	rows, err := in.repo.LoadAccounts(ctx, ids)
	return w.readMany(op, rows, err)
}

func (w *workload) getByEmails(ctx context.Context, c int, in *instance, emails []string) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: GetByEmails, Wide: in.repo.Wide(), Call: w.now()}
	for _, e := range emails {
		op.Lookups = append(op.Lookups, Row{Email: e})
	}
	rows, err := in.repo.GetByEmails(ctx, emails)
	return w.readMany(op, rows, err)
}

func (w *workload) loadAccount(ctx context.Context, c int, in *instance, id int64) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: LoadAccount, Wide: in.repo.Wide(), Lookup: Row{ID: id}, Call: w.now()}
	a, err := in.repo.LoadAccount(ctx, id)
	return w.readOne(op, a, err)
}

func (w *workload) getByID(ctx context.Context, c int, in *instance, id int64) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: GetByID, Wide: in.repo.Wide(), Lookup: Row{ID: id}, Call: w.now()}
	a, err := in.repo.GetByID(ctx, id)
	return w.readOne(op, a, err)
}

func (w *workload) getByEmail(ctx context.Context, c int, in *instance, email string) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: GetByEmail, Wide: in.repo.Wide(), Lookup: Row{Email: email}, Call: w.now()}
	a, err := in.repo.GetByEmail(ctx, email)
	return w.readOne(op, a, err)
}

func (w *workload) getByOrgHandle(ctx context.Context, c int, in *instance, oh orgHandle) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: GetByOrgHandle, Wide: in.repo.Wide(), Lookup: Row{Org: oh.org, Handle: oh.handle}, Call: w.now()}
	a, err := in.repo.GetByOrgHandle(ctx, oh.org, oh.handle)
	return w.readOne(op, a, err)
}

// someVersion is a version to look a row up by: mostly the last one seen
// of id (current, or just replaced), else any version written so far.
func (w *workload) someVersion(rng *rand.Rand, id int64, known map[int64]Row) int64 {
	if k, ok := known[id]; ok && rng.IntN(4) != 0 {
		return k.Version
	}
	return 1 + rng.Int64N(max(1, w.version.Load()))
}

// getByVersion reads by the unique index only the second build declares.
func (w *workload) getByVersion(ctx context.Context, c int, in *instance, version int64) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: GetByVersion, Wide: in.repo.Wide(), Lookup: Row{Version: version}, Call: w.now()}
	a, err := in.repo.GetByVersion(ctx, version)
	return w.readOne(op, a, err)
}

func (w *workload) all(ctx context.Context, c int, in *instance) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: All, Wide: in.repo.Wide(), Call: w.now()}
	list, err := in.repo.All(ctx)
	op.Return = w.now()
	if err != nil {
		op.Outcome, op.Err = Failed, err.Error()
		return op
	}
	op.Outcome, op.Rows = OK, list
	return op
}

func (w *workload) writeOutcome(op *Op, err error) *Op {
	op.Return = w.now()
	switch {
	case err == nil:
		op.Outcome = OK
	case op.Kind == Delete && errors.Is(err, runtime.ErrNotFound):
		op.Outcome = NotFound
	default:
		op.Outcome, op.Err = Failed, err.Error()
	}
	return op
}

func (w *workload) save(ctx context.Context, c int, in *instance, repo accounts, row Row, known map[int64]Row) *Op {
	if repo.Wide() {
		row.Nick = nick(row.Version)
	}
	tr := &Trace{}
	op := &Op{Client: c, Runtime: in.id, Kind: Save, Wide: repo.Wide(), Writes: []Write{{Row: row, Trace: tr}}, Call: w.now()}
	w.writeOutcome(op, repo.Save(withTrace(ctx, tr), row))
	if op.Outcome == OK {
		known[row.ID] = row
	}
	return op
}

func (w *workload) delete(ctx context.Context, c int, in *instance, repo accounts, id int64) *Op {
	tr := &Trace{}
	op := &Op{Client: c, Runtime: in.id, Kind: Delete, Wide: repo.Wide(), Lookup: Row{ID: id}, Writes: []Write{{Delete: true, Row: Row{ID: id}, Trace: tr}}, Call: w.now()}
	return w.writeOutcome(op, repo.Delete(withTrace(ctx, tr), id))
}

// crash runs one write on a repository of its own whose releases are all
// lost: a process that dies between its commit and its invalidation.
//
// With a near cache the writer has one of its own (a separate process), on
// its runtime's bus: it announces its keys before its commit, as any writer
// does, and publishes nothing once it has died.
func (w *workload) crash(ctx context.Context, rng *rand.Rand, c int, in *instance, id int64, known map[int64]Row) *Op {
	dead := &atomic.Bool{}
	opts := w.opts
	if in.near != nil {
		nopts := w.cfg.nearOptions()
		nopts.MaxBytes = 1 << 20 // it holds nothing it could serve
		near, err := runtime.NewNearCache(crashBus{inner: in.bus, dead: dead}, nopts)
		if err != nil {
			panic(err)
		}
		defer near.Close()
		opts = append(slices.Clip(opts), runtime.WithNearCache(near))
	}
	repo, err := in.build.open(in.db, crashStore{Store: tracing(in.lower, w.keys), dead: dead}, opts...)
	if err != nil {
		panic(err)
	}
	n := int(w.crashes.Add(1))
	fake := &instance{id: 1000 + n, db: in.db, build: in.build, repo: repo}
	var op *Op
	if rng.IntN(4) == 0 {
		op = w.delete(ctx, c, fake, repo, id)
	} else {
		op = w.save(ctx, c, fake, repo, w.newRow(rng, id, known, rng.IntN(3) == 0), known)
	}
	op.Crash = true
	return op
}

// tx runs one to three writes of distinct keys in a runtime.Tx, then
// commits it, or rolls it back (rollback, or a write failed).
func (w *workload) tx(ctx context.Context, rng *rand.Rand, c int, in *instance, known map[int64]Row, rollback bool) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: Tx, Wide: in.repo.Wide(), Call: w.now()}
	n := 1 + rng.IntN(3)
	perm := rng.Perm(len(w.ids))[:n]
	slices.Sort(perm) // one lock order for every transaction
	tx, err := runtime.Begin(ctx, in.db, nil)
	if err != nil {
		op.Rollback = true
		return w.writeOutcome(op, err)
	}
	repo := in.repo.WithTx(tx)
	var failed error
	for _, k := range perm {
		id := w.ids[k]
		tr := &Trace{}
		if rng.IntN(4) == 0 {
			wr := Write{Delete: true, Row: Row{ID: id}, Trace: tr}
			err := repo.Delete(withTrace(ctx, tr), id)
			if errors.Is(err, runtime.ErrNotFound) {
				wr.NotFound, err = true, nil
			}
			op.Writes = append(op.Writes, wr)
			failed = err
		} else {
			row := w.newRow(rng, id, known, rng.IntN(6) == 0)
			if repo.Wide() {
				row.Nick = nick(row.Version)
			}
			op.Writes = append(op.Writes, Write{Row: row, Trace: tr})
			failed = repo.Save(withTrace(ctx, tr), row)
		}
		if failed != nil {
			break
		}
	}
	if failed != nil || rollback {
		op.Rollback = true
		err := tx.Rollback()
		if failed != nil {
			err = failed
		}
		return w.writeOutcome(op, err)
	}
	w.writeOutcome(op, tx.Commit())
	if op.Outcome == OK {
		for _, wr := range op.Writes {
			if !wr.Delete {
				known[wr.Row.ID] = wr.Row
			}
		}
	}
	return op
}

// oob changes a row with hand-written SQL in a runtime.Tx and invalidates
// it with InvalidateRows, old and new, joined to the Tx.
func (w *workload) oob(ctx context.Context, rng *rand.Rand, c int, in *instance, id int64) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: OOB, Call: w.now()}
	tx, err := runtime.Begin(ctx, in.db, nil)
	if err != nil {
		op.Rollback = true
		return w.writeOutcome(op, err)
	}
	fail := func(err error) *Op {
		_ = tx.Rollback()
		op.Rollback = true
		return w.writeOutcome(op, err)
	}
	sx := tx.Sqlx()
	q := "SELECT id, email, org, handle, version FROM accounts WHERE id = ?"
	if w.dialect == runtime.SQLite {
		// Take the write lock first, as the runtime does.
		if _, err := sx.ExecContext(ctx, "UPDATE accounts SET id = id WHERE id = ?", id); err != nil {
			return fail(err)
		}
	} else {
		q += " FOR UPDATE"
	}
	var old Row
	err = sx.QueryRowxContext(ctx, sx.Rebind(q), id).Scan(&old.ID, &old.Email, &old.Org, &old.Handle, &old.Version)
	if errors.Is(err, sql.ErrNoRows) {
		_ = tx.Rollback()
		op.Rollback = true
		op.Return, op.Outcome = w.now(), NotFound
		return op
	}
	if err != nil {
		return fail(err)
	}
	nw := old
	nw.Version = w.version.Add(1)
	if rng.IntN(3) == 0 {
		nw.Email = w.emails[rng.IntN(len(w.emails))]
	}
	tr := &Trace{}
	op.Writes = []Write{{Row: nw, Trace: tr}}
	if _, err := sx.ExecContext(ctx, sx.Rebind("UPDATE accounts SET email = ?, org = ?, handle = ?, version = ? WHERE id = ?"),
		nw.Email, nw.Org, nw.Handle, nw.Version, nw.ID); err != nil {
		return fail(err)
	}
	if err := in.repo.WithTx(tx).InvalidateRows(withTrace(ctx, tr), old, nw); err != nil {
		return fail(err)
	}
	return w.writeOutcome(op, tx.Commit())
}
