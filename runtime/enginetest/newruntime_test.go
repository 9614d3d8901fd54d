package enginetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/pairs"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
	cachestore "github.com/cachegen/cachegen/runtime/store"
)

// slowBoard is a store whose build board answers late, as a loaded Redis
// does during a deploy.
type slowBoard struct {
	runtime.Store
	delay time.Duration
}

func (s slowBoard) UpdateBoard(ctx context.Context, key string, keep time.Duration, fn func([]byte) ([]byte, error)) error {
	time.Sleep(s.delay)
	return s.Store.(cachestore.BoardStore).UpdateBoard(ctx, key, keep, fn)
}

// TestNewRuntimeReadsWhatOthersFilled: a runtime that starts while others
// serve the table hits the values they filled, even when its first
// heartbeat takes longer than the phase timeout. It used to read before
// knowing the board's epoch, take their values for another schema, discard
// them and fill values of no epoch that they discarded in turn: at a
// deploy under load a herd of 1,000 misses made hundreds of queries (make
// consistency's herd line, per runtime 1 58 249 188).
func TestNewRuntimeReadsWhatOthersFilled(t *testing.T) {
	ctx := context.Background()
	db, count := openSQLite(t)
	store := pairs.Memory(t, "")
	prefix := dbtest.UniqueName()
	e := newEnv(t, db, count, store, prefix)
	u := mustSaveUser(t, e, "herd@x.org", 1, "herd")
	if _, err := e.users.GetByID(ctx, u.ID); err != nil { // fills, stamped with the epoch
		t.Fatal(err)
	}
	if s := e.users.Stats(); s.Fills != 1 {
		t.Fatalf("first runtime: %+v, want one fill", s)
	}

	// The phase timeout is 50ms by default; the board answers after 300ms.
	late, err := model.NewUserRepo(db, slowBoard{store, 300 * time.Millisecond}, runtime.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	count.Reset()
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := late.GetByID(ctx, u.ID)
			if err == nil && got.Email != "herd@x.org" {
				t.Errorf("got %+v", got)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := count.Queries(); n != 0 {
		t.Errorf("the new runtime made %d database queries, want 0: the row was cached", n)
	}
	if s := late.Stats(); s.OtherSchema != 0 || s.Hits != 50 {
		t.Errorf("new runtime: %+v, want 50 hits and no value of another schema", s)
	}
	// And the first runtime still hits its value.
	count.Reset()
	if _, err := e.users.GetByID(ctx, u.ID); err != nil || count.Queries() != 0 {
		t.Fatalf("first runtime after the new one: %d queries, %v; want a hit", count.Queries(), err)
	}
}
