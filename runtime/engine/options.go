package engine

import (
	"fmt"
	"time"

	"github.com/cachegen/cachegen/runtime/observe"
)

// Option configures a repository. An option given a value out of range (a
// non-positive duration or cap, an invalid prefix, an unknown dialect, a
// nil observer) makes the repository's constructor fail with an error that
// names the option and the value.
type Option func(*options)

type options struct {
	prefix       string
	ttl          time.Duration
	notFoundTTL  time.Duration
	leaseTTL     time.Duration
	leaseWait    time.Duration
	lockTTL      time.Duration
	phaseTimeout time.Duration
	fillTimeout  time.Duration
	allCap       int
	dialect      Dialect
	observers    []observe.Observer
	registry     *Registry  // where loaders find related repositories (WithRegistry)
	near         *NearCache // the in-process tier in front of the store (WithNearCache)
	verify       bool       // check the table against the database when made (WithVerify)
	builds       buildOptions
	noShortcuts  bool  // WithoutWriteShortcuts
	err          error // the first option given a bad value: NewTable returns it
}

// fail records that option was given a bad value; the first one recorded
// is what the constructor reports.
func (o *options) fail(option string, value any, why string) {
	if o.err == nil {
		o.err = fmt.Errorf("cachegen: %s(%v): %s", option, value, why)
	}
}

// positive sets *dst to d, or records that option needs a positive
// duration.
func (o *options) positive(dst *time.Duration, option string, d time.Duration) {
	if d <= 0 {
		o.fail(option, d, "want a positive duration")
		return
	}
	*dst = d
}

func defaultOptions() options {
	return options{
		prefix:       "cg",
		ttl:          10 * time.Minute,
		notFoundTTL:  30 * time.Second,
		leaseTTL:     5 * time.Second,
		leaseWait:    50 * time.Millisecond,
		lockTTL:      30 * time.Second,
		phaseTimeout: 50 * time.Millisecond,
		fillTimeout:  30 * time.Second,
		allCap:       10000,
	}
}

// WithPrefix sets the first segment of every key (default "cg"), so that
// several applications or test runs can share one store. It may hold
// letters, digits, ':' and any of -._~@+/; the repository's constructor
// rejects an empty prefix and any other byte (one keys would have to
// escape).
func WithPrefix(p string) Option {
	return func(o *options) {
		if err := checkPrefix(p); err != nil {
			o.fail("WithPrefix", fmt.Sprintf("%q", p), err.Error())
			return
		}
		o.prefix = p
	}
}

// WithTTL sets how long a cached row lives (default: the model's ttl=, or
// 10 minutes). Staleness after a fault that skipped an invalidation is
// bounded by it.
func WithTTL(d time.Duration) Option {
	return func(o *options) { o.positive(&o.ttl, "WithTTL", d) }
}

// WithNotFoundTTL sets how long a confirmed miss is cached (default 30s).
func WithNotFoundTTL(d time.Duration) Option {
	return func(o *options) { o.positive(&o.notFoundTTL, "WithNotFoundTTL", d) }
}

// WithLeaseTTL sets how long a reader's fill lease lives (default 5s). It
// should exceed a normal read query; a lease that runs out only costs a
// second query, never correctness.
func WithLeaseTTL(d time.Duration) Option {
	return func(o *options) { o.positive(&o.leaseTTL, "WithLeaseTTL", d) }
}

// WithLeaseWait sets how long a reader that finds another reader's lease
// waits for its value before it reads the database itself (default 50ms).
func WithLeaseWait(d time.Duration) Option {
	return func(o *options) { o.positive(&o.leaseWait, "WithLeaseWait", d) }
}

// WithLockTTL sets how long a writer's lock lives (default 30s): well above
// a normal transaction, so that a writer that dies between commit and
// release keeps the key from filling for at most this long.
func WithLockTTL(d time.Duration) Option {
	return func(o *options) { o.positive(&o.lockTTL, "WithLockTTL", d) }
}

// WithPhaseTimeout sets how long each store phase of a write may take
// (default 50ms): taking the write's locks before commit, while the
// database holds its row locks, and releasing them after. A phase is one
// attempt, never retried; a store that has not answered by then fails the
// phase: the write commits all the same, and its keys wait for the retry
// queue (reads of them in this process skip the store until it lands).
// Set it well above the store's round trip under load: every phase that
// runs out costs those keys their cached copies for a while, and a store
// that keeps running out opens the circuit breaker.
func WithPhaseTimeout(d time.Duration) Option {
	return func(o *options) { o.positive(&o.phaseTimeout, "WithPhaseTimeout", d) }
}

// WithAllCap sets the largest table All caches (default 10,000 rows); a
// larger table is read from the database on every call, counted in
// Stats.AllOverCap.
func WithAllCap(n int) Option {
	return func(o *options) {
		if n <= 0 {
			o.fail("WithAllCap", n, "want a positive number of rows")
			return
		}
		o.allCap = n
	}
}

// WithDialect sets the SQL dialect instead of deriving it from the
// driver name of the *sqlx.DB.
func WithDialect(d Dialect) Option {
	return func(o *options) {
		if d < SQLite || d > MySQL {
			o.fail("WithDialect", d, "want runtime.SQLite, runtime.Postgres or runtime.MySQL")
			return
		}
		o.dialect = d
	}
}

// WithoutWriteShortcuts makes every write run in a transaction, every
// update and delete reading the old row under the row lock (SELECT … FOR
// UPDATE) before its statement, as before the shortcuts of shortcuts.go:
// for comparing the two paths, and for a database whose RETURNING or
// affected-row counts cannot be trusted.
func WithoutWriteShortcuts() Option {
	return func(o *options) { o.noShortcuts = true }
}
