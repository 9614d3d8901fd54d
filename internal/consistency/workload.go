package consistency

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/store"
	"github.com/jmoiron/sqlx"
)

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
	bus   store.Bus          // and its bus (a crashing writer of this process publishes on it)
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
	// startNanos is start for now, which the consumer's goroutines call
	// from setup on.
	startNanos atomic.Int64
	version    atomic.Int64
	issued     atomic.Int64
	crashes    atomic.Int64
	ids        []int64
	emails     []string
	handles    []orgHandle
}

// now is the time since the run began. Before it (setup: the change-stream
// consumer starts first and may acknowledge or invalidate every table) it
// is 0, not the time since the zero time, which saturates at math.MaxInt64:
// a table-wide invalidation stamped so credited every later raw write as
// invalidated, and its lag read 9223372034867 ms.
func (w *workload) now() int64 {
	start := w.startNanos.Load()
	if start == 0 {
		return 0
	}
	return time.Now().UnixNano() - start
}

// newWorkload draws the run's key set: cfg.Keys primary keys, and twice as
// many emails and (org, handle) pairs, which the writes trade among rows.
func newWorkload(cfg Config, db *Database) *workload {
	w := &workload{cfg: cfg, db: db, keys: &keySet{}}
	for i := 1; i <= cfg.Keys; i++ {
		w.ids = append(w.ids, int64(i))
	}
	for i := 0; i < 2*cfg.Keys; i++ {
		w.emails = append(w.emails, fmt.Sprintf("u%d@x.org", i))
		w.handles = append(w.handles, orgHandle{int64(1 + i%2), fmt.Sprintf("h%d", i/2)})
	}
	return w
}

// writeIDs are the keys repository writes change: all of them, but with
// -cdc the last quarter, which only raw writers change, so that nothing
// but the change stream invalidates them (and a read long after a raw
// write has no repository write to thank for seeing it).
func (w *workload) writeIDs() []int64 {
	if !w.cfg.CDC {
		return w.ids
	}
	return w.ids[:len(w.ids)-max(1, len(w.ids)/4)]
}

// run runs the clients until they have issued cfg.Ops operations, with the
// faults (cfg.Faults) injected meanwhile, and returns each client's
// operations.
func (w *workload) run(ctx context.Context, inj *injector) [][]*Op {
	w.start = time.Now()
	w.startNanos.Store(w.start.UnixNano())
	inj.start = w.start
	fctx, stopFaults := context.WithCancel(ctx)
	var faultsDone sync.WaitGroup
	if w.cfg.Faults {
		w.inj = inj
		faultsDone.Add(1)
		go func() {
			defer faultsDone.Done()
			inj.run(fctx)
		}()
	}
	stopProgress := w.progress(ctx)
	perClient := make([][]*Op, w.cfg.Clients)
	var clients sync.WaitGroup
	for c := range w.cfg.Clients {
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
	return perClient
}

// history is what a run recorded: the operations in invocation order,
// numbered from 1, the database's change log and its final table.
type history struct {
	ops   []*Op
	log   []LogEntry
	final []Row
}

// collect settles the runtimes, adds the two sweeps to the clients'
// operations and reads the database's log and table (and writes them all
// to cfg.Dump).
func (w *workload) collect(ctx context.Context, perClient [][]*Op) (*history, error) {
	// Settle: every breaker closed, the retry queues given time to drain.
	// Then one sweep of every key through every runtime, checked like any
	// read, and after the value TTL (which bounds what a dead writer may
	// have left) a final sweep that must agree with the database.
	if err := w.settle(ctx); err != nil {
		return nil, err
	}
	h := &history{}
	for _, o := range perClient {
		h.ops = append(h.ops, o...)
	}
	h.ops = append(h.ops, w.sweep(ctx, false)...)
	time.Sleep(w.cfg.TTL + 500*time.Millisecond)
	h.ops = append(h.ops, w.sweep(ctx, true)...)
	sort.SliceStable(h.ops, func(i, j int) bool { return h.ops[i].Call < h.ops[j].Call })
	for i, op := range h.ops {
		op.ID = i + 1
	}
	var err error
	if h.log, err = w.db.ReadLog(ctx); err != nil {
		return nil, err
	}
	if h.final, err = w.db.ReadTable(ctx); err != nil {
		return nil, err
	}
	if d := w.cfg.Dump; d != nil {
		for _, op := range h.ops {
			fmt.Fprintln(d, op)
		}
		for _, e := range h.log {
			fmt.Fprintf(d, "log %d %v deleted=%v\n", e.Seq, e.Row, e.Deleted)
		}
	}
	return h, nil
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
	if w.cfg.CDC && (rng.IntN(100) < 8 || r >= 62 && !slices.Contains(w.writeIDs(), id)) {
		return w.raw(ctx, rng, c, in, id)
	}
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
