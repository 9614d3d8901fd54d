package main

// cdc.go: the change-stream consumer's figures, on the project's CDC
// servers (scripts/pg-logical.sh, scripts/mariadb-binlog.sh) and Redis:
//
//   - cdc_events_per_s_<db>: a backlog of raw single-row UPDATEs, written
//     while no consumer runs, drained by one consumer that resumes from its
//     stored position: row changes over the time from its stream's open to
//     the acknowledgement of the last one (acknowledged = keys dropped);
//   - cdc_lag_ms_p50_<db>, cdc_lag_ms_p99_<db>: raw single-row UPDATEs at a steady rate
//     (cdcLoadRate a second for cdcLoadTime), each one's lag from its
//     commit's return to the acknowledgement of the batch that carried it.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/cdc"
	cgredis "github.com/cachegen/cachegen/runtime/redis"
	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	goredis "github.com/redis/go-redis/v9"
)

const (
	cdcRows     = 1000
	cdcBacklog  = 20000 // row changes drained
	cdcLoadRate = 1000  // row changes a second, in the lag figure
	cdcLoadTime = 5 * time.Second
)

// cdcLines prints the figures of each CDC server given.
func cdcLines(ctx context.Context, pgDSN, mysqlDSN, redisAddr string) {
	for _, c := range []struct{ kind, dsn string }{{"postgres", pgDSN}, {"mariadb", mysqlDSN}} {
		if c.dsn == "" {
			fmt.Fprintf(os.Stderr, "bench: no %s CDC server given: cdc_*_%s skipped\n", c.kind, c.kind)
			continue
		}
		perS, p50, p99, err := cdcFigures(ctx, c.kind, c.dsn, redisAddr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: cdc on %s: %v\n", c.kind, err)
			continue
		}
		fmt.Printf("bench: cdc_events_per_s_%s=%.0f\n", c.kind, perS)
		fmt.Printf("bench: cdc_lag_ms_p50_%s=%.1f\n", c.kind, p50)
		fmt.Printf("bench: cdc_lag_ms_p99_%s=%.1f\n", c.kind, p99)
	}
}

// cdcFigures measures both figures on one CDC server ("postgres" or
// "mariadb" at dsn) and returns them.
func cdcFigures(ctx context.Context, kind, dsn, redisAddr string) (eventsPerS, lagP50, lagP99 float64, err error) {
	b := &cdcBench{kind: kind, dsn: dsn, name: "cg_cdcbench_" + strings.ToLower(rand.Text()[:10])}
	defer b.close()
	if err := b.setup(ctx, redisAddr); err != nil {
		return 0, 0, 0, err
	}
	// A first consumer stores a position, then stops: the backlog is
	// written after it, and the next consumer resumes before it.
	c, stop := b.start()
	if err := b.waitFor(ctx, 30*time.Second, func() bool { s := c.Stats(); return s.Leader && s.PositionLost > 0 }); err != nil {
		return 0, 0, 0, fmt.Errorf("the consumer did not open its stream: %w", err)
	}
	if err := b.write(ctx, 1, 0); err != nil {
		return 0, 0, 0, err
	}
	if err := b.waitFor(ctx, 30*time.Second, func() bool { return c.Stats().Transactions == 1 }); err != nil { // acknowledged and stored
		return 0, 0, 0, fmt.Errorf("the first change: %w", err)
	}
	stop()

	b.rec.reset()
	if err := b.write(ctx, cdcBacklog, 0); err != nil {
		return 0, 0, 0, err
	}
	c, stop = b.start()
	defer stop()
	if err := b.waitFor(ctx, 120*time.Second, func() bool { return b.rec.ackedCount() == cdcBacklog }); err != nil {
		return 0, 0, 0, fmt.Errorf("draining %d changes (%d applied): %w", cdcBacklog, b.rec.ackedCount(), err)
	}
	if s := c.Stats(); s.PositionLost != 0 {
		return 0, 0, 0, fmt.Errorf("the consumer lost its position: %+v", s)
	}
	opened, last := b.rec.span()
	eventsPerS = cdcBacklog / last.Sub(opened).Seconds()

	b.rec.reset()
	n := int(cdcLoadRate * cdcLoadTime.Seconds())
	if err := b.write(ctx, n, time.Second/cdcLoadRate); err != nil {
		return 0, 0, 0, err
	}
	if err := b.waitFor(ctx, 60*time.Second, func() bool { return b.rec.ackedCount() == n }); err != nil {
		return 0, 0, 0, fmt.Errorf("the steady load: %w", err)
	}
	lags := b.rec.lags()
	q := func(f float64) float64 { return float64(lags[int(f*float64(len(lags)-1))]) / float64(time.Millisecond) }
	return eventsPerS, q(0.5), q(0.99), nil
}

type cdcBench struct {
	kind, dsn, name string
	admin           *sql.DB
	db              *sqlx.DB
	client          *goredis.Client
	store           runtime.Store
	reg             *runtime.Registry
	open            func(ctx context.Context, from cdc.Position) (cdc.Source, error)
	rec             *cdcRecorder
	seq             atomic.Int64
	cleanups        []func()
}

func (b *cdcBench) close() {
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
}

func (b *cdcBench) setup(ctx context.Context, redisAddr string) error {
	var err error
	b.rec = &cdcRecorder{}
	switch b.kind {
	case "postgres":
		if b.admin, err = sql.Open("pgx", b.dsn); err != nil {
			return err
		}
		b.cleanups = append(b.cleanups, func() { b.admin.Close() })
		if _, err := b.admin.ExecContext(ctx, "CREATE SCHEMA "+b.name); err != nil {
			return fmt.Errorf("PostgreSQL at %s: %w", b.dsn, err)
		}
		b.cleanups = append(b.cleanups, func() {
			// The closed stream's walsender may hold the slot a moment.
			for range 50 {
				if _, err := b.admin.Exec("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", b.name); err == nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			b.admin.Exec("DROP PUBLICATION IF EXISTS " + b.name)
			b.admin.Exec("DROP SCHEMA " + b.name + " CASCADE")
		})
		sep := "?"
		if strings.Contains(b.dsn, "?") {
			sep = "&"
		}
		// Writers commit synchronously: logical decoding sends a
		// transaction once its WAL is flushed, and the CDC server's
		// asynchronous commits leave that to the WAL writer (up to 200ms
		// later), which is not the consumer's lag.
		if b.db, err = sqlx.Open("pgx", b.dsn+sep+"search_path="+b.name+"&synchronous_commit=on"); err != nil {
			return err
		}
		if _, err := b.db.ExecContext(ctx, models.PostgresSchema); err != nil {
			return err
		}
		tables := []string{b.name + ".users", b.name + ".posts"}
		for _, t := range tables {
			if _, err := b.db.ExecContext(ctx, "ALTER TABLE "+t+" REPLICA IDENTITY FULL"); err != nil {
				return err
			}
		}
		b.open = func(ctx context.Context, from cdc.Position) (cdc.Source, error) {
			return cdc.OpenPostgres(ctx, cdc.PostgresOptions{DSN: b.dsn, Publication: b.name, Slot: b.name, Tables: tables, FullIdentity: tables, From: from})
		}
	case "mariadb":
		cfg, err := mysql.ParseDSN(b.dsn)
		if err != nil {
			return err
		}
		if b.admin, err = sql.Open("mysql", b.dsn); err != nil {
			return err
		}
		b.cleanups = append(b.cleanups, func() { b.admin.Close() })
		if _, err := b.admin.ExecContext(ctx, "CREATE DATABASE "+b.name); err != nil {
			return fmt.Errorf("MariaDB at %s: %w", b.dsn, err)
		}
		b.cleanups = append(b.cleanups, func() { b.admin.Exec("DROP DATABASE " + b.name) })
		cfg.DBName = b.name
		if b.db, err = sqlx.Open("mysql", cfg.FormatDSN()); err != nil {
			return err
		}
		for _, stmt := range models.MySQLSchema {
			if _, err := b.db.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		b.open = func(ctx context.Context, from cdc.Position) (cdc.Source, error) {
			return cdc.OpenMySQL(ctx, cdc.MySQLOptions{DSN: b.dsn, Schemas: []string{b.name}, From: from})
		}
	default:
		return fmt.Errorf("cdc: no server kind %q", b.kind)
	}
	b.cleanups = append(b.cleanups, func() { b.db.Close() })
	b.db.SetMaxOpenConns(16)
	for i := 1; i <= cdcRows; i++ {
		if _, err := b.db.ExecContext(ctx, b.db.Rebind("INSERT INTO users (email, org_id, handle, name) VALUES (?, ?, ?, '0')"),
			fmt.Sprintf("user%d@example.com", i), i%100, fmt.Sprint("handle", i)); err != nil {
			return err
		}
	}
	b.client = goredis.NewClient(&goredis.Options{Addr: redisAddr})
	b.cleanups = append(b.cleanups, func() {
		for _, pattern := range []string{b.name + ":*", "cachegen:cdc:" + b.name + ":*"} {
			iter := b.client.Scan(context.Background(), 0, pattern, 1000).Iterator()
			for iter.Next(context.Background()) {
				b.client.Del(context.Background(), iter.Val())
			}
		}
		b.client.Close()
	})
	if b.store, err = cgredis.New(b.client, cgredis.Options{}); err != nil {
		return err
	}
	b.reg = runtime.NewRegistry()
	_, err = models.NewRepos(b.db, b.store, runtime.WithPrefix(b.name), runtime.WithRegistry(b.reg))
	return err
}

// start runs a consumer of the bench's database until stop.
func (b *cdcBench) start() (*cdc.Consumer, func()) {
	c, err := cdc.NewConsumer(cdc.ConsumerOptions{
		Open: func(ctx context.Context, from cdc.Position) (cdc.Source, error) {
			src, err := b.open(ctx, from)
			if err != nil {
				return nil, err
			}
			b.rec.opened()
			return &recordingSource{Source: src, rec: b.rec}, nil
		},
		Registry: b.reg, Store: b.store, Name: b.name, Schema: b.name,
	})
	if err != nil {
		panic(err) // the options are the bench's own
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	var once sync.Once
	return c, func() { once.Do(func() { cancel(); <-done }) }
}

// write makes n single-row UPDATEs, each setting a user's name to the next
// sequence number: on 8 connections as fast as they go (every 0), or one
// every `every`, spread over the connections.
func (b *cdcBench) write(ctx context.Context, n int, every time.Duration) error {
	const writers = 8
	stmt := b.db.Rebind("UPDATE users SET name = ? WHERE id = ?")
	jobs := make(chan int64, n)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range writers {
		wg.Go(func() {
			for seq := range jobs {
				if _, err := b.db.ExecContext(ctx, stmt, strconv.FormatInt(seq, 10), seq%cdcRows+1); err != nil {
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				b.rec.committed(seq, time.Now())
			}
		})
	}
	var tick *time.Ticker
	if every > 0 {
		tick = time.NewTicker(every)
		defer tick.Stop()
	}
	for range n {
		if tick != nil {
			<-tick.C
		}
		jobs <- b.seq.Add(1)
	}
	close(jobs)
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return fmt.Errorf("raw UPDATE: %w", err)
	}
	return nil
}

func (b *cdcBench) waitFor(ctx context.Context, limit time.Duration, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// cdcRecorder notes when each raw write's commit returned, which batch
// carried it, and when that batch was acknowledged.
type cdcRecorder struct {
	mu      sync.Mutex
	open    time.Time
	commits map[int64]time.Time
	pending []cdcPending
	acks    map[int64]time.Time
	lastAck time.Time
}

type cdcPending struct {
	pos  cdc.Position
	seqs []int64
}

func (r *cdcRecorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.commits, r.acks, r.pending = map[int64]time.Time{}, map[int64]time.Time{}, nil
}

func (r *cdcRecorder) opened() {
	r.mu.Lock()
	r.open = time.Now()
	r.pending = nil
	r.mu.Unlock()
}

func (r *cdcRecorder) committed(seq int64, at time.Time) {
	r.mu.Lock()
	if r.commits == nil {
		r.commits = map[int64]time.Time{}
	}
	r.commits[seq] = at
	r.mu.Unlock()
}

func (r *cdcRecorder) next(b *cdc.Batch) {
	var seqs []int64
	for _, ch := range b.Changes {
		if s, ok := ch.New["name"].(string); ok {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				seqs = append(seqs, n)
			}
		}
	}
	r.mu.Lock()
	r.pending = append(r.pending, cdcPending{b.Position, seqs})
	r.mu.Unlock()
}

func (r *cdcRecorder) ack(pos cdc.Position) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.acks == nil {
		r.acks = map[int64]time.Time{}
	}
	k := slices.IndexFunc(r.pending, func(p cdcPending) bool { return p.pos == pos })
	for _, p := range r.pending[:k+1] {
		for _, s := range p.seqs {
			if _, ok := r.acks[s]; !ok {
				r.acks[s] = now
				r.lastAck = now
			}
		}
	}
	r.pending = r.pending[k+1:]
}

// ackedCount counts the writes of this phase acknowledged.
func (r *cdcRecorder) ackedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.acks)
}

func (r *cdcRecorder) span() (opened, lastAck time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.open, r.lastAck
}

// lags returns each write's time from its commit's return to its ack,
// sorted.
func (r *cdcRecorder) lags() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []time.Duration
	for s, at := range r.acks {
		if c, ok := r.commits[s]; ok {
			out = append(out, max(at.Sub(c), 0))
		}
	}
	slices.Sort(out)
	return out
}

// recordingSource passes a source through, telling the recorder.
type recordingSource struct {
	cdc.Source
	rec *cdcRecorder
}

func (s *recordingSource) Next(ctx context.Context) (*cdc.Batch, error) {
	b, err := s.Source.Next(ctx)
	if err == nil {
		s.rec.next(b)
	}
	return b, err
}

func (s *recordingSource) Ack(ctx context.Context, pos cdc.Position) error {
	err := s.Source.Ack(ctx, pos)
	if err == nil {
		s.rec.ack(pos)
	}
	return err
}
