package consistency

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/store"
)

// With -near every runtime has a near cache of its own in front of the
// store, on a bus of its own over the same go-redis client as its store:
// through the same proxy, so that every network fault the store sees, the
// bus sees too (a dropped connection loses messages, a partition stops the
// probes, a delay holds back messages and probes alike).
//
//	runtime -> NearCache -> traceBus -> redis.Bus -> client -> proxy -> redis-server

// busStats counts what the runtimes' buses did.
type busStats struct {
	publishes, publishErrors, swallowed atomic.Int64
}

// traceBus records, for the write whose context carries a Trace, each
// Publish and whether it failed. lossy is the negative control: every
// Publish is swallowed and reported delivered, as a bus that loses
// messages would.
type traceBus struct {
	inner store.Bus
	lossy bool
	stats *busStats
}

func (b *traceBus) Publish(ctx context.Context, keys []string) error {
	var err error
	if b.lossy {
		b.stats.swallowed.Add(1)
	} else {
		err = b.inner.Publish(ctx, keys)
	}
	b.record(ctx, err)
	return err
}

// record counts one publish, sent by the bus or in a store's phase.
func (b *traceBus) record(ctx context.Context, err error) {
	b.stats.publishes.Add(1)
	if err != nil {
		b.stats.publishErrors.Add(1)
	}
	if t := traceOf(ctx); t != nil {
		t.RecordPublish(err)
	}
}

func (b *traceBus) Listen(ctx context.Context, interval time.Duration, h store.BusHandler) error {
	return b.inner.Listen(ctx, interval, h)
}

// crashBus is the bus of a writer that dies between its commit and its
// releases (see crashStore): it publishes on its runtime's bus until the
// process dies, at its first release, and nothing after (not the keys a
// write announces again after commit, nor its retry queue's). It listens
// to nothing: the dead process's near cache never serves a read.
type crashBus struct {
	inner store.Bus
	dead  *atomic.Bool
}

func (b crashBus) Publish(ctx context.Context, keys []string) error {
	if b.dead.Load() {
		return nil // never sent: the process is gone
	}
	return b.inner.Publish(ctx, keys)
}

func (crashBus) Listen(ctx context.Context, _ time.Duration, _ store.BusHandler) error {
	<-ctx.Done()
	return ctx.Err()
}

// nearOptions is the configuration of every near cache of a run. The entry
// TTL is the value TTL: a lost invalidation (rule E) may leave a stale row
// in the store until its TTL runs out, and a near cache that copied it must
// not keep it longer, or the by-design bound (StaleBound) and the final
// sweep (after the value TTL) would not hold. The default near TTL (one
// minute) is longer than the checker's value TTL.
func (c *Config) nearOptions() runtime.NearOptions {
	return runtime.NearOptions{MaxStaleness: c.Near, TTL: c.TTL}
}

// traceStore carries a traceBus's messages in the write phases of the
// Redis store below it (store.PhaseAnnouncer), as a runtime on a bare
// Redis store would: the checker checks the folded phases, not a path
// applications do not take. The lossy bus keeps its own Publish, so that
// the negative control still swallows every message.
var _ store.PhaseAnnouncer = (*traceStore)(nil)

func (s *traceStore) CarriesBus(bus store.Bus) bool {
	tb, ok := bus.(*traceBus)
	if !ok || tb.lossy {
		return false
	}
	pa, ok := s.inner.(store.PhaseAnnouncer)
	return ok && pa.CarriesBus(tb.inner)
}

func (s *traceStore) LockManyAnnounce(ctx context.Context, ops []store.LockOp, bus store.Bus, keys []string) error {
	if !s.CarriesBus(bus) {
		s.LockMany(ctx, ops)
		return bus.Publish(ctx, keys)
	}
	tb := bus.(*traceBus)
	err := s.inner.(store.PhaseAnnouncer).LockManyAnnounce(ctx, ops, tb.inner, keys)
	if t := traceOf(ctx); t != nil {
		for i := range ops {
			t.Record(false, ops[i].Key, ops[i].Err)
		}
	}
	tb.record(ctx, err)
	return err
}

func (s *traceStore) UnlockManyAnnounce(ctx context.Context, ops []store.UnlockOp, bus store.Bus, keys []string) error {
	if !s.CarriesBus(bus) {
		s.UnlockMany(ctx, ops)
		return bus.Publish(ctx, keys)
	}
	tb := bus.(*traceBus)
	err := s.inner.(store.PhaseAnnouncer).UnlockManyAnnounce(ctx, ops, tb.inner, keys)
	if t := traceOf(ctx); t != nil {
		for i := range ops {
			t.Record(true, ops[i].Key, ops[i].Err)
		}
	}
	tb.record(ctx, err)
	return err
}
