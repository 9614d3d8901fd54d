// Package storetest is the conformance suite that every store.Store must
// pass: the in-process store, and networked ones such as Redis or memcached.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"github.com/cachegen/cachegen/runtime/store"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// Timings of the TTL tests. Under Run they pass in real time, with wide
// margins: the machines that run them are shared and noisy. In a synctest
// bubble (RunSynctest) they are exact, and inTime always holds.
const (
	shortTTL  = 100 * time.Millisecond
	pastShort = 250 * time.Millisecond // a sleep after which a shortTTL entry is gone
	longTTL   = time.Minute            // never runs out during a test
)

// Run checks s against the protocol contract in runtime/store.go. newStore returns a fresh or shared store;
// every key Run uses is prefixed with a unique per-run random prefix so Run can be pointed at a real shared Redis.
//
// The subtests run in parallel, so newStore may be called concurrently. Run
// returns only once all of them have finished, and deletes the keys it used.
//
// Run waits in real time for TTLs to run out, as a networked store needs;
// an in-process store on Go's clock uses RunSynctest or RunSynctestShared.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	runCases(t, func(t *testing.T, prefix string, c testCase) {
		c.run(&harness{t: t, s: newStore(t), prefix: prefix})
	})
}

// RunSynctest is Run for an in-process store whose TTLs run on Go's own
// clock (time.Now): each subtest runs in a testing/synctest bubble of its
// own, on a store newStore makes inside that bubble, so a case that waits
// for a TTL moves the bubble's clock instead of sleeping, and no check
// depends on how fast the machine is. newStore must not return a store
// made outside the bubble: its clock would not be the bubble's.
func RunSynctest(t *testing.T, newStore func(t *testing.T) store.Store) {
	runCases(t, func(t *testing.T, prefix string, c testCase) {
		synctest.Test(t, func(t *testing.T) {
			c.run(&harness{t: t, s: newStore(t), prefix: prefix})
		})
	})
}

// RunSynctestShared runs every case of the suite at once on one store,
// which newStore makes inside a single testing/synctest bubble: the shared
// use of Run, for an in-process store, on the bubble's clock. The cases are
// not subtests (a bubble has none); a failure names its case.
func RunSynctestShared(t *testing.T, newStore func(t *testing.T) store.Store) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		prefix := runPrefix()
		var wg sync.WaitGroup
		for _, g := range groups() {
			for _, c := range g.cases {
				name := g.name + "/" + c.name
				wg.Go(func() {
					c.run(&harness{t: &caseT{TB: t, name: name}, s: s, prefix: prefix + name + ":"})
				})
			}
		}
		wg.Wait()
	})
}

// runCases runs each case of the suite as a parallel subtest, named
// group/case under "contract", with a key prefix unique to the run and case.
func runCases(t *testing.T, run func(t *testing.T, prefix string, c testCase)) {
	prefix := runPrefix()
	// A group of its own: parallel subtests of t itself would run only after
	// Run returned, and after the caller's defers had closed the store.
	t.Run("contract", func(t *testing.T) {
		for _, g := range groups() {
			t.Run(g.name, func(t *testing.T) {
				t.Parallel()
				for _, c := range g.cases {
					t.Run(c.name, func(t *testing.T) {
						t.Parallel()
						run(t, prefix+g.name+"/"+c.name+":", c)
					})
				}
			})
		}
	})
}

// runPrefix returns a key prefix unique to one run of the suite.
func runPrefix() string {
	var rnd [8]byte
	rand.Read(rnd[:]) // never fails
	return "storetest:" + hex.EncodeToString(rnd[:]) + ":"
}

// group is a named list of cases.
type group struct {
	name  string
	cases []testCase
}

func groups() []group {
	return []group{
		{"Get", getTests()},
		{"Lease", leaseTests()},
		{"Fill", fillTests()},
		{"Release", releaseTests()},
		{"Lock", lockTests()},
		{"Unlock", unlockTests()},
		{"Delete", deleteTests()},
		{"Expiry", expiryTests()},
		{"Keys", keyTests()},
		{"Concurrent", concurrentTests()},
		{"Batch", batchTests()},
	}
}

// caseT is one case's view of a bubble's T when the cases share the
// bubble, each on a goroutine of its own: failures name the case, Failed
// reports the case's own, and Fatal ends the case's goroutine only.
type caseT struct {
	testing.TB
	name   string
	failed atomic.Bool
}

func (c *caseT) Errorf(format string, args ...any) {
	c.TB.Helper()
	c.failed.Store(true)
	c.TB.Errorf("%s: %s", c.name, fmt.Sprintf(format, args...))
}

func (c *caseT) Error(args ...any) {
	c.TB.Helper()
	c.Errorf("%s", fmt.Sprint(args...))
}

func (c *caseT) Fatalf(format string, args ...any) {
	c.TB.Helper()
	c.Errorf(format, args...)
	goruntime.Goexit()
}

func (c *caseT) Fatal(args ...any) {
	c.TB.Helper()
	c.Errorf("%s", fmt.Sprint(args...))
	goruntime.Goexit()
}

func (c *caseT) Failed() bool { return c.failed.Load() }

func (c *caseT) Logf(format string, args ...any) {
	c.TB.Helper()
	c.TB.Logf("%s: %s", c.name, fmt.Sprintf(format, args...))
}

// testCase is one subtest.
type testCase struct {
	name string
	run  func(h *harness)
}

// harness wraps a store for one subtest: every call fails the test on error.
type harness struct {
	t      testing.TB
	s      store.Store
	prefix string
}

// ctx is the context of every store call.
func (h *harness) ctx() context.Context { return h.t.Context() }

// key returns a key unique to this run and subtest, and deletes it when the
// subtest ends, so a shared store is left clean.
func (h *harness) key(name string) string {
	k := h.prefix + name
	h.t.Cleanup(func() {
		// not h.ctx(): the test's context is cancelled before cleanups run
		if err := h.s.Delete(context.Background(), k); err != nil {
			h.t.Errorf("cleanup: Delete(%q): %v", k, err)
		}
	})
	return k
}

func (h *harness) get(key string) store.Entry {
	h.t.Helper()
	e, err := h.s.Get(h.ctx(), key)
	if err != nil {
		h.t.Fatalf("Get(%q): %v", key, err)
	}
	return e
}

func (h *harness) lease(key, token string, ttl time.Duration) (bool, store.Entry) {
	h.t.Helper()
	ok, cur, err := h.s.Lease(h.ctx(), key, token, ttl)
	if err != nil {
		h.t.Fatalf("Lease(%q, %q): %v", key, token, err)
	}
	return ok, cur
}

func (h *harness) fill(key, token string, e store.Entry, ttl time.Duration) bool {
	h.t.Helper()
	ok, err := h.s.Fill(h.ctx(), key, token, e, ttl)
	if err != nil {
		h.t.Fatalf("Fill(%q, %q, %s): %v", key, token, Show(e), err)
	}
	return ok
}

func (h *harness) lock(key string, ttl time.Duration) {
	h.t.Helper()
	if err := h.s.Lock(h.ctx(), key, ttl); err != nil {
		h.t.Fatalf("Lock(%q): %v", key, err)
	}
}

func (h *harness) unlock(key string) {
	h.t.Helper()
	if err := h.s.Unlock(h.ctx(), key); err != nil {
		h.t.Fatalf("Unlock(%q): %v", key, err)
	}
}

func (h *harness) release(key, token string) {
	h.t.Helper()
	if err := h.s.Release(h.ctx(), key, token); err != nil {
		h.t.Fatalf("Release(%q): %v", key, err)
	}
}

func (h *harness) del(key string) {
	h.t.Helper()
	if err := h.s.Delete(h.ctx(), key); err != nil {
		h.t.Fatalf("Delete(%q): %v", key, err)
	}
}

// want fails the test unless key holds e.
func (h *harness) want(key string, e store.Entry) {
	h.t.Helper()
	if got := h.get(key); !Same(got, e) {
		h.t.Fatalf("%q holds %s, want %s", key, Show(got), Show(e))
	}
}

// setupToken leases the keys that set fills with a value or not-found.
const setupToken = "setup-token"

// set puts e into key for ttl, through the protocol: a lease then a fill for
// a value or not-found, a lease for a lease, e.Locks locks for a lock. With
// a long ttl it checks the result, so a broken setup is reported as such.
func (h *harness) set(key string, e store.Entry, ttl time.Duration) {
	h.t.Helper()
	switch e.Kind {
	case store.Absent:
	case store.CachedRow, store.CachedNotFound:
		if ok, cur := h.lease(key, setupToken, ttl); !ok {
			h.t.Fatalf("setup: Lease(%q) on a fresh key failed, key holds %s", key, Show(cur))
		}
		if !h.fill(key, setupToken, e, ttl) {
			h.t.Fatalf("setup: Fill(%q) of our own lease failed", key)
		}
	case store.Leased:
		if ok, cur := h.lease(key, e.Token, ttl); !ok {
			h.t.Fatalf("setup: Lease(%q) on a fresh key failed, key holds %s", key, Show(cur))
		}
	case store.Locked:
		for range e.Locks {
			h.lock(key, ttl)
		}
	}
	if ttl >= longTTL {
		if got := h.get(key); !Same(got, e) {
			h.t.Fatalf("setup: %q holds %s, want %s", key, Show(got), Show(e))
		}
	}
}

// retrySlow runs attempt with fresh keys until one reports that its
// timing-critical steps ran within a short TTL: on a loaded machine the TTL
// can otherwise run out before the step that relies on it. It fails the test
// if no attempt is fast enough.
func (h *harness) retrySlow(attempt func(key string) (inTime bool)) {
	h.t.Helper()
	for i := range 5 {
		if attempt(h.key(fmt.Sprintf("try%d", i))) {
			return
		}
	}
	h.t.Fatalf("five attempts in a row took longer than %v: the store (or the machine) is too slow for the protocol's timing", shortTTL*3/4)
}

// inTime reports whether less than most of shortTTL has passed since start.
func inTime(start time.Time) bool { return time.Since(start) < shortTTL*3/4 }

// Entries for the states a key can be in.
var (
	absent   = store.Entry{}
	value    = store.Entry{Kind: store.CachedRow, Value: []byte("the value")}
	notFound = store.Entry{Kind: store.CachedNotFound}
	leased   = store.Entry{Kind: store.Leased, Token: "token-a"}
	locked   = store.Entry{Kind: store.Locked, Locks: 3}
	locked1  = store.Entry{Kind: store.Locked, Locks: 1}
)

// states are the non-absent states, named for subtests.
var states = []struct {
	name string
	e    store.Entry
}{
	{"value", value},
	{"not-found", notFound},
	{"lease", leased},
	{"lock", locked},
}

// Same reports whether a store returned the state want: got is of the same
// kind, a value holds bytes (never nil) equal to want's, a lease the same
// token, a lock the same count; fields that do not belong to the kind are
// ignored. Tests of a store's own behaviour use it beside the suite.
func Same(got, want store.Entry) bool {
	a, b := got, want
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case store.CachedRow:
		return a.Value != nil && bytes.Equal(a.Value, b.Value)
	case store.Leased:
		return a.Token == b.Token
	case store.Locked:
		return a.Locks == b.Locks
	}
	return true
}

// Show describes e for failure messages.
func Show(e store.Entry) string {
	switch e.Kind {
	case store.CachedRow:
		if len(e.Value) > 32 {
			return fmt.Sprintf("value(%d bytes: %x...)", len(e.Value), e.Value[:32])
		}
		return fmt.Sprintf("value(%q)", e.Value)
	case store.Leased:
		return fmt.Sprintf("leased(%q)", e.Token)
	case store.Locked:
		return fmt.Sprintf("locked(%d)", e.Locks)
	}
	return e.Kind.String()
}

func getTests() []testCase {
	return []testCase{
		{"absent", func(h *harness) { h.want(h.key("k"), absent) }},
	}
}

func leaseTests() []testCase {
	cases := []testCase{
		{"absent", func(h *harness) {
			k := h.key("k")
			if ok, cur := h.lease(k, "t1", longTTL); !ok {
				h.t.Fatalf("Lease on an absent key failed, reporting %s", Show(cur))
			}
			h.want(k, store.Entry{Kind: store.Leased, Token: "t1"})
		}},
	}
	for _, st := range states {
		cases = append(cases, testCase{st.name, leaseReports(st.e, "token-b")})
	}
	// a reader that asks again for its own lease does not get it twice
	return append(cases, testCase{"own-lease", leaseReports(leased, leased.Token)})
}

// leaseReports checks that Lease with token on a key holding e fails,
// reports e, and leaves the key as it was.
func leaseReports(e store.Entry, token string) func(h *harness) {
	return func(h *harness) {
		k := h.key("k")
		h.set(k, e, longTTL)
		ok, cur := h.lease(k, token, longTTL)
		if ok {
			h.t.Fatalf("Lease(%q) on %s succeeded", token, Show(e))
		}
		if !Same(cur, e) {
			h.t.Errorf("Lease(%q) on %s reported %s", token, Show(e), Show(cur))
		}
		h.want(k, e)
	}
}
