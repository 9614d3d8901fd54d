package models

// The round trip of TestInitRoundTrip, copied beside the models cachegen
// init wrote and the repositories go generate wrote: it names the types,
// fields and methods the schema must give on every database.

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/memory"
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite"
)

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, err := sqlx.Open(os.Getenv("INIT_DRIVER"), os.Getenv("INIT_DSN"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	repos, err := NewRepos(db, store, runtime.WithPrefix("initroundtrip"))
	if err != nil {
		t.Fatal(err)
	}

	g := &Group{Name: "staff"}
	if err := repos.Groups.Save(ctx, g); err != nil {
		t.Fatal("save group:", err)
	}
	note, amount, key := "first", "12.5", "k1"
	placed := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	o := &Order{Select: "a", From: 7, GroupID: &g.ID, Note: &note, Amount: &amount,
		PlacedAt: &placed, Data: []byte{0, 1, 2}, Flag: true, Key: &key}
	if err := repos.Orders.Save(ctx, o); err != nil {
		t.Fatal("save order:", err)
	}
	if o.ID == 0 {
		t.Fatal("the generated pk was not written back")
	}
	for i := 0; i < 2; i++ { // a miss, then a hit
		got, err := repos.Orders.GetByID(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, got, o)
	}
	got, err := repos.Orders.GetBySelectFrom(ctx, "a", 7)
	if err != nil {
		t.Fatal("composite unique:", err)
	}
	same(t, got, o)
	if got, err = repos.Orders.GetByKey(ctx, &key); err != nil {
		t.Fatal("nullable unique:", err)
	}
	same(t, got, o)
	grp, err := repos.Orders.LoadGroup(ctx, o)
	if err != nil || grp.Name != "staff" {
		t.Fatalf("LoadGroup: %v, %v", grp, err)
	}
	if s := repos.Orders.Stats(); s.Hits == 0 {
		t.Errorf("no cache hit: %+v", s)
	}

	// NULLs: every nullable column cleared, then read back as NULL.
	o.GroupID, o.Note, o.Amount, o.PlacedAt, o.Data, o.Type, o.Key = nil, nil, nil, nil, nil, nil, nil
	if err := repos.Orders.Save(ctx, o); err != nil {
		t.Fatal("update:", err)
	}
	for i := 0; i < 2; i++ {
		got, err := repos.Orders.GetByID(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, got, o)
	}
	if _, err := repos.Orders.GetByKey(ctx, &key); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("old key after update: %v", err)
	}
	if err := repos.Orders.Delete(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := repos.Orders.GetByID(ctx, o.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

// same compares the columns of two orders as the database keeps them: the
// decimal as a number, the time to the microsecond.
func same(t *testing.T, got, want *Order) {
	t.Helper()
	eq := got.ID == want.ID && got.Select == want.Select && got.From == want.From && got.Flag == want.Flag &&
		eqPtr(got.GroupID, want.GroupID) && eqPtr(got.Note, want.Note) && eqPtr(got.Type, want.Type) &&
		eqPtr(got.Key, want.Key) && string(got.Data) == string(want.Data) && (got.Data == nil) == (want.Data == nil)
	if (got.Amount == nil) != (want.Amount == nil) {
		eq = false
	} else if got.Amount != nil {
		a, _, errA := big.ParseFloat(*got.Amount, 10, 64, big.ToNearestEven)
		b, _, errB := big.ParseFloat(*want.Amount, 10, 64, big.ToNearestEven)
		eq = eq && errA == nil && errB == nil && a.Cmp(b) == 0
	}
	if (got.PlacedAt == nil) != (want.PlacedAt == nil) {
		eq = false
	} else if got.PlacedAt != nil {
		eq = eq && got.PlacedAt.Equal(*want.PlacedAt)
	}
	if !eq {
		t.Fatalf("read back %+v, want %+v", *got, *want)
	}
}

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// TestKinds walks the column types of the kinds table, every one nullable:
// a row of NULLs, then a row with a value in every column, each saved,
// read back from the database and then from the cache.
func TestKinds(t *testing.T) {
	ctx := context.Background()
	db, err := sqlx.Open(os.Getenv("INIT_DRIVER"), os.Getenv("INIT_DSN"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	repos, err := NewRepos(db, store, runtime.WithPrefix("initkinds"))
	if err != nil {
		t.Fatal(err)
	}
	empty := &Kind{}
	full := &Kind{}
	v := reflect.ValueOf(full).Elem()
	for i := 0; i < v.NumField(); i++ {
		if name := v.Type().Field(i).Name; name != "ID" {
			fill(t, name, v.Field(i))
		}
	}
	for _, row := range []*Kind{empty, full} {
		if err := repos.Kinds.Save(ctx, row); err != nil {
			t.Fatalf("save %+v: %v", *row, err)
		}
		for i := 0; i < 2; i++ {
			got, err := repos.Kinds.GetByID(ctx, row.ID)
			if err != nil {
				t.Fatal(err)
			}
			gv, wv := reflect.ValueOf(got).Elem(), reflect.ValueOf(row).Elem()
			for f := 0; f < gv.NumField(); f++ {
				name := gv.Type().Field(f).Name
				if !sameValue(name, gv.Field(f), wv.Field(f)) {
					t.Errorf("read %d: %s = %s, want %s", i, name, show(gv.Field(f)), show(wv.Field(f)))
				}
			}
		}
	}
}

// fill sets a value every column of its type can hold; the name says what
// a text column must hold.
func fill(t *testing.T, name string, f reflect.Value) {
	if f.Kind() == reflect.Pointer {
		f.Set(reflect.New(f.Type().Elem()))
		f = f.Elem()
	}
	switch {
	case f.Type() == reflect.TypeOf(time.Time{}):
		f.Set(reflect.ValueOf(time.Date(2024, 5, 6, 0, 0, 0, 0, time.UTC)))
	case f.Kind() == reflect.String && strings.Contains(name, "UUID"):
		f.SetString("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
	case f.Kind() == reflect.String && strings.HasPrefix(name, "Doc"):
		f.SetString(`{"a": 1}`)
	case f.Kind() == reflect.String && strings.HasPrefix(name, "Dec"):
		f.SetString("12.5")
	case f.Kind() == reflect.String:
		f.SetString("abc")
	case f.Kind() == reflect.Slice && strings.HasPrefix(name, "Doc"):
		f.SetBytes([]byte(`{"a": 1}`))
	case f.Kind() == reflect.Slice:
		f.SetBytes([]byte{1, 2, 3})
	case f.CanUint() && name == "Y": // MySQL's YEAR reads 7 as 2007
		f.SetUint(2024)
	case f.CanInt():
		f.SetInt(7)
	case f.CanUint():
		f.SetUint(7)
	case f.CanFloat():
		f.SetFloat(1.5)
	case f.Kind() == reflect.Bool:
		f.SetBool(true)
	default:
		t.Fatalf("field %s: no value for %s", name, f.Type())
	}
}

func sameValue(name string, got, want reflect.Value) bool {
	if got.Kind() == reflect.Pointer {
		if got.IsNil() || want.IsNil() {
			return got.IsNil() == want.IsNil()
		}
		got, want = got.Elem(), want.Elem()
	}
	if got.Kind() == reflect.Slice && (got.IsNil() || want.IsNil()) {
		return got.IsNil() == want.IsNil()
	}
	switch g := got.Interface().(type) {
	case time.Time:
		return g.Equal(want.Interface().(time.Time))
	case string:
		if strings.HasPrefix(name, "Dec") {
			a, _, errA := big.ParseFloat(g, 10, 64, big.ToNearestEven)
			b, _, errB := big.ParseFloat(want.String(), 10, 64, big.ToNearestEven)
			return errA == nil && errB == nil && a.Cmp(b) == 0
		}
	}
	return reflect.DeepEqual(got.Interface(), want.Interface())
}

func show(v reflect.Value) string {
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 && !v.IsNil() {
		return fmt.Sprintf("%q", v.Bytes())
	}
	return fmt.Sprintf("%#v", v.Interface())
}
