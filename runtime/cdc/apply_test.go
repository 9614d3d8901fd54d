package cdc

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
	"github.com/cachegen/cachegen/runtime/store"
)

// fakeSource hands out the batches sent to it and records the acks.
type fakeSource struct {
	batches chan *Batch
	calls   atomic.Int64 // Next calls begun
	mu      sync.Mutex
	acked   []Position
}

func (s *fakeSource) Next(ctx context.Context) (*Batch, error) {
	s.calls.Add(1)
	select {
	case b := <-s.batches:
		return b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *fakeSource) Ack(_ context.Context, pos Position) error {
	s.mu.Lock()
	s.acked = append(s.acked, pos)
	s.mu.Unlock()
	return nil
}

func (s *fakeSource) Close() error { return nil }

// What the consumer cannot invalidate key by key it invalidates as a whole
// table, and only that: an update without its old row on a table with
// unique indexes, a row lacking a key column, a collapsed transaction, a
// truncate. A row lacking only other columns (an unchanged TOAST body) and
// a complete one go key by key; a table no model maps is skipped. Every
// batch is acknowledged, in order.
func TestConsumerConservative(t *testing.T) {
	sqlDB, _ := dbtest.OpenSQLite(t)
	mustExec(t, sqlDB, schema(t, "sqlite")...)
	mem := memoryStore(t)
	prefix := uniqueName()
	rs, reg := repos(t, &applyDB{db: sqlDB}, mem, prefix)
	src := &fakeSource{batches: make(chan *Batch)}
	d := &applyDB{db: sqlDB, schema: "public", open: func(context.Context, Position) (Source, error) { return src, nil }}
	c, _ := startConsumer(t, d, reg, mem, prefix)
	ready(t, c)
	ctx := context.Background()
	u := &model.User{Email: "ann@x", OrgID: 1, Handle: "ann", Name: "Ann"}
	if err := rs.Users.Save(ctx, u); err != nil {
		t.Fatal(err)
	}
	row := map[string]any{"id": u.ID, "email": "ann@x", "org_id": int64(1), "handle": "ann", "name": "Ann"}
	without := func(col string) map[string]any {
		r := map[string]any{}
		for k, v := range row {
			if k != col {
				r[k] = v
			}
		}
		return r
	}
	pkKey := fmt.Sprintf("%s:users:id=%d", prefix, u.ID)
	for i, cs := range []struct {
		name  string
		batch Batch
		whole uint64 // tables invalidated as a whole
	}{
		{"full images", Batch{Changes: []Change{{Table: "public.users", Op: Update, Old: row, New: row}}}, 0},
		{"no old row", Batch{Changes: []Change{{Table: "public.users", Op: Update, New: row, Partial: true}}}, 1},
		{"unchanged non-key column", Batch{Changes: []Change{{Table: "public.users", Op: Update, Old: row, New: without("name"), Unknown: []string{"name"}}}}, 0},
		{"unchanged key column", Batch{Changes: []Change{{Table: "public.users", Op: Update, Old: row, New: without("email"), Unknown: []string{"email"}}}}, 1},
		{"old row of the primary key only", Batch{Changes: []Change{{Table: "public.users", Op: Delete, Old: map[string]any{"id": u.ID}, Partial: true}}}, 1},
		{"collapsed", Batch{Collapsed: true, Tables: []string{"public.users", "public.posts"}}, 2},
		{"truncate", Batch{Changes: []Change{{Table: "public.users", Op: Truncate}}}, 1},
		{"unmapped table", Batch{Changes: []Change{{Table: "public.other", Op: Insert, New: map[string]any{"x": 1}}}}, 0},
	} {
		if _, err := rs.Users.GetByID(ctx, u.ID); err != nil { // cached
			t.Fatal(err)
		}
		if e, err := mem.Get(ctx, pkKey); err != nil || e.Kind != store.CachedRow {
			t.Fatalf("%s: %s holds %v, %v before the change", cs.name, pkKey, e.Kind, err)
		}
		before := c.Stats()
		b := cs.batch
		b.Position, b.Commit = Position(fmt.Sprint(i)), time.Now()
		src.batches <- &b
		waitFor(t, cs.name+" applied", func() bool { return c.Stats().Transactions > before.Transactions })
		after := c.Stats()
		if got := after.WholeTables - before.WholeTables; got != cs.whole {
			t.Errorf("%s: %d tables invalidated as a whole, want %d", cs.name, got, cs.whole)
		}
		e, err := mem.Get(ctx, pkKey)
		if dropped := err == nil && e.Kind == store.Absent; dropped == (cs.name == "unmapped table") {
			t.Errorf("%s: %s holds %v after the change", cs.name, pkKey, e.Kind)
		}
		if after.Position != b.Position {
			t.Errorf("%s: position %q, want %q", cs.name, after.Position, b.Position)
		}
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if fmt.Sprint(src.acked) != "[0 1 2 3 4 5 6 7]" {
		t.Errorf("acks %v, want every batch in order", src.acked)
	}
}

// gateStore, once armed, holds every lock of a repository key until its
// gate opens, and logs each key released.
type gateStore struct {
	runtime.Store
	prefix string
	armed  atomic.Bool
	gate   chan struct{}
	log    *eventLog
}

// eventLog is what happened, in order: "drop KEY" (released), "ack POS",
// "next POS" (the source handed the batch out).
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) add(e string) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

func (g *gateStore) Lock(ctx context.Context, key string, ttl time.Duration) error {
	if g.armed.Load() && strings.HasPrefix(key, g.prefix+":") {
		select {
		case <-g.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g.Store.Lock(ctx, key, ttl)
}

func (g *gateStore) ScanKeys(ctx context.Context, prefix string, fn func(string) error) error {
	return g.Store.(store.KeyScanner).ScanKeys(ctx, prefix, fn)
}

func (g *gateStore) Unlock(ctx context.Context, key string) error {
	err := g.Store.Unlock(ctx, key)
	if err == nil && strings.HasPrefix(key, g.prefix+":") {
		g.log.add("drop " + key)
	}
	return err
}

// loggingSource is a fakeSource that logs what it hands out and what is
// acknowledged.
type loggingSource struct {
	*fakeSource
	log *eventLog
}

func (s loggingSource) Next(ctx context.Context) (*Batch, error) {
	b, err := s.fakeSource.Next(ctx)
	if err == nil {
		s.log.add("next " + string(b.Position))
	}
	return b, err
}

func (s loggingSource) Ack(ctx context.Context, pos Position) error {
	s.log.add("ack " + string(pos))
	return s.fakeSource.Ack(ctx, pos)
}

// The transactions received while a group is applied make the next group:
// its keys are dropped once each, after every transaction of it was read,
// and only its last position is acknowledged, after the drops. No position
// is acknowledged before the keys of every transaction up to it are
// released.
func TestConsumerGroupsTransactions(t *testing.T) {
	sqlDB, _ := dbtest.OpenSQLite(t)
	mustExec(t, sqlDB, schema(t, "sqlite")...)
	prefix := uniqueName()
	log := &eventLog{}
	store := &gateStore{Store: memoryStore(t), prefix: prefix, gate: make(chan struct{}), log: log}
	_, reg := repos(t, &applyDB{db: sqlDB}, store, prefix)
	src := loggingSource{&fakeSource{batches: make(chan *Batch)}, log}
	d := &applyDB{db: sqlDB, schema: "public", open: func(context.Context, Position) (Source, error) { return src, nil }}
	c, _ := startConsumer(t, d, reg, store, prefix)
	ready(t, c)
	store.armed.Store(true)

	row := func(id int64) map[string]any {
		return map[string]any{"id": id, "email": fmt.Sprintf("u%d@x", id), "org_id": int64(1), "handle": fmt.Sprint("u", id), "name": "U"}
	}
	update := func(pos string, id int64) *Batch {
		return &Batch{Position: Position(pos), Commit: time.Now(), Changes: []Change{{Table: "public.users", Op: Update, Old: row(id), New: row(id)}}}
	}
	// The first transaction's drops wait at the gate; the next ten arrive
	// meanwhile (the source's channel is unbuffered: each send returns once
	// the consumer's reader took the batch).
	src.batches <- update("1", 1)
	waitFor(t, "the first group to wait at the gate", func() bool { return c.Stats().Events == 0 && slices.Contains(log.snapshot(), "next 1") })
	for i := 2; i <= 10; i++ {
		src.batches <- update(fmt.Sprint(i), 2)
	}
	src.batches <- update("11", 3)
	// The reader queues a batch before it asks for the next one: once a
	// twelfth Next has begun, all eleven wait for the applier.
	waitFor(t, "the reader to queue the eleventh", func() bool { return src.calls.Load() >= 12 })
	if s := c.Stats(); s.Transactions != 0 {
		t.Fatalf("a transaction was applied with its drops held: %+v", s)
	}
	close(store.gate)
	waitFor(t, "every transaction applied", func() bool { return c.Stats().Transactions == 11 })

	s := c.Stats()
	if s.Groups != 2 || s.Events != 11 || s.Position != "11" {
		t.Errorf("stats %+v: want 11 transactions in 2 groups, at position 11", s)
	}
	src.mu.Lock()
	acks := fmt.Sprint(src.acked)
	src.mu.Unlock()
	if acks != "[1 11]" {
		t.Errorf("acks %s, want each group's last position: [1 11]", acks)
	}
	events := log.snapshot()
	pk := func(id int) string { return fmt.Sprintf("drop %s:users:id=%d", prefix, id) }
	if n := count(events, pk(2)); n != 1 {
		t.Errorf("user 2's key, changed by 9 transactions of one group, dropped %d times, want once: %v", n, events)
	}
	// Every ack comes after the drops of each transaction up to it, and
	// those drops after the transaction was read.
	for _, cs := range []struct {
		ack   string
		drops []string
		after string
	}{{"ack 1", []string{pk(1)}, "next 1"}, {"ack 11", []string{pk(2), pk(3)}, "next 11"}} {
		at := slices.Index(events, cs.ack)
		read := slices.Index(events, cs.after)
		for _, drop := range cs.drops {
			if k := slices.Index(events[read+1:], drop); k < 0 || read+1+k > at {
				t.Errorf("%s: %s not between %s and it: %v", cs.ack, drop, cs.after, events)
			}
		}
	}
}

func count(events []string, e string) int {
	n := 0
	for _, x := range events {
		if x == e {
			n++
		}
	}
	return n
}

// A repository built with the registry after NewConsumer is taken in: its
// table invalidated as a whole once (the transactions applied before did
// not reach its keys), then key by key like the others.
func TestConsumerTablesAddedLater(t *testing.T) {
	sqlDB, _ := dbtest.OpenSQLite(t)
	mustExec(t, sqlDB, schema(t, "sqlite")...)
	mem := memoryStore(t)
	prefix := uniqueName()
	// The consumer starts with the posts' repository alone; the users'
	// comes later.
	reg := runtime.NewRegistry()
	if _, err := model.NewPostRepo(sqlDB, mem, runtime.WithPrefix(prefix), runtime.WithRegistry(reg)); err != nil {
		t.Fatal(err)
	}
	src := &fakeSource{batches: make(chan *Batch)}
	d := &applyDB{db: sqlDB, schema: "public", open: func(context.Context, Position) (Source, error) { return src, nil }}
	c, _ := startConsumer(t, d, reg, mem, prefix)
	ready(t, c)
	ctx := context.Background()

	users, err := model.NewUserRepo(sqlDB, mem, runtime.WithPrefix(prefix), runtime.WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	u := &model.User{Email: "ann@x", OrgID: 1, Handle: "ann", Name: "Ann"}
	if err := users.Save(ctx, u); err != nil {
		t.Fatal(err)
	}
	pkKey := fmt.Sprintf("%s:users:id=%d", prefix, u.ID)
	cached := func() bool {
		e, err := mem.Get(ctx, pkKey)
		return err == nil && e.Kind == store.CachedRow
	}
	row := map[string]any{"id": u.ID, "email": "ann@x", "org_id": int64(1), "handle": "ann", "name": "Ann"}
	for i, wantWhole := range []uint64{1, 0} { // users once; then key by key
		if _, err := users.GetByID(ctx, u.ID); err != nil || !cached() {
			t.Fatalf("round %d: %s not cached (%v)", i, pkKey, err)
		}
		before := c.Stats()
		src.batches <- &Batch{Position: Position(fmt.Sprint(i)), Commit: time.Now(), Changes: []Change{{Table: "public.users", Op: Update, Old: row, New: row}}}
		waitFor(t, "the batch applied", func() bool { return c.Stats().Transactions > before.Transactions })
		if cached() {
			t.Errorf("round %d: %s still cached: the later repository's keys were not dropped", i, pkKey)
		}
		if got := c.Stats().WholeTables - before.WholeTables; got != wantWhole {
			t.Errorf("round %d: %d tables invalidated as a whole, want %d", i, got, wantWhole)
		}
	}
}
