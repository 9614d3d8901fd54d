package engine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"sync"
	"time"
)

// rowScanner hands a change stream's column values to a generated Scan:
// the key columns through database/sql's own conversions, as a driver's
// values would go (a field's sql.Scanner, string to int, []byte to
// string…), the other columns left at their zero value, since no key reads
// them.
type rowScanner struct {
	cols  []string
	types []GoType // may be shorter than cols (a spec without Types)
	key   []bool
	row   map[string]any
}

func (s rowScanner) Scan(dest ...any) error {
	if len(dest) != len(s.cols) {
		return fmt.Errorf("scan of %d columns into %d fields", len(s.cols), len(dest))
	}
	var dst, vals []any
	for i, d := range dest {
		if !s.key[i] {
			continue
		}
		var typ GoType
		if i < len(s.types) {
			typ = s.types[i] &^ GoNullable
		}
		v, err := driverValue(s.row[s.cols[i]], typ)
		if err != nil {
			return fmt.Errorf("column %s: %w", s.cols[i], err)
		}
		dst = append(dst, d)
		vals = append(vals, v)
	}
	db, err := echoDB()
	if err != nil {
		return err
	}
	if err := db.QueryRowContext(context.Background(), "", vals...).Scan(dst...); err != nil {
		return err
	}
	return nil
}

// driverValue turns a value as a change stream decodes it into one a
// database/sql driver would return for a column of Go family typ.
func driverValue(v any, typ GoType) (any, error) {
	switch x := v.(type) {
	case nil, int64, float64, bool, []byte, time.Time:
		return x, nil
	case string:
		if typ == GoTime {
			return parseTime(x)
		}
		return x, nil
	case int:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint:
		return uintValue(uint64(x)), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint64:
		return uintValue(x), nil
	case float32:
		return float64(x), nil
	case [16]byte: // a PostgreSQL uuid
		if typ == GoString {
			return fmt.Sprintf("%x-%x-%x-%x-%x", x[0:4], x[4:6], x[6:8], x[8:10], x[10:16]), nil
		}
		return x[:], nil
	case driver.Valuer:
		dv, err := x.Value()
		if err != nil {
			return nil, err
		}
		return driverValue(dv, typ)
	}
	return nil, fmt.Errorf("a change stream value of type %T", v)
}

// uintValue is an unsigned value as a driver gives it: int64 when it fits,
// else its decimal text, which database/sql converts into a uint64 field.
func uintValue(u uint64) any {
	if u <= math.MaxInt64 {
		return int64(u)
	}
	return strconv.FormatUint(u, 10)
}

// parseTime reads a MySQL DATETIME, TIMESTAMP or DATE as go-mysql gives
// it, as an instant in UTC (go-sql-driver/mysql's default loc).
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: not a DATETIME", s)
}

// echoDB is a database/sql handle on a driver whose every query returns one
// row holding its arguments: scanning it applies database/sql's conversions.
var echoDB = sync.OnceValues(func() (*sql.DB, error) {
	return sql.OpenDB(echoConnector{}), nil
})

type echoConnector struct{}

func (echoConnector) Connect(context.Context) (driver.Conn, error) { return echoConn{}, nil }
func (echoConnector) Driver() driver.Driver                        { return echoDriver{} }

type echoDriver struct{}

func (echoDriver) Open(string) (driver.Conn, error) { return echoConn{}, nil }

type echoConn struct{}

func (echoConn) Prepare(string) (driver.Stmt, error) {
	return nil, errors.New("cachegen: echo driver prepares nothing")
}
func (echoConn) Close() error { return nil }
func (echoConn) Begin() (driver.Tx, error) {
	return nil, errors.New("cachegen: echo driver has no transactions")
}

// CheckNamedValue takes every argument as it is.
func (echoConn) CheckNamedValue(*driver.NamedValue) error { return nil }

func (echoConn) QueryContext(_ context.Context, _ string, args []driver.NamedValue) (driver.Rows, error) {
	vals := make([]driver.Value, len(args))
	for i, a := range args {
		vals[i] = a.Value
	}
	return &echoRows{vals: vals}, nil
}

type echoRows struct {
	vals []driver.Value
	done bool
}

func (r *echoRows) Columns() []string { return make([]string, len(r.vals)) }
func (r *echoRows) Close() error      { return nil }
func (r *echoRows) Next(dest []driver.Value) error {
	if r.done {
		return io.EOF
	}
	r.done = true
	copy(dest, r.vals)
	return nil
}
