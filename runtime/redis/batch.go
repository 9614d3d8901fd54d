package redis

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachegen/cachegen/runtime/store"
)

var _ store.BatchStore = (*Store)(nil)

// The batches send every op of a call in one pipeline: one round trip on a
// single node; on a Cluster go-redis splits the pipeline by node and sends
// the parts in parallel, one round trip each. Each op is still the command
// or script of the single-key method, on its one key, so no command ever
// spans two slots (MGET would fail with CROSSSLOT on a Cluster). An op whose
// node does not know a script (NOSCRIPT) is sent again with EVAL in a
// second pipeline. An error fails the ops it reached, and only those.

// GetMany does Get for each op, with one pipeline of GETs.
func (s *Store) GetMany(ctx context.Context, ops []store.GetOp) {
	ctx, err := check(ctx)
	if err != nil || len(ops) == 0 {
		for i := range ops {
			ops[i].Entry, ops[i].Err = store.Entry{}, err
		}
		return
	}
	pipe := s.c.Pipeline()
	cmds := make([]*goredis.StringCmd, len(ops))
	for i := range ops {
		cmds[i] = pipe.Get(ctx, ops[i].Key)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	if s.fence.stale() {  // see Get
		if err := s.learn(ctx); err != nil {
			for i := range ops {
				ops[i].Entry, ops[i].Err = store.Entry{}, err
			}
			return
		}
	}
	for i, cmd := range cmds {
		op := &ops[i]
		b, err := cmd.Bytes()
		switch {
		case err == nil:
			op.Entry, op.Err = s.decode(b), nil
		case errors.Is(err, goredis.Nil):
			op.Entry, op.Err = store.Entry{}, nil
		case isWrongType(err):
			op.Entry, op.Err = s.decode(nil), nil
		default:
			op.Entry, op.Err = store.Entry{}, fmt.Errorf("redis: get: %w", err)
		}
	}
}

// LeaseMany does Lease for each op, with one pipeline of lease scripts.
func (s *Store) LeaseMany(ctx context.Context, ops []store.LeaseOp) {
	calls := make([]scriptCall, len(ops))
	ctx, err := check(ctx)
	for i := range ops {
		op := &ops[i]
		op.OK, op.Cur, op.Err = false, store.Entry{}, err
		if err != nil {
			continue
		}
		_, ms, err := checkTTL(ctx, op.TTL)
		if err != nil {
			op.Err = err
			continue
		}
		calls[i] = scriptCall{key: op.Key, args: []any{leaseArg(op.Token), ms}}
	}
	cmds := s.runScripts(ctx, leaseScript, calls)
	var lerr error
	if s.fence.stale() { // see Get
		lerr = s.learn(ctx)
	}
	for i, cmd := range cmds {
		if cmd == nil {
			continue
		}
		op := &ops[i]
		if lerr != nil {
			op.Err = lerr
			continue
		}
		cur, err := cmd.Text()
		switch {
		case errors.Is(err, goredis.Nil):
			op.OK = true
		case err != nil:
			op.Err = fmt.Errorf("redis: lease: %w", err)
		default:
			// no copy: cur is immutable, and callers must not modify the Value
			op.Cur = s.decode(unsafe.Slice(unsafe.StringData(cur), len(cur)))
		}
	}
}

// FillMany does Fill for each op, with one pipeline of fill scripts. It
// refuses an op of any kind but Value or NotFound with an error, without
// sending it.
func (s *Store) FillMany(ctx context.Context, ops []store.FillOp) {
	calls := make([]scriptCall, len(ops))
	ctx, err := check(ctx)
	for i := range ops {
		op := &ops[i]
		op.OK, op.Err = false, err
		if err != nil {
			continue
		}
		_, ms, err := checkTTL(ctx, op.TTL)
		if err != nil {
			op.Err = err
			continue
		}
		if k := op.Entry.Kind; k != store.CachedRow && k != store.CachedNotFound {
			op.Err = fmt.Errorf("redis: Fill with kind %v, want value or not-found", k)
			continue
		}
		tag, err := s.tagFor(ctx, op.Key)
		if err != nil {
			op.Err = err
			continue
		}
		calls[i] = scriptCall{key: op.Key, args: []any{leaseArg(op.Token), encodeEntry(tag, op.Entry), ms}}
	}
	for i, cmd := range s.runScripts(ctx, fillScript, calls) {
		if cmd == nil {
			continue
		}
		n, err := cmd.Int64()
		if err != nil {
			ops[i].Err = fmt.Errorf("redis: fill: %w", err)
			continue
		}
		ops[i].OK = n == 1
	}
}

// ReleaseMany does Release for each op, with one pipeline of release
// scripts.
func (s *Store) ReleaseMany(ctx context.Context, ops []store.ReleaseOp) {
	calls := make([]scriptCall, len(ops))
	ctx, err := check(ctx)
	for i := range ops {
		ops[i].Err = err
		if err == nil {
			calls[i] = scriptCall{key: ops[i].Key, args: []any{leaseArg(ops[i].Token)}}
		}
	}
	for i, cmd := range s.runScripts(ctx, releaseScript, calls) {
		if cmd == nil {
			continue
		}
		if err := cmd.Err(); err != nil {
			ops[i].Err = fmt.Errorf("redis: release: %w", err)
		}
	}
}

// scriptCall is one script run of a batch: its key and arguments. The zero
// scriptCall (no args) is not sent.
type scriptCall struct {
	key  string
	args []any
}

// runScripts runs script once per call, in one pipeline of EVALSHAs, and
// sends the calls that met NOSCRIPT again with EVAL. The commands are
// aligned with calls; a call that was not sent has a nil command.
func (s *Store) runScripts(ctx context.Context, script *goredis.Script, calls []scriptCall) []*goredis.Cmd {
	cmds := make([]*goredis.Cmd, len(calls))
	var pipe goredis.Pipeliner
	for i, c := range calls {
		if c.args == nil {
			continue
		}
		if pipe == nil {
			pipe = s.c.Pipeline()
		}
		cmds[i] = script.EvalSha(ctx, pipe, []string{c.key}, c.args...)
	}
	if pipe == nil {
		return cmds
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	var again goredis.Pipeliner
	for i, cmd := range cmds {
		if cmd != nil && isNoScript(cmd.Err()) {
			if again == nil {
				again = s.c.Pipeline()
			}
			cmds[i] = script.Eval(ctx, again, []string{calls[i].key}, calls[i].args...)
		}
	}
	if again != nil {
		_, _ = again.Exec(ctx)
	}
	return cmds
}

// isNoScript reports whether err says the server does not know a script.
func isNoScript(err error) bool {
	return err != nil && (errors.Is(err, goredis.ErrNoScript) || goredis.HasErrorPrefix(err, "NOSCRIPT"))
}
