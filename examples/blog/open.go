package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/internal/dburl"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/memory"
	cgredis "github.com/cachegen/cachegen/runtime/redis"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	goredis "github.com/redis/go-redis/v9"
	_ "modernc.org/sqlite"
)

// runName names this run's schema (or database) and key prefix, so runs
// against shared servers never see each other's rows or keys, and the
// example never touches tables of yours.
var runName = "cachegen_blog_" + strings.ToLower(rand.Text()[:8])

// openDB opens the database named by dsn: empty for a temporary SQLite file,
// sqlite:PATH, postgres://…, or mysql://user:pass@host:port/db. On a server
// it works in a schema (database, on MySQL) of its own, dropped by the
// returned cleanup.
func openDB(ctx context.Context, dsn string) (*sqlx.DB, func(), error) {
	switch {
	case dsn == "" || strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		cleanup := func() {}
		if path == "" {
			dir, err := os.MkdirTemp("", "cachegen-blog-")
			if err != nil {
				return nil, nil, err
			}
			path = filepath.Join(dir, "blog.db")
			cleanup = func() { os.RemoveAll(dir) }
		}
		db, err := sqlx.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
		if err != nil {
			return nil, nil, err
		}
		if _, err := db.ExecContext(ctx, models.SQLiteSchema); err != nil {
			db.Close()
			return nil, nil, fmt.Errorf("create schema: %w", err)
		}
		return db, func() { db.Close(); cleanup() }, nil

	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		if err := adminExec(ctx, "pgx", dsn, "CREATE SCHEMA "+runName); err != nil {
			return nil, nil, err
		}
		drop := func() { _ = adminExec(context.Background(), "pgx", dsn, "DROP SCHEMA "+runName+" CASCADE") }
		u, err := url.Parse(dsn)
		if err != nil {
			drop()
			return nil, nil, err
		}
		q := u.Query()
		q.Set("search_path", runName)
		u.RawQuery = q.Encode()
		db, err := sqlx.Open("pgx", u.String())
		if err == nil {
			_, err = db.ExecContext(ctx, models.PostgresSchema)
		}
		if err != nil {
			drop()
			return nil, nil, fmt.Errorf("create schema: %w", err)
		}
		return db, func() { db.Close(); drop() }, nil

	case strings.HasPrefix(dsn, "mysql://"):
		cfg, err := dburl.MySQLConfig(dsn)
		if err != nil {
			return nil, nil, err
		}
		if err := adminExec(ctx, "mysql", cfg.FormatDSN(), "CREATE DATABASE "+runName); err != nil {
			return nil, nil, err
		}
		admin := cfg.FormatDSN()
		drop := func() { _ = adminExec(context.Background(), "mysql", admin, "DROP DATABASE "+runName) }
		cfg.DBName, cfg.ParseTime = runName, true
		db, err := sqlx.Open("mysql", cfg.FormatDSN())
		if err == nil {
			for _, stmt := range models.MySQLSchema {
				if _, err = db.ExecContext(ctx, stmt); err != nil {
					break
				}
			}
		}
		if err != nil {
			drop()
			return nil, nil, fmt.Errorf("create schema: %w", err)
		}
		return db, func() { db.Close(); drop() }, nil
	}
	return nil, nil, fmt.Errorf("-db %q: want sqlite:PATH, postgres://… or mysql://…", dsn)
}

func adminExec(ctx context.Context, driver, dsn, stmt string) error {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("%s: %w", stmt, err)
	}
	return nil
}

// openStore returns the in-memory store when addrs is empty, otherwise a
// Redis store on addrs (several comma-separated addresses: a Cluster).
func openStore(ctx context.Context, addrs string) (runtime.Store, func(), error) {
	s, _, cleanup, err := openStoreNear(ctx, addrs, false)
	return s, cleanup, err
}

// openStoreNear is openStore, with a near cache in front of Redis when near
// is set: the options carry it to the repositories.
func openStoreNear(ctx context.Context, addrs string, near bool) (runtime.Store, []runtime.Option, func(), error) {
	if addrs == "" {
		if near {
			return nil, nil, nil, errors.New("-near needs -redis: the near cache sits in front of a shared store")
		}
		s, err := memory.New(memory.Options{})
		if err != nil {
			return nil, nil, nil, err
		}
		return s, nil, s.Close, nil
	}
	client := goredis.NewUniversalClient(&goredis.UniversalOptions{Addrs: strings.Split(addrs, ",")})
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, nil, nil, fmt.Errorf("redis at %s: %w", addrs, err)
	}
	s, err := cgredis.New(client, cgredis.Options{})
	if err != nil {
		client.Close()
		return nil, nil, nil, err
	}
	cleanup := func() {
		// This run's keys, on every master of a Cluster.
		ctx := context.Background()
		_ = s.ScanKeys(ctx, runName+":", func(key string) error { return s.Delete(ctx, key) })
		client.Close()
	}
	if !near {
		return s, nil, cleanup, nil
	}
	bus, err := cgredis.NewBus(client, runName+":near")
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	nc, err := runtime.NewNearCache(bus, runtime.NearOptions{MaxStaleness: 100 * time.Millisecond})
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	// Entries are served once the bus has answered a probe.
	readyCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := nc.Ready(readyCtx); err != nil {
		nc.Close()
		cleanup()
		return nil, nil, nil, fmt.Errorf("redis at %s: %w", addrs, err)
	}
	return s, []runtime.Option{runtime.WithNearCache(nc)}, func() { nc.Close(); cleanup() }, nil
}
