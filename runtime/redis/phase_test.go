package redis_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachegen/cachegen/internal/checkmodel"
	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/redis"
	cachestore "github.com/cachegen/cachegen/runtime/store"
)

// A dead store must not hold database locks: a write's store phases (its
// locks before commit, its releases after) are one attempt each, bounded by
// the phase timeout, whatever the client's retry and timeout settings. The
// tests below use go-redis's default retries (3 per command, 5 dials per
// connection) and count attempts where they land: connections the dead
// server accepted, dials the client made. None of them asserts a duration.

// hungServer is a Redis that accepts connections and never answers, until
// free is called: then it closes every connection, those to come included.
type hungServer struct {
	ln       net.Listener
	accepted atomic.Int64
	first    chan struct{} // closed at the first connection
	mu       sync.Mutex
	conns    []net.Conn
	freed    bool
}

func newHungServer(t *testing.T) *hungServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hungServer{ln: ln, first: make(chan struct{})}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if h.accepted.Add(1) == 1 {
				close(h.first)
			}
			h.mu.Lock()
			if h.freed {
				c.Close()
			} else {
				h.conns = append(h.conns, c)
				go func() { _, _ = c.Read(make([]byte, 1<<16)) }() // take what the client sends; answer nothing
			}
			h.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		h.free()
	})
	return h
}

func (h *hungServer) addr() string { return h.ln.Addr().String() }

func (h *hungServer) free() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.freed = true
	for _, c := range h.conns {
		c.Close()
	}
	h.conns = nil
}

// pipelineDone counts the pipelines a client finished, each after all the
// attempts go-redis made for it.
type pipelineDone struct{ done chan struct{} }

func (pipelineDone) DialHook(next goredis.DialHook) goredis.DialHook          { return next }
func (pipelineDone) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook { return next }
func (p pipelineDone) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		err := next(ctx, cmds)
		p.done <- struct{}{}
		return err
	}
}

// TestPhaseOneAttempt: against a server that never answers, with a client
// that would wait for a reply forever (ReadTimeout -1) and retry three
// times, Lock and Unlock return by their context's deadline, and each made
// exactly one attempt: one connection, and no retry once it broke. The
// same with a client that ends calls by their context's deadline itself
// (ContextTimeoutEnabled), whose phases run on the caller's goroutine.
func TestPhaseOneAttempt(t *testing.T) {
	t.Run("ReadTimeout -1", func(t *testing.T) {
		testPhaseOneAttempt(t, func(addr string) *goredis.Options {
			return &goredis.Options{Addr: addr, ReadTimeout: -1}
		})
	})
	t.Run("ContextTimeoutEnabled", func(t *testing.T) {
		testPhaseOneAttempt(t, func(addr string) *goredis.Options {
			return &goredis.Options{Addr: addr, ContextTimeoutEnabled: true}
		})
	})
}

func testPhaseOneAttempt(t *testing.T, client func(addr string) *goredis.Options) {
	h := newHungServer(t)
	c := goredis.NewClient(client(h.addr()))
	t.Cleanup(func() { c.Close() })
	done := pipelineDone{make(chan struct{}, 16)}
	c.AddHook(done)
	s := newStore(t, c)

	returned := make(chan error, 2)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		returned <- s.Lock(ctx, "k", time.Minute)
		ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		returned <- s.Unlock(ctx, "k")
	}()
	for _, op := range []string{"Lock", "Unlock"} {
		select {
		case err := <-returned:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%s on a server that never answers: %v, want the context's deadline", op, err)
			}
		case <-time.After(time.Minute): // a watchdog, not a measure: the deadline is 20ms
			t.Fatalf("%s waited on a server that never answers past its context's deadline (%d connections)", op, h.accepted.Load())
		}
	}
	// The two calls' commands are still waiting for a reply: break their
	// connections, and wait until go-redis has given up on both, retries
	// included.
	h.free()
	<-done.done
	<-done.done
	if n := h.accepted.Load(); n != 2 {
		t.Errorf("Lock and Unlock made %d connections, want 2: one attempt each", n)
	}
}

// phasesOnly passes a write's phases (LockMany, UnlockMany) to the Redis
// store and fails every other lock and unlock at once, without a round
// trip: those are the retry queue's, which is not under test and would
// otherwise add attempts of its own to the count.
type phasesOnly struct {
	*redis.Store
	locks, unlocks atomic.Int64 // phases run, keys in them
}

var errNotUnderTest = errors.New("not under test")

func (s *phasesOnly) LockMany(ctx context.Context, ops []cachestore.LockOp) {
	s.locks.Add(1)
	s.Store.LockMany(ctx, ops)
}

func (s *phasesOnly) UnlockMany(ctx context.Context, ops []cachestore.UnlockOp) {
	s.unlocks.Add(1)
	s.Store.UnlockMany(ctx, ops)
}

func (s *phasesOnly) Lock(context.Context, string, time.Duration) error { return errNotUnderTest }
func (s *phasesOnly) Unlock(context.Context, string) error              { return errNotUnderTest }

// openAccounts opens the checker's model on PostgreSQL, whose row locks a
// concurrent writer waits for, with one row.
func openAccounts(t *testing.T, store runtime.Store) (*checkmodel.AccountRepo, func(ctx context.Context) error) {
	db, _ := dbtest.OpenPostgres(t)
	db.MustExec(checkmodel.PostgresSchema)
	db.MustExec(`INSERT INTO accounts (id, email, org, handle, version) VALUES (1, 'a@x', 1, 'a', 1)`)
	// The build board's heartbeat would make a connection of its own:
	// these tests count the write phases' connections.
	repo, err := checkmodel.NewAccountRepo(db, store, runtime.WithPrefix(prefix(t)), runtime.WithPhaseTimeout(10*time.Millisecond), runtime.WithoutBuildBoard())
	if err != nil {
		t.Fatal(err)
	}
	other := func(ctx context.Context) error { // another writer of the same row, outside the repository
		_, err := db.ExecContext(ctx, `UPDATE accounts SET version = 3 WHERE id = 1`)
		return err
	}
	return repo, other
}

// TestSaveDeadStoreHung: a Save whose store accepts connections and never
// answers commits and returns while every connection still waits for its
// reply, and a concurrent writer of the same row gets the row lock: the
// transaction did not wait for the store. Each phase made one attempt.
func TestSaveDeadStoreHung(t *testing.T) {
	h := newHungServer(t)
	c := goredis.NewClient(&goredis.Options{Addr: h.addr(), ReadTimeout: -1})
	t.Cleanup(func() { c.Close() })
	done := pipelineDone{make(chan struct{}, 16)}
	c.AddHook(done)
	store := &phasesOnly{Store: newStore(t, c)}
	repo, other := openAccounts(t, store)

	saved := make(chan error, 1)
	go func() {
		saved <- repo.Save(context.Background(), &checkmodel.Account{ID: 1, Email: "a@x", Org: 1, Handle: "a", Version: 2})
	}()
	select {
	case <-h.first: // the lock phase reached the store: Save holds the row lock
	case err := <-saved:
		t.Fatalf("Save returned (%v) before it reached the store", err)
	}
	wrote := make(chan error, 1)
	go func() { wrote <- other(context.Background()) }()
	for range 2 {
		select {
		case err := <-saved:
			if err != nil {
				t.Fatalf("Save: %v", err)
			}
			saved = nil
		case err := <-wrote:
			if err != nil {
				t.Fatalf("the concurrent writer: %v", err)
			}
			wrote = nil
		case <-time.After(time.Minute): // a watchdog, not a measure: the phase timeout is 10ms
			t.Fatalf("the store never answered, and after a minute Save returned: %v, the concurrent writer got the row lock: %v (%d connections)",
				saved == nil, wrote == nil, h.accepted.Load())
		}
	}
	// Both returned while no connection had had an answer. Now break them
	// and let go-redis give up on the two phases, retries included.
	h.free()
	<-done.done
	<-done.done
	if l, u := store.locks.Load(), store.unlocks.Load(); l != 1 || u != 1 {
		t.Errorf("Save ran %d lock and %d release phases, want 1 and 1", l, u)
	}
	if n := h.accepted.Load(); n != 2 {
		t.Errorf("Save's two phases made %d connections, want 2: one attempt each", n)
	}
}

// TestSaveDeadStoreRefused: a Save whose store refuses connections (a
// closed port) dials once per phase, where go-redis alone would dial five
// times per connection and retry each command three times. The pool's dial
// loop is go-redis's own and goes on in the background after a phase gave
// up on it (nothing waits for it); its pause between dials is set long here
// so that the count at Save's return cannot include such a redial.
func TestSaveDeadStoreRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now
	var dials atomic.Int64
	third := make(chan struct{})
	c := goredis.NewClient(&goredis.Options{Addr: addr, DialerRetryTimeout: 10 * time.Second,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dials.Add(1) == 3 {
				close(third)
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}})
	t.Cleanup(func() { c.Close() })
	store := &phasesOnly{Store: newStore(t, c)}
	repo, other := openAccounts(t, store)

	saved := make(chan error, 1)
	go func() {
		saved <- repo.Save(context.Background(), &checkmodel.Account{ID: 1, Email: "a@x", Org: 1, Handle: "a", Version: 2})
	}()
	select {
	case err := <-saved:
		if err != nil {
			t.Fatalf("Save: %v", err)
		}
	case <-third:
		t.Fatal("Save dialed a third time before it returned: want one dial per phase, two in all")
	case <-time.After(time.Minute): // a watchdog, not a measure: the phase timeout is 10ms
		t.Fatalf("Save did not return within a minute (%d dials)", dials.Load())
	}
	if n := dials.Load(); n != 2 {
		t.Errorf("Save dialed %d times, want 2: one attempt per phase", n)
	}
	if l, u := store.locks.Load(), store.unlocks.Load(); l != 1 || u != 1 {
		t.Errorf("Save ran %d lock and %d release phases, want 1 and 1", l, u)
	}
	if err := other(context.Background()); err != nil {
		t.Fatalf("the next writer: %v", err)
	}
}
