package consistency

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachegen/cachegen/internal/checkmodel"
	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/runtime"
)

// Herd is the thundering herd measure: how many database queries a burst
// of concurrent misses on one cold key made, with every reader in one
// runtime, and spread over several runtimes sharing the store.
type Herd struct {
	Readers     int
	One         int64   // queries, all readers in one runtime
	PerRuntime  []int64 // queries per runtime, readers spread evenly
	StoreErrors uint64  // store calls that failed (each reads the database)
}

// herdTimeout bounds the herd's store calls: long enough that a loaded
// machine does not time them out.
const herdTimeout = 5 * time.Second

// OK reports whether one runtime made one query and each of several at
// most one.
func (h *Herd) OK() bool {
	if h.One != 1 {
		return false
	}
	for _, n := range h.PerRuntime {
		if n > 1 {
			return false
		}
	}
	return true
}

func (h *Herd) String() string {
	total := int64(0)
	per := make([]string, len(h.PerRuntime))
	for i, n := range h.PerRuntime {
		total += n
		per[i] = fmt.Sprint(n)
	}
	verdict := "ok"
	if !h.OK() {
		verdict = "FAILED"
	}
	errs := ""
	if h.StoreErrors > 0 {
		errs = fmt.Sprintf(" (%d store errors)", h.StoreErrors)
	}
	return fmt.Sprintf("herd: %d concurrent misses on one key: 1 runtime: %d db queries; %d runtimes sharing the store: %d db queries (per runtime %s)%s: %s",
		h.Readers, h.One, len(h.PerRuntime), total, strings.Join(per, " "), errs, verdict)
}

const herdID = 1 << 40

// measureHerd inserts one row and reads it with readers concurrent misses,
// first through one runtime, then through one per store in stores, each
// on a database handle of its own that counts its queries.
func measureHerd(ctx context.Context, db *Database, stores []runtime.Store, prefix string) (*Herd, error) {
	const readers = 1000
	admin := db.Admin()
	if _, err := admin.ExecContext(ctx, admin.Rebind("INSERT INTO accounts (id, email, org, handle, version) VALUES (?, ?, ?, ?, ?)"),
		herdID, "herd@x.org", 0, "herd", 1); err != nil {
		return nil, err
	}
	var storeErrors uint64
	run := func(n int, prefix string) ([]int64, error) {
		counts := make([]dbtest.Counter, n)
		repos := make([]*checkmodel.AccountRepo, n)
		for i := range n {
			h, err := db.Open(0, &counts[i], 10)
			if err != nil {
				return nil, err
			}
			defer h.Close()
			// A reader that finds another runtime's lease waits for its fill
			// for LeaseWait (50ms by default), then reads the database. On a
			// loaded machine a fill may take longer than that, and the count
			// would measure the machine, not the protocol: the herd's
			// runtimes wait as long as a lease lives.
			if repos[i], err = checkmodel.NewAccountRepo(h, stores[i], runtime.WithPrefix(prefix), runtime.WithLeaseWait(5*time.Second)); err != nil {
				return nil, err
			}
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		var failed atomic.Int64
		var firstErr atomic.Value
		for r := range readers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				a, err := repos[r%n].GetByID(ctx, herdID)
				if err != nil || a.Email != "herd@x.org" {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%+v, %v", a, err))
				}
			}()
		}
		close(start)
		wg.Wait()
		if failed.Load() > 0 {
			return nil, fmt.Errorf("%d of %d herd reads failed, first: %v", failed.Load(), readers, firstErr.Load())
		}
		out := make([]int64, n)
		for i := range out {
			out[i] = counts[i].Queries()
			storeErrors += repos[i].Stats().StoreErrors
		}
		return out, nil
	}
	one, err := run(1, prefix+"herd1")
	if err != nil {
		return nil, err
	}
	per, err := run(len(stores), prefix+"herdn")
	if err != nil {
		return nil, err
	}
	return &Herd{Readers: readers, One: one[0], PerRuntime: per, StoreErrors: storeErrors}, nil
}
