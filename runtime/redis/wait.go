package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// waitMode is Options.WaitReplicas and WaitTimeout, checked: n is zero
// when the mode is off.
//
// WAIT counts the replicas that have acknowledged every write made so far
// on its own connection, so it is queued last in the phase's pipeline,
// which go-redis sends down one connection. A Cluster pipeline spreads over
// the masters and would send a WAIT, which names no key, to any one of
// them: in wait mode the store sends one pipeline per master itself (see
// Store.groups), on the node clients the ClusterClient made, which do not
// follow MOVED or ASK. During a resharding a phase can then fail for the
// moved keys; they are queued for a retry like any failed phase.
type waitMode struct {
	n  int
	ms int64
}

func newWaitMode(o Options) (waitMode, error) {
	switch {
	case o.WaitReplicas < 0:
		return waitMode{}, fmt.Errorf("redis: Options.WaitReplicas is %d, below zero", o.WaitReplicas)
	case o.WaitTimeout < 0:
		return waitMode{}, fmt.Errorf("redis: Options.WaitTimeout is %v, below zero", o.WaitTimeout)
	case o.WaitReplicas > 0 && o.WaitTimeout == 0:
		return waitMode{}, errors.New("redis: Options.WaitReplicas is set without a WaitTimeout (WAIT with a timeout of 0 blocks without bound)")
	case o.WaitReplicas == 0 && o.WaitTimeout > 0:
		return waitMode{}, errors.New("redis: Options.WaitTimeout is set without WaitReplicas, which turns the mode on")
	}
	ms := int64((o.WaitTimeout + time.Millisecond - 1) / time.Millisecond)
	return waitMode{n: o.WaitReplicas, ms: ms}, nil
}

// queue queues a WAIT, sent once, on pipe, and returns it; nil when the
// mode is off.
func (w waitMode) queue(ctx context.Context, pipe goredis.Pipeliner) *goredis.Cmd {
	if w.n == 0 {
		return nil
	}
	return queueOnce(ctx, pipe, []any{"wait", w.n, w.ms})
}

// check fails the commands of cmds at idx that succeeded when wait (a
// WAIT queued after them) failed or counted fewer than w.n replicas.
func (w waitMode) check(wait *goredis.Cmd, idx []int, cmds []*goredis.Cmd) {
	if wait == nil {
		return
	}
	n, err := wait.Int64()
	switch {
	case err != nil:
		err = fmt.Errorf("WAIT: %w", err)
	case n < int64(w.n):
		err = fmt.Errorf("%d of %d replicas acknowledged the writes within %d ms", n, w.n, w.ms)
	default:
		return
	}
	for _, i := range idx {
		if cmds[i].Err() == nil {
			cmds[i].SetErr(err)
		}
	}
}
