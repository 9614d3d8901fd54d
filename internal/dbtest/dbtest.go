// Package dbtest counts the statements a *sql.DB sends to its driver, so
// tests can assert how many queries the cache saved.
package dbtest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync/atomic"
)

// Counter counts queries (statements that return rows) and execs.
type Counter struct {
	queries atomic.Int64
	execs   atomic.Int64
}

// Queries returns the number of row-returning statements sent so far.
func (c *Counter) Queries() int64 { return c.queries.Load() }

// Execs returns the number of other statements sent so far.
func (c *Counter) Execs() int64 { return c.execs.Load() }

// Reset sets both counts to zero.
func (c *Counter) Reset() { c.queries.Store(0); c.execs.Store(0) }

// Open opens dsn with the driver registered as driverName, counting every
// statement in c.
func Open(driverName, dsn string, c *Counter) (*sql.DB, error) {
	db, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, err
	}
	drv := db.Driver()
	_ = db.Close()
	return sql.OpenDB(&connector{dsn: dsn, drv: drv, c: c}), nil
}

// OpenConnector opens a database on a driver's own connector (one that
// carries options a DSN cannot, such as pgx's AfterConnect), counting
// every statement in c.
func OpenConnector(inner driver.Connector, c *Counter) *sql.DB {
	return sql.OpenDB(&connector{inner: inner, drv: inner.Driver(), c: c})
}

type connector struct {
	dsn   string
	inner driver.Connector // when set, used instead of drv and dsn
	drv   driver.Driver
	c     *Counter
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
	return &conn{Conn: cn, c: k.c}, nil
}

func (k *connector) Driver() driver.Driver { return k.drv }

// conn forwards to the driver's connection, counting statements. It offers
// the context interfaces database/sql prefers, falling back on the plain
// ones when the driver lacks them.
type conn struct {
	driver.Conn
	c *Counter
}

var errSkip = driver.ErrSkip

func (cn *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := cn.Conn.(driver.QueryerContext)
	if !ok {
		return nil, errSkip
	}
	rows, err := q.QueryContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		cn.c.queries.Add(1)
	}
	return rows, err
}

func (cn *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	x, ok := cn.Conn.(driver.ExecerContext)
	if !ok {
		return nil, errSkip
	}
	res, err := x.ExecContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		cn.c.execs.Add(1)
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
	return &stmt{Stmt: st, c: cn.c}, nil
}

func (cn *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := cn.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	return cn.Conn.Begin() //lint:ignore SA1019 the fallback database/sql itself uses
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

type stmt struct {
	driver.Stmt
	c *Counter
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.c.queries.Add(1)
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	vals := make([]driver.Value, len(args))
	for i, a := range args {
		vals[i] = a.Value
	}
	return s.Stmt.Query(vals) //lint:ignore SA1019 the fallback database/sql itself uses
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.c.execs.Add(1)
	if x, ok := s.Stmt.(driver.StmtExecContext); ok {
		return x.ExecContext(ctx, args)
	}
	vals := make([]driver.Value, len(args))
	for i, a := range args {
		vals[i] = a.Value
	}
	return s.Stmt.Exec(vals) //lint:ignore SA1019 the fallback database/sql itself uses
}
