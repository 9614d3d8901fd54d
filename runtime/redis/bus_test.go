package redis_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/cachegen/cachegen/runtime/redis"
)

// busEvent is one call a Bus made on its handler.
type busEvent struct {
	kind string // "keys", "synced" or "lost"
	keys []string
	sent time.Time
}

// recorder is a BusHandler that keeps what it was told, in order.
type recorder struct {
	mu     sync.Mutex
	events []busEvent
}

func (r *recorder) Invalidated(keys []string) { r.add(busEvent{kind: "keys", keys: keys}) }
func (r *recorder) Synced(sent time.Time)     { r.add(busEvent{kind: "synced", sent: sent}) }
func (r *recorder) Lost()                     { r.add(busEvent{kind: "lost"}) }

func (r *recorder) add(e busEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) snapshot() []busEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// await waits until cond holds on the events so far.
func (r *recorder) await(t *testing.T, what string, cond func([]busEvent) bool) []busEvent {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if ev := r.snapshot(); cond(ev) {
			return ev
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; events: %+v", what, r.snapshot())
		}
		time.Sleep(time.Millisecond)
	}
}

func listen(t *testing.T, c goredis.UniversalClient, channel string) (*redis.Bus, *recorder) {
	t.Helper()
	bus, err := redis.NewBus(c, channel)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bus.Listen(ctx, 5*time.Millisecond, rec) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("Listen returned %v, want context.Canceled", err)
		}
	})
	rec.await(t, "the first probe", func(ev []busEvent) bool { return slices.ContainsFunc(ev, isKind("synced")) })
	return bus, rec
}

func isKind(k string) func(busEvent) bool { return func(e busEvent) bool { return e.kind == k } }

// TestBusDeliversBeforeLaterProbes: keys come through whole, and a probe
// sent after Publish returned comes back only after them: the order the
// near cache's staleness bound rests on.
func TestBusDeliversBeforeLaterProbes(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			c := tg.connect(t)
			channel := fmt.Sprintf("cgtest:bus:%d", rand.Int64())
			_, rec := listen(t, c, channel)
			pub, err := redis.NewBus(c, channel)
			if err != nil {
				t.Fatal(err)
			}
			keys := []string{"cg:users:abcd:id=1", "with space,comma\nand newline", string([]byte{0, 200, 255})}
			for round := range 20 {
				if err := pub.Publish(context.Background(), keys); err != nil {
					t.Fatal(err)
				}
				published := time.Now()
				ev := rec.await(t, "a probe sent after the publish", func(ev []busEvent) bool {
					return slices.ContainsFunc(ev, func(e busEvent) bool { return e.kind == "synced" && e.sent.After(published) })
				})
				at := slices.IndexFunc(ev, func(e busEvent) bool { return e.kind == "synced" && e.sent.After(published) })
				got := 0
				for _, e := range ev[:at] {
					if e.kind == "keys" {
						if !slices.Equal(e.keys, keys) {
							t.Fatalf("keys = %q, want %q", e.keys, keys)
						}
						got++
					}
				}
				if got != round+1 {
					t.Fatalf("round %d: %d messages before the later probe, want %d", round, got, round+1)
				}
			}
		})
	}
}

// TestBusReportsLostConnection: when the server goes away the handler hears
// Lost, and after it comes back probes are answered again.
func TestBusReportsLostConnection(t *testing.T) {
	mr := miniredis.RunT(t)
	c := closeLater(t, goredis.NewClient(&goredis.Options{Addr: mr.Addr(), MaxRetries: -1}))
	_, rec := listen(t, c, "cgtest:bus")
	lostBefore := len(slices.DeleteFunc(rec.snapshot(), func(e busEvent) bool { return e.kind != "lost" }))
	mr.Close()
	rec.await(t, "Lost after the server closed", func(ev []busEvent) bool {
		return len(slices.DeleteFunc(ev, func(e busEvent) bool { return e.kind != "lost" })) > lostBefore
	})
	if err := mr.Restart(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	rec.await(t, "a probe after the restart", func(ev []busEvent) bool {
		return slices.ContainsFunc(ev, func(e busEvent) bool { return e.kind == "synced" && e.sent.After(back) })
	})
}

// TestBusRejectsForeignMessages: a message that is not a key list makes
// the handler drop everything rather than guess.
func TestBusRejectsForeignMessages(t *testing.T) {
	mr := miniredis.RunT(t)
	c := closeLater(t, goredis.NewClient(&goredis.Options{Addr: mr.Addr()}))
	_, rec := listen(t, c, "cgtest:bus")
	before := len(rec.snapshot())
	if err := c.Publish(context.Background(), "cgtest:bus", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01").Err(); err != nil {
		t.Fatal(err)
	}
	rec.await(t, "Lost after a foreign message", func(ev []busEvent) bool {
		return slices.ContainsFunc(ev[before:], isKind("lost"))
	})
	if slices.ContainsFunc(rec.snapshot()[before:], isKind("keys")) {
		t.Fatal("a foreign message was delivered as keys")
	}
}
