package consistency

import (
	"context"
	"net"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// The failover fault: the server has a replica; now and then the replica
// is promoted, the workload goes on against the old master for a while
// (its writes' locks and releases land there only: the new master never
// gets them), then every runtime's proxy turns to the new master and drops
// its connections, as a Sentinel client does after +switch-master. The
// old master then replicates the new one, ready for the next failover.
// The new master holds every value the old one had replicated to it,
// including those the writes acknowledged meanwhile invalidated: a read of
// one after such a write is a stale read. Only the switch itself counts as
// lost locks.

// startReplica starts a replica of the checker's server, and makes the
// injector's direct client follow the master through failovers.
func (f *injector) startReplica(bin string) (stop func(), err error) {
	host, port, err := net.SplitHostPort(f.server.Addr())
	if err != nil {
		return nil, err
	}
	r, err := StartRedis(bin, "--replicaof", host, port)
	if err != nil {
		return nil, err
	}
	f.replica = r
	f.masterAddr.Store(f.server.Addr())
	orig := f.direct
	f.direct = goredis.NewClient(&goredis.Options{Addr: f.server.Addr(), MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: time.Second,
		Dialer: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, f.masterAddr.Load().(string))
		}})
	f.replicaDirect = goredis.NewClient(&goredis.Options{Addr: r.Addr(), MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: time.Second})
	return func() {
		f.direct.Close()
		f.direct = orig
		f.replicaDirect.Close()
		r.Stop()
	}, nil
}

func (f *injector) failover(ctx context.Context) {
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	oldMaster := goredis.NewClient(&goredis.Options{Addr: f.server.Addr(), MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: time.Second})
	defer oldMaster.Close()
	// in sync first, so that the new master holds the values to fence
	if n, err := oldMaster.Wait(cctx, 1, 2*time.Second).Result(); err != nil || n < 1 {
		return
	}
	if err := f.replicaDirect.ReplicaOf(cctx, "NO", "ONE").Err(); err != nil {
		return
	}
	f.count("failover", 1)
	sleep(ctx, time.Duration(100+f.rng.IntN(400))*time.Millisecond)
	from := f.now()
	newAddr := f.replica.Addr()
	f.masterAddr.Store(newAddr)
	// As go-redis's failover client does at +switch-master: the old
	// master's connections close before any reaches the new one. (A client
	// holding connections to both masters at once could have the store
	// learn the old one's identity on one while a read on the other
	// returns a replicated value: the fence's window, see fence.go.)
	for _, p := range f.proxies {
		p.SetRefuse(true)
		p.Drop()
		p.SetUpstream(newAddr)
		p.SetRefuse(false)
	}
	f.lost(Interval{from, f.now()})
	// the old master follows the new one; its clients' connections break
	host, port, _ := net.SplitHostPort(newAddr)
	_ = oldMaster.ReplicaOf(cctx, host, port).Err()
	_ = oldMaster.ClientKillByFilter(cctx, "TYPE", "normal", "SKIPME", "yes").Err()
	// a restart keeps each server in its new role
	f.replica.args = nil
	f.server.args = []string{"--replicaof", host, port}
	f.replicaDirect.Close()
	f.replicaDirect = goredis.NewClient(&goredis.Options{Addr: f.server.Addr(), MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: time.Second})
	f.server, f.replica = f.replica, f.server
}
