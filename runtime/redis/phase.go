package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachegen/cachegen/runtime/store"
)

// A write's store phases (its locks before commit, its releases after)
// run while the write holds, or has just held, database locks, so each is
// one bounded attempt, whatever the client's settings:
//
//   - every lock and unlock is sent once: go-redis does not retry it after
//     a network error or a timeout, whatever MaxRetries says (the commands
//     report NoRetry). A retry could also run an unlock twice when the
//     first one reached the server and only its reply was lost, dropping
//     another writer's lock;
//   - the call returns by ctx's deadline even when the client would wait
//     longer: go-redis watches ctx while it waits for a connection, but
//     not while it waits for a reply unless the client was made with
//     ContextTimeoutEnabled. A command still under way then is left to
//     finish on its own (its result is not used; the runtime has already
//     counted the phase as failed and queued the keys for a retry).
//
// A reply of NOSCRIPT (the server does not know the script) is an answer,
// not a failure: those ops are sent again with EVAL, within the same
// deadline.

// noRetryCmd is a command go-redis sends at most once.
type noRetryCmd struct{ *goredis.Cmd }

// NoRetry tells go-redis not to send the command again after a failure.
func (noRetryCmd) NoRetry() bool { return true }

// LockMany does Lock for each op, with one pipeline of lock scripts, each
// sent once.
func (s *Store) LockMany(ctx context.Context, ops []store.LockOp) {
	s.lockMany(ctx, ops, nil)
}

func (s *Store) lockMany(ctx context.Context, ops []store.LockOp, pub *publication) {
	calls := make([]scriptCall, len(ops))
	ctx, err := check(ctx)
	for i := range ops {
		op := &ops[i]
		if op.Err = err; err != nil {
			continue
		}
		_, ms, err := checkTTL(ctx, op.TTL)
		if err != nil {
			op.Err = err
			continue
		}
		calls[i] = scriptCall{key: op.Key, args: []any{ms}}
	}
	cmds, err := s.runOnce(ctx, lockScript, lockSrc, calls, pub)
	for i := range ops {
		switch {
		case calls[i].args == nil:
		case err != nil:
			ops[i].Err = fmt.Errorf("redis: lock: %w", err)
		case cmds[i].Err() != nil:
			ops[i].Err = fmt.Errorf("redis: lock: %w", cmds[i].Err())
		}
	}
}

// UnlockMany does Unlock for each op, with one pipeline of unlock scripts,
// each sent once.
func (s *Store) UnlockMany(ctx context.Context, ops []store.UnlockOp) {
	s.unlockMany(ctx, ops, nil)
}

func (s *Store) unlockMany(ctx context.Context, ops []store.UnlockOp, pub *publication) {
	calls := make([]scriptCall, len(ops))
	ctx, err := check(ctx)
	for i := range ops {
		if ops[i].Err = err; err == nil {
			calls[i] = scriptCall{key: ops[i].Key, args: []any{}}
		}
	}
	cmds, err := s.runOnce(ctx, unlockScript, unlockSrc, calls, pub)
	for i := range ops {
		switch {
		case calls[i].args == nil:
		case err != nil:
			ops[i].Err = fmt.Errorf("redis: unlock: %w", err)
		case cmds[i].Err() != nil:
			ops[i].Err = fmt.Errorf("redis: unlock: %w", cmds[i].Err())
		}
	}
}

// runOnce runs script (whose source is src) once per call (a call with
// nil args is not sent), in one pipeline of EVALSHAs sent once, then the
// calls that met NOSCRIPT in a second one with EVAL. In wait mode each
// pipeline ends with a WAIT, and on a Cluster there is one pipeline per
// master (see waitMode). It returns the commands, aligned with calls, or
// ctx's error when the deadline passed first.
//
// A publication (nil for none) goes at the end of the pipeline, after the
// scripts, and again at the end of the NOSCRIPT pipeline when there is one,
// so that its listeners hear of the keys only once they are locked (or
// released). It is never split across groups: the runtime asks for one
// only where there is a single group (CarriesBus).
func (s *Store) runOnce(ctx context.Context, script *goredis.Script, src string, calls []scriptCall, pub *publication) ([]*goredis.Cmd, error) {
	cmds := make([]*goredis.Cmd, len(calls))
	groups := s.groups(ctx, calls, cmds)
	if pub != nil && len(groups) != 1 {
		// No op was sent (each failed before), or the phase spans nodes
		// (not asked for: see CarriesBus): the message goes on its own,
		// after them.
		if len(groups) > 1 {
			defer pub.sendAlone(ctx, s.c)
		} else {
			pub.sendAlone(ctx, s.c)
		}
		pub = nil
	}
	if len(groups) == 0 {
		return cmds, nil
	}
	// What the call left behind by the deadline may write to is its own
	// copy of the publication.
	var res *publication
	if pub != nil {
		res = &publication{bus: pub.bus, msg: pub.msg}
	}
	// The commands are read only once the call is done: one left to
	// finish alone may still be written to.
	err := bounded(ctx, func() {
		if len(groups) == 1 {
			s.runGroup(ctx, groups[0], script, src, calls, cmds, res)
			return
		}
		var wg sync.WaitGroup
		for _, g := range groups {
			wg.Go(func() { s.runGroup(ctx, g, script, src, calls, cmds, nil) })
		}
		wg.Wait()
	})
	if pub != nil {
		pub.err = err
		if err == nil {
			pub.err = res.err
		}
	}
	if err != nil {
		return nil, err
	}
	return cmds, nil
}

// A pipeGroup is the calls (indexes into calls) sent down one pipeline.
type pipeGroup struct {
	c   goredis.Cmdable
	idx []int
}

// groups splits the calls to send into pipelines: one on s.c, or in wait
// mode on a Cluster one per master, since WAIT names no key and must run
// on the node (and the connection) that took the writes. A call whose
// master cannot be found gets a failed command in cmds.
func (s *Store) groups(ctx context.Context, calls []scriptCall, cmds []*goredis.Cmd) []pipeGroup {
	cc, cluster := s.c.(*goredis.ClusterClient)
	if s.wait.n == 0 || !cluster {
		g := pipeGroup{c: s.c}
		for i, c := range calls {
			if c.args != nil {
				g.idx = append(g.idx, i)
			}
		}
		if len(g.idx) == 0 {
			return nil
		}
		return []pipeGroup{g}
	}
	var groups []pipeGroup
	at := map[*goredis.Client]int{}
	for i, c := range calls {
		if c.args == nil {
			continue
		}
		node, err := cc.MasterForKey(ctx, c.key)
		if err != nil {
			cmds[i] = goredis.NewCmd(ctx)
			cmds[i].SetErr(err)
			continue
		}
		j, ok := at[node]
		if !ok {
			j = len(groups)
			at[node] = j
			groups = append(groups, pipeGroup{c: node})
		}
		groups[j].idx = append(groups[j].idx, i)
	}
	return groups
}

// runGroup sends g's calls in one pipeline (and those that met NOSCRIPT in
// a second one), each ended in wait mode by a WAIT whose shortfall fails
// the pipeline's commands that succeeded.
func (s *Store) runGroup(ctx context.Context, g pipeGroup, script *goredis.Script, src string, calls []scriptCall, cmds []*goredis.Cmd, pub *publication) {
	pipe := g.c.Pipeline()
	for _, i := range g.idx {
		cmds[i] = queueOnce(ctx, pipe, append([]any{"evalsha", script.Hash(), 1, calls[i].key}, calls[i].args...))
	}
	var pubCmd *goredis.Cmd
	if pub != nil {
		pubCmd = queueOnce(ctx, pipe, pub.args())
	}
	wait := s.wait.queue(ctx, pipe)
	_, _ = pipe.Exec(ctx) // each command carries its own error
	s.wait.check(wait, g.idx, cmds)
	if pubCmd != nil {
		pub.err = pubCmd.Err()
	}
	var again goredis.Pipeliner
	var retried []int
	for _, i := range g.idx {
		if isNoScript(cmds[i].Err()) {
			if again == nil {
				again = g.c.Pipeline()
			}
			retried = append(retried, i)
			cmds[i] = queueOnce(ctx, again, append([]any{"eval", src, 1, calls[i].key}, calls[i].args...))
		}
	}
	if again != nil {
		if pub != nil {
			// Some locks (or releases) came after the first message.
			pubCmd = queueOnce(ctx, again, pub.args())
		}
		wait := s.wait.queue(ctx, again)
		_, _ = again.Exec(ctx)
		s.wait.check(wait, retried, cmds)
		if pubCmd != nil {
			pub.err = errors.Join(pub.err, pubCmd.Err())
		}
	}
}

// queueOnce queues the command args on pipe, to be sent once.
func queueOnce(ctx context.Context, pipe goredis.Pipeliner, args []any) *goredis.Cmd {
	cmd := goredis.NewCmd(ctx, args...)
	_ = pipe.Process(ctx, noRetryCmd{cmd})
	return cmd
}

// bounded runs f and returns nil when it is done, or ctx's error when ctx
// ends first: f then goes on alone, and what it writes must not be read.
func bounded(ctx context.Context, f func()) error {
	if ctx.Done() == nil {
		f()
		return nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		select {
		case <-done: // both at once: the answer came in time
			return nil
		default:
			return ctx.Err()
		}
	}
}
