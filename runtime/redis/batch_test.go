package redis_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachegen/cachegen/runtime/store"
	"github.com/cachegen/cachegen/runtime/storetest"
)

// countHook counts what a client sends: commands on their own and
// pipelines (each one round trip per node).
type countHook struct{ single, pipelines atomic.Int64 }

func (h *countHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *countHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.single.Add(1)
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.pipelines.Add(1)
		return next(ctx, cmds)
	}
}

// TestBatchRoundTrips: each batch of 100 keys is one pipeline (on a
// Cluster, one pipeline that go-redis splits by node), and no command is
// sent on its own.
func TestBatchRoundTrips(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			c := tg.connect(t)
			s := newStore(t, c)
			ctx := t.Context()
			p := prefix(t)
			const n = 100
			keys := make([]string, n)
			for i := range keys {
				keys[i] = fmt.Sprint(p, "id=", i)
			}
			// Warm up: the scripts loaded on every node (a fresh server
			// answers the first EVALSHA with NOSCRIPT) and connections open.
			warm := make([]string, n)
			for i := range warm {
				warm[i] = fmt.Sprint(p, "warm=", i)
				s.LeaseMany(ctx, []store.LeaseOp{{Key: warm[i], Token: "t", TTL: time.Minute}})
				s.FillMany(ctx, []store.FillOp{{Key: warm[i], Token: "t", Entry: store.Entry{Kind: store.CachedNotFound}, TTL: time.Minute}})
				s.ReleaseMany(ctx, []store.ReleaseOp{{Key: warm[i], Token: "t"}})
				s.GetMany(ctx, []store.GetOp{{Key: warm[i]}})
			}
			t.Cleanup(func() { deleteAll(c, "", append(keys, warm...)...) })
			h := &countHook{}
			c.AddHook(h)
			step := func(name string, f func()) {
				t.Helper()
				h.single.Store(0)
				h.pipelines.Store(0)
				f()
				if s, pl := h.single.Load(), h.pipelines.Load(); s != 0 || pl != 1 {
					t.Errorf("%s of %d keys: %d commands and %d pipelines, want 0 and 1", name, n, s, pl)
				}
			}
			leases := make([]store.LeaseOp, n)
			for i, k := range keys {
				leases[i] = store.LeaseOp{Key: k, Token: fmt.Sprint("t", i), TTL: time.Minute}
			}
			step("LeaseMany", func() { s.LeaseMany(ctx, leases) })
			fills := make([]store.FillOp, n)
			for i, op := range leases {
				if !op.OK || op.Err != nil {
					t.Fatalf("lease %d: %v %v", i, op.OK, op.Err)
				}
				fills[i] = store.FillOp{Key: op.Key, Token: op.Token, Entry: store.Entry{Kind: store.CachedRow, Value: []byte(fmt.Sprint("row ", i))}, TTL: time.Minute}
			}
			step("FillMany", func() { s.FillMany(ctx, fills) })
			gets := make([]store.GetOp, n)
			for i, k := range keys {
				gets[i].Key = k
			}
			step("GetMany", func() { s.GetMany(ctx, gets) })
			for i, op := range gets {
				if want := (store.Entry{Kind: store.CachedRow, Value: []byte(fmt.Sprint("row ", i))}); op.Err != nil || !storetest.Same(op.Entry, want) {
					t.Fatalf("get %d: %s, %v", i, storetest.Show(op.Entry), op.Err)
				}
			}
			releases := make([]store.ReleaseOp, n)
			for i, k := range keys {
				releases[i] = store.ReleaseOp{Key: k, Token: "not ours"}
			}
			step("ReleaseMany", func() { s.ReleaseMany(ctx, releases) })
		})
	}
}

// TestBatchScriptFlush: batches of scripts survive a server that forgot
// them, sending EVAL where EVALSHA met NOSCRIPT.
func TestBatchScriptFlush(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			c := tg.connect(t)
			s := newStore(t, c)
			ctx := t.Context()
			p := prefix(t)
			names := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
			t.Cleanup(func() { deleteAll(c, p, names...) })
			flush := func() { flushScripts(t, c) }
			flush()
			leases := make([]store.LeaseOp, len(names))
			for i, n := range names {
				leases[i] = store.LeaseOp{Key: p + n, Token: "t", TTL: time.Minute}
			}
			s.LeaseMany(ctx, leases)
			fills := make([]store.FillOp, len(names))
			for i, op := range leases {
				if !op.OK || op.Err != nil {
					t.Fatalf("LeaseMany after SCRIPT FLUSH, op %d: %v, %v", i, op.OK, op.Err)
				}
				fills[i] = store.FillOp{Key: op.Key, Token: "t", Entry: store.Entry{Kind: store.CachedNotFound}, TTL: time.Minute}
			}
			flush()
			s.FillMany(ctx, fills[:4])
			for i, op := range fills[:4] {
				if !op.OK || op.Err != nil {
					t.Fatalf("FillMany after SCRIPT FLUSH, op %d: %v, %v", i, op.OK, op.Err)
				}
			}
			flush()
			releases := make([]store.ReleaseOp, len(names))
			for i, n := range names {
				releases[i] = store.ReleaseOp{Key: p + n, Token: "t"}
			}
			s.ReleaseMany(ctx, releases)
			for i, n := range names {
				want := store.Entry{Kind: store.CachedNotFound}
				if i >= 4 {
					want = store.Entry{}
				}
				if e, err := s.Get(ctx, p+n); err != nil || !storetest.Same(e, want) {
					t.Errorf("%s holds %s (%v), want %s", n, storetest.Show(e), err, storetest.Show(want))
				}
			}
		})
	}
}

// TestPhaseScriptFlush: a write's phases survive a server that forgot
// their scripts (on a single node, one script over all the phase's keys),
// and lock and release each key as Lock and Unlock would, one at a time.
func TestPhaseScriptFlush(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			c := tg.connect(t)
			s := newStore(t, c)
			ctx := t.Context()
			p := prefix(t)
			names := []string{"a", "b", "c"}
			t.Cleanup(func() { deleteAll(c, p, names...) })
			if err := s.Lock(ctx, p+"a", time.Minute); err != nil { // a holds 1 lock
				t.Fatal(err)
			}
			flushScripts(t, c)
			locks := make([]store.LockOp, len(names))
			unlocks := make([]store.UnlockOp, len(names))
			for i, n := range names {
				locks[i] = store.LockOp{Key: p + n, TTL: time.Minute}
				unlocks[i] = store.UnlockOp{Key: p + n}
			}
			s.LockMany(ctx, locks)
			for i, want := range []int{2, 1, 1} {
				if locks[i].Err != nil {
					t.Fatalf("LockMany after SCRIPT FLUSH, op %d: %v", i, locks[i].Err)
				}
				if e, err := s.Get(ctx, locks[i].Key); err != nil || !storetest.Same(e, store.Entry{Kind: store.Locked, Locks: want}) {
					t.Errorf("%s holds %s (%v), want %d locks", names[i], storetest.Show(e), err, want)
				}
			}
			flushScripts(t, c)
			s.UnlockMany(ctx, unlocks)
			for i, want := range []store.Entry{{Kind: store.Locked, Locks: 1}, {}, {}} {
				if unlocks[i].Err != nil {
					t.Fatalf("UnlockMany after SCRIPT FLUSH, op %d: %v", i, unlocks[i].Err)
				}
				if e, err := s.Get(ctx, unlocks[i].Key); err != nil || !storetest.Same(e, want) {
					t.Errorf("%s holds %s (%v), want %s", names[i], storetest.Show(e), err, storetest.Show(want))
				}
			}
		})
	}
}

// TestBatchArguments: an op the store refuses fails alone, before anything
// is sent; a done context fails every op and writes nothing.
func TestBatchArguments(t *testing.T) {
	c := miniClient(t)
	s := newStore(t, c)
	ctx := t.Context()
	p := prefix(t)
	leases := []store.LeaseOp{
		{Key: p + "zero", Token: "t", TTL: 0},
		{Key: p + "negative", Token: "t", TTL: -time.Second},
		{Key: p + "good", Token: "t", TTL: time.Minute},
	}
	s.LeaseMany(ctx, leases)
	if leases[0].Err == nil || leases[1].Err == nil {
		t.Errorf("LeaseMany accepted a TTL that is not positive: %v, %v", leases[0].Err, leases[1].Err)
	}
	if !leases[2].OK || leases[2].Err != nil {
		t.Errorf("the good lease: %v, %v", leases[2].OK, leases[2].Err)
	}
	fills := []store.FillOp{
		{Key: p + "good", Token: "t", Entry: store.Entry{Kind: store.Locked, Locks: 1}, TTL: time.Minute},
		{Key: p + "good", Token: "t", Entry: store.Entry{Kind: store.CachedRow, Value: []byte("v")}, TTL: 0},
	}
	s.FillMany(ctx, fills)
	if fills[0].Err == nil || fills[1].Err == nil {
		t.Errorf("FillMany accepted a lock or a zero TTL: %v, %v", fills[0].Err, fills[1].Err)
	}
	if e, _ := s.Get(ctx, p+"good"); !storetest.Same(e, store.Entry{Kind: store.Leased, Token: "t"}) {
		t.Errorf("after refused fills the key holds %s", storetest.Show(e))
	}

	done, cancel := context.WithCancel(ctx)
	cancel()
	gets := []store.GetOp{{Key: p + "good"}}
	s.GetMany(done, gets)
	if gets[0].Err != context.Canceled {
		t.Errorf("GetMany on a done ctx: %v", gets[0].Err)
	}
	doneLeases := []store.LeaseOp{{Key: p + "other", Token: "t", TTL: time.Minute}}
	s.LeaseMany(done, doneLeases)
	doneFills := []store.FillOp{{Key: p + "good", Token: "t", Entry: store.Entry{Kind: store.CachedNotFound}, TTL: time.Minute}}
	s.FillMany(done, doneFills)
	doneReleases := []store.ReleaseOp{{Key: p + "good", Token: "t"}}
	s.ReleaseMany(done, doneReleases)
	if doneLeases[0].Err != context.Canceled || doneFills[0].Err != context.Canceled || doneReleases[0].Err != context.Canceled {
		t.Errorf("on a done ctx: lease %v, fill %v, release %v", doneLeases[0].Err, doneFills[0].Err, doneReleases[0].Err)
	}
	if n := c.Exists(ctx, p+"other").Val(); n != 0 {
		t.Error("a batch on a done ctx wrote a key")
	}
	if e, _ := s.Get(ctx, p+"good"); !storetest.Same(e, store.Entry{Kind: store.Leased, Token: "t"}) {
		t.Errorf("a batch on a done ctx changed a key: %s", storetest.Show(e))
	}
}

// TestBatchForeignValues: GetMany reads a key of another type, or bytes of
// someone else's, as Get does.
func TestBatchForeignValues(t *testing.T) {
	c := miniClient(t)
	s := newStore(t, c)
	ctx := t.Context()
	p := prefix(t)
	if err := c.HSet(ctx, p+"hash", "f", "v").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, p+"raw", "xyz", 0).Err(); err != nil {
		t.Fatal(err)
	}
	ops := []store.GetOp{{Key: p + "hash"}, {Key: p + "raw"}, {Key: p + "none"}}
	s.GetMany(ctx, ops)
	for i, op := range ops {
		single, err := s.Get(ctx, op.Key)
		if op.Err != nil || err != nil || op.Entry.Kind != single.Kind || string(op.Entry.Value) != string(single.Value) {
			t.Errorf("op %d: GetMany %s (%v), Get %s (%v)", i, storetest.Show(op.Entry), op.Err, storetest.Show(single), err)
		}
	}
}
