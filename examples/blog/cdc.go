package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/internal/dburl"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/cdc"
)

// runCDC shows a raw SQL UPDATE, made outside the repository, becoming
// visible through the cache with no Invalidate call: a cdc.Consumer reads
// the database's change stream and invalidates the keys the change
// touched. It needs PostgreSQL with wal_level=logical or MariaDB/MySQL with
// a ROW binlog (scripts/pg-logical.sh, scripts/mariadb-binlog.sh).
func runCDC(ctx context.Context, w io.Writer, dsn, redisAddrs string) error {
	open, setup, cleanup, err := cdcSource(dsn)
	if err != nil {
		return err
	}
	db, closeDB, err := openDB(ctx, dsn)
	if err != nil {
		return err
	}
	defer closeDB()
	for _, stmt := range setup {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	store, closeStore, err := openStore(ctx, redisAddrs)
	if err != nil {
		return err
	}
	defer closeStore()
	reg := runtime.NewRegistry()
	repos, err := models.NewRepos(db, store, runtime.WithPrefix(runName), runtime.WithRegistry(reg))
	if err != nil {
		return err
	}
	consumer, err := cdc.NewConsumer(cdc.ConsumerOptions{Open: open, Registry: reg, Store: store, Name: runName, Schema: runName,
		Logger: slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	cctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = consumer.Run(cctx) }()
	defer func() { stop(); <-done; cleanup() }()
	fmt.Fprintf(w, "database: %s, store: %s, change stream: on\n", db.DriverName(), storeName(redisAddrs, false))
	if err := waitUntil(ctx, "the consumer to lead", func() (bool, error) {
		s := consumer.Stats()
		return s.Leader && s.PositionLost > 0, nil
	}); err != nil {
		return err
	}

	ada := &models.User{Email: "ada@example.com", OrgID: 1, Handle: "ada", Name: "Ada Lovelace"}
	if err := repos.Users.Save(ctx, ada); err != nil {
		return err
	}
	// The Save's own transaction comes through the stream too.
	if err := waitUntil(ctx, "the Save in the stream", func() (bool, error) { return consumer.Stats().Events > 0, nil }); err != nil {
		return err
	}
	for range 2 {
		if _, err := repos.Users.GetByID(ctx, ada.ID); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "user %d cached: %d cache hits\n", ada.ID, repos.Users.Stats().Hits)

	stmt := fmt.Sprintf("UPDATE users SET name = 'Ada King', email = 'ada@king.example' WHERE id = %d", ada.ID)
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		return err
	}
	updated := time.Now()
	fmt.Fprintf(w, "raw SQL, no Invalidate call: %s\n", stmt)
	if err := waitUntil(ctx, "the UPDATE through the cache", func() (bool, error) {
		u, err := repos.Users.GetByID(ctx, ada.ID)
		return err == nil && u.Name == "Ada King", err
	}); err != nil {
		return err
	}
	fmt.Fprintf(w, "visible through the cache after %v\n", time.Since(updated).Round(time.Millisecond))
	if _, err := repos.Users.GetByEmail(ctx, "ada@example.com"); !errors.Is(err, runtime.ErrNotFound) {
		return fmt.Errorf("the old email still answers: %v", err)
	}
	fmt.Fprintln(w, "old email: not found; new email:", must(repos.Users.GetByEmail(ctx, "ada@king.example")).Name)
	s := consumer.Stats()
	fmt.Fprintf(w, "consumer: leader=%v transactions=%d events=%d keys=%d lag=%v position=%s\n",
		s.Leader, s.Transactions, s.Events, s.Keys, s.Lag.Round(time.Millisecond), s.Position)
	return nil
}

func must(u *models.User, err error) *models.User {
	if err != nil {
		return &models.User{Name: err.Error()}
	}
	return u
}

// cdcSource returns how to open the change stream of the database dsn
// names, the statements the example's tables need for it, and the cleanup
// of what opening it creates.
func cdcSource(dsn string) (open func(context.Context, cdc.Position) (cdc.Source, error), setup []string, cleanup func(), err error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		tables := []string{runName + ".users", runName + ".posts"}
		open = func(ctx context.Context, from cdc.Position) (cdc.Source, error) {
			return cdc.OpenPostgres(ctx, cdc.PostgresOptions{DSN: dsn, Publication: runName, Slot: runName, Tables: tables, FullIdentity: tables, From: from})
		}
		cleanup = func() {
			ctx := context.Background()
			// The closed stream's walsender may still hold the slot a moment.
			_ = waitUntil(ctx, "the slot dropped", func() (bool, error) {
				err := adminExec(ctx, "pgx", dsn, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '"+runName+"'")
				return err == nil, nil
			})
			_ = adminExec(ctx, "pgx", dsn, "DROP PUBLICATION IF EXISTS "+runName)
		}
		return open, []string{"ALTER TABLE users REPLICA IDENTITY FULL", "ALTER TABLE posts REPLICA IDENTITY FULL"}, cleanup, nil
	case strings.HasPrefix(dsn, "mysql://"):
		cfg, err := dburl.MySQLConfig(dsn)
		if err != nil {
			return nil, nil, nil, err
		}
		open = func(ctx context.Context, from cdc.Position) (cdc.Source, error) {
			return cdc.OpenMySQL(ctx, cdc.MySQLOptions{DSN: cfg.FormatDSN(), Schemas: []string{runName}, From: from})
		}
		return open, nil, func() {}, nil
	}
	return nil, nil, nil, fmt.Errorf("-cdc needs -db postgres://… (wal_level=logical) or mysql://… (a ROW binlog): SQLite has no change stream across processes")
}

// waitUntil polls cond for at most 10 seconds.
func waitUntil(ctx context.Context, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for %s (last error: %v)", what, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
