package enginetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/pairs"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/engine"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
	"github.com/cachegen/cachegen/runtime/store"
)

// lockRecorder is a store that records every key locked through it.
type lockRecorder struct {
	runtime.Store
	mu     sync.Mutex
	locked []string
}

func (r *lockRecorder) Lock(ctx context.Context, key string, ttl time.Duration) error {
	r.mu.Lock()
	r.locked = append(r.locked, key)
	r.mu.Unlock()
	return r.Store.Lock(ctx, key, ttl)
}

// take returns the keys locked since the last take, sorted, once each.
func (r *lockRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := slices.Clone(r.locked)
	r.locked = nil
	slices.Sort(keys)
	return slices.Compact(keys)
}

func changeTable(t *testing.T, reg *runtime.Registry, name string) engine.ChangeTable {
	t.Helper()
	for _, ct := range reg.ChangeTables() {
		if ct.TableName() == name {
			return ct
		}
	}
	t.Fatalf("registry lists no table %s", name)
	return nil
}

// A change stream's row, dropped through the table's ChangeTable, locks
// byte for byte the keys a repository write of the same change locks: the
// pk, the old and new unique and unique_together keys and All, whatever Go
// types the stream decodes the values as (PostgreSQL's int64 and string,
// go-mysql's narrower integers and []byte text).
func TestRowKeysAreTheWriteKeys(t *testing.T) {
	db, _ := openSQLite(t)
	rec := &lockRecorder{Store: pairs.Memory(t, "")}
	reg := runtime.NewRegistry()
	rs, err := model.NewRepos(db, rec, runtime.WithPrefix("rowkeys"), runtime.WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	long := strings.Repeat("handle with spaces, commas % and ü ", 10) // hashed: longer than MaxKeyLen
	u := &model.User{Email: "a b%c@example.com", OrgID: 7, Handle: long, Name: "A"}
	if err := rs.Users.Save(ctx, u); err != nil {
		t.Fatal(err)
	}
	old := *u
	u.Email, u.OrgID, u.Handle, u.Name = "new,é@example.com", 8, "h2", "B"
	rec.take()
	if err := rs.Users.Save(ctx, u); err != nil {
		t.Fatal(err)
	}
	wrote := rec.take()

	users := changeTable(t, reg, "users")
	for _, c := range []struct {
		name     string
		old, new map[string]any
	}{
		{"postgres", map[string]any{"id": old.ID, "email": old.Email, "org_id": old.OrgID, "handle": old.Handle, "name": old.Name},
			map[string]any{"id": u.ID, "email": u.Email, "org_id": u.OrgID, "handle": u.Handle, "name": u.Name}},
		{"mysql", map[string]any{"id": int32(old.ID), "email": []byte(old.Email), "org_id": uint8(old.OrgID), "handle": old.Handle, "name": []byte(old.Name)},
			map[string]any{"id": uint64(u.ID), "email": u.Email, "org_id": int16(u.OrgID), "handle": []byte(u.Handle)}},
	} {
		var keys []string
		for _, row := range []map[string]any{c.old, c.new} {
			k, err := users.RowKeys(row)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			keys = append(keys, k...)
		}
		if err := users.DropKeys(ctx, keys); err != nil {
			t.Fatal(err)
		}
		if got := rec.take(); !slices.Equal(got, wrote) {
			t.Errorf("%s: a change stream's keys\n%q\nwant the write's\n%q", c.name, got, wrote)
		}
	}

	// A post: its published_at (not a key column) may be any form.
	p := &model.Post{AuthorID: u.ID, Slug: "s/1", Title: "t", Body: "b"}
	if err := rs.Posts.Save(ctx, p); err != nil {
		t.Fatal(err)
	}
	rec.take()
	if err := rs.Posts.Delete(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	wrote = rec.take()
	posts := changeTable(t, reg, "posts")
	keys, err := posts.RowKeys(map[string]any{"id": p.ID, "author_id": p.AuthorID, "slug": []byte(p.Slug), "title": "t", "body": []byte("b"), "published_at": "2024-01-02 03:04:05"})
	if err != nil {
		t.Fatal(err)
	}
	if err := posts.DropKeys(ctx, keys); err != nil {
		t.Fatal(err)
	}
	if got := rec.take(); !slices.Equal(got, wrote) {
		t.Errorf("post delete: %q, want %q", got, wrote)
	}
}

// A row lacking a key column (a PostgreSQL old row without REPLICA IDENTITY
// FULL) has no keys: RowKeys says so, naming the columns; a value no field
// takes is an error too, never a key.
func TestRowKeysIncompleteRow(t *testing.T) {
	db, _ := openSQLite(t)
	reg := runtime.NewRegistry()
	if _, err := model.NewRepos(db, pairs.Memory(t, ""), runtime.WithRegistry(reg)); err != nil {
		t.Fatal(err)
	}
	users := changeTable(t, reg, "users")
	_, err := users.RowKeys(map[string]any{"id": int64(1), "name": "x"})
	if !errors.Is(err, engine.ErrRowIncomplete) || !strings.Contains(err.Error(), "email, org_id, handle") {
		t.Errorf("RowKeys of a row without its unique columns: %v, want ErrRowIncomplete naming email, org_id, handle", err)
	}
	_, err = users.RowKeys(map[string]any{"id": "not a number", "email": "e", "org_id": int64(1), "handle": "h"})
	if err == nil {
		t.Error("RowKeys with a text id: no error")
	}
	_, err = users.RowKeys(map[string]any{"id": struct{}{}, "email": "e", "org_id": int64(1), "handle": "h"})
	if err == nil {
		t.Error("RowKeys with a struct value: no error")
	}
}

// publishRecorder is a Bus that records what is published on it.
type publishRecorder struct {
	mu   sync.Mutex
	keys []string
}

func (b *publishRecorder) Publish(_ context.Context, keys []string) error {
	b.mu.Lock()
	b.keys = append(b.keys, keys...)
	b.mu.Unlock()
	return nil
}

func (b *publishRecorder) Listen(ctx context.Context, _ time.Duration, _ store.BusHandler) error {
	<-ctx.Done()
	return ctx.Err()
}

func (b *publishRecorder) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	keys := slices.Clone(b.keys)
	b.keys = nil
	slices.Sort(keys)
	return slices.Compact(keys)
}

// DropKeys announces to the near caches of other processes the keys a
// write of the same change announces.
func TestDropKeysAnnounces(t *testing.T) {
	db, _ := openSQLite(t)
	bus := &publishRecorder{}
	near, err := runtime.NewNearCache(bus, runtime.NearOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { near.Close() })
	reg := runtime.NewRegistry()
	rs, err := model.NewRepos(db, pairs.Memory(t, ""), runtime.WithPrefix("announce"), runtime.WithRegistry(reg), runtime.WithNearCache(near))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	u := &model.User{Email: "a@x", OrgID: 1, Handle: "a", Name: "A"}
	if err := rs.Users.Save(ctx, u); err != nil {
		t.Fatal(err)
	}
	old := *u
	u.Email = "b@x"
	bus.take()
	if err := rs.Users.Save(ctx, u); err != nil {
		t.Fatal(err)
	}
	wrote := bus.take()
	users := changeTable(t, reg, "users")
	var keys []string
	for _, r := range []*model.User{&old, u} {
		k, err := users.RowKeys(map[string]any{"id": r.ID, "email": r.Email, "org_id": r.OrgID, "handle": r.Handle, "name": r.Name})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k...)
	}
	if err := users.DropKeys(ctx, keys); err != nil {
		t.Fatal(err)
	}
	if got := bus.take(); len(wrote) == 0 || !slices.Equal(got, wrote) {
		t.Errorf("DropKeys announced\n%q\nthe write\n%q", got, wrote)
	}
}
