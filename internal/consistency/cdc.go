package consistency

// cdc.go: the -cdc run's change-stream consumers. Two cdc.Consumers, each
// on a runtime of its own (its own database handle and store link, outside
// the runtimes' fault proxies), compete for the lease; the leader reads the
// database's change stream and invalidates what the Raw writers change. A
// recorder between each and its source notes when each version's batch
// was acknowledged, for invalidations.go. With faults, the consumers are
// killed, restarted, cut from the store and from the database (faults).

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/cdc"
	cgredis "github.com/cachegen/cachegen/runtime/redis"
	"github.com/go-sql-driver/mysql"
	goredis "github.com/redis/go-redis/v9"
)

// cdcRecorder notes, for each accounts version a batch carried, when a
// consumer acknowledged the batch (its keys invalidated).
type cdcRecorder struct {
	now   func() int64
	mu    sync.Mutex
	acked map[int64]int64
	// whole: when a consumer had invalidated every table after a lost
	// position (as a new stream began to be read).
	whole []int64
}

type pendingBatch struct {
	pos      cdc.Position
	versions []int64
}

// versions lists the accounts versions b's changes wrote.
func (r *cdcRecorder) versions(b *cdc.Batch) []int64 {
	var vs []int64
	for _, ch := range b.Changes {
		if ch.New == nil || !strings.HasSuffix(ch.Table, ".accounts") {
			continue
		}
		if v, ok := intValue(ch.New["version"]); ok {
			vs = append(vs, v)
		}
	}
	return vs
}

// ack marks the versions of batches acknowledged now.
func (r *cdcRecorder) ack(batches []pendingBatch) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range batches {
		for _, v := range p.versions {
			if _, ok := r.acked[v]; !ok {
				r.acked[v] = now
			}
		}
	}
}

func (r *cdcRecorder) snapshot() (map[int64]int64, []int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[int64]int64, len(r.acked))
	for k, v := range r.acked {
		m[k] = v
	}
	return m, slices.Clone(r.whole)
}

// intValue reads a version column as a source decodes it.
func intValue(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case int:
		return int64(x), true
	case uint64:
		return int64(x), true
	case uint32:
		return int64(x), true
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	case []byte:
		n, err := strconv.ParseInt(string(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// recordingSource passes one stream through, telling the recorder: each
// stream (each consumer's, each time it opens) has batches of its own
// pending.
type recordingSource struct {
	cdc.Source
	rec   *cdcRecorder
	stats func() cdc.ConsumerStats // of the consumer that opened it
	// lost is that consumer's PositionLost count when the source opened;
	// started, whether Next was called since.
	lost    uint64
	started bool
	// ackFirst is the negative control's consumer (Config.CDCAckFirst).
	ackFirst *ackFirst

	mu      sync.Mutex
	pending []pendingBatch
}

func (s *recordingSource) Next(ctx context.Context) (*cdc.Batch, error) {
	if !s.started {
		// The consumer calls Next first after it invalidated every table,
		// when the position was lost.
		s.started = true
		if s.stats().PositionLost > s.lost {
			s.rec.mu.Lock()
			s.rec.whole = append(s.rec.whole, s.rec.now())
			s.rec.mu.Unlock()
		}
	}
	b, err := s.Source.Next(ctx)
	if err != nil {
		return b, err
	}
	if s.ackFirst != nil {
		return s.ackFirst.next(ctx, s, b)
	}
	s.mu.Lock()
	s.pending = append(s.pending, pendingBatch{b.Position, s.rec.versions(b)})
	s.mu.Unlock()
	return b, nil
}

func (s *recordingSource) Ack(ctx context.Context, pos cdc.Position) error {
	err := s.Source.Ack(ctx, pos)
	if err != nil || s.ackFirst != nil {
		return err
	}
	s.mu.Lock()
	k := slices.IndexFunc(s.pending, func(p pendingBatch) bool { return p.pos == pos })
	done := s.pending[:k+1]
	s.pending = s.pending[k+1:]
	s.mu.Unlock()
	s.rec.ack(done)
	return nil
}

// ackFirst is a consumer that acknowledges each transaction as it reads
// it, before it drops its keys, and dies between the two for three in four:
// the next consumer resumes after the acknowledged position, and that
// transaction's keys are never dropped. The negative control of the
// consumer faults: lost_invalidations trusts the acks and stays 0, the
// reads must show it.
type ackFirst struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func (a *ackFirst) next(ctx context.Context, s *recordingSource, b *cdc.Batch) (*cdc.Batch, error) {
	if err := s.Source.Ack(ctx, b.Position); err != nil {
		return nil, err
	}
	s.rec.ack([]pendingBatch{{b.Position, s.rec.versions(b)}})
	a.mu.Lock()
	dies := a.rng.IntN(4) != 0
	a.mu.Unlock()
	if dies {
		// What the restarted consumer reads: nothing of this transaction.
		return &cdc.Batch{Position: b.Position, Commit: b.Commit}, nil
	}
	return b, nil
}

// cdcRig is the run's change-stream consumers: two, as two app instances
// would run them, competing for the lease, each on its own link to the
// store; their replication connections go through a proxy of the rig's,
// so that a fault can cut them.
type cdcRig struct {
	w        *workload
	rec      *cdcRecorder
	name     string
	schema   string
	open     func(ctx context.Context, from cdc.Position) (cdc.Source, error)
	stores   []runtime.Store
	links    []cdcLink
	redis    []*goredis.Client // -near: each consumer's client, for its bus
	srcConn  *Proxy
	ackFirst *ackFirst

	mu    sync.Mutex
	slots [2]*runningConsumer
	past  []cdc.ConsumerStats // of the consumers stopped
	// alters counts the ALTER TABLE … ADD COLUMN faults made.
	alters int
	// spans: when each fault was in force (faultSpans).
	spans []Interval
}

// cdcLink is how a fault cuts one consumer from the store.
type cdcLink interface{ setDown(bool) }

// proxyLink cuts a Redis link: new connections refused, those open frozen
// (then reset when it heals).
type proxyLink struct{ p *Proxy }

func (l proxyLink) setDown(down bool) {
	l.p.SetRefuse(down)
	l.p.SetPartition(down)
}

// memLink cuts a memory store link: every call fails at once.
type memLink struct{ f *memFault }

func (l memLink) setDown(down bool) {
	if down {
		l.f.set(linkDown)
	} else {
		l.f.set(linkOK)
	}
}

type runningConsumer struct {
	c    *cdc.Consumer
	stop func()
}

// newCDCRig opens the run's consumers on stores (one link each) and waits
// until one leads with its stream open.
func (r *rig) newCDCRig(ctx context.Context, w *workload, st *stores, name string) (*cdcRig, error) {
	db := w.db
	var schema string
	q := "SELECT current_schema()"
	if db.driver == "mysql" {
		q = "SELECT DATABASE()"
	}
	if err := db.Admin().GetContext(ctx, &schema, q); err != nil {
		return nil, fmt.Errorf("-cdc: the run's schema: %w", err)
	}
	cr := &cdcRig{w: w, rec: &cdcRecorder{now: w.now, acked: map[int64]int64{}}, name: name, schema: schema, stores: st.cdc, links: st.cdcLinks, redis: st.cdcRedis}
	if w.cfg.CDCAckFirst {
		cr.ackFirst = &ackFirst{rng: rand.New(rand.NewPCG(w.cfg.Seed, 14))}
	}
	if db.driver == "mysql" {
		cfg, err := mysql.ParseDSN(db.scratch.DSN)
		if err != nil {
			return nil, fmt.Errorf("-cdc: %w", err)
		}
		if cr.srcConn, err = NewProxy(cfg.Addr); err != nil {
			return nil, err
		}
		r.onClose(cr.srcConn.Close)
		cfg.Addr = cr.srcConn.Addr()
		dsn := cfg.FormatDSN()
		cr.open = func(ctx context.Context, from cdc.Position) (cdc.Source, error) {
			return cdc.OpenMySQL(ctx, cdc.MySQLOptions{DSN: dsn, Schemas: []string{schema}, From: from})
		}
	} else {
		tables := []string{schema + ".accounts", schema + ".sessions"}
		for _, t := range tables {
			if _, err := db.Admin().ExecContext(ctx, "ALTER TABLE "+t+" REPLICA IDENTITY FULL"); err != nil {
				return nil, fmt.Errorf("-cdc: %w", err)
			}
		}
		u, err := url.Parse(w.cfg.DB)
		if err != nil {
			return nil, fmt.Errorf("-cdc: %w", err)
		}
		if cr.srcConn, err = NewProxy(u.Host); err != nil {
			return nil, err
		}
		r.onClose(cr.srcConn.Close)
		u.Host = cr.srcConn.Addr()
		dsn := u.String()
		cr.open = func(ctx context.Context, from cdc.Position) (cdc.Source, error) {
			return cdc.OpenPostgres(ctx, cdc.PostgresOptions{DSN: dsn, Publication: name, Slot: name, Tables: tables, FullIdentity: tables, From: from})
		}
		r.onClose(func() { dropSlot(db, name) })
	}
	r.onClose(cr.stopAll)
	for i := range cr.slots {
		if err := cr.start(i); err != nil {
			return nil, err
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for !cr.opened() {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("-cdc: no consumer opened its stream in 30s")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return cr, nil
}

// start runs a new consumer in slot i, on the store link i, as a restarted
// app instance would: a runtime of its own (database handle, registry).
func (cr *cdcRig) start(i int) error {
	w := cr.w
	h, err := w.db.Open(0, nil, 4)
	if err != nil {
		return err
	}
	reg := runtime.NewRegistry()
	opts := append(slices.Clip(w.opts), runtime.WithRegistry(reg))
	var near *runtime.NearCache
	if w.cfg.Near > 0 {
		// The consumer's drops are announced on the runtimes' bus, as a
		// write's releases are.
		bus, err := cgredis.NewBus(cr.redis[i], cr.name+":near")
		if err != nil {
			h.Close()
			return err
		}
		if near, err = runtime.NewNearCache(bus, w.cfg.nearOptions()); err != nil {
			h.Close()
			return err
		}
		opts = append(opts, runtime.WithNearCache(near))
	}
	closeAll := func() {
		if near != nil {
			near.Close()
		}
		h.Close()
	}
	// With two builds, each consumer runs one of them, as the instances of
	// a rolling deploy would: the leader of either build must drop the
	// keys of the other's indexes too (learned from the build board).
	b := builds[0]
	if w.cfg.TwoBuilds {
		b = builds[i%2]
	}
	if _, err := b.open(h, cr.stores[i], opts...); err != nil {
		closeAll()
		return err
	}
	var c *cdc.Consumer
	c, err = cdc.NewConsumer(cdc.ConsumerOptions{
		Open: func(ctx context.Context, from cdc.Position) (cdc.Source, error) {
			lost := c.Stats().PositionLost
			src, err := cr.open(ctx, from)
			if err != nil {
				return nil, err
			}
			return &recordingSource{Source: src, rec: cr.rec, stats: c.Stats, lost: lost, ackFirst: cr.ackFirst}, nil
		},
		Registry: reg, Store: cr.stores[i], Name: cr.name, Schema: cr.schema,
		LeaseTTL: cdcLeaseTTL, RetryPause: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(w.cfg.Progress, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		closeAll()
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	var once sync.Once
	rc := &runningConsumer{c: c, stop: func() {
		once.Do(func() {
			cancel()
			<-done
			closeAll()
			cr.mu.Lock()
			cr.past = append(cr.past, c.Stats())
			cr.mu.Unlock()
		})
	}}
	cr.mu.Lock()
	cr.slots[i] = rc
	cr.mu.Unlock()
	return nil
}

// cdcLeaseTTL bounds a handover after a leader dies without giving its
// lease back: within the -cdc-bound of the CI lines (5s), with the
// stream's reopening.
const cdcLeaseTTL = time.Second

// opened reports whether some consumer leads with its stream open.
func (cr *cdcRig) opened() bool {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	for _, rc := range cr.slots {
		if s := rc.c.Stats(); s.Leader && s.PositionLost > 0 {
			return true
		}
	}
	return false
}

func (cr *cdcRig) stopAll() {
	cr.mu.Lock()
	slots := cr.slots
	cr.mu.Unlock()
	for _, rc := range slots {
		if rc != nil {
			rc.stop()
		}
	}
}

// leader returns the slot of the consumer that leads now (-1: none).
func (cr *cdcRig) leader() int {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	for i, rc := range cr.slots {
		if rc.c.Stats().Leader {
			return i
		}
	}
	return -1
}

// stats sums the Stats of every consumer the run started; Leader when one
// leads now, Position the leader's.
func (cr *cdcRig) stats() cdc.ConsumerStats {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	var sum cdc.ConsumerStats
	all := slices.Clone(cr.past)
	for _, rc := range cr.slots {
		all = append(all, rc.c.Stats())
	}
	for _, s := range all {
		sum.Leader = sum.Leader || s.Leader
		if s.Leader || sum.Position == "" {
			sum.Position = s.Position
		}
		sum.Transactions += s.Transactions
		sum.Events += s.Events
		sum.Keys += s.Keys
		sum.WholeTables += s.WholeTables
		sum.Lag = max(sum.Lag, s.Lag)
		sum.MaxLag = max(sum.MaxLag, s.MaxLag)
		sum.Groups += s.Groups
		sum.Retries += s.Retries
		sum.Reopens += s.Reopens
		sum.PositionLost += s.PositionLost
	}
	return sum
}

// faults hurts the consumers now and then until ctx ends, one fault at a
// time, each counted by kind:
//
//   - cdc-kill: the leader dies without a word (cut from the store, so it
//     can neither drop keys nor give its lease back, then stopped) and is
//     started again; the standby takes over once the lease runs out;
//   - cdc-handover: the leader stops cleanly (gives its lease back) and is
//     started again: the standby leads;
//   - cdc-conn-drop: the replication connections are reset;
//   - cdc-store-down: the leader's link to the store fails for a while,
//     as it reads transactions and drops their keys;
//   - cdc-alter: ALTER TABLE accounts ADD COLUMN, mid-stream (three at
//     most a run).
func (cr *cdcRig) faults(ctx context.Context, rng *rand.Rand, count func(string, int)) {
	sleep(ctx, time.Duration(200+rng.IntN(800))*time.Millisecond)
	for n := 0; ctx.Err() == nil; n++ {
		kind := cdcFaultKinds[rng.IntN(len(cdcFaultKinds))]
		if len(cr.w.cfg.cdcFaultOrder) > 0 {
			kind = cr.w.cfg.cdcFaultOrder[n%len(cr.w.cfg.cdcFaultOrder)]
		}
		from := cr.w.now()
		if cr.fault(ctx, rng, kind) {
			count(kind, 1)
			cr.mu.Lock()
			cr.spans = append(cr.spans, Interval{from, cr.w.now()})
			cr.mu.Unlock()
		}
		gap := time.Duration(1000+rng.IntN(2000)) * time.Millisecond
		if cr.w.cfg.cdcFaultGap > 0 {
			gap = cr.w.cfg.cdcFaultGap
		}
		sleep(ctx, gap)
	}
}

// cdcFaultKinds are the consumer faults, each as likely as the others but
// the store's (three times as likely: it lands during drops more often
// than not) and the ALTER TABLE's (three at most a run, as columns add up).
var cdcFaultKinds = []string{"cdc-kill", "cdc-kill", "cdc-handover", "cdc-handover", "cdc-conn-drop", "cdc-conn-drop",
	"cdc-store-down", "cdc-store-down", "cdc-store-down", "cdc-alter"}

// fault injects one consumer fault of kind and heals it; false when it
// could not (no leader to hurt, no ALTER TABLE left).
func (cr *cdcRig) fault(ctx context.Context, rng *rand.Rand, kind string) bool {
	// After a kill the standby leads once the lease runs out: the faults
	// that hurt the leader wait for one.
	i := cr.awaitLeader(ctx)
	switch {
	case kind == "cdc-kill" && i >= 0:
		cr.links[i].setDown(true)
		cr.slots[i].stop()
		cr.links[i].setDown(false)
		_ = cr.start(i)
	case kind == "cdc-handover" && i >= 0:
		cr.slots[i].stop()
		_ = cr.start(i)
	case kind == "cdc-conn-drop":
		cr.srcConn.Drop()
	case kind == "cdc-store-down" && i >= 0:
		cr.links[i].setDown(true)
		sleep(ctx, time.Duration(100+rng.IntN(1100))*time.Millisecond)
		cr.links[i].setDown(false)
	case kind == "cdc-alter" && cr.alters < 3:
		cr.alters++
		actx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := cr.w.db.Admin().ExecContext(actx, fmt.Sprintf("ALTER TABLE accounts ADD COLUMN cdc_extra_%d INT NULL", cr.alters)); err != nil {
			fmt.Fprintf(cr.w.cfg.Progress, "cdc-alter: %v\n", err)
			return false
		}
	default:
		return false
	}
	return true
}

// awaitLeader waits (three lease TTLs at most) for a consumer to lead, and
// returns its slot, or -1.
func (cr *cdcRig) awaitLeader(ctx context.Context) int {
	i := cr.leader()
	for deadline := time.Now().Add(3 * cdcLeaseTTL); i < 0 && time.Now().Before(deadline) && ctx.Err() == nil; i = cr.leader() {
		sleep(ctx, 20*time.Millisecond)
	}
	return i
}

// faultSpans are the spans in which a consumer fault, or a fault of the
// store server (extra: a flush, a restart), was in force: from its start
// until it was healed (the analysis extends each until the stream flowed
// again: see invalidations.go).
func (cr *cdcRig) faultSpans(extra []Interval) []Interval {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	return append(slices.Clone(cr.spans), extra...)
}

// dropSlot drops the run's replication slot and publication; the closed
// stream's walsender may hold the slot a moment.
func dropSlot(db *Database, name string) {
	ctx := context.Background()
	for range 50 {
		if _, err := db.Admin().ExecContext(ctx, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", name); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, _ = db.Admin().ExecContext(ctx, "DROP PUBLICATION IF EXISTS "+name)
}
