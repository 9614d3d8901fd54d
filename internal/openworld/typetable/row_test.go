package typetable_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/openworld/typetable"
	"github.com/cachegen/cachegen/internal/pairs"
	"github.com/cachegen/cachegen/runtime"
	"github.com/jmoiron/sqlx"
)

// columns are the table's columns after the primary key, one SQL type per
// dialect each: sqlite, postgres, mysql. Every column is nullable.
var columns = []struct{ name, sqlite, postgres, mysql string }{
	{"i", "INTEGER", "BIGINT", "BIGINT"},
	{"i8", "INTEGER", "SMALLINT", "TINYINT"},
	{"i16", "INTEGER", "SMALLINT", "SMALLINT"},
	{"i32", "INTEGER", "INTEGER", "INT"},
	{"i64", "INTEGER", "BIGINT", "BIGINT"},
	{"u", "INTEGER", "BIGINT", "BIGINT UNSIGNED"},
	{"u8", "INTEGER", "SMALLINT", "TINYINT UNSIGNED"},
	{"u16", "INTEGER", "INTEGER", "SMALLINT UNSIGNED"},
	{"u32", "INTEGER", "BIGINT", "INT UNSIGNED"},
	{"u64", "INTEGER", "BIGINT", "BIGINT UNSIGNED"},
	{"f32", "REAL", "REAL", "FLOAT"},
	{"f64", "REAL", "DOUBLE PRECISION", "DOUBLE"},
	{"flag", "BOOLEAN", "BOOLEAN", "BOOLEAN"},
	{"text_", "TEXT", "TEXT", "TEXT"},
	{"bytes_", "BLOB", "BYTEA", "BLOB"},
	{"at", "DATETIME", "TIMESTAMPTZ", "DATETIME(6)"},
	{"arr", "BLOB", "BYTEA", "BINARY(16)"},
	{"p_int", "INTEGER", "BIGINT", "BIGINT"},
	{"p_u16", "INTEGER", "INTEGER", "SMALLINT UNSIGNED"},
	{"p_f64", "REAL", "DOUBLE PRECISION", "DOUBLE"},
	{"p_bool", "BOOLEAN", "BOOLEAN", "BOOLEAN"},
	{"p_str", "TEXT", "TEXT", "TEXT"},
	{"p_bytes", "BLOB", "BYTEA", "BLOB"},
	{"p_time", "DATETIME", "TIMESTAMPTZ", "DATETIME(6)"},
	{"n_str", "TEXT", "TEXT", "TEXT"},
	{"n_i64", "INTEGER", "BIGINT", "BIGINT"},
	{"n_i32", "INTEGER", "INTEGER", "INT"},
	{"n_i16", "INTEGER", "SMALLINT", "SMALLINT"},
	{"n_byte", "INTEGER", "SMALLINT", "TINYINT UNSIGNED"},
	{"n_f64", "REAL", "DOUBLE PRECISION", "DOUBLE"},
	{"n_bool", "BOOLEAN", "BOOLEAN", "BOOLEAN"},
	{"n_time", "DATETIME", "TIMESTAMPTZ", "DATETIME(6)"},
	{"n_g", "INTEGER", "BIGINT", "BIGINT"},
	{"n_g_str", "TEXT", "TEXT", "TEXT"},
	{"n_g_code", "TEXT", "TEXT", "TEXT"},
	{"status", "INTEGER", "SMALLINT", "SMALLINT"},
	{"big", "INTEGER", "BIGINT", "INT UNSIGNED"},
	{"ratio", "REAL", "DOUBLE PRECISION", "DOUBLE"},
	{"on_", "BOOLEAN", "BOOLEAN", "BOOLEAN"},
	{"code", "TEXT", "TEXT", "TEXT"},
	{"raw", "BLOB", "BYTEA", "BLOB"},
	{"dig", "BLOB", "BYTEA", "BINARY(8)"},
	{"p_code", "TEXT", "TEXT", "TEXT"},
	{"p_big", "INTEGER", "BIGINT", "INT UNSIGNED"},
	{"point", "BLOB", "BYTEA", "VARBINARY(2)"},
}

func schema(dialect string) string {
	pk := map[string]string{
		"sqlite":   "id INTEGER PRIMARY KEY AUTOINCREMENT",
		"postgres": "id BIGSERIAL PRIMARY KEY",
		"mysql":    "id BIGINT AUTO_INCREMENT PRIMARY KEY",
	}[dialect]
	defs := []string{pk}
	for _, c := range columns {
		typ := map[string]string{"sqlite": c.sqlite, "postgres": c.postgres, "mysql": c.mysql}[dialect]
		defs = append(defs, c.name+" "+typ)
	}
	return "CREATE TABLE typed_rows (" + strings.Join(defs, ", ") + ")"
}

// full sets every column to a value that is not its zero value; times are
// in UTC at microsecond precision, what every database keeps.
func full() typetable.Row {
	at := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
	i, u16, f, yes, s, b := int64(-9), uint16(65535), -0.25, true, "pointed", []byte{0, 9}
	code, big := typetable.Code("p-code"), typetable.Big(4000000000)
	return typetable.Row{
		I: -1, I8: -128, I16: -32768, I32: -2147483648, I64: -1 << 62,
		U: 1 << 40, U8: 255, U16: 65535, U32: 4294967295, U64: 1<<63 - 1,
		F32: 1.5, F64: -2.125, Flag: true, Text: "text, with: separators= and ünïcode", Bytes: []byte{0, 1, 255},
		At: at, Arr: [16]byte{0: 1, 15: 255},
		PInt: &i, PU16: &u16, PF64: &f, PBool: &yes, PStr: &s, PBytes: &b, PTime: &at,
		NStr: sql.NullString{String: "n", Valid: true}, NI64: sql.NullInt64{Int64: -5, Valid: true},
		NI32: sql.NullInt32{Int32: 7, Valid: true}, NI16: sql.NullInt16{Int16: -7, Valid: true},
		NByte: sql.NullByte{Byte: 200, Valid: true}, NF64: sql.NullFloat64{Float64: 0.5, Valid: true},
		NBool: sql.NullBool{Bool: true, Valid: true}, NTime: sql.NullTime{Time: at, Valid: true},
		NG: sql.Null[int64]{V: 11, Valid: true}, NGStr: sql.Null[string]{V: "g", Valid: true},
		NGCode: sql.Null[typetable.Code]{V: "gc", Valid: true},
		Status: -3, Big: 3000000000, Ratio: 0.75, On: true, Code: "code", Raw: typetable.Blob{7, 0},
		Dig: typetable.Digest{1, 2, 3, 4, 5, 6, 7, 8}, PCode: &code, PBig: &big,
		Point: typetable.Point{X: -1, Y: 2},
	}
}

// sparse leaves every nullable column NULL and the others at their zero
// value (false for the bools), but for the times, which every database
// keeps only from year 1000 on.
func sparse() typetable.Row {
	at := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	return typetable.Row{At: at, Bytes: []byte{}, Raw: typetable.Blob{}}
}

// TestTypeTable writes a row of every type of the README's type table and
// reads it back through a generated repository, cached (twice: the miss,
// then the hit) and with caching off, on every database: what comes back
// is what was written, and the cached row is the database's row.
func TestTypeTable(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(d.Name, func(t *testing.T) {
			db, _ := d.Open(t)
			db.MustExec(schema(d.Name))
			for _, caching := range []bool{true, false} {
				t.Run(fmt.Sprintf("caching=%v", caching), func(t *testing.T) {
					roundTrips(t, db, caching)
				})
			}
		})
	}
}

func roundTrips(t *testing.T, db *sqlx.DB, caching bool) {
	ctx := context.Background()
	prefix := dbtest.UniqueName()
	var store runtime.Store
	if caching {
		store = pairs.Memory(t, prefix)
	}
	repo, err := typetable.NewRowRepo(db, store, runtime.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	direct, err := typetable.NewRowRepo(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		row  typetable.Row
	}{{"full", full()}, {"sparse", sparse()}, {"sparse after full", full()}} {
		row := c.row
		if c.name == "sparse after full" {
			if err := repo.Save(ctx, &row); err != nil {
				t.Fatalf("%s: insert: %v", c.name, err)
			}
			id := row.ID
			row = sparse()
			row.ID = id
		}
		if err := repo.Save(ctx, &row); err != nil {
			t.Fatalf("%s: save: %v", c.name, err)
		}
		for read := 1; read <= 2; read++ {
			got, err := repo.GetByID(ctx, row.ID)
			if err != nil {
				t.Fatalf("%s: read %d: %v", c.name, read, err)
			}
			if diff := differ(normal(*got), normal(row)); diff != "" {
				t.Errorf("%s: read %d differs from what was written: %s", c.name, read, diff)
			}
			fromDB, err := direct.GetByID(ctx, row.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, fromDB) {
				t.Errorf("%s: read %d is not the database's row:\n got %+v\nwant %+v", c.name, read, got, fromDB)
			}
		}
	}
	// The second read of each row was a hit: the values above came out of
	// the cache's encoding, not only the database's.
	if hits := repo.Stats().Hits; caching && hits < 3 || !caching && hits != 0 {
		t.Errorf("caching=%v: %d hits", caching, hits)
	}
	all, err := repo.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, err := direct.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 3 || !reflect.DeepEqual(all, want) {
		t.Errorf("All: %d rows, not the database's %d", len(all), len(want))
	}
}

// normal puts what databases may return differently for one value in one
// form: times in UTC, empty byte slices as nil.
func normal(r typetable.Row) typetable.Row {
	utc := func(p *time.Time) *time.Time {
		if p == nil {
			return nil
		}
		u := p.UTC()
		return &u
	}
	r.At = r.At.UTC()
	r.PTime = utc(r.PTime)
	r.NTime.Time = r.NTime.Time.UTC()
	if len(r.Bytes) == 0 {
		r.Bytes = nil
	}
	if len(r.Raw) == 0 {
		r.Raw = nil
	}
	return r
}

// differ names the fields of a and b that differ, or returns "".
func differ(a, b typetable.Row) string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var out []string
	for i := 0; i < va.NumField(); i++ {
		x, y := va.Field(i).Interface(), vb.Field(i).Interface()
		if xb, ok := x.([]byte); ok {
			if yb, _ := y.([]byte); bytes.Equal(xb, yb) {
				continue
			}
		}
		if !reflect.DeepEqual(x, y) {
			out = append(out, fmt.Sprintf("%s: got %s, wrote %s", va.Type().Field(i).Name, show(x), show(y)))
		}
	}
	return strings.Join(out, "; ")
}

func show(v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		return fmt.Sprintf("&%#v", rv.Elem().Interface())
	}
	return fmt.Sprintf("%#v", v)
}
