package consistency

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cachegen/cachegen/internal/checkmodel"
	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers "sqlite"
)

// Database is the checker's namespace on a server (a schema on
// PostgreSQL, a database on MySQL) or a SQLite file of its own, with the
// checkmodel tables in it. Close drops it.
type Database struct {
	Name    string // sqlite, postgres, mysql or mariadb
	driver  string
	dsn     string
	admin   *sqlx.DB
	cleanup func()
}

// OpenDatabase makes the namespace and its tables. spec is "sqlite" (a
// temporary file), a postgres:// URL, or a mysql://user[:pass]@host:port/db
// URL or go-sql-driver DSN (user@tcp(host:port)/db).
func OpenDatabase(ctx context.Context, spec string) (*Database, error) {
	name := "cachecheck_" + strings.ToLower(crand.Text()[:10])
	switch {
	case spec == "sqlite" || spec == "":
		dir, err := os.MkdirTemp("", "cachecheck-")
		if err != nil {
			return nil, err
		}
		dsn := "file:" + filepath.Join(dir, "check.db") + "?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
		d := &Database{Name: "sqlite", driver: "sqlite", dsn: dsn, cleanup: func() { os.RemoveAll(dir) }}
		return d, d.create(ctx, checkmodel.SQLiteSchema)

	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		if err := adminExec(ctx, "pgx", spec, "CREATE SCHEMA "+name); err != nil {
			return nil, err
		}
		u, err := url.Parse(spec)
		if err != nil {
			return nil, err
		}
		q := u.Query()
		q.Set("search_path", name)
		// The rig, not the subject: commits need not wait for the disk (no
		// server crashes here; what a commit makes visible is unchanged),
		// and a deadlock among the checker's own transactions is broken in
		// 100ms rather than 1s.
		q.Set("synchronous_commit", "off")
		q.Set("deadlock_timeout", "100ms")
		u.RawQuery = q.Encode()
		d := &Database{Name: "postgres", driver: "pgx", dsn: u.String(), cleanup: func() {
			_ = adminExec(context.Background(), "pgx", spec, "DROP SCHEMA "+name+" CASCADE")
		}}
		return d, d.create(ctx, checkmodel.PostgresSchema)

	case strings.HasPrefix(spec, "mysql://"), strings.Contains(spec, "@tcp("):
		cfg := mysql.NewConfig()
		if strings.HasPrefix(spec, "mysql://") {
			u, err := url.Parse(spec)
			if err != nil {
				return nil, err
			}
			cfg.User = u.User.Username()
			cfg.Passwd, _ = u.User.Password()
			cfg.Net, cfg.Addr = "tcp", u.Host
		} else {
			var err error
			if cfg, err = mysql.ParseDSN(spec); err != nil {
				return nil, err
			}
			cfg.DBName = ""
		}
		admin := cfg.FormatDSN()
		if err := adminExec(ctx, "mysql", admin, "CREATE DATABASE "+name); err != nil {
			return nil, err
		}
		cfg.DBName = name
		d := &Database{Name: "mysql", driver: "mysql", dsn: cfg.FormatDSN(), cleanup: func() {
			_ = adminExec(context.Background(), "mysql", admin, "DROP DATABASE "+name)
		}}
		if err := d.create(ctx, checkmodel.MySQLSchema...); err != nil {
			return d, err
		}
		var version string
		if err := d.admin.GetContext(ctx, &version, "SELECT VERSION()"); err == nil && strings.Contains(strings.ToLower(version), "mariadb") {
			d.Name = "mariadb"
		}
		return d, nil
	}
	return nil, fmt.Errorf("-db %q: want sqlite, postgres://…, mysql://… or user@tcp(host:port)/db", spec)
}

// checkDBSpec reports whether OpenDatabase can take spec, without opening
// anything.
func checkDBSpec(spec string) error {
	switch {
	case spec == "sqlite" || spec == "":
		return nil
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"), strings.HasPrefix(spec, "mysql://"):
		if _, err := url.Parse(spec); err != nil {
			return fmt.Errorf("-db: %w", err)
		}
		return nil
	case strings.Contains(spec, "@tcp("):
		if _, err := mysql.ParseDSN(spec); err != nil {
			return fmt.Errorf("-db: %w", err)
		}
		return nil
	}
	return fmt.Errorf("-db %q: want sqlite, postgres://…, mysql://… or user@tcp(host:port)/db", spec)
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

func (d *Database) create(ctx context.Context, stmts ...string) error {
	admin, err := sqlx.Open(d.driver, d.dsn)
	if err != nil {
		return err
	}
	admin.SetMaxOpenConns(2)
	d.admin = admin
	for _, s := range stmts {
		if _, err := admin.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("create the checker's tables: %w", err)
		}
	}
	return nil
}

// Close drops the namespace.
func (d *Database) Close() {
	if d.admin != nil {
		d.admin.Close()
	}
	if d.cleanup != nil {
		d.cleanup()
	}
}

// Admin is a plain handle on the namespace, for hand-written statements.
func (d *Database) Admin() *sqlx.DB { return d.admin }

// Open returns a handle of its own on the namespace, as a separate process
// would have. Every query outside a transaction is counted in queries (when
// not nil) and, with probability 1/4, held for up to jitter once its rows
// are read, between the database's answer and what the caller does with
// it.
func (d *Database) Open(jitter time.Duration, queries *atomic.Int64, maxConns int) (*sqlx.DB, error) {
	probe, err := sql.Open(d.driver, d.dsn)
	if err != nil {
		return nil, err
	}
	drv := probe.Driver()
	_ = probe.Close()
	var inner driver.Connector
	if dc, ok := drv.(driver.DriverContext); ok {
		if inner, err = dc.OpenConnector(d.dsn); err != nil {
			return nil, err
		}
	} else {
		inner = dsnConnector{drv, d.dsn}
	}
	db := sql.OpenDB(&connector{inner: inner, dialect: d.driver, jitter: jitter, queries: queries})
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	return sqlx.NewDb(db, d.driver), nil
}

// Reset empties the tables and the log.
func (d *Database) Reset(ctx context.Context) error {
	for _, s := range []string{"DELETE FROM accounts", "DELETE FROM account_log", "DELETE FROM sessions"} {
		if _, err := d.admin.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// ReadLog returns account_log in seq order.
func (d *Database) ReadLog(ctx context.Context) ([]LogEntry, error) {
	rows, err := d.admin.QueryContext(ctx, "SELECT seq, id, version, email, org, handle, nickname, deleted FROM account_log ORDER BY seq")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LogEntry
	for rows.Next() {
		var e LogEntry
		var nick sql.NullString
		if err := rows.Scan(&e.Seq, &e.Row.ID, &e.Row.Version, &e.Row.Email, &e.Row.Org, &e.Row.Handle, &nick, &e.Deleted); err != nil {
			return nil, err
		}
		e.Row.Nick = nick.String
		out = append(out, e)
	}
	return out, rows.Err()
}

// ReadTable returns the accounts rows by id, straight from the database.
func (d *Database) ReadTable(ctx context.Context) ([]Row, error) {
	rows, err := d.admin.QueryContext(ctx, "SELECT id, email, org, handle, version, nickname FROM accounts ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		var nick sql.NullString
		if err := rows.Scan(&r.ID, &r.Email, &r.Org, &r.Handle, &r.Version, &nick); err != nil {
			return nil, err
		}
		r.Nick = nick.String
		out = append(out, r)
	}
	return out, rows.Err()
}

type dsnConnector struct {
	drv driver.Driver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.drv }

// connector wraps the driver's connections: it counts the queries sent
// outside a transaction and adds latency after some of them.
type connector struct {
	inner   driver.Connector
	dialect string // the driver's name
	jitter  time.Duration
	queries *atomic.Int64
}

func (k *connector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := k.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{Conn: cn, k: k}, nil
}

func (k *connector) Driver() driver.Driver { return k.inner.Driver() }

type conn struct {
	driver.Conn
	k    *connector
	inTx bool
}

// query wraps rows read outside a transaction.
func (cn *conn) query(rows driver.Rows, err error) (driver.Rows, error) {
	if err != nil || cn.inTx {
		return rows, err
	}
	if cn.k.queries != nil {
		cn.k.queries.Add(1)
	}
	if cn.k.jitter > 0 && rand.IntN(4) == 0 {
		return &jitterRows{Rows: rows, d: time.Duration(rand.Int64N(int64(cn.k.jitter)))}, nil
	}
	return rows, nil
}

func (cn *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := cn.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	rows, err := q.QueryContext(ctx, query, args)
	if errors.Is(err, driver.ErrSkip) {
		return nil, err
	}
	return cn.query(rows, err)
}

func (cn *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	x, ok := cn.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	res, err := x.ExecContext(ctx, query, args)
	if err == nil {
		cn.noteDelete(ctx, query, args)
	}
	return res, err
}

// noteDelete tells the trace of a delete (a write whose context carries
// one) which log entry its statement wrote: inside the transaction the
// entry is visible, and the row lock keeps any other entry of that id from
// committing meanwhile. With it the checker knows which operation made
// each delete of the log, even when deletes of one id overlap.
func (cn *conn) noteDelete(ctx context.Context, query string, args []driver.NamedValue) {
	t := traceOf(ctx)
	if t == nil || len(args) != 1 || !strings.HasPrefix(query, "DELETE FROM ") {
		return
	}
	q := "SELECT MAX(seq) FROM account_log WHERE id = ? AND deleted"
	if cn.k.dialect == "pgx" {
		q = "SELECT MAX(seq) FROM account_log WHERE id = $1 AND deleted"
	}
	if seq, err := cn.queryInt(ctx, q, args[0].Value); err == nil {
		t.SetDeleteSeq(seq)
	}
}

// queryInt runs a query of one integer on the connection itself.
func (cn *conn) queryInt(ctx context.Context, q string, arg any) (int64, error) {
	nv := []driver.NamedValue{{Ordinal: 1, Value: arg}}
	var rows driver.Rows
	var err error = driver.ErrSkip
	if qc, ok := cn.Conn.(driver.QueryerContext); ok {
		rows, err = qc.QueryContext(ctx, q, nv)
	}
	if errors.Is(err, driver.ErrSkip) {
		var st driver.Stmt
		if p, ok := cn.Conn.(driver.ConnPrepareContext); ok {
			st, err = p.PrepareContext(ctx, q)
		} else {
			st, err = cn.Conn.Prepare(q)
		}
		if err != nil {
			return 0, err
		}
		defer st.Close()
		if sq, ok := st.(driver.StmtQueryContext); ok {
			rows, err = sq.QueryContext(ctx, nv)
		} else {
			rows, err = st.Query([]driver.Value{arg}) //nolint:staticcheck // the fallback database/sql itself uses
		}
	}
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	dest := make([]driver.Value, 1)
	if err := rows.Next(dest); err != nil {
		return 0, err
	}
	switch v := dest[0].(type) {
	case int64:
		return v, nil
	case []byte:
		return strconv.ParseInt(string(v), 10, 64)
	case string:
		return strconv.ParseInt(v, 10, 64)
	}
	return 0, fmt.Errorf("seq of type %T", dest[0])
}

func (cn *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var st driver.Stmt
	var err error
	if p, ok := cn.Conn.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, query)
	} else {
		st, err = cn.Conn.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &stmt{Stmt: st, cn: cn, query: query}, nil
}

func (cn *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	var tx driver.Tx
	var err error
	if b, ok := cn.Conn.(driver.ConnBeginTx); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else {
		tx, err = cn.Conn.Begin() //nolint:staticcheck // the fallback database/sql itself uses
	}
	if err != nil {
		return nil, err
	}
	cn.inTx = true
	return &txWrap{Tx: tx, cn: cn}, nil
}

func (cn *conn) ResetSession(ctx context.Context) error {
	if r, ok := cn.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (cn *conn) IsValid() bool {
	if v, ok := cn.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (cn *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if c, ok := cn.Conn.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

type txWrap struct {
	driver.Tx
	cn *conn
}

func (t *txWrap) Commit() error   { t.cn.inTx = false; return t.Tx.Commit() }
func (t *txWrap) Rollback() error { t.cn.inTx = false; return t.Tx.Rollback() }

type stmt struct {
	driver.Stmt
	cn    *conn
	query string
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		return s.cn.query(q.QueryContext(ctx, args))
	}
	vals := make([]driver.Value, len(args))
	for i, a := range args {
		vals[i] = a.Value
	}
	return s.cn.query(s.Stmt.Query(vals)) //nolint:staticcheck // the fallback database/sql itself uses
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	var res driver.Result
	var err error
	if x, ok := s.Stmt.(driver.StmtExecContext); ok {
		res, err = x.ExecContext(ctx, args)
	} else {
		vals := make([]driver.Value, len(args))
		for i, a := range args {
			vals[i] = a.Value
		}
		res, err = s.Stmt.Exec(vals) //nolint:staticcheck // the fallback database/sql itself uses
	}
	if err == nil {
		s.cn.noteDelete(ctx, s.query, args)
	}
	return res, err
}

// jitterRows holds the caller for d once the rows are read: the database
// has answered, the caller has not yet used the answer.
type jitterRows struct {
	driver.Rows
	d    time.Duration
	done bool
}

func (r *jitterRows) Close() error {
	err := r.Rows.Close()
	if !r.done {
		r.done = true
		time.Sleep(r.d)
	}
	return err
}
