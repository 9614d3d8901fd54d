// Package dbtest opens scratch databases (a namespace of their own on a
// server, or a SQLite file of their own) and wraps their drivers, so that
// tests can count how many statements the cache saved and the consistency
// checker can hold some answers back and see inside its writes.
package dbtest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"sync/atomic"
)

// Counter counts queries (statements that return rows), execs and
// transactions begun.
type Counter struct {
	queries atomic.Int64
	execs   atomic.Int64
	txs     atomic.Int64
}

// Queries returns the number of row-returning statements sent so far.
func (c *Counter) Queries() int64 { return c.queries.Load() }

// Execs returns the number of other statements sent so far.
func (c *Counter) Execs() int64 { return c.execs.Load() }

// Txs returns the number of transactions begun so far (each costs a BEGIN
// and a COMMIT or ROLLBACK besides its statements).
func (c *Counter) Txs() int64 { return c.txs.Load() }

// Reset sets every count to zero.
func (c *Counter) Reset() { c.queries.Store(0); c.execs.Store(0); c.txs.Store(0) }

func (c *Counter) query() {
	if c != nil {
		c.queries.Add(1)
	}
}

func (c *Counter) begin() {
	if c != nil {
		c.txs.Add(1)
	}
}

func (c *Counter) exec() {
	if c != nil {
		c.execs.Add(1)
	}
}

// Wrap says what a wrapped driver does besides passing every call on.
type Wrap struct {
	// Counter, when not nil, counts every statement sent.
	Counter *Counter
	// Rows, when not nil, is given the rows of every query sent outside a
	// transaction, and returns what the caller reads instead.
	Rows func(driver.Rows) driver.Rows
	// AfterExec, when not nil, is called after every exec that succeeded,
	// with the driver's own connection, still inside the statement's
	// transaction if it has one; and after the rows of a query that
	// writes (a DELETE … RETURNING) are closed.
	AfterExec func(ctx context.Context, cn driver.Conn, query string, args []driver.NamedValue)
}

// afterRows are the rows of a writing query: once they are closed (the
// connection is free again) the statement counts as an exec for AfterExec.
type afterRows struct {
	driver.Rows
	after func()
}

func (r *afterRows) Close() error {
	err := r.Rows.Close()
	if err == nil && r.after != nil {
		r.after()
		r.after = nil
	}
	return err
}

// writes reports whether query changes rows (and may return them).
func writes(query string) bool {
	q := strings.ToUpper(strings.TrimSpace(query))
	return strings.HasPrefix(q, "DELETE ") || strings.HasPrefix(q, "UPDATE ") || strings.HasPrefix(q, "INSERT ")
}

// afterQuery wraps the rows of a writing query so that AfterExec follows
// their Close.
func (cn *conn) afterQuery(ctx context.Context, query string, args []driver.NamedValue) func(driver.Rows, error) (driver.Rows, error) {
	return func(rows driver.Rows, err error) (driver.Rows, error) {
		if err != nil || cn.w.AfterExec == nil || !writes(query) {
			return rows, err
		}
		return &afterRows{Rows: rows, after: func() { cn.afterExec(ctx, query, args) }}, nil
	}
}

// Open opens dsn with the driver registered as driverName, counting every
// statement in c.
func Open(driverName, dsn string, c *Counter) (*sql.DB, error) {
	return OpenWrapped(driverName, dsn, Wrap{Counter: c})
}

// OpenWrapped opens dsn with the driver registered as driverName, wrapped
// as w says.
func OpenWrapped(driverName, dsn string, w Wrap) (*sql.DB, error) {
	db, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, err
	}
	drv := db.Driver()
	_ = db.Close()
	return sql.OpenDB(&connector{dsn: dsn, drv: drv, w: w}), nil
}

// OpenConnector opens a database on a driver's own connector (one that
// carries options a DSN cannot, such as pgx's AfterConnect), counting
// every statement in c.
func OpenConnector(inner driver.Connector, c *Counter) *sql.DB {
	return sql.OpenDB(&connector{inner: inner, drv: inner.Driver(), w: Wrap{Counter: c}})
}

type connector struct {
	dsn   string
	inner driver.Connector // when set, used instead of drv and dsn
	drv   driver.Driver
	w     Wrap
}

func (k *connector) Connect(ctx context.Context) (driver.Conn, error) {
	var cn driver.Conn
	var err error
	if k.inner != nil {
		cn, err = k.inner.Connect(ctx)
	} else if dc, ok := k.drv.(driver.DriverContext); ok {
		var inner driver.Connector
		if inner, err = dc.OpenConnector(k.dsn); err != nil {
			return nil, err
		}
		cn, err = inner.Connect(ctx)
	} else {
		cn, err = k.drv.Open(k.dsn)
	}
	if err != nil {
		return nil, err
	}
	return &conn{Conn: cn, w: &k.w}, nil
}

func (k *connector) Driver() driver.Driver { return k.drv }

// conn forwards to the driver's connection, counting statements. It offers
// the context interfaces database/sql prefers, falling back on the plain
// ones when the driver lacks them.
type conn struct {
	driver.Conn
	w    *Wrap
	inTx bool
}

// rows hands the rows of a query sent outside a transaction to Wrap.Rows.
func (cn *conn) rows(rows driver.Rows, err error) (driver.Rows, error) {
	if err != nil || cn.inTx || cn.w.Rows == nil {
		return rows, err
	}
	return cn.w.Rows(rows), nil
}

func (cn *conn) afterExec(ctx context.Context, query string, args []driver.NamedValue) {
	if cn.w.AfterExec != nil {
		cn.w.AfterExec(ctx, cn.Conn, query, args)
	}
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
	cn.w.Counter.query()
	return cn.afterQuery(ctx, query, args)(cn.rows(rows, err))
}

func (cn *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	x, ok := cn.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	res, err := x.ExecContext(ctx, query, args)
	if errors.Is(err, driver.ErrSkip) {
		return nil, err
	}
	cn.w.Counter.exec()
	if err == nil {
		cn.afterExec(ctx, query, args)
	}
	return res, err
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
		tx, err = cn.Conn.Begin() //lint:ignore SA1019 the fallback database/sql itself uses
	}
	if err != nil {
		return nil, err
	}
	cn.w.Counter.begin()
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
	s.cn.w.Counter.query()
	after := s.cn.afterQuery(ctx, s.query, args)
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		return after(s.cn.rows(q.QueryContext(ctx, args)))
	}
	return after(s.cn.rows(s.Stmt.Query(values(args)))) //lint:ignore SA1019 the fallback database/sql itself uses
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.cn.w.Counter.exec()
	var res driver.Result
	var err error
	if x, ok := s.Stmt.(driver.StmtExecContext); ok {
		res, err = x.ExecContext(ctx, args)
	} else {
		res, err = s.Stmt.Exec(values(args)) //lint:ignore SA1019 the fallback database/sql itself uses
	}
	if err == nil {
		s.cn.afterExec(ctx, s.query, args)
	}
	return res, err
}

func values(args []driver.NamedValue) []driver.Value {
	vals := make([]driver.Value, len(args))
	for i, a := range args {
		vals[i] = a.Value
	}
	return vals
}
