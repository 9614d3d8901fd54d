package consistency

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cachegen/cachegen/internal/checkmodel"
	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/jmoiron/sqlx"
)

// Database is the checker's namespace on a server (a schema on
// PostgreSQL, a database on MySQL) or a SQLite file of its own, with the
// checkmodel tables in it. Close drops it.
type Database struct {
	Name    string // sqlite, postgres, mysql or mariadb
	scratch *dbtest.Scratch
	driver  string
	admin   *sqlx.DB
}

// OpenDatabase makes the namespace and its tables. spec is "sqlite" (a
// temporary file), a postgres:// URL, or a mysql://user[:pass]@host:port/db
// URL or go-sql-driver DSN (user@tcp(host:port)/db).
func OpenDatabase(ctx context.Context, spec string) (*Database, error) {
	return openDatabase(ctx, spec, false)
}

// openDatabase is OpenDatabase; cdc keeps PostgreSQL's commits synchronous,
// for the change stream: logical decoding sends a transaction once its WAL
// is flushed, which an asynchronous commit leaves to the WAL writer (200ms
// by default), lag the run would measure as the consumer's.
func openDatabase(ctx context.Context, spec string, cdc bool) (*Database, error) {
	dialect, err := checkDBSpec(spec)
	if err != nil {
		return nil, err
	}
	o := dbtest.ScratchOptions{
		Prefix:  "cachecheck_",
		Pragmas: []string{"busy_timeout(20000)", "journal_mode(WAL)", "synchronous(NORMAL)"},
	}
	schema := map[string][]string{"sqlite": {checkmodel.SQLiteSchema}, "postgres": {checkmodel.PostgresSchema}, "mysql": checkmodel.MySQLSchema}[dialect]
	if dialect == "postgres" {
		// The rig, not the subject: commits need not wait for the disk (no
		// server crashes here; what a commit makes visible is unchanged),
		// and a deadlock among the checker's own transactions is broken in
		// 100ms rather than 1s.
		o.Params = url.Values{"synchronous_commit": {"off"}, "deadlock_timeout": {"100ms"}}
		if cdc {
			// on, not the server's default: scripts/pg-logical.sh starts
			// its server with synchronous_commit=off
			o.Params.Set("synchronous_commit", "on")
		}
	}
	s, err := dbtest.NewScratch(ctx, spec, o)
	if err != nil {
		return nil, err
	}
	d := &Database{Name: s.Dialect, scratch: s, driver: s.Driver}
	if err := d.create(ctx, schema...); err != nil {
		return d, err
	}
	if dialect == "mysql" {
		var version string
		if err := d.admin.GetContext(ctx, &version, "SELECT VERSION()"); err == nil && strings.Contains(strings.ToLower(version), "mariadb") {
			d.Name = "mariadb"
		}
	}
	return d, nil
}

// checkDBSpec returns the dialect of spec, or why OpenDatabase cannot take
// it, without opening anything.
func checkDBSpec(spec string) (string, error) {
	dialect, err := dbtest.ServerDialect(spec)
	if err != nil {
		return "", fmt.Errorf("-db %q: %w", spec, err)
	}
	return dialect, nil
}

func (d *Database) create(ctx context.Context, stmts ...string) error {
	admin, err := sqlx.Open(d.driver, d.scratch.DSN)
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
	d.scratch.Drop()
}

// Admin is a plain handle on the namespace, for hand-written statements.
func (d *Database) Admin() *sqlx.DB { return d.admin }

// Open returns a handle of its own on the namespace, as a separate process
// would have. Every query is counted in queries (when not nil) and, outside
// a transaction, with probability 1/4, held for up to jitter once its rows
// are read, between the database's answer and what the caller does with
// it.
func (d *Database) Open(jitter time.Duration, queries *dbtest.Counter, maxConns int) (*sqlx.DB, error) {
	w := dbtest.Wrap{Counter: queries, AfterExec: d.noteDelete}
	if jitter > 0 {
		w.Rows = func(rows driver.Rows) driver.Rows {
			if rand.IntN(4) == 0 {
				return &jitterRows{Rows: rows, d: time.Duration(rand.Int64N(int64(jitter)))}
			}
			return rows
		}
	}
	db, err := dbtest.OpenWrapped(d.driver, d.scratch.DSN, w)
	if err != nil {
		return nil, err
	}
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

// noteDelete tells the trace of a delete (a write whose context carries
// one) which log entry its statement wrote: inside the transaction the
// entry is visible, and the row lock keeps any other entry of that id from
// committing meanwhile. With it the checker knows which operation made
// each delete of the log, even when deletes of one id overlap.
func (d *Database) noteDelete(ctx context.Context, cn driver.Conn, query string, args []driver.NamedValue) {
	t := traceOf(ctx)
	if t == nil || len(args) != 1 || !strings.HasPrefix(query, "DELETE FROM ") {
		return
	}
	q := "SELECT MAX(seq) FROM account_log WHERE id = ? AND deleted"
	if d.driver == "pgx" {
		q = "SELECT MAX(seq) FROM account_log WHERE id = $1 AND deleted"
	}
	if seq, err := queryInt(ctx, cn, q, args[0].Value); err == nil {
		t.SetDeleteSeq(seq)
	}
}

// queryInt runs a query of one integer on the driver's connection cn.
func queryInt(ctx context.Context, cn driver.Conn, q string, arg any) (int64, error) {
	nv := []driver.NamedValue{{Ordinal: 1, Value: arg}}
	var rows driver.Rows
	var err error = driver.ErrSkip
	if qc, ok := cn.(driver.QueryerContext); ok {
		rows, err = qc.QueryContext(ctx, q, nv)
	}
	if errors.Is(err, driver.ErrSkip) {
		var st driver.Stmt
		if p, ok := cn.(driver.ConnPrepareContext); ok {
			st, err = p.PrepareContext(ctx, q)
		} else {
			st, err = cn.Prepare(q)
		}
		if err != nil {
			return 0, err
		}
		defer st.Close()
		if sq, ok := st.(driver.StmtQueryContext); ok {
			rows, err = sq.QueryContext(ctx, nv)
		} else {
			rows, err = st.Query([]driver.Value{arg}) //lint:ignore SA1019 the fallback database/sql itself uses
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
