package dbtest

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

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
)

// Scratch is a fresh, empty namespace of its own: a schema on PostgreSQL, a
// database on MySQL, or a SQLite file. Drop removes it.
type Scratch struct {
	Dialect string // sqlite, postgres or mysql
	Driver  string // the database/sql driver: sqlite, pgx or mysql
	DSN     string // opens the namespace with Driver
	// URL is the address a command takes for it: the SQLite file's path,
	// postgres://… with the schema as search path, mysql://user@host:port/db.
	URL  string
	drop func()
}

// ScratchOptions says how to make a scratch namespace. The zero value is
// what tests use.
type ScratchOptions struct {
	// Prefix starts the namespace's name (default cg_test_); a random
	// suffix keeps runs apart.
	Prefix string
	// Dir is where the SQLite file goes (default: a new temporary
	// directory, which Drop removes).
	Dir string
	// Pragmas are the SQLite _pragma values (default busy_timeout(10000)
	// and journal_mode(WAL)).
	Pragmas []string
	// Params are added to the DSN's query: SQLite parameters (such as
	// _timezone), PostgreSQL runtime parameters (such as timezone).
	Params url.Values
	// MySQL, when not nil, edits the MySQL driver's configuration of the
	// namespace (such as ParseTime or Loc).
	MySQL func(*mysql.Config)
}

// ServerDialect returns the dialect of the namespaces NewScratch makes on
// server (sqlite, postgres or mysql), or why it cannot take it, without
// opening anything.
func ServerDialect(server string) (string, error) {
	switch {
	case server == "sqlite" || server == "":
		return "sqlite", nil
	case isPostgres(server):
		if _, err := url.Parse(server); err != nil {
			return "", err
		}
		return "postgres", nil
	case isMySQL(server):
		if _, err := mysqlConfig(server); err != nil {
			return "", err
		}
		return "mysql", nil
	}
	return "", errors.New("want sqlite, postgres://…, mysql://… or user@tcp(host:port)/db")
}

func isPostgres(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

func isMySQL(s string) bool { return strings.HasPrefix(s, "mysql://") || strings.Contains(s, "@tcp(") }

// NewScratch makes a scratch namespace on server: "sqlite" (a file of its
// own), a postgres:// URL, or a mysql://user[:pass]@host:port/db URL or
// go-sql-driver DSN (user@tcp(host:port)/db); the database a server URL
// names is only where the namespace is made.
func NewScratch(ctx context.Context, server string, o ScratchOptions) (*Scratch, error) {
	dialect, err := ServerDialect(server)
	if err != nil {
		return nil, err
	}
	if o.Prefix == "" {
		o.Prefix = "cg_test_"
	}
	name := uniqueName(o.Prefix)
	switch dialect {
	case "postgres":
		return newPostgres(ctx, server, name, o)
	case "mysql":
		return newMySQL(ctx, server, name, o)
	}
	return newSQLite(o)
}

// UniqueName returns cg_test_<random>: the schema or database of one test,
// so that runs never collide and never touch anything else.
func UniqueName() string { return uniqueName("cg_test_") }

func uniqueName(prefix string) string { return prefix + strings.ToLower(rand.Text()[:12]) }

// Drop removes the namespace.
func (s *Scratch) Drop() {
	if s.drop != nil {
		s.drop()
		s.drop = nil
	}
}

func newSQLite(o ScratchOptions) (*Scratch, error) {
	dir, drop := o.Dir, func() {}
	if dir == "" {
		d, err := os.MkdirTemp("", "cg-scratch-")
		if err != nil {
			return nil, err
		}
		dir, drop = d, func() { os.RemoveAll(d) }
	}
	pragmas := o.Pragmas
	if pragmas == nil {
		pragmas = []string{"busy_timeout(10000)", "journal_mode(WAL)"}
	}
	path := filepath.Join(dir, "test.db")
	dsn, sep := "file:"+path, "?"
	for _, p := range pragmas {
		dsn += sep + "_pragma=" + p
		sep = "&"
	}
	if len(o.Params) > 0 {
		dsn += sep + o.Params.Encode()
	}
	return &Scratch{Dialect: "sqlite", Driver: "sqlite", DSN: dsn, URL: path, drop: drop}, nil
}

func newPostgres(ctx context.Context, server, schema string, o ScratchOptions) (*Scratch, error) {
	if err := adminExec(ctx, "pgx", server, "CREATE SCHEMA "+schema); err != nil {
		return nil, err
	}
	u, err := url.Parse(server)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	for k, vs := range o.Params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return &Scratch{Dialect: "postgres", Driver: "pgx", DSN: u.String(), URL: u.String(), drop: func() {
		_ = adminExec(context.Background(), "pgx", server, "DROP SCHEMA "+schema+" CASCADE")
	}}, nil
}

// MySQLDSN returns the go-sql-driver DSN of a mysql:// URL or DSN, without
// its database: the server's.
func MySQLDSN(server string) (string, error) {
	cfg, err := mysqlConfig(server)
	if err != nil {
		return "", err
	}
	return cfg.FormatDSN(), nil
}

// mysqlConfig parses a mysql:// URL or a go-sql-driver DSN, leaving out
// the database.
func mysqlConfig(server string) (*mysql.Config, error) {
	if !strings.HasPrefix(server, "mysql://") {
		cfg, err := mysql.ParseDSN(server)
		if err != nil {
			return nil, err
		}
		cfg.DBName = ""
		return cfg, nil
	}
	u, err := url.Parse(server)
	if err != nil {
		return nil, err
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net, cfg.Addr = "tcp", u.Host
	return cfg, nil
}

func newMySQL(ctx context.Context, server, name string, o ScratchOptions) (*Scratch, error) {
	cfg, err := mysqlConfig(server)
	if err != nil {
		return nil, err
	}
	admin := cfg.FormatDSN()
	if err := adminExec(ctx, "mysql", admin, "CREATE DATABASE "+name); err != nil {
		return nil, err
	}
	cfg.DBName = name
	if o.MySQL != nil {
		o.MySQL(cfg)
	}
	u := url.URL{Scheme: "mysql", User: url.UserPassword(cfg.User, cfg.Passwd), Host: cfg.Addr, Path: "/" + cfg.DBName}
	if cfg.Passwd == "" {
		u.User = url.User(cfg.User)
	}
	return &Scratch{Dialect: "mysql", Driver: "mysql", DSN: cfg.FormatDSN(), URL: u.String(), drop: func() {
		_ = adminExec(context.Background(), "mysql", admin, "DROP DATABASE "+name)
	}}, nil
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
