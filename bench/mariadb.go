package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/runtime"
	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
)

// mariaDBSide opens the write figures' MariaDB side: a database of its own
// (dropped at close) with the example's tables and 1,000 users seeded as
// openSchema seeds them, the generated repository on the run's Redis under
// a key prefix of its own, and go-zero's MySQL model. The repository picks
// the MySQL dialect from the driver's name, as examples/blog's does.
func (e *env) mariaDBSide(ctx context.Context, dsn, redisAddr string, store runtime.Store) (*writeSide, error) {
	const rows = 1000
	name := e.schema + "_mariadb"
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("-mysql: %w", err)
	}
	admin, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return nil, fmt.Errorf("MariaDB at %s: %w", dsn, err)
	}
	e.cleanups = append(e.cleanups, func() {
		if db, err := sql.Open("mysql", dsn); err == nil {
			db.Exec("DROP DATABASE " + name)
			db.Close()
		}
	})
	cfg.DBName = name
	db, err := sqlx.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	e.cleanups = append(e.cleanups, func() { db.Close() })
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	for _, stmt := range models.MySQLSchema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return nil, err
		}
	}
	values := make([]string, rows)
	args := make([]any, 0, 4*rows)
	for g := 1; g <= rows; g++ {
		values[g-1] = "(?, ?, ?, ?)"
		args = append(args, fmt.Sprint("user", g, "@example.com"), g%100, fmt.Sprint("handle", g), fmt.Sprint("User number ", g))
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO users (email, org_id, handle, name) VALUES "+strings.Join(values, ", "), args...); err != nil {
		return nil, err
	}
	prefix := e.prefix + "_mariadb"
	e.cleanups = append(e.cleanups, func() {
		e.deleteKeys(prefix + ":*")
		e.deleteKeys(gozeroKeyPrefix + name + ":*")
	})
	users, err := models.NewUserRepo(db, store, runtime.WithPrefix(prefix))
	if err != nil {
		return nil, err
	}
	gz, err := newGozeroMySQLUsers(cfg.FormatDSN(), redisAddr, name)
	if err != nil {
		return nil, err
	}
	return &writeSide{suffix: "_mariadb", db: db, users: users, gz: gz}, nil
}
