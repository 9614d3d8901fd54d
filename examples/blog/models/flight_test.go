package models_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/runtime"
)

// gatedStore holds every Fill until the gate opens, and says when one is
// waiting.
type gatedStore struct {
	runtime.Store
	waiting chan struct{}
	gate    chan struct{}
}

func (g *gatedStore) Fill(ctx context.Context, key, token string, e runtime.Entry, ttl time.Duration) (bool, error) {
	g.waiting <- struct{}{}
	<-g.gate
	return g.Store.Fill(ctx, key, token, e, ttl)
}

// TestLateReaderDoesNotJoinAnOlderFill: a read that begins after a write was
// acknowledged must not be handed the answer of a fill whose database read
// began before that write, even though both readers miss the same key in
// one process (where they share one fill).
func TestLateReaderDoesNotJoinAnOlderFill(t *testing.T) {
	forEachPair(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		u := mustSaveUser(t, e, "late@x.org", 1, "late")
		gated := &gatedStore{Store: e.store, waiting: make(chan struct{}, 1), gate: make(chan struct{})}
		users, err := models.NewUserRepo(e.db, gated, runtime.WithPrefix(e.prefix))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		var early *models.User
		go func() { // reads the old row, then waits to fill
			defer wg.Done()
			early, _ = users.GetByID(ctx, u.ID)
		}()
		<-gated.waiting

		u.Name = "renamed"
		if err := e.users.Save(ctx, u); err != nil { // acknowledged
			t.Fatal(err)
		}
		lateDone := make(chan *models.User)
		go func() {
			late, err := users.GetByID(ctx, u.ID) // begins after the ack
			if err != nil {
				t.Error(err)
			}
			lateDone <- late
		}()
		time.Sleep(50 * time.Millisecond) // let the late reader join the fill
		close(gated.gate)
		late := <-lateDone
		wg.Wait()
		if early == nil || early.Name != "late" && early.Name != "renamed" {
			t.Fatalf("early reader: %+v", early)
		}
		if late == nil || late.Name != "renamed" {
			t.Fatalf("a read that began after the write was acknowledged returned %+v", late)
		}
	})
}
