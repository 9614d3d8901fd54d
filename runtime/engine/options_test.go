package engine

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/cachegen/cachegen/runtime/observe"
	"github.com/cachegen/cachegen/runtime/store"
)

// optRow and optMapper make a spec NewTable accepts; construction calls
// no Mapper method, so the embedded nil interface is never reached.
type optRow struct{}

type optMapper struct{ Mapper[optRow] }

var optSpec = Spec[optRow]{
	Table:      "rows",
	SchemaHash: "0badcafe",
	Columns:    []string{"id"},
	Indexes:    []Index{{Name: "id", Columns: []int{0}}},
	Mapper:     optMapper{},
	TTL:        time.Hour, // the model's ttl=: WithTTL must override it
}

// optDB is a handle NewTable only asks the driver name of.
func optDB() *sqlx.DB { return sqlx.NewDb(nil, "sqlite") }

type nopObserver struct{}

func (nopObserver) Observe(context.Context, observe.Event) {}

// TestNewTableRejectsBadOptions: every option given a value out of range
// fails NewTable with an error naming the option and the value, instead of
// leaving the default in place.
func TestNewTableRejectsBadOptions(t *testing.T) {
	for _, c := range []struct {
		opts []Option
		want string
	}{
		{[]Option{WithTTL(0)}, "WithTTL(0s)"},
		{[]Option{WithTTL(-time.Second)}, "WithTTL(-1s)"},
		{[]Option{WithNotFoundTTL(0)}, "WithNotFoundTTL(0s)"},
		{[]Option{WithNotFoundTTL(-time.Millisecond)}, "WithNotFoundTTL(-1ms)"},
		{[]Option{WithLeaseTTL(0)}, "WithLeaseTTL(0s)"},
		{[]Option{WithLeaseTTL(-time.Second)}, "WithLeaseTTL(-1s)"},
		{[]Option{WithLeaseWait(0)}, "WithLeaseWait(0s)"},
		{[]Option{WithLeaseWait(-time.Second)}, "WithLeaseWait(-1s)"},
		{[]Option{WithLockTTL(0)}, "WithLockTTL(0s)"},
		{[]Option{WithLockTTL(-time.Minute)}, "WithLockTTL(-1m0s)"},
		{[]Option{WithPhaseTimeout(0)}, "WithPhaseTimeout(0s)"},
		{[]Option{WithPhaseTimeout(-time.Second)}, "WithPhaseTimeout(-1s)"},
		{[]Option{WithAllCap(0)}, "WithAllCap(0)"},
		{[]Option{WithAllCap(-1)}, "WithAllCap(-1)"},
		{[]Option{WithBuildHeartbeat(0)}, "WithBuildHeartbeat(0s)"},
		{[]Option{WithBuildClock(nil)}, "WithBuildClock(<nil>)"},
		{[]Option{WithDialect(0)}, "WithDialect(dialect(0))"},
		{[]Option{WithDialect(MySQL + 1)}, "WithDialect(dialect(4))"},
		{[]Option{WithDialect(-1)}, "WithDialect(dialect(-1))"},
		{[]Option{WithPrefix("")}, `WithPrefix(""): it is empty`},
		{[]Option{WithPrefix("my app")}, `WithPrefix("my app"): it holds ' '`},
		{[]Option{WithPrefix("a\nb")}, `WithPrefix("a\nb")`},
		{[]Option{WithObserver(nil)}, "WithObserver(nil)"},
		{[]Option{WithLogger(nil)}, "WithLogger(nil)"},
		{[]Option{WithRegistry(nil)}, "WithRegistry(nil)"},
		{[]Option{WithNearCache(nil)}, "WithNearCache(nil)"},
		// the first bad option is the one reported
		{[]Option{WithTTL(time.Minute), WithAllCap(-2), WithTTL(0)}, "WithAllCap(-2)"},
	} {
		tbl, err := NewTable(optDB(), nil, &optSpec, c.opts...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewTable with %s: %v, want an error naming it", c.want, err)
		}
		if tbl != nil {
			t.Errorf("NewTable with %s returned a table beside its error", c.want)
		}
	}
}

// TestNewTableAppliesOptions: a value in range is applied, over the
// default and, for WithTTL, over the model's ttl=.
func TestNewTableAppliesOptions(t *testing.T) {
	reg := NewRegistry()
	near := &NearCache{}
	for _, c := range []struct {
		name  string
		opt   Option
		check func(*Table[optRow]) bool
	}{
		{"WithTTL", WithTTL(3 * time.Second), func(t *Table[optRow]) bool { return t.opts.ttl == 3*time.Second }},
		{"WithNotFoundTTL", WithNotFoundTTL(4 * time.Second), func(t *Table[optRow]) bool { return t.opts.notFoundTTL == 4*time.Second }},
		{"WithLeaseTTL", WithLeaseTTL(5 * time.Second), func(t *Table[optRow]) bool { return t.opts.leaseTTL == 5*time.Second }},
		{"WithLeaseWait", WithLeaseWait(time.Millisecond), func(t *Table[optRow]) bool { return t.opts.leaseWait == time.Millisecond }},
		{"WithLockTTL", WithLockTTL(time.Minute), func(t *Table[optRow]) bool { return t.opts.lockTTL == time.Minute }},
		{"WithBuildHeartbeat", WithBuildHeartbeat(2 * time.Second), func(t *Table[optRow]) bool { return t.opts.builds.period == 2*time.Second }},
		{"WithPhaseTimeout", WithPhaseTimeout(time.Second), func(t *Table[optRow]) bool { return t.opts.phaseTimeout == time.Second }},
		{"WithAllCap", WithAllCap(1), func(t *Table[optRow]) bool { return t.opts.allCap == 1 }},
		{"WithDialect", WithDialect(Postgres), func(t *Table[optRow]) bool { return t.dialect == Postgres }},
		{"WithPrefix", WithPrefix("app:v2"), func(t *Table[optRow]) bool { return t.base == tableBase("app:v2", "rows") }},
		{"WithObserver", WithObserver(nopObserver{}), func(t *Table[optRow]) bool { return len(t.obs) == 1 }},
		{"WithLogger", WithLogger(slog.Default()), func(t *Table[optRow]) bool { return len(t.obs) == 1 }},
		{"WithRegistry", WithRegistry(reg), func(t *Table[optRow]) bool { return t.opts.registry == reg }},
		{"WithNearCache", WithNearCache(near), func(t *Table[optRow]) bool { return t.opts.near == near }},
	} {
		tbl, err := NewTable(optDB(), nil, &optSpec, c.opt)
		if err != nil {
			t.Errorf("NewTable with %s: %v", c.name, err)
			continue
		}
		if !c.check(tbl) {
			t.Errorf("NewTable with %s: the value was not applied", c.name)
		}
	}
	// without WithTTL the model's ttl= holds
	if tbl, err := NewTable(optDB(), nil, &optSpec); err != nil || tbl.opts.ttl != time.Hour {
		t.Errorf("NewTable without WithTTL: %v; want the spec's ttl of 1h", err)
	}
	// WithVerify makes NewTable read the catalog, which optDB cannot:
	// check that the option is recorded, which is what NewTable acts on
	o := defaultOptions()
	WithVerify()(&o)
	if !o.verify {
		t.Error("WithVerify: not recorded")
	}
}

// idleBus is a Bus that delivers nothing.
type idleBus struct{}

func (idleBus) Publish(context.Context, []string) error { return nil }

func (idleBus) Listen(ctx context.Context, _ time.Duration, _ store.BusHandler) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestNewNearCacheOptions: a negative NearOptions field fails NewNearCache
// with an error naming it; zero takes the default and a positive value is
// applied.
func TestNewNearCacheOptions(t *testing.T) {
	for _, c := range []struct {
		opts NearOptions
		want string
	}{
		{NearOptions{MaxStaleness: -time.Millisecond}, "MaxStaleness -1ms"},
		{NearOptions{MaxBytes: -1}, "MaxBytes -1"},
		{NearOptions{TTL: -time.Second}, "TTL -1s"},
	} {
		n, err := NewNearCache(idleBus{}, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewNearCache with %s: %v, want an error naming it", c.want, err)
		}
		if n != nil {
			n.Close()
		}
	}
	for _, c := range []struct {
		in, want NearOptions
	}{
		{NearOptions{}, NearOptions{MaxStaleness: 100 * time.Millisecond, MaxBytes: 64 << 20, TTL: time.Minute}},
		{NearOptions{MaxStaleness: time.Second, MaxBytes: 1 << 20, TTL: 2 * time.Second}, NearOptions{MaxStaleness: time.Second, MaxBytes: 1 << 20, TTL: 2 * time.Second}},
	} {
		n, err := NewNearCache(idleBus{}, c.in)
		if err != nil {
			t.Errorf("NewNearCache(%+v): %v", c.in, err)
			continue
		}
		if n.opts != c.want {
			t.Errorf("NewNearCache(%+v): options %+v, want %+v", c.in, n.opts, c.want)
		}
		n.Close()
	}
}
