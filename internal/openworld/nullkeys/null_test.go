package nullkeys_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/openworld/nullkeys"
	"github.com/cachegen/cachegen/internal/pairs"
	"github.com/cachegen/cachegen/runtime"
	"github.com/jmoiron/sqlx"
)

var schemas = map[string]string{
	"sqlite": `CREATE TABLE blobs (id INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB UNIQUE, raw BLOB UNIQUE,
		opt BLOB UNIQUE, nick TEXT UNIQUE, tag BLOB UNIQUE)`,
	"postgres": `CREATE TABLE blobs (id BIGSERIAL PRIMARY KEY, data BYTEA UNIQUE, raw BYTEA UNIQUE,
		opt BYTEA UNIQUE, nick TEXT UNIQUE, tag BYTEA UNIQUE)`,
	"mysql": `CREATE TABLE blobs (id BIGINT AUTO_INCREMENT PRIMARY KEY, data VARBINARY(64) UNIQUE, raw VARBINARY(64) UNIQUE,
		opt VARBINARY(64) UNIQUE, nick VARCHAR(64) UNIQUE, tag VARBINARY(64) UNIQUE)`,
}

// lookup is one unique lookup: its column, the Go value the database is
// asked with, and the repository's single and batch reads of it.
type lookup struct {
	name   string
	column string
	arg    any
	one    func(ctx context.Context, r *nullkeys.BlobRepo) (*nullkeys.Blob, error)
	many   func(ctx context.Context, r *nullkeys.BlobRepo, n int) ([]*nullkeys.Blob, error)
}

func str(s string) *string { return &s }

// lookups are NULL, empty and a value for each nullable kind.
func lookups() []lookup {
	var out []lookup
	for _, v := range []struct {
		name string
		b    []byte
	}{{"nil", nil}, {"empty", []byte{}}, {"x", []byte("x")}} {
		out = append(out,
			lookup{"data=" + v.name, "data", v.b,
				func(ctx context.Context, r *nullkeys.BlobRepo) (*nullkeys.Blob, error) { return r.GetByData(ctx, v.b) },
				func(ctx context.Context, r *nullkeys.BlobRepo, n int) ([]*nullkeys.Blob, error) {
					return r.GetByDatas(ctx, repeat(v.b, n))
				}},
			lookup{"raw=" + v.name, "raw", nullkeys.Raw(v.b),
				func(ctx context.Context, r *nullkeys.BlobRepo) (*nullkeys.Blob, error) {
					return r.GetByRaw(ctx, nullkeys.Raw(v.b))
				},
				func(ctx context.Context, r *nullkeys.BlobRepo, n int) ([]*nullkeys.Blob, error) {
					return r.GetByRaws(ctx, repeat(nullkeys.Raw(v.b), n))
				}},
		)
	}
	for _, v := range []struct {
		name string
		o    sql.Null[[]byte]
	}{
		{"invalid", sql.Null[[]byte]{}},
		{"valid nil", sql.Null[[]byte]{Valid: true}},
		{"empty", sql.Null[[]byte]{V: []byte{}, Valid: true}},
		{"x", sql.Null[[]byte]{V: []byte("x"), Valid: true}},
	} {
		out = append(out, lookup{"opt=" + v.name, "opt", v.o,
			func(ctx context.Context, r *nullkeys.BlobRepo) (*nullkeys.Blob, error) { return r.GetByOpt(ctx, v.o) },
			func(ctx context.Context, r *nullkeys.BlobRepo, n int) ([]*nullkeys.Blob, error) {
				return r.GetByOpts(ctx, repeat(v.o, n))
			}})
	}
	for _, v := range []struct {
		name string
		p    *string
	}{{"nil", nil}, {"empty", str("")}, {"x", str("x")}} {
		out = append(out, lookup{"nick=" + v.name, "nick", v.p,
			func(ctx context.Context, r *nullkeys.BlobRepo) (*nullkeys.Blob, error) { return r.GetByNick(ctx, v.p) },
			func(ctx context.Context, r *nullkeys.BlobRepo, n int) ([]*nullkeys.Blob, error) {
				return r.GetByNicks(ctx, repeat(v.p, n))
			}})
	}
	for _, v := range []struct {
		name string
		tag  nullkeys.Tag
	}{{"invalid", nullkeys.Tag{}}, {"empty", nullkeys.Tag{B: []byte{}, Valid: true}}, {"x", nullkeys.Tag{B: []byte("x"), Valid: true}}} {
		out = append(out, lookup{"tag=" + v.name, "tag", v.tag,
			func(ctx context.Context, r *nullkeys.BlobRepo) (*nullkeys.Blob, error) { return r.GetByTag(ctx, v.tag) },
			func(ctx context.Context, r *nullkeys.BlobRepo, n int) ([]*nullkeys.Blob, error) {
				return r.GetByTags(ctx, repeat(v.tag, n))
			}})
	}
	return out
}

func repeat[V any](v V, n int) []V {
	out := make([]V, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// TestNullAndEmptyAreDifferentKeys: a table holds a row whose unique
// columns are NULL and a row whose unique columns are empty. Every lookup
// by NULL, by empty and by a value, single and in a batch, cached (read
// twice) or with caching off, answers what the database answers for the
// same argument, before and after writes that move the values.
func TestNullAndEmptyAreDifferentKeys(t *testing.T) {
	for _, p := range pairs.All() {
		t.Run(p.Name, func(t *testing.T) {
			db, _ := p.DB(t)
			db.MustExec(schemas[p.Dialect])
			prefix := dbtest.UniqueName()
			cached, err := nullkeys.NewBlobRepo(db, p.Store(t, prefix), runtime.WithPrefix(prefix))
			if err != nil {
				t.Fatal(err)
			}
			direct, err := nullkeys.NewBlobRepo(db, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			null := &nullkeys.Blob{}
			empty := &nullkeys.Blob{Data: []byte{}, Raw: nullkeys.Raw{}, Opt: sql.Null[[]byte]{V: []byte{}, Valid: true}, Nick: str(""),
				Tag: nullkeys.Tag{B: []byte{}, Valid: true}}
			for _, r := range []*nullkeys.Blob{null, empty} {
				if err := cached.Save(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			agree(t, "NULL row and empty row", db, cached, direct)
			agree(t, "read again", db, cached, direct)

			// The empty row takes the values x; the NULL row becomes empty.
			*empty = nullkeys.Blob{ID: empty.ID, Data: []byte("x"), Raw: nullkeys.Raw("x"), Opt: sql.Null[[]byte]{V: []byte("x"), Valid: true}, Nick: str("x"),
				Tag: nullkeys.Tag{B: []byte("x"), Valid: true}}
			if err := cached.Save(ctx, empty); err != nil {
				t.Fatal(err)
			}
			*null = nullkeys.Blob{ID: null.ID, Data: []byte{}, Raw: nullkeys.Raw{}, Opt: sql.Null[[]byte]{V: []byte{}, Valid: true}, Nick: str(""),
				Tag: nullkeys.Tag{B: []byte{}, Valid: true}}
			if err := cached.Save(ctx, null); err != nil {
				t.Fatal(err)
			}
			agree(t, "after the values moved", db, cached, direct)
			agree(t, "read again after the values moved", db, cached, direct)
		})
	}
}

// agree asks every lookup of the cached repository (twice, single then
// batch) and of the uncached one, and compares them with the database's
// own answer for the same argument.
func agree(t *testing.T, step string, db *sqlx.DB, cached, direct *nullkeys.BlobRepo) {
	t.Helper()
	ctx := context.Background()
	// Every row, read by primary key and in All, comes out of the cache
	// as the driver returns it.
	want, err := direct.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		for _, w := range want {
			got, err := cached.GetByID(ctx, w.ID)
			if err != nil || !reflect.DeepEqual(got, w) {
				t.Fatalf("%s: cached GetByID(%d) (read %d) = %s, %v; the database holds %s", step, w.ID, round+1, show(got), err, show(w))
			}
		}
		all, err := cached.All(ctx)
		if err != nil || !reflect.DeepEqual(all, want) {
			t.Fatalf("%s: cached All (read %d) = %v, %v; the database holds %v", step, round+1, all, err, want)
		}
	}
	for _, l := range lookups() {
		var ids []int64
		if err := db.Select(&ids, db.Rebind(`SELECT id FROM blobs WHERE `+l.column+` = ?`), l.arg); err != nil {
			t.Fatal(err)
		}
		var want *nullkeys.Blob
		if len(ids) > 0 {
			var err error
			if want, err = direct.GetByID(ctx, ids[0]); err != nil {
				t.Fatal(err)
			}
		}
		for _, repo := range []struct {
			name string
			r    *nullkeys.BlobRepo
		}{{"cached", cached}, {"caching off", direct}} {
			for round := range 2 {
				got, err := l.one(ctx, repo.r)
				if errors.Is(err, runtime.ErrNotFound) {
					err = nil
				}
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: %s GetBy %s (read %d) = %s, the database answers %s", step, repo.name, l.name, round+1, show(got), show(want))
				}
				rows, err := l.many(ctx, repo.r, 2)
				if err != nil {
					t.Fatal(err)
				}
				for _, got := range rows {
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("%s: %s batch GetBy %s (read %d) = %s, the database answers %s", step, repo.name, l.name, round+1, show(got), show(want))
					}
				}
			}
		}
	}
}

func show(b *nullkeys.Blob) string {
	if b == nil {
		return "no row"
	}
	nick := "nil"
	if b.Nick != nil {
		nick = fmt.Sprintf("%q", *b.Nick)
	}
	return fmt.Sprintf("{ID:%d Data:%s Raw:%s Opt:%v/%s Nick:%s Tag:%v/%s}", b.ID, bytesOf(b.Data), bytesOf(b.Raw), b.Opt.Valid, bytesOf(b.Opt.V), nick,
		b.Tag.Valid, bytesOf(b.Tag.B))
}

func bytesOf(p []byte) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprintf("%q", p)
}
