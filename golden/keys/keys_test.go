package keys

import (
	"context"
	"errors"
	"testing"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/memory"
	"github.com/jmoiron/sqlx"
)

// The generated SQL must quote identifiers that are SQL keywords (key,
// value, type, range, order), insert a row that has nothing but a generated
// key, and keep application-assigned keys, on every dialect.

var schemas = map[string][]string{
	"sqlite": {
		`CREATE TABLE settings ("key" TEXT PRIMARY KEY, "value" TEXT NOT NULL)`,
		`CREATE TABLE orders (id INTEGER PRIMARY KEY, "type" TEXT NOT NULL, "range" INTEGER NOT NULL, "order" INTEGER NOT NULL, UNIQUE ("type", "range"))`,
		`CREATE TABLE tags (id INTEGER PRIMARY KEY AUTOINCREMENT)`,
	},
	"postgres": {
		`CREATE TABLE settings ("key" TEXT PRIMARY KEY, "value" TEXT NOT NULL)`,
		`CREATE TABLE orders (id BIGINT PRIMARY KEY, "type" TEXT NOT NULL, "range" INTEGER NOT NULL, "order" INTEGER NOT NULL, UNIQUE ("type", "range"))`,
		`CREATE TABLE tags (id BIGSERIAL PRIMARY KEY)`,
	},
	"mysql": {
		"CREATE TABLE settings (`key` VARCHAR(255) PRIMARY KEY, `value` TEXT NOT NULL)",
		"CREATE TABLE orders (id BIGINT PRIMARY KEY, `type` VARCHAR(255) NOT NULL, `range` INT NOT NULL, `order` INT NOT NULL, UNIQUE (`type`, `range`))",
		"CREATE TABLE tags (id BIGINT AUTO_INCREMENT PRIMARY KEY)",
	},
}

func TestKeywordsAndAssignedKeys(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			db, _ := d.Open(t)
			for _, stmt := range schemas[d.Name] {
				db.MustExec(stmt)
			}
			store, err := memory.New(memory.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			settings, orders, tags := repos(t, db, store)

			s := &Setting{Key: "order", Value: "asc"}
			if err := settings.Save(ctx, s); err != nil {
				t.Fatal(err)
			}
			if got, err := settings.GetByKey(ctx, "order"); err != nil || got.Value != "asc" {
				t.Fatalf("GetByKey: %+v %v", got, err)
			}
			s.Value = "desc"
			if err := settings.Save(ctx, s); err != nil {
				t.Fatal(err)
			}
			if got, err := settings.GetByKey(ctx, "order"); err != nil || got.Value != "desc" {
				t.Fatalf("GetByKey after update: %+v %v", got, err)
			}
			if err := settings.Delete(ctx, "order"); err != nil {
				t.Fatal(err)
			}
			if _, err := settings.GetByKey(ctx, "order"); !errors.Is(err, runtime.ErrNotFound) {
				t.Fatalf("after delete: %v", err)
			}

			o := &Order{ID: 7, Type: "limit", Range: 3, Order: 1}
			if err := orders.Save(ctx, o); err != nil || o.ID != 7 {
				t.Fatalf("Save with an assigned key: id %d, %v", o.ID, err)
			}
			if got, err := orders.GetByTypeRange(ctx, "limit", 3); err != nil || got.ID != 7 || got.Order != 1 {
				t.Fatalf("GetByTypeRange: %+v %v", got, err)
			}
			zero := &Order{Type: "market", Range: 1}
			if err := orders.Save(ctx, zero); err != nil || zero.ID != 0 {
				t.Fatalf("a manual zero key must be saved as zero: id %d, %v", zero.ID, err)
			}
			if all, err := orders.All(ctx); err != nil || len(all) != 2 || all[0].ID != 0 || all[1].ID != 7 {
				t.Fatalf("All: %+v %v", all, err)
			}

			for want := int64(1); want <= 2; want++ {
				tag := &Tag{}
				if err := tags.Save(ctx, tag); err != nil || tag.ID != want {
					t.Fatalf("Save of a key-only row: id %d, %v (want %d)", tag.ID, err, want)
				}
			}
		})
	}
}

func repos(t *testing.T, db *sqlx.DB, store runtime.Store) (*SettingRepo, *OrderRepo, *TagRepo) {
	t.Helper()
	settings, err := NewSettingRepo(db, store)
	if err != nil {
		t.Fatal(err)
	}
	orders, err := NewOrderRepo(db, store)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := NewTagRepo(db, store)
	if err != nil {
		t.Fatal(err)
	}
	return settings, orders, tags
}
