package engine

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachegen/cachegen/runtime/observe"
	"github.com/cachegen/cachegen/runtime/store"
)

// errBreakerOpen is what store calls return while the breaker is open.
var errBreakerOpen = errors.New("cachegen: store skipped: circuit breaker open after repeated errors")

// Breaker settings: how many store errors in a row open it, and how long
// it stays open before one call probes the store again. The pause doubles
// while probes fail, up to the maximum.
const (
	breakerThreshold = 5
	breakerFirstOpen = 500 * time.Millisecond
	breakerMaxOpen   = 30 * time.Second
)

// breaker is a circuit breaker in front of a store: after repeated errors
// every call fails at once for a cool-down instead of waiting for a dead
// store's timeout, so a read goes straight to the database. After the
// cool-down one call at a time probes the store; a success closes the
// breaker.
type breaker struct {
	inner  store.Store
	stats  *counters
	notify func(kind observe.EventKind, key string, err error)

	// healthy is true while the breaker is closed with no recent error: the
	// common case, decided without the mutex.
	healthy atomic.Bool

	mu       sync.Mutex
	failures int       // consecutive errors while closed
	open     bool      // open or half-open
	probing  bool      // a probe call is under way
	until    time.Time // open: no call before this
	pause    time.Duration
}

var _ store.Store = (*breaker)(nil)

// allow reports whether a call may go to the store now.
func (b *breaker) allow() bool {
	if b.healthy.Load() {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return true
	}
	if b.probing || time.Now().Before(b.until) {
		return false
	}
	b.probing = true
	return true
}

// done records the outcome of an allowed call. Context errors say nothing
// about the store and are not counted.
func (b *breaker) done(err error) error {
	if err == nil && b.healthy.Load() {
		return nil
	}
	if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) && !isStoreTimeout(err)) {
		b.mu.Lock()
		b.probing = false
		b.mu.Unlock()
		return err
	}
	b.mu.Lock()
	var changed observe.EventKind
	b.probing = false
	switch {
	case err == nil:
		if b.open {
			b.open = false
			b.stats.breakerCloses.Add(1)
			changed = observe.EventBreakerClose
		}
		b.failures, b.pause = 0, 0
		b.healthy.Store(true)
	case b.open: // a failed probe
		b.pause = min(b.pause*2, breakerMaxOpen)
		b.until = time.Now().Add(b.pause)
	default:
		b.healthy.Store(false)
		if b.failures++; b.failures >= breakerThreshold {
			b.open = true
			b.pause = breakerFirstOpen
			b.until = time.Now().Add(b.pause)
			b.stats.breakerOpens.Add(1)
			changed = observe.EventBreakerOpen
		}
	}
	b.mu.Unlock()
	if changed != 0 && b.notify != nil {
		b.notify(changed, "", err)
	}
	return err
}

// isStoreTimeout tells a store's own I/O timeout (which counts against the
// store) from the caller's deadline (which does not). Network clients
// report timeouts as net.Error with Timeout() true.
func isStoreTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// isOpen reports whether the breaker currently skips the store.
func (b *breaker) isOpen() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open
}

func (b *breaker) Get(ctx context.Context, key string) (store.Entry, error) {
	if !b.allow() {
		return store.Entry{}, errBreakerOpen
	}
	e, err := b.inner.Get(ctx, key)
	return e, b.done(err)
}

func (b *breaker) Lease(ctx context.Context, key, token string, ttl time.Duration) (bool, store.Entry, error) {
	if !b.allow() {
		return false, store.Entry{}, errBreakerOpen
	}
	ok, cur, err := b.inner.Lease(ctx, key, token, ttl)
	return ok, cur, b.done(err)
}

func (b *breaker) Fill(ctx context.Context, key, token string, e store.Entry, ttl time.Duration) (bool, error) {
	if !b.allow() {
		return false, errBreakerOpen
	}
	ok, err := b.inner.Fill(ctx, key, token, e, ttl)
	return ok, b.done(err)
}

func (b *breaker) Release(ctx context.Context, key, token string) error {
	if !b.allow() {
		return errBreakerOpen
	}
	return b.done(b.inner.Release(ctx, key, token))
}

func (b *breaker) Lock(ctx context.Context, key string, ttl time.Duration) error {
	if !b.allow() {
		return errBreakerOpen
	}
	return b.done(b.inner.Lock(ctx, key, ttl))
}

func (b *breaker) Unlock(ctx context.Context, key string) error {
	if !b.allow() {
		return errBreakerOpen
	}
	return b.done(b.inner.Unlock(ctx, key))
}

func (b *breaker) Delete(ctx context.Context, key string) error {
	if !b.allow() {
		return errBreakerOpen
	}
	return b.done(b.inner.Delete(ctx, key))
}
