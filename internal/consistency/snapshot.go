package consistency

import (
	"context"
	"fmt"
	"time"
)

// restartFromSnapshot is the fault of a Redis that comes back with old
// data: the server saves a snapshot (SAVE), the workload goes on for a
// while (writes are acknowledged, their invalidations land), then the
// server is killed and restarted from that snapshot, holding the values
// those writes had invalidated. Only the restart's own downtime counts as
// lost locks; a read that returns a value from the snapshot after a write
// acknowledged since is a stale read, never excused.
func (f *injector) restartFromSnapshot(ctx context.Context) {
	f.count("restart-from-snapshot", 1)
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err := f.direct.Save(cctx).Err()
	cancel()
	if err != nil {
		return // a SAVE already under way, or the server down: no fault this time
	}
	f.hold(ctx)
	from := f.now()
	if err := f.server.Restart(time.Duration(20+f.rng.IntN(300)) * time.Millisecond); err != nil {
		panic(fmt.Sprintf("restart redis-server from its snapshot: %v", err))
	}
	f.lost(Interval{from, f.now()})
}
