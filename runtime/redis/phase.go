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
	var ttlArgs []any // the ops of a phase share their TTL: one boxed copy
	var ttlMS int64
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
		if ttlArgs == nil || ms != ttlMS {
			ttlArgs, ttlMS = []any{ms}, ms
		}
		calls[i] = scriptCall{key: op.Key, args: ttlArgs}
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
			calls[i] = scriptCall{key: ops[i].Key, args: noArgs}
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

// noArgs are the arguments of a script that takes none: not nil, since a
// call with nil args is not sent.
var noArgs = []any{}

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
	var err error
	if s.boundsCalls {
		// The client ends the call by ctx's deadline itself: no goroutine
		// (see bounded).
		s.runGroups(ctx, groups, script, src, calls, cmds, res)
		err = ctx.Err()
	} else {
		err = s.runGroupsBounded(ctx, groups, script, src, calls, cmds, res)
	}
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

// runGroups runs each group's pipeline, the groups in parallel; a
// publication goes only with a single group.
func (s *Store) runGroups(ctx context.Context, groups []pipeGroup, script *goredis.Script, src string, calls []scriptCall, cmds []*goredis.Cmd, pub *publication) {
	if len(groups) == 1 {
		s.runGroup(ctx, groups[0], script, src, calls, cmds, pub)
		return
	}
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Go(func() { s.runGroup(ctx, g, script, src, calls, cmds, nil) })
	}
	wg.Wait()
}

// runGroupsBounded is runGroups under bounded (its own function, so that
// the closure is made only on this path).
func (s *Store) runGroupsBounded(ctx context.Context, groups []pipeGroup, script *goredis.Script, src string, calls []scriptCall, cmds []*goredis.Cmd, pub *publication) error {
	return bounded(ctx, func() { s.runGroups(ctx, groups, script, src, calls, cmds, pub) })
}

// oneGroup is the one pipeline of a phase that is not split, in one
// allocation with room for the indexes of a single row's keys.
type oneGroup struct {
	g   [1]pipeGroup
	idx [8]int
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
		one := new(oneGroup) // the group and, for a write's few keys, its indexes
		g := &one.g[0]
		g.c = s.c
		g.idx = one.idx[:0]
		if len(calls) > len(one.idx) {
			g.idx = make([]int, 0, len(calls))
		}
		for i, c := range calls {
			if c.args != nil {
				g.idx = append(g.idx, i)
			}
		}
		if len(g.idx) == 0 {
			return nil
		}
		return one.g[:]
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
	if all, ok := allKeysScripts[script]; ok && s.oneNode && sameArgs(calls, g.idx) {
		s.runGroupOneScript(ctx, g, all, calls, cmds, pub)
		return
	}
	pipe := s.pipeline(g.c)
	defer s.donePipeline(g.c, pipe)
	queueScripts(ctx, pipe, verbEvalSHA, scriptHash(script), g.idx, calls, cmds)
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
	var retried []int
	for _, i := range g.idx {
		if isNoScript(cmds[i].Err()) {
			retried = append(retried, i)
		}
	}
	if retried != nil {
		again := g.c.Pipeline()
		queueScripts(ctx, again, verbEval, src, retried, calls, cmds)
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

// pipeline returns an empty pipeline on c: on the store's client, one used
// before (a pipeline is empty again after Exec, and making one costs four
// allocations).
func (s *Store) pipeline(c goredis.Cmdable) goredis.Pipeliner {
	if c == goredis.Cmdable(s.c) {
		if p, ok := s.pipes.Get().(goredis.Pipeliner); ok {
			return p
		}
	}
	return c.Pipeline()
}

// donePipeline takes back a pipeline that pipeline handed out, once it
// has run.
func (s *Store) donePipeline(c goredis.Cmdable, p goredis.Pipeliner) {
	if c == goredis.Cmdable(s.c) && p.Len() == 0 {
		s.pipes.Put(p)
	}
}

// allKeysScripts are, for a phase's script on one key, its twin over every
// key of KEYS.
var allKeysScripts = map[*goredis.Script]struct {
	script *goredis.Script
	src    string
}{
	lockScript:   {lockAllScript, lockAllSrc},
	unlockScript: {unlockAllScript, unlockAllSrc},
}

// sameArgs reports whether the calls at idx share their arguments.
func sameArgs(calls []scriptCall, idx []int) bool {
	first := calls[idx[0]].args
	for _, i := range idx[1:] {
		a := calls[i].args
		if len(a) != len(first) || len(a) > 0 && &a[0] != &first[0] {
			return false
		}
	}
	return true
}

// runGroupOneScript is runGroup on a single node for calls that share their
// arguments: one run of the script's twin over all their keys (EVALSHA,
// then EVAL on NOSCRIPT), in a pipeline with the publication and the WAIT,
// whose reply (the counts, in order) or error becomes each call's. The
// server runs one script instead of one a key (each EVALSHA costs it
// about 5us on this machine's Redis 7), and the client writes and reads
// one command. The keys are one node's, so no CROSSSLOT; the script runs
// atomically, which the one-key scripts in a row did not need.
func (s *Store) runGroupOneScript(ctx context.Context, g pipeGroup, all struct {
	script *goredis.Script
	src    string
}, calls []scriptCall, cmds []*goredis.Cmd, pub *publication) {
	shared := calls[g.idx[0]].args
	// each holds the calls' commands and, last, the script's run.
	each := make([]goredis.Cmd, len(g.idx)+1)
	queue := func(pipe goredis.Pipeliner, verb, script any) (run, pubCmd, wait *goredis.Cmd) {
		args := make([]any, 0, 3+len(g.idx)+len(shared))
		args = append(args, verb, script, len(g.idx)) // a key count below 256 boxes without an allocation
		for _, i := range g.idx {
			args = append(args, &calls[i].key)
		}
		args = append(args, shared...)
		run = &each[len(g.idx)]
		*run = *goredis.NewCmd(ctx, args...)
		_ = pipe.Process(ctx, noRetryCmd{run})
		if pub != nil {
			pubCmd = queueOnce(ctx, pipe, pub.args())
		}
		return run, pubCmd, s.wait.queue(ctx, pipe)
	}
	pipe := s.pipeline(g.c)
	defer s.donePipeline(g.c, pipe)
	run, pubCmd, wait := queue(pipe, verbEvalSHA, scriptHash(all.script))
	_, _ = pipe.Exec(ctx) // each command carries its own error
	if pubCmd != nil {
		pub.err = pubCmd.Err()
	}
	if isNoScript(run.Err()) {
		again := g.c.Pipeline()
		run, pubCmd, wait = queue(again, verbEval, all.src)
		_, _ = again.Exec(ctx)
		if pubCmd != nil {
			// The locks (or releases) came after the first message.
			pub.err = errors.Join(pub.err, pubCmd.Err())
		}
	}
	counts, err := run.Slice()
	if err == nil && len(counts) != len(g.idx) {
		err = fmt.Errorf("the script returned %d counts for %d keys", len(counts), len(g.idx))
	}
	for j, i := range g.idx {
		cmds[i] = &each[j]
		if err != nil {
			cmds[i].SetErr(err)
		} else {
			cmds[i].SetVal(counts[j])
		}
	}
	s.wait.check(wait, g.idx, cmds)
}

// queueScripts queues on pipe, each to be sent once, the calls at idx as
// "<verb> <script> 1 <key> <args…>" (verb evalsha with the script's hash,
// or eval with its source), and sets their commands in cmds. The commands,
// their argument lists and the pipeline's list of them are three
// allocations whatever the count. The key goes in as a *string into calls
// (see get: go-redis reads a *string argument as the string, in the RESP
// writer and for a Cluster's slot), and the key count as the string "1",
// which go-redis reads without formatting a number.
func queueScripts(ctx context.Context, pipe goredis.Pipeliner, verb, script any, idx []int, calls []scriptCall, cmds []*goredis.Cmd) {
	n := 0
	for _, i := range idx {
		n += 4 + len(calls[i].args)
	}
	args := make([]any, 0, n)
	queued := make([]goredis.Cmd, len(idx))
	batch := make([]goredis.Cmder, len(idx))
	for j, i := range idx {
		start := len(args)
		args = append(args, verb, script, "1", &calls[i].key)
		args = append(args, calls[i].args...)
		queued[j] = *goredis.NewCmd(ctx, args[start:len(args):len(args)]...)
		cmds[i] = &queued[j]
		batch[j] = noRetryCmd{cmds[i]}
	}
	_ = pipe.BatchProcess(ctx, batch...)
}

// The verbs of queueScripts, boxed once.
var verbEvalSHA, verbEval any = "evalsha", "eval"

// scriptHashes are the scripts' hashes as arguments, boxed once.
var scriptHashes sync.Map // *goredis.Script → any (its hash)

func scriptHash(script *goredis.Script) any {
	if h, ok := scriptHashes.Load(script); ok {
		return h
	}
	h, _ := scriptHashes.LoadOrStore(script, any(script.Hash()))
	return h
}

// queueOnce queues the command args on pipe, to be sent once.
func queueOnce(ctx context.Context, pipe goredis.Pipeliner, args []any) *goredis.Cmd {
	cmd := goredis.NewCmd(ctx, args...)
	_ = pipe.Process(ctx, noRetryCmd{cmd})
	return cmd
}

// bounded runs f and returns nil when it is done, or ctx's error when ctx
// ends first: f then goes on alone, and what it writes must not be read.
// A write phase skips it when the client itself ends every call by its
// context's deadline (Store.boundsCalls): starting a goroutine and waking
// the caller from it cost a phase more than its round trip on a busy
// machine. A call cut short by the deadline then fails, and the phase
// returns ctx's error as when it leaves the call behind.
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

// boundsCalls reports whether client ends every call by its context's
// deadline, its reads and writes included: go-redis does that only with
// ContextTimeoutEnabled, and not for a read or write timeout of -1 (after
// Options' defaults: -2 given), which skips setting the connection's
// deadline altogether. Only a Client (a single node, or Sentinel's
// failover client) is trusted with it: a Cluster's pipelines may first
// load the slots and the commands' table, and reroute.
func boundsCalls(client goredis.UniversalClient) bool {
	c, ok := client.(*goredis.Client)
	if !ok {
		return false
	}
	o := c.Options()
	return o.ContextTimeoutEnabled && o.ReadTimeout >= 0 && o.WriteTimeout >= 0
}
