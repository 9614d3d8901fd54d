package cdc

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/engine"
	"github.com/cachegen/cachegen/runtime/store"
)

// ConsumerOptions configure a Consumer.
type ConsumerOptions struct {
	// Open opens the change stream after a position (empty: from now), as
	// OpenPostgres or OpenMySQL do. The consumer calls it when it becomes
	// the leader and after every error that ends a stream.
	Open func(ctx context.Context, from Position) (Source, error)
	// Registry lists the tables to invalidate: the one the generated
	// NewRepos of every package of models was given (runtime.WithRegistry).
	// A repository built with it after NewConsumer is taken in before the
	// next transactions are applied, its table invalidated as a whole once.
	Registry *runtime.Registry
	// Store holds the leader lease and the acknowledged position: the
	// store the repositories cache in.
	Store runtime.Store
	// Name names the database's lease and position keys
	// ("cachegen:cdc:<Name>:…"): every consumer of one database uses the
	// same name, and a store shared by several databases needs one name per
	// database. Required.
	Name string
	// Schema is the schema (PostgreSQL) or database (MySQL) of the models
	// whose table name is not qualified (default "public").
	Schema string
	// LeaseTTL bounds how long the database has no active consumer after
	// its leader dies: a standby takes over within LeaseTTL and a third of
	// it (default 10s). A leader that cannot renew its lease for LeaseTTL
	// (the store is unreachable) steps down.
	LeaseTTL time.Duration
	// RetryPause is the longest pause between attempts after a store or
	// stream error (default 2s; the first pause is 50ms, doubling).
	RetryPause time.Duration
	// ReadAhead bounds the row changes read from the stream ahead of
	// their invalidation (default DefaultMaxChanges): the transactions
	// received while a group is applied make the next group, so a busy
	// stream costs one drop per table and one acknowledgement per group,
	// not per transaction. A larger transaction is still read, alone.
	ReadAhead int
	// Logger receives leadership changes, lost positions, whole-table
	// invalidations and errors; nil discards them.
	Logger *slog.Logger
}

// ConsumerStats is what a Consumer did since it was made.
type ConsumerStats struct {
	Leader       bool          // this consumer holds the lease now
	Position     Position      // the last position acknowledged
	Transactions uint64        // transactions applied and acknowledged
	Events       uint64        // row changes applied
	Keys         uint64        // keys invalidated (All keys included)
	WholeTables  uint64        // tables invalidated as a whole (collapsed transactions, truncates, rows without their key columns, lost positions)
	Lag          time.Duration // of the last transaction: from its commit to its keys invalidated
	MaxLag       time.Duration // the largest Lag seen
	Groups       uint64        // groups of transactions applied together (each: one drop per table, one ack)
	Retries      uint64        // groups applied again after a store error
	Reopens      uint64        // streams opened again after an error
	PositionLost uint64        // times the position was lost (or missing from the store) and every table invalidated
}

// Consumer turns a database's change stream into invalidations: for every
// changed row, exactly the keys a repository write of that change would
// lock (the primary key, the old and new keys of every unique index, the
// All key, and the near caches' announcements), built from the row's
// values by the model's own key code. Run it in every app instance, or in a
// process of its own: a lease in the store makes one of them the leader,
// the only one that reads the stream.
//
// Delivery is at least once. A transaction's position is acknowledged
// (and stored) only after its keys are invalidated in the store; a store
// error means the same transaction is applied again, after a pause, never
// skipped. A leader that dies before it acknowledges leaves the position
// where it was, and the next leader reads the transaction again.
//
// What it cannot invalidate key by key it invalidates table-wide
// (runtime's InvalidateAll): a transaction collapsed for its size, a
// TRUNCATE, a row that lacks a key column (an old row without REPLICA
// IDENTITY FULL, an unchanged TOAST key value) or holds a value the model's
// field cannot take; and every registered table when the position is lost
// or missing from the store (first start, a flushed store), after the new
// stream is open, so that no change falls between the two.
type Consumer struct {
	opts   ConsumerOptions
	log    *slog.Logger
	tables map[string][]engine.ChangeTable // by schema-qualified name
	all    []engine.ChangeTable
	token  string

	mu    sync.Mutex
	stats ConsumerStats
}

// NewConsumer checks opts and returns a consumer; Run starts it.
func NewConsumer(opts ConsumerOptions) (*Consumer, error) {
	switch {
	case opts.Open == nil:
		return nil, errors.New("cdc: NewConsumer: no Open")
	case opts.Registry == nil:
		return nil, errors.New("cdc: NewConsumer: no Registry")
	case opts.Store == nil:
		return nil, errors.New("cdc: NewConsumer: no Store")
	case opts.Name == "":
		return nil, errors.New("cdc: NewConsumer: no Name")
	}
	if opts.Schema == "" {
		opts.Schema = "public"
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 10 * time.Second
	}
	if opts.RetryPause <= 0 {
		opts.RetryPause = 2 * time.Second
	}
	if opts.ReadAhead <= 0 {
		opts.ReadAhead = DefaultMaxChanges
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Consumer{opts: opts, log: log.With("cdc", opts.Name), tables: map[string][]engine.ChangeTable{}, token: rand.Text()}
	for _, t := range opts.Registry.ChangeTables() {
		c.addTable(t)
	}
	if len(c.all) == 0 {
		return nil, errors.New("cdc: NewConsumer: the registry lists no table: build the repositories with NewRepos and runtime.WithRegistry(registry) first")
	}
	return c, nil
}

// addTable maps t under its schema-qualified name.
func (c *Consumer) addTable(t engine.ChangeTable) {
	name := t.TableName()
	if !strings.Contains(name, ".") {
		name = c.opts.Schema + "." + name
	}
	c.tables[name] = append(c.tables[name], t)
	c.all = append(c.all, t)
}

// newTables maps the tables of repositories built with the registry after
// NewConsumer, each first invalidated as a whole: the transactions applied
// before did not reach its keys, which other processes may have cached.
func (c *Consumer) newTables(ctx context.Context) error {
	listed := c.opts.Registry.ChangeTables() // in the order made: new ones last
	for _, t := range listed[len(c.all):] {
		c.log.Warn("cdc: table invalidated as a whole", "table", t.TableName(), "reason", "its repository was built after the consumer")
		if err := t.InvalidateAll(ctx); err != nil {
			return fmt.Errorf("cdc: invalidate %s: %w", t.TableName(), err)
		}
		c.addTable(t)
		c.update(func(s *ConsumerStats) { s.WholeTables++ })
	}
	return nil
}

// Stats returns what the consumer did so far.
func (c *Consumer) Stats() ConsumerStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

func (c *Consumer) update(f func(s *ConsumerStats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

func (c *Consumer) leaseKey() string    { return "cachegen:cdc:" + c.opts.Name + ":leader" }
func (c *Consumer) positionKey() string { return "cachegen:cdc:" + c.opts.Name + ":position" }

// Run competes for the lease and, while it holds it, applies the stream.
// It returns ctx.Err() once ctx ends, giving the lease back.
func (c *Consumer) Run(ctx context.Context) error {
	for {
		if c.acquire(ctx) {
			c.lead(ctx)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(c.opts.LeaseTTL / 3):
		}
	}
}

// acquire takes the lease if nobody holds it (or this consumer does).
func (c *Consumer) acquire(ctx context.Context) bool {
	ok, cur, err := c.opts.Store.Lease(ctx, c.leaseKey(), c.token, c.opts.LeaseTTL)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("cdc: lease", "err", err)
		}
		return false
	}
	return ok || (cur.Kind == store.Leased && cur.Token == c.token)
}

// renew extends the lease: given back and taken again at once (the store's
// one-key steps have no "extend if mine"). A standby that takes it in
// between becomes the leader; two leaders for a moment only repeat
// invalidations. It reports whether this consumer still leads.
func (c *Consumer) renew(ctx context.Context) (bool, error) {
	e, err := c.opts.Store.Get(ctx, c.leaseKey())
	if err != nil {
		return true, err
	}
	if e.Kind == store.Leased && e.Token != c.token {
		return false, nil
	}
	if e.Kind == store.Leased {
		if err := c.opts.Store.Release(ctx, c.leaseKey(), c.token); err != nil {
			return true, err
		}
	}
	ok, _, err := c.opts.Store.Lease(ctx, c.leaseKey(), c.token, c.opts.LeaseTTL)
	if err != nil {
		return true, err
	}
	return ok, nil
}

// lead applies the stream until ctx ends or the lease is lost.
func (c *Consumer) lead(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.update(func(s *ConsumerStats) { s.Leader = true })
	c.log.Info("cdc: leader")
	var wg sync.WaitGroup
	wg.Go(func() {
		defer cancel()
		c.keepLease(ctx)
	})
	c.stream(ctx)
	cancel()
	wg.Wait()
	c.update(func(s *ConsumerStats) { s.Leader = false })
	// Give the lease back so a standby need not wait for it to run out.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.LeaseTTL/3)
	defer rcancel()
	_ = c.opts.Store.Release(rctx, c.leaseKey(), c.token)
	c.log.Info("cdc: no longer leader")
}

// keepLease renews the lease every third of its TTL until ctx ends, and
// returns when it is lost: taken by another consumer, or not renewed for
// a whole TTL.
func (c *Consumer) keepLease(ctx context.Context) {
	renewed := time.Now()
	tick := time.NewTicker(c.opts.LeaseTTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rctx, cancel := context.WithTimeout(ctx, c.opts.LeaseTTL/3)
		mine, err := c.renew(rctx)
		cancel()
		switch {
		case err == nil && mine:
			renewed = time.Now()
		case err == nil:
			c.log.Warn("cdc: lease taken by another consumer")
			return
		case time.Since(renewed) >= c.opts.LeaseTTL:
			c.log.Warn("cdc: lease not renewed for its whole TTL: stepping down", "err", err)
			return
		}
	}
}

// stream opens the source, applies it and reopens it after errors, until
// ctx ends.
func (c *Consumer) stream(ctx context.Context) {
	pause := time.Duration(0)
	for ctx.Err() == nil {
		if pause > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(pause):
			}
			c.update(func(s *ConsumerStats) { s.Reopens++ })
		}
		before := c.Stats().Transactions
		err := c.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if c.Stats().Transactions > before {
			pause = 0 // a stream that applied something starts the pauses over
		}
		pause = min(max(2*pause, 50*time.Millisecond), c.opts.RetryPause)
		c.log.Warn("cdc: stream ended, reopening", "err", err, "pause", pause)
	}
}

// session reads one stream from the stored position until an error. A
// reader goroutine calls Next ahead of the applier, up to ReadAhead
// changes; the applier takes every transaction received so far as one
// group, drops the keys of the whole group at once, then acknowledges and
// stores the group's last position. A transaction's position is never
// acknowledged before its keys are dropped, and a key changed by several
// transactions of a group is dropped once, after all of them committed.
func (c *Consumer) session(ctx context.Context) error {
	from, known, err := c.loadPosition(ctx)
	if err != nil {
		return err
	}
	src, err := c.opts.Open(ctx, from)
	if errors.Is(err, ErrPositionLost) {
		c.log.Warn("cdc: position lost: every table is invalidated as a whole", "position", from, "err", err)
		known = false
		src, err = c.opts.Open(ctx, "")
	}
	if err != nil {
		return err
	}
	defer src.Close()
	if !known {
		// Nothing says what changed before this stream's start: drop every
		// table, now that the stream covers what follows. The position
		// stays unknown until the first transaction's: a leader that dies
		// before it does all this again.
		if err := c.invalidateAll(ctx); err != nil {
			return err
		}
		c.update(func(s *ConsumerStats) { s.PositionLost++ })
	}
	ctx, cancel := context.WithCancel(ctx)
	q := newReadQueue(c.opts.ReadAhead)
	var wg sync.WaitGroup
	wg.Go(func() { q.read(ctx, src) })
	defer func() { cancel(); wg.Wait() }() // before src.Close
	for {
		group, err := q.take(ctx)
		if errors.Is(err, ErrPositionLost) {
			c.log.Warn("cdc: position lost: every table is invalidated as a whole", "position", from, "err", err)
			if derr := c.opts.Store.Delete(ctx, c.positionKey()); derr != nil {
				return derr
			}
			return err
		}
		if err != nil {
			return err
		}
		if err := c.applyRetrying(ctx, group); err != nil {
			return err
		}
		last := group[len(group)-1].Position
		if err := src.Ack(ctx, last); err != nil {
			return err
		}
		if err := c.storePosition(ctx, last); err != nil {
			return err
		}
		q.done(group)
		c.update(func(s *ConsumerStats) { s.Position = last; s.Transactions += uint64(len(group)); s.Groups++ })
		from = last
	}
}

// applyRetrying applies a group of transactions until the store takes it,
// pausing between attempts; only ctx ending stops it.
func (c *Consumer) applyRetrying(ctx context.Context, group []*Batch) error {
	pause := 50 * time.Millisecond
	for {
		err := c.apply(ctx, group)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.log.Warn("cdc: invalidation failed: the transactions are applied again", "position", group[len(group)-1].Position, "transactions", len(group), "err", err, "pause", pause)
		c.update(func(s *ConsumerStats) { s.Retries++ })
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, c.opts.RetryPause)
	}
}

// apply invalidates what the changes of a group of transactions touch:
// every table's keys gathered from all of them, each dropped once, the
// tables in parallel.
func (c *Consumer) apply(ctx context.Context, group []*Batch) error {
	if err := c.newTables(ctx); err != nil {
		return err
	}
	keys := map[engine.ChangeTable][]string{}
	whole := map[engine.ChangeTable]string{} // the reason
	wholeTable := func(name, reason string) {
		for _, t := range c.tables[name] {
			if _, ok := whole[t]; !ok {
				whole[t] = reason
			}
		}
	}
	var events int
	for _, b := range group {
		events += len(b.Changes)
		if b.Collapsed {
			for _, name := range b.Tables {
				wholeTable(name, "a transaction too large to hold")
			}
		}
		for _, ch := range b.Changes {
			if ch.Op == Truncate {
				wholeTable(ch.Table, "truncate")
				continue
			}
			for _, t := range c.tables[ch.Table] {
				if _, ok := whole[t]; ok {
					continue
				}
				ks, err := changeKeys(t, ch)
				if err != nil {
					whole[t] = err.Error()
					continue
				}
				keys[t] = append(keys[t], ks...)
			}
		}
	}
	last := group[len(group)-1]
	var n, w atomic.Uint64
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for t, reason := range whole {
		c.log.Warn("cdc: table invalidated as a whole", "table", t.TableName(), "reason", reason, "position", last.Position)
		wg.Go(func() {
			if err := t.InvalidateAll(ctx); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			w.Add(1)
		})
	}
	for t, ks := range keys {
		if _, ok := whole[t]; ok {
			continue
		}
		slices.Sort(ks)
		ks = slices.Compact(ks)
		wg.Go(func() {
			if err := t.DropKeys(ctx, ks); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			n.Add(uint64(len(ks)) + 1) // and the All key
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	now := time.Now()
	c.update(func(s *ConsumerStats) {
		s.Events += uint64(events)
		s.Keys += n.Load()
		s.WholeTables += w.Load()
		for _, b := range group {
			if !b.Commit.IsZero() {
				s.Lag = now.Sub(b.Commit)
				s.MaxLag = max(s.MaxLag, s.Lag)
			}
		}
	})
	return nil
}

// changeKeys lists the keys of a row change: those of its old row and of
// its new one. An update whose old row the stream left out (the primary
// key did not change and the table has no REPLICA IDENTITY FULL) has its
// old unique values unknown: an error, unless the table has no unique
// index.
func changeKeys(t engine.ChangeTable, ch Change) ([]string, error) {
	var keys []string
	for _, row := range []map[string]any{ch.Old, ch.New} {
		if row == nil {
			continue
		}
		ks, err := t.RowKeys(row)
		if err != nil {
			return nil, err
		}
		keys = append(keys, ks...)
	}
	if ch.Op == Update && ch.Old == nil && len(keys) > 1 {
		return nil, fmt.Errorf("%w: an update without its old row, on a table with unique indexes", engine.ErrRowIncomplete)
	}
	return keys, nil
}

// invalidateAll drops every registered table as a whole.
func (c *Consumer) invalidateAll(ctx context.Context) error {
	for _, t := range c.all {
		if err := t.InvalidateAll(ctx); err != nil {
			return fmt.Errorf("cdc: invalidate %s: %w", t.TableName(), err)
		}
	}
	c.update(func(s *ConsumerStats) { s.WholeTables += uint64(len(c.all)) })
	return nil
}

// positionTTL is how long a stored position lives without a transaction
// to move it: one that expired counts as lost (every table invalidated).
const positionTTL = 30 * 24 * time.Hour

// loadPosition reads the stored position; known is false when there is
// none.
func (c *Consumer) loadPosition(ctx context.Context) (pos Position, known bool, err error) {
	e, err := c.opts.Store.Get(ctx, c.positionKey())
	if err != nil {
		return "", false, fmt.Errorf("cdc: read the position: %w", err)
	}
	if e.Kind != store.CachedRow {
		return "", false, nil
	}
	s, ok := strings.CutPrefix(string(e.Value), "cdc-position:")
	if !ok {
		return "", false, nil
	}
	return Position(s), true, nil
}

// storePosition writes pos with the store's one-key steps: delete, lease,
// fill. Only the leader writes it; a crash between the steps leaves no
// position, which the next leader treats as lost.
func (c *Consumer) storePosition(ctx context.Context, pos Position) error {
	key := c.positionKey()
	if err := c.opts.Store.Delete(ctx, key); err != nil {
		return fmt.Errorf("cdc: store the position: %w", err)
	}
	tok := rand.Text()
	ok, _, err := c.opts.Store.Lease(ctx, key, tok, time.Minute)
	if err == nil && ok {
		ok, err = c.opts.Store.Fill(ctx, key, tok, store.Entry{Kind: store.CachedRow, Value: []byte("cdc-position:" + string(pos))}, positionTTL)
	}
	if err != nil {
		return fmt.Errorf("cdc: store the position: %w", err)
	}
	if !ok {
		return errors.New("cdc: store the position: another writer took its key")
	}
	return nil
}
