package storetest

import (
	"fmt"
	"sync"

	"github.com/cachegen/cachegen/runtime/store"
)

// workers is how many goroutines race on one key.
const workers = 50

// race runs f(i) for i in [0, n) on n goroutines released together, and
// waits for them. f reports failures with t.Errorf, never t.Fatal.
func race(n int, f func(i int)) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			f(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
}

func concurrentTests() []testCase {
	return []testCase{
		{"lease", func(h *harness) {
			k := h.key("k")
			type result struct {
				ok  bool
				cur store.Entry
			}
			results := make([]result, workers)
			race(workers, func(i int) {
				ok, cur, err := h.s.Lease(h.ctx(), k, fmt.Sprint("token-", i), longTTL)
				if err != nil {
					h.t.Errorf("Lease: %v", err)
				}
				results[i] = result{ok, cur}
			})
			winner := -1
			for i, r := range results {
				if r.ok {
					if winner >= 0 {
						h.t.Fatalf("Lease succeeded for both token-%d and token-%d", winner, i)
					}
					winner = i
				}
			}
			if winner < 0 {
				h.t.Fatal("no Lease succeeded")
			}
			want := store.Entry{Kind: store.Leased, Token: fmt.Sprint("token-", winner)}
			for i, r := range results {
				if !r.ok && !Same(r.cur, want) {
					h.t.Errorf("the Lease of token-%d reported %s, want %s", i, Show(r.cur), Show(want))
				}
			}
			h.want(k, want)
		}},
		{"lock-count", func(h *harness) {
			k := h.key("k")
			race(workers, func(int) {
				if err := h.s.Lock(h.ctx(), k, longTTL); err != nil {
					h.t.Errorf("Lock: %v", err)
				}
			})
			h.want(k, store.Entry{Kind: store.Locked, Locks: workers})
			race(workers-1, func(int) {
				if err := h.s.Unlock(h.ctx(), k); err != nil {
					h.t.Errorf("Unlock: %v", err)
				}
			})
			h.want(k, locked1)
			h.unlock(k)
			h.want(k, absent)
		}},
		{"lock-unlock-pairs", func(h *harness) {
			// each writer unlocks after its own lock, so the count never
			// reaches 0 early and the key ends absent
			k := h.key("k")
			race(workers, func(int) {
				if err := h.s.Lock(h.ctx(), k, longTTL); err != nil {
					h.t.Errorf("Lock: %v", err)
				}
				if err := h.s.Unlock(h.ctx(), k); err != nil {
					h.t.Errorf("Unlock: %v", err)
				}
			})
			h.want(k, absent)
		}},
		{"fill-vs-lock", func(h *harness) {
			// A reader's Fill races a writer's Lock on the reader's lease.
			// Either the Lock came first and the Fill failed, or the Fill
			// came first and the Lock replaced the value: the key ends
			// locked once, and never holds a value once Lock has returned.
			fillWon := 0
			for i := range 100 {
				k := h.key(fmt.Sprint(i))
				h.set(k, leased, longTTL)
				var filled bool
				var afterLock store.Entry
				race(2, func(j int) {
					var err error
					if j == 0 {
						filled, err = h.s.Fill(h.ctx(), k, leased.Token, value, longTTL)
					} else if err = h.s.Lock(h.ctx(), k, longTTL); err == nil {
						afterLock, err = h.s.Get(h.ctx(), k)
					}
					if err != nil {
						h.t.Errorf("race %d: %v", i, err)
					}
				})
				if h.t.Failed() {
					return
				}
				if !Same(afterLock, locked1) {
					h.t.Fatalf("race %d: right after Lock the key holds %s", i, Show(afterLock))
				}
				h.want(k, locked1)
				if filled {
					fillWon++
				}
			}
			h.t.Logf("the Fill won %d of 100 races", fillWon)
		}},
	}
}
