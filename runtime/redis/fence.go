package redis

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	goredis "github.com/redis/go-redis/v9"
)

// Fencing: a store that comes back with old data.
//
// A Redis restarted from an RDB or AOF snapshot taken before a write was
// acknowledged holds the values that write invalidated; so does a replica
// promoted by Sentinel or Cluster that never received the write's release.
// Either would serve them until their TTL. Both events change the identity
// of the server a key lives on: a restarted server has a new run_id, and a
// promoted replica starts a new replication history (its master_replid).
// The run_id alone is not enough: after a failover and a failover back
// (the new master fails in turn), the first master is master again under
// its old run_id, holding what it resynced from the other one, values it
// had tagged before the first failover included, which writes acknowledged
// meanwhile (on it alone) had invalidated.
//
// So every value and every not-found the store fills carries a tag of the
// identity of the master it was written to, a hash of its run_id and its
// master_replid (8 bytes after the "v" or the "n"), and is served only
// while its tag names a master the store currently talks to: one written
// before such an event reads as someone else's bytes, which the runtime
// discards and refills from the database.
//
// The store learns the identities through INFO server and INFO replication
// (one pipeline), again after every
// new connection the client makes (a dial hook counts them): a restart or
// a failover breaks every connection, so the first read on the new server
// comes after a dial. A read checks, after its reply, whether a connection
// was dialled since the identities were learned (the read itself may have
// been retried on a new connection), and learns them again first if so. A
// hit pays two atomic loads and a comparison; the INFO round trip comes
// once per new connection. On a Cluster the identities are those of every
// master (INFO on each), and a fill is tagged with the run_id of the master
// of its key's slot.
//
// It assumes that the client does not hold connections to the old master
// and the new one at once: the run_id is read on any connection of the
// pool, so a read on a new connection to the new master could otherwise be
// checked against the old master's identity read on an old one. go-redis's
// Sentinel client closes the old master's connections at +switch-master
// before dialling the new one; a Cluster client routes each slot to one
// master.
//
// What it costs: after a restart or a failover, every value is a miss once
// (the cache starts cold, as after a flush). A server that answers INFO
// server with an error (INFO renamed away, an emulation) cannot be fenced:
// its values carry tag 0. One whose INFO replication has no master_replid
// (before Redis 4.0) is fenced by its run_id alone.

// tagLen is the length of a value's server tag.
const tagLen = 8

// fence is what the store knows of the servers it talks to.
type fence struct {
	dials   atomic.Uint64 // connections the client made
	learned atomic.Uint64 // dials when the identities were last learned; ^0: never
	current atomic.Pointer[identities]
	mu      sync.Mutex                                   // one learning at a time
	onLearn func(ctx context.Context, c *goredis.Client) // per node, at each learning (persistence check)
}

// identities are the tags of the masters (see identityTag), by address (""
// on a single node or Sentinel).
type identities struct {
	tags   []uint64
	byAddr map[string]uint64
}

func (f *fence) init() { f.learned.Store(^uint64(0)) }

// knows reports whether tag names a master the store talks to now.
func (f *fence) knows(tag uint64) bool {
	ids := f.current.Load()
	if ids == nil {
		return false
	}
	for _, t := range ids.tags {
		if t == tag {
			return true
		}
	}
	return false
}

// stale reports whether a connection was made since the identities were
// learned.
func (f *fence) stale() bool { return f.learned.Load() != f.dials.Load() }

// dialWatch is the client hook that counts new connections.
type dialWatch struct{ f *fence }

func (w dialWatch) DialHook(next goredis.DialHook) goredis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if err == nil {
			w.f.dials.Add(1)
		}
		return c, err
	}
}
func (dialWatch) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook { return next }
func (dialWatch) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}

// watch installs the dial hook on client and, on a Cluster, on every node.
func (s *Store) watch(client goredis.UniversalClient) {
	w := dialWatch{&s.fence}
	if cc, ok := client.(*goredis.ClusterClient); ok {
		cc.OnNewNode(func(n *goredis.Client) { n.AddHook(w) })
		return
	}
	client.AddHook(w)
}

// learn reads the identities of the servers again if a connection was made
// since they were last read.
func (s *Store) learn(ctx context.Context) error {
	s.fence.mu.Lock()
	defer s.fence.mu.Unlock()
	dials := s.fence.dials.Load()
	if s.fence.learned.Load() == dials {
		return nil
	}
	ids := &identities{byAddr: map[string]uint64{}}
	var mu sync.Mutex
	one := func(ctx context.Context, c *goredis.Client, addr string) error {
		var tag uint64 // 0: a server that has no run_id to tell, never fenced
		var server, repl *goredis.StringCmd
		_, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			server, repl = p.Info(ctx, "server"), p.Info(ctx, "replication")
			return nil
		})
		var reply goredis.Error
		switch {
		case errors.As(server.Err(), &reply):
			// it answered, but not with INFO server (an emulation such as
			// miniredis, or INFO renamed away)
		case server.Err() != nil:
			return server.Err()
		case err != nil && !errors.As(err, &reply):
			return err
		default:
			if tag, err = identityTag(server.Val(), repl.Val()); err != nil {
				return err
			}
		}
		if s.fence.onLearn != nil {
			s.fence.onLearn(ctx, c)
		}
		mu.Lock()
		ids.tags = append(ids.tags, tag)
		ids.byAddr[addr] = tag
		mu.Unlock()
		return nil
	}
	var err error
	switch c := s.c.(type) {
	case *goredis.ClusterClient:
		err = c.ForEachMaster(ctx, func(ctx context.Context, n *goredis.Client) error {
			return one(ctx, n, n.Options().Addr)
		})
	case *goredis.Client:
		err = one(ctx, c, "")
	default:
		err = fmt.Errorf("a %T cannot be fenced: use a *redis.Client or *redis.ClusterClient", s.c)
	}
	if err != nil {
		return fmt.Errorf("redis: learn the servers' run_id: %w", err)
	}
	s.fence.current.Store(ids)
	s.fence.learned.Store(dials)
	return nil
}

// tagFor returns the tag a value filled under key must carry.
func (s *Store) tagFor(ctx context.Context, key string) (uint64, error) {
	if s.fence.stale() {
		if err := s.learn(ctx); err != nil {
			return 0, err
		}
	}
	ids := s.fence.current.Load()
	cc, ok := s.c.(*goredis.ClusterClient)
	if !ok {
		return ids.byAddr[""], nil
	}
	m, err := cc.MasterForKey(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("redis: the master of a key: %w", err)
	}
	tag, ok := ids.byAddr[m.Options().Addr]
	if !ok {
		return 0, fmt.Errorf("redis: the master at %s is not known yet", m.Options().Addr)
	}
	return tag, nil
}

// identityTag reads the run_id of an INFO server reply and the
// master_replid of an INFO replication reply (empty when the server has
// none), and returns the tag of the pair: a restart changes the first, a
// promotion the second.
func identityTag(server, replication string) (uint64, error) {
	id := infoField(server, "run_id")
	if len(id) < 2*tagLen {
		return 0, errors.New("INFO server has no run_id")
	}
	for i := range id {
		if unhex(id[i]) > 15 {
			return 0, fmt.Errorf("run_id %q is not hex", id)
		}
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write([]byte(infoField(replication, "master_replid")))
	if tag := h.Sum64(); tag != 0 {
		return tag, nil
	}
	return 1, nil // 0 is the tag of a server that cannot be fenced
}

// infoField returns the value of name in an INFO reply, or "".
func infoField(info, name string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10
	}
	return 255
}

// persistenceCheck returns the learning hook that warns through l, once per
// server address, when persistence is on.
func persistenceCheck(l *slog.Logger) func(ctx context.Context, c *goredis.Client) {
	var warned sync.Map
	return func(ctx context.Context, c *goredis.Client) {
		addr := c.Options().Addr
		if _, done := warned.Load(addr); done {
			return
		}
		cfg, err := c.ConfigGet(ctx, "save").Result()
		if err != nil {
			return // CONFIG renamed away: nothing to tell
		}
		aof, _ := c.ConfigGet(ctx, "appendonly").Result()
		if cfg["save"] == "" && aof["appendonly"] != "yes" {
			return
		}
		warned.Store(addr, true)
		l.WarnContext(ctx, "cachegen: Redis persists its data (RDB save points or AOF): a restart comes back with values older than acknowledged writes; they are fenced (never served), and the cache starts cold after each restart",
			"addr", addr, "save", cfg["save"], "appendonly", aof["appendonly"])
	}
}
