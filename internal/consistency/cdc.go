package consistency

// cdc.go: the -cdc run's change-stream consumer. One cdc.Consumer, on a
// runtime of its own (its own database handle and store client, outside the
// fault proxies), reads the database's change stream and invalidates what
// the Raw writers change; a recorder between it and its source notes when
// each version's batch was acknowledged, for invalidations.go.

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/cdc"
)

// cdcRecorder notes, for each accounts version a batch carried, when the
// consumer acknowledged the batch (its keys invalidated).
type cdcRecorder struct {
	now     func() int64
	stats   func() cdc.ConsumerStats
	mu      sync.Mutex
	pending []pendingBatch
	acked   map[int64]int64
	// whole: when the consumer had invalidated every table after a lost
	// position (as a new stream began to be read).
	whole []int64
}

type pendingBatch struct {
	pos      cdc.Position
	versions []int64
}

func (r *cdcRecorder) next(b *cdc.Batch) {
	var vs []int64
	for _, ch := range b.Changes {
		if ch.New == nil || !strings.HasSuffix(ch.Table, ".accounts") {
			continue
		}
		if v, ok := intValue(ch.New["version"]); ok {
			vs = append(vs, v)
		}
	}
	r.mu.Lock()
	r.pending = append(r.pending, pendingBatch{b.Position, vs})
	r.mu.Unlock()
}

// ack marks every batch up to the one at pos acknowledged now.
func (r *cdcRecorder) ack(pos cdc.Position) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	k := slices.IndexFunc(r.pending, func(p pendingBatch) bool { return p.pos == pos })
	for _, p := range r.pending[:k+1] {
		for _, v := range p.versions {
			if _, ok := r.acked[v]; !ok {
				r.acked[v] = now
			}
		}
	}
	r.pending = r.pending[k+1:]
}

// reset forgets the batches of a closed stream, never acknowledged.
func (r *cdcRecorder) reset() {
	r.mu.Lock()
	r.pending = nil
	r.mu.Unlock()
}

func (r *cdcRecorder) snapshot() (map[int64]int64, []int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[int64]int64, len(r.acked))
	for k, v := range r.acked {
		m[k] = v
	}
	return m, slices.Clone(r.whole)
}

// intValue reads a version column as a source decodes it.
func intValue(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case int:
		return int64(x), true
	case uint64:
		return int64(x), true
	case uint32:
		return int64(x), true
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	case []byte:
		n, err := strconv.ParseInt(string(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// recordingSource passes a source through, telling the recorder.
type recordingSource struct {
	cdc.Source
	rec *cdcRecorder
	// lost is the consumer's PositionLost count when the source opened;
	// started, whether Next was called since.
	lost    uint64
	started *bool
}

func (s recordingSource) Next(ctx context.Context) (*cdc.Batch, error) {
	if !*s.started {
		// The consumer calls Next first after it invalidated every table,
		// when the position was lost.
		*s.started = true
		if s.rec.stats().PositionLost > s.lost {
			s.rec.mu.Lock()
			s.rec.whole = append(s.rec.whole, s.rec.now())
			s.rec.mu.Unlock()
		}
	}
	b, err := s.Source.Next(ctx)
	if err == nil {
		s.rec.next(b)
	}
	return b, err
}

func (s recordingSource) Ack(ctx context.Context, pos cdc.Position) error {
	err := s.Source.Ack(ctx, pos)
	if err == nil {
		s.rec.ack(pos)
	}
	return err
}

func (s recordingSource) Close() error {
	s.rec.reset()
	return s.Source.Close()
}

// consumer starts the run's change-stream consumer on store (a link of its
// own to the run's store) and waits until it leads with its stream open.
func (r *rig) consumer(ctx context.Context, w *workload, store runtime.Store, name string) (*cdcRecorder, error) {
	db := w.db
	var schema string
	q := "SELECT current_schema()"
	if db.driver == "mysql" {
		q = "SELECT DATABASE()"
	}
	if err := db.Admin().GetContext(ctx, &schema, q); err != nil {
		return nil, fmt.Errorf("-cdc: the run's schema: %w", err)
	}
	rec := &cdcRecorder{now: w.now, acked: map[int64]int64{}}
	var open func(ctx context.Context, from cdc.Position) (cdc.Source, error)
	if db.driver == "mysql" {
		dsn := db.scratch.DSN
		open = func(ctx context.Context, from cdc.Position) (cdc.Source, error) {
			return cdc.OpenMySQL(ctx, cdc.MySQLOptions{DSN: dsn, Schemas: []string{schema}, From: from})
		}
	} else {
		tables := []string{schema + ".accounts", schema + ".sessions"}
		for _, t := range tables {
			if _, err := db.Admin().ExecContext(ctx, "ALTER TABLE "+t+" REPLICA IDENTITY FULL"); err != nil {
				return nil, fmt.Errorf("-cdc: %w", err)
			}
		}
		dsn := w.cfg.DB
		open = func(ctx context.Context, from cdc.Position) (cdc.Source, error) {
			return cdc.OpenPostgres(ctx, cdc.PostgresOptions{DSN: dsn, Publication: name, Slot: name, Tables: tables, FullIdentity: tables, From: from})
		}
		r.onClose(func() { dropSlot(db, name) })
	}
	h, err := db.Open(0, nil, 4)
	if err != nil {
		return nil, err
	}
	r.onClose(func() { h.Close() })
	reg := runtime.NewRegistry()
	if _, err := builds[0].open(h, store, append(slices.Clip(w.opts), runtime.WithRegistry(reg))...); err != nil {
		return nil, err
	}
	c, err := cdc.NewConsumer(cdc.ConsumerOptions{
		Open: func(ctx context.Context, from cdc.Position) (cdc.Source, error) {
			lost := rec.stats().PositionLost
			src, err := open(ctx, from)
			if err != nil {
				return nil, err
			}
			return recordingSource{Source: src, rec: rec, lost: lost, started: new(bool)}, nil
		},
		Registry: reg, Store: store, Name: name, Schema: schema, RetryPause: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(w.cfg.Progress, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return nil, err
	}
	rec.stats = c.Stats
	cctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(cctx) }()
	r.onClose(func() { stop(); <-done })
	deadline := time.Now().Add(30 * time.Second)
	for s := c.Stats(); !s.Leader || s.PositionLost == 0; s = c.Stats() {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("-cdc: the consumer did not open its stream in 30s")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return rec, nil
}

// dropSlot drops the run's replication slot and publication; the closed
// stream's walsender may hold the slot a moment.
func dropSlot(db *Database, name string) {
	ctx := context.Background()
	for range 50 {
		if _, err := db.Admin().ExecContext(ctx, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", name); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, _ = db.Admin().ExecContext(ctx, "DROP PUBLICATION IF EXISTS "+name)
}
