package storetest

import (
	"time"

	"github.com/cachegen/cachegen/runtime/store"
)

func fillTests() []testCase {
	cases := []testCase{
		{"lease-value", func(h *harness) {
			k := h.key("k")
			h.set(k, leased, longTTL)
			if !h.fill(k, leased.Token, value, longTTL) {
				h.t.Fatal("Fill with the lease's token failed")
			}
			h.want(k, value)
		}},
		{"lease-not-found", func(h *harness) {
			k := h.key("k")
			h.set(k, leased, longTTL)
			if !h.fill(k, leased.Token, notFound, longTTL) {
				h.t.Fatal("Fill with the lease's token failed")
			}
			h.want(k, notFound)
		}},
		{"fails-on-absent", func(h *harness) {
			k := h.key("k")
			if h.fill(k, leased.Token, value, longTTL) {
				h.t.Error("Fill on an absent key succeeded")
			}
			h.want(k, absent)
		}},
		{"other-kinds", func(h *harness) {
			// Fill takes only a value or a not-found; a store may refuse
			// anything else with an error, but must never store it.
			k := h.key("k")
			h.set(k, leased, longTTL)
			for _, e := range []store.Entry{absent, leased, locked} {
				ok, err := h.s.Fill(h.ctx(), k, leased.Token, e, longTTL)
				if ok && err == nil {
					h.t.Errorf("Fill of %s succeeded", Show(e))
				}
				h.want(k, leased)
			}
		}},
		{"copies-value", func(h *harness) {
			k := h.key("k")
			h.set(k, leased, longTTL)
			v := []byte("original")
			if !h.fill(k, leased.Token, store.Entry{Kind: store.CachedRow, Value: v}, longTTL) {
				h.t.Fatal("Fill failed")
			}
			copy(v, "mutated!")
			h.want(k, store.Entry{Kind: store.CachedRow, Value: []byte("original")})
		}},
		{"binary-value", func(h *harness) {
			k := h.key("k")
			v := make([]byte, 0, 512)
			for i := range 512 {
				v = append(v, byte(i))
			}
			h.set(k, store.Entry{Kind: store.CachedRow, Value: v}, longTTL)
		}},
		{"empty-value", func(h *harness) {
			k := h.key("k")
			h.set(k, leased, longTTL)
			if !h.fill(k, leased.Token, store.Entry{Kind: store.CachedRow, Value: []byte{}}, longTTL) {
				h.t.Fatal("Fill failed")
			}
			if got := h.get(k); got.Kind != store.CachedRow || len(got.Value) != 0 {
				h.t.Errorf("key holds %s, want an empty value", Show(got))
			}
		}},
		{"sets-longer-ttl", func(h *harness) {
			// the value gets the Fill's TTL, not what was left of the lease's
			h.retrySlow(func(k string) bool {
				start := time.Now()
				h.set(k, leased, shortTTL)
				ok := h.fill(k, leased.Token, value, longTTL)
				if !inTime(start) {
					return false
				}
				if !ok {
					h.t.Fatal("Fill of a live lease failed")
				}
				time.Sleep(pastShort)
				h.want(k, value)
				return true
			})
		}},
		{"sets-shorter-ttl", func(h *harness) {
			k := h.key("k")
			h.set(k, leased, longTTL)
			if !h.fill(k, leased.Token, value, shortTTL) {
				h.t.Fatal("Fill failed")
			}
			time.Sleep(pastShort)
			h.want(k, absent)
		}},
	}
	// a wrong token fails on every state, and the own token on any but a lease
	for _, st := range states {
		cases = append(cases, testCase{"fails-on-" + st.name, func(h *harness) {
			for _, token := range []string{leased.Token, "token-b"} {
				if st.e.Kind == store.Leased && token == leased.Token {
					continue
				}
				k := h.key(token)
				h.set(k, st.e, longTTL)
				if h.fill(k, token, store.Entry{Kind: store.CachedRow, Value: []byte("other")}, longTTL) {
					h.t.Errorf("Fill(%q) on %s succeeded", token, Show(st.e))
				}
				h.want(k, st.e)
			}
		}})
	}
	return cases
}

func lockTests() []testCase {
	var cases []testCase
	for _, st := range append(states[:3:3], struct {
		name string
		e    store.Entry
	}{"absent", absent}) {
		cases = append(cases, testCase{st.name, func(h *harness) {
			k := h.key("k")
			h.set(k, st.e, longTTL)
			h.lock(k, longTTL)
			h.want(k, locked1)
		}})
	}
	return append(cases,
		testCase{"lock", func(h *harness) {
			k := h.key("k")
			h.set(k, locked, longTTL)
			h.lock(k, longTTL)
			h.want(k, store.Entry{Kind: store.Locked, Locks: locked.Locks + 1})
		}},
		testCase{"renews-ttl", func(h *harness) {
			h.retrySlow(func(k string) bool {
				start := time.Now()
				h.lock(k, shortTTL)
				h.lock(k, longTTL)
				if !inTime(start) {
					return false
				}
				time.Sleep(pastShort)
				h.want(k, store.Entry{Kind: store.Locked, Locks: 2})
				return true
			})
		}},
		testCase{"sets-shorter-ttl", func(h *harness) {
			// "the TTL is set to ttl either way": a shorter one too
			k := h.key("k")
			h.lock(k, longTTL)
			h.lock(k, shortTTL)
			time.Sleep(pastShort)
			h.want(k, absent)
		}},
	)
}

func unlockTests() []testCase {
	cases := []testCase{
		{"lock-3", func(h *harness) {
			k := h.key("k")
			h.set(k, locked, longTTL)
			h.unlock(k)
			h.want(k, store.Entry{Kind: store.Locked, Locks: locked.Locks - 1})
		}},
		{"lock-1", func(h *harness) {
			k := h.key("k")
			h.set(k, locked1, longTTL)
			h.unlock(k)
			h.want(k, absent)
		}},
		{"keeps-ttl", func(h *harness) {
			// a decremented lock still runs out: a writer that never
			// releases cannot block the key forever
			h.retrySlow(func(k string) bool {
				start := time.Now()
				h.lock(k, shortTTL)
				h.lock(k, shortTTL)
				h.unlock(k)
				got := h.get(k)
				if !inTime(start) {
					return false
				}
				if !Same(got, locked1) {
					h.t.Fatalf("after 2 locks and 1 unlock the key holds %s", Show(got))
				}
				time.Sleep(pastShort)
				h.want(k, absent)
				return true
			})
		}},
	}
	for _, st := range []struct {
		name string
		e    store.Entry
	}{{"value", value}, {"not-found", notFound}, {"lease", leased}, {"absent", absent}} {
		cases = append(cases, testCase{st.name, func(h *harness) {
			k := h.key("k")
			h.set(k, st.e, longTTL)
			h.unlock(k)
			h.want(k, absent)
		}})
	}
	return cases
}

func deleteTests() []testCase {
	var cases []testCase
	for _, st := range append(states[:len(states):len(states)], struct {
		name string
		e    store.Entry
	}{"absent", absent}) {
		cases = append(cases, testCase{st.name, func(h *harness) {
			k := h.key("k")
			h.set(k, st.e, longTTL)
			h.del(k)
			h.want(k, absent)
			// a deleted key is absent to Lease too
			if ok, cur := h.lease(k, "t", longTTL); !ok {
				h.t.Errorf("Lease after Delete failed, key holds %s", Show(cur))
			}
		}})
	}
	return cases
}

func expiryTests() []testCase {
	// after its TTL, each state behaves as absent to every operation
	cases := []testCase{
		{"value", func(h *harness) {
			k := h.key("k")
			h.set(k, value, shortTTL)
			time.Sleep(pastShort)
			h.want(k, absent)
			if ok, cur := h.lease(k, "t2", longTTL); !ok {
				h.t.Errorf("Lease after the value expired failed, key holds %s", Show(cur))
			}
		}},
		{"not-found", func(h *harness) {
			k := h.key("k")
			h.set(k, notFound, shortTTL)
			time.Sleep(pastShort)
			h.want(k, absent)
			if ok, cur := h.lease(k, "t2", longTTL); !ok {
				h.t.Errorf("Lease after the not-found expired failed, key holds %s", Show(cur))
			}
		}},
		{"lease", func(h *harness) {
			k := h.key("k")
			h.set(k, leased, shortTTL)
			time.Sleep(pastShort)
			h.want(k, absent)
			if h.fill(k, leased.Token, value, longTTL) {
				h.t.Error("Fill of an expired lease succeeded")
			}
			h.want(k, absent)
			if ok, cur := h.lease(k, "t2", longTTL); !ok {
				h.t.Errorf("Lease after the lease expired failed, key holds %s", Show(cur))
			}
			h.want(k, store.Entry{Kind: store.Leased, Token: "t2"})
		}},
		{"lock", func(h *harness) {
			k := h.key("k")
			h.set(k, locked, shortTTL)
			time.Sleep(pastShort)
			h.want(k, absent)
			h.lock(k, longTTL)
			h.want(k, locked1) // not a count carried over from the expired lock
		}},
		{"failed-ops-keep-ttl", func(h *harness) {
			// a Lease or Fill that fails changes nothing, the TTL included
			h.retrySlow(func(k string) bool {
				start := time.Now()
				h.set(k, value, shortTTL)
				leased, _ := h.lease(k, "t2", longTTL)
				filled := h.fill(k, "t2", value, longTTL)
				if !inTime(start) {
					return false
				}
				if leased || filled {
					h.t.Fatalf("on a value, Lease succeeded: %v, Fill succeeded: %v", leased, filled)
				}
				time.Sleep(pastShort)
				h.want(k, absent)
				return true
			})
		}},
	}
	return cases
}

func keyTests() []testCase {
	return []testCase{
		{"unusual", func(h *harness) {
			names := []string{"with space", "colon:separated:key", "ünïcødé-键-🔑", "with space "}
			for i, n := range names {
				h.set(h.key(n), store.Entry{Kind: store.CachedRow, Value: []byte{byte(i)}}, longTTL)
			}
			// each key kept its own value
			for i, n := range names {
				h.want(h.prefix+n, store.Entry{Kind: store.CachedRow, Value: []byte{byte(i)}})
			}
		}},
	}
}
