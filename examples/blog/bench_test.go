package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/jmoiron/sqlx"
	goredis "github.com/redis/go-redis/v9"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/memory"
	"github.com/cachegen/cachegen/runtime/metrics/prom"
	"github.com/cachegen/cachegen/runtime/observe"
	cgredis "github.com/cachegen/cachegen/runtime/redis"
	cgotel "github.com/cachegen/cachegen/runtime/trace/otel"
)

// BenchmarkGetByIDObserved is a GetByID hit with no observer (the
// runtime's hot path, unchanged by these packages), with the Prometheus
// metrics, and with the OpenTelemetry tracer (a no-op provider, and the SDK
// sampling every span with no exporter): on the memory store, and on Redis
// when CACHEGEN_REDIS_ADDR is set.
//
//	go test -run '^$' -bench GetByIDObserved -benchmem ./examples/blog
func BenchmarkGetByIDObserved(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		s, err := memory.New(memory.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		benchObservers(b, s)
	})
	b.Run("redis", func(b *testing.B) {
		client := goredis.NewClient(&goredis.Options{Addr: testenv.RedisAddr(b)})
		defer client.Close()
		s, err := cgredis.New(client, cgredis.Options{})
		if err != nil {
			b.Fatal(err)
		}
		prefix := dbtest.UniqueName()
		defer dbtest.DeleteRedisKeys(client, prefix+":*")
		benchObservers(b, s, runtime.WithPrefix(prefix))
	})
}

func benchObservers(b *testing.B, store runtime.Store, opts ...runtime.Option) {
	ctx := context.Background()
	db, err := sqlx.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "bench.db")+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.MustExec(models.SQLiteSchema)
	sdk := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	defer sdk.Shutdown(ctx)
	observers := []struct {
		name string
		obs  observe.Observer
	}{
		{"off", nil},
		{"prom", prom.New(prom.Options{})},
		{"otel-noop", cgotel.New(cgotel.Options{TracerProvider: noop.NewTracerProvider()})},
		{"otel-sdk", cgotel.New(cgotel.Options{TracerProvider: sdk})},
	}
	run := 0
	for _, o := range observers {
		b.Run(o.name, func(b *testing.B) {
			users, err := models.NewUserRepo(db, store, append(opts, runtime.WithObserver(o.obs))...)
			if err != nil {
				b.Fatal(err)
			}
			run++ // -count runs each sub-benchmark again on the same database
			handle := fmt.Sprintf("%s-%d", o.name, run)
			u := &models.User{Email: handle + "@bench.org", OrgID: 1, Handle: handle, Name: "Bench"}
			if err := users.Save(ctx, u); err != nil {
				b.Fatal(err)
			}
			if _, err := users.GetByID(ctx, u.ID); err != nil { // fill
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := users.GetByID(ctx, u.ID); err != nil {
					b.Fatal(err)
				}
			}
			if s := users.Stats(); s.Misses != 1 {
				b.Fatalf("not a hit path: %+v", s)
			}
		})
	}
}
