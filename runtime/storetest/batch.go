package storetest

import (
	"fmt"
	"time"

	"github.com/cachegen/cachegen/runtime/store"
)

// The batch operations, through store.Batched: a store's own batches when
// it is a store.BatchStore, the one-key-at-a-time adapter otherwise. Each
// op must do exactly what the single-key method does on its key, and its
// result must land in its own op.

// batchKeys is how many keys the large batches use: enough to spread over
// every node of a Cluster.
const batchKeys = 200

func batchTests() []testCase {
	return []testCase{
		{"get", func(h *harness) {
			keys, entries := h.everyState()
			ops := make([]store.GetOp, len(keys))
			for i, k := range keys {
				ops[i].Key = k
			}
			store.Batched(h.s).GetMany(h.ctx(), ops)
			for i, op := range ops {
				if op.Err != nil {
					h.t.Fatalf("GetMany op %d (%s): %v", i, Show(entries[i]), op.Err)
				}
				if !Same(op.Entry, entries[i]) {
					h.t.Errorf("GetMany op %d: %s, want %s", i, Show(op.Entry), Show(entries[i]))
				}
			}
		}},
		{"empty", func(h *harness) {
			b := store.Batched(h.s)
			b.GetMany(h.ctx(), nil)
			b.LeaseMany(h.ctx(), nil)
			b.FillMany(h.ctx(), nil)
			b.ReleaseMany(h.ctx(), nil)
			b.LockMany(h.ctx(), nil)
			b.UnlockMany(h.ctx(), nil)
		}},
		{"lease", func(h *harness) {
			keys, entries := h.everyState()
			ops := make([]store.LeaseOp, len(keys))
			for i, k := range keys {
				ops[i] = store.LeaseOp{Key: k, Token: fmt.Sprint("batch-", i), TTL: longTTL}
			}
			store.Batched(h.s).LeaseMany(h.ctx(), ops)
			for i, op := range ops {
				if op.Err != nil {
					h.t.Fatalf("LeaseMany op %d (%s): %v", i, Show(entries[i]), op.Err)
				}
				if entries[i].Kind == store.Absent {
					if !op.OK {
						h.t.Errorf("LeaseMany op %d on an absent key failed, reporting %s", i, Show(op.Cur))
					}
					h.want(keys[i], store.Entry{Kind: store.Leased, Token: op.Token})
					continue
				}
				if op.OK {
					h.t.Errorf("LeaseMany op %d on %s succeeded", i, Show(entries[i]))
				} else if !Same(op.Cur, entries[i]) {
					h.t.Errorf("LeaseMany op %d on %s reported %s", i, Show(entries[i]), Show(op.Cur))
				}
				h.want(keys[i], entries[i])
			}
		}},
		{"fill", func(h *harness) {
			keys, entries := h.everyState()
			ops := make([]store.FillOp, len(keys))
			v := []byte("filled")
			for i, k := range keys {
				// the lease's own token, and another for every other state
				ops[i] = store.FillOp{Key: k, Token: leased.Token, Entry: store.Entry{Kind: store.CachedRow, Value: v}, TTL: longTTL}
			}
			store.Batched(h.s).FillMany(h.ctx(), ops)
			copy(v, "mutate")
			for i, op := range ops {
				if op.Err != nil {
					h.t.Fatalf("FillMany op %d (%s): %v", i, Show(entries[i]), op.Err)
				}
				if entries[i].Kind == store.Leased {
					if !op.OK {
						h.t.Errorf("FillMany op %d with the lease's token failed", i)
					}
					h.want(keys[i], store.Entry{Kind: store.CachedRow, Value: []byte("filled")})
					continue
				}
				if op.OK {
					h.t.Errorf("FillMany op %d on %s succeeded", i, Show(entries[i]))
				}
				h.want(keys[i], entries[i])
			}
		}},
		{"fill-other-token", func(h *harness) {
			k := h.key("k")
			h.set(k, leased, longTTL)
			ops := []store.FillOp{{Key: k, Token: "token-b", Entry: value, TTL: longTTL}}
			store.Batched(h.s).FillMany(h.ctx(), ops)
			if ops[0].OK || ops[0].Err != nil {
				h.t.Errorf("FillMany with another reader's token: ok %v, err %v", ops[0].OK, ops[0].Err)
			}
			h.want(k, leased)
		}},
		{"fill-not-found-and-ttls", func(h *harness) {
			short, long, nf := h.key("short"), h.key("long"), h.key("not-found")
			for _, k := range []string{short, long, nf} {
				h.set(k, leased, longTTL)
			}
			ops := []store.FillOp{
				{Key: short, Token: leased.Token, Entry: value, TTL: shortTTL},
				{Key: long, Token: leased.Token, Entry: value, TTL: longTTL},
				{Key: nf, Token: leased.Token, Entry: notFound, TTL: longTTL},
			}
			store.Batched(h.s).FillMany(h.ctx(), ops)
			for i, op := range ops {
				if !op.OK || op.Err != nil {
					h.t.Fatalf("FillMany op %d: ok %v, err %v", i, op.OK, op.Err)
				}
			}
			h.want(nf, notFound)
			time.Sleep(pastShort)
			h.want(short, absent)
			h.want(long, value)
		}},
		{"release", func(h *harness) {
			keys, entries := h.everyState()
			ops := make([]store.ReleaseOp, len(keys))
			for i, k := range keys {
				ops[i] = store.ReleaseOp{Key: k, Token: leased.Token}
			}
			other := h.key("other-lease")
			h.set(other, leased, longTTL)
			ops = append(ops, store.ReleaseOp{Key: other, Token: "token-b"})
			store.Batched(h.s).ReleaseMany(h.ctx(), ops)
			for i, op := range ops {
				if op.Err != nil {
					h.t.Fatalf("ReleaseMany op %d: %v", i, op.Err)
				}
			}
			for i, k := range keys {
				want := entries[i]
				if want.Kind == store.Leased {
					want = absent
				}
				h.want(k, want)
			}
			h.want(other, leased)
		}},
		{"lock", func(h *harness) {
			// every state becomes a lock of count 1, a lock one more
			keys, entries := h.everyState()
			ops := make([]store.LockOp, len(keys))
			for i, k := range keys {
				ops[i] = store.LockOp{Key: k, TTL: longTTL}
			}
			store.Batched(h.s).LockMany(h.ctx(), ops)
			for i, op := range ops {
				if op.Err != nil {
					h.t.Fatalf("LockMany op %d (%s): %v", i, Show(entries[i]), op.Err)
				}
				want := store.Entry{Kind: store.Locked, Locks: 1}
				if entries[i].Kind == store.Locked {
					want.Locks = entries[i].Locks + 1
				}
				h.want(keys[i], want)
			}
		}},
		{"lock-ttl", func(h *harness) {
			short, long := h.key("short"), h.key("long")
			ops := []store.LockOp{{Key: short, TTL: shortTTL}, {Key: long, TTL: longTTL}}
			store.Batched(h.s).LockMany(h.ctx(), ops)
			for i, op := range ops {
				if op.Err != nil {
					h.t.Fatalf("LockMany op %d: %v", i, op.Err)
				}
			}
			time.Sleep(pastShort)
			h.want(short, absent)
			h.want(long, store.Entry{Kind: store.Locked, Locks: 1})
		}},
		{"unlock", func(h *harness) {
			// a lock of count n > 1 becomes n-1; every other state is deleted
			keys, entries := h.everyState()
			twice := h.key("lock-2")
			h.set(twice, locked, longTTL)
			h.lock(twice, longTTL)
			keys = append(keys, twice)
			entries = append(entries, store.Entry{Kind: store.Locked, Locks: locked.Locks + 1})
			ops := make([]store.UnlockOp, len(keys))
			for i, k := range keys {
				ops[i].Key = k
			}
			store.Batched(h.s).UnlockMany(h.ctx(), ops)
			for i, op := range ops {
				if op.Err != nil {
					h.t.Fatalf("UnlockMany op %d (%s): %v", i, Show(entries[i]), op.Err)
				}
				want := absent
				if e := entries[i]; e.Kind == store.Locked && e.Locks > 1 {
					want = store.Entry{Kind: store.Locked, Locks: e.Locks - 1}
				}
				h.want(keys[i], want)
			}
		}},
		{"bad-op-alone", func(h *harness) {
			// an op the store refuses fails alone: the others of the batch act
			good, bad := h.key("good"), h.key("bad")
			h.set(good, leased, longTTL)
			h.set(bad, leased, longTTL)
			fills := []store.FillOp{
				{Key: bad, Token: leased.Token, Entry: locked, TTL: longTTL},
				{Key: good, Token: leased.Token, Entry: value, TTL: longTTL},
			}
			store.Batched(h.s).FillMany(h.ctx(), fills)
			if fills[0].OK && fills[0].Err == nil {
				h.t.Error("FillMany stored a lock")
			}
			if !fills[1].OK || fills[1].Err != nil {
				h.t.Errorf("the good fill of the batch: ok %v, err %v", fills[1].OK, fills[1].Err)
			}
			h.want(bad, leased)
			h.want(good, value)
		}},
		{"many", func(h *harness) {
			b := store.Batched(h.s)
			keys := make([]string, batchKeys)
			leases := make([]store.LeaseOp, batchKeys)
			for i := range keys {
				keys[i] = h.key(fmt.Sprint("k", i))
				leases[i] = store.LeaseOp{Key: keys[i], Token: fmt.Sprint("t", i), TTL: longTTL}
			}
			b.LeaseMany(h.ctx(), leases)
			fills := make([]store.FillOp, batchKeys)
			for i, op := range leases {
				if !op.OK || op.Err != nil {
					h.t.Fatalf("LeaseMany op %d: ok %v, err %v", i, op.OK, op.Err)
				}
				// fill every other key; release the rest
				fills[i] = store.FillOp{Key: keys[i], Token: op.Token, Entry: store.Entry{Kind: store.CachedRow, Value: []byte(fmt.Sprint("v", i))}, TTL: longTTL}
			}
			b.FillMany(h.ctx(), fills[:batchKeys/2])
			var releases []store.ReleaseOp
			for i := batchKeys / 2; i < batchKeys; i++ {
				releases = append(releases, store.ReleaseOp{Key: keys[i], Token: leases[i].Token})
			}
			b.ReleaseMany(h.ctx(), releases)
			gets := make([]store.GetOp, batchKeys)
			for i := range gets {
				gets[i].Key = keys[i]
			}
			b.GetMany(h.ctx(), gets)
			for i, op := range gets {
				want := absent
				if i < batchKeys/2 {
					want = store.Entry{Kind: store.CachedRow, Value: []byte(fmt.Sprint("v", i))}
				}
				if op.Err != nil || !Same(op.Entry, want) {
					h.t.Fatalf("GetMany op %d: %s, %v; want %s", i, Show(op.Entry), op.Err, Show(want))
				}
			}
		}},
	}
}

// everyState sets one key to each state, absent first, and returns the keys
// and what each holds.
func (h *harness) everyState() ([]string, []store.Entry) {
	h.t.Helper()
	keys := []string{h.key("absent")}
	entries := []store.Entry{absent}
	for _, st := range states {
		k := h.key(st.name)
		h.set(k, st.e, longTTL)
		keys = append(keys, k)
		entries = append(entries, st.e)
	}
	// a second absent key, after the others, so a result shifted by one op
	// shows
	keys = append(keys, h.key("absent-2"))
	entries = append(entries, absent)
	return keys, entries
}
