package consistency

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachegen/cachegen/runtime/store"
)

// injector injects the faults while the clients run: one network or
// server fault at a time, on one runtime's link or on all of them, a
// steady trickle of corrupted values under live keys, and now and then a
// writer that dies between its commit and its releases.
type injector struct {
	rng   *rand.Rand
	start time.Time

	// Redis
	proxies []*Proxy
	server  *RedisServer
	direct  *goredis.Client // straight to the server, past the proxies
	// memory
	links []*memFault
	mem   *memShared

	keys          *keySet
	undetectable  bool
	snapshot      bool         // Redis restarts come back from an older snapshot
	replica       *RedisServer // -failover: the server's replica
	replicaDirect *goredis.Client
	masterAddr    atomic.Value // -failover: where direct dials (the corrupter's, the flushes')

	mu       sync.Mutex
	counts   map[string]int
	lockLoss []Interval
	crashes  atomic.Int64 // writes to run as crashing writers

	cdc *cdcRig // -cdc: the change-stream consumers, which get faults of their own
}

func (f *injector) now() int64 { return int64(time.Since(f.start)) }

func (f *injector) count(kind string, n int) {
	f.mu.Lock()
	if f.counts == nil {
		f.counts = map[string]int{}
	}
	f.counts[kind] += n
	f.mu.Unlock()
}

func (f *injector) lost(iv Interval) {
	f.mu.Lock()
	f.lockLoss = append(f.lockLoss, iv)
	f.mu.Unlock()
}

// takeCrash reports whether the next write should crash.
func (f *injector) takeCrash() bool {
	if f == nil {
		return false
	}
	for {
		n := f.crashes.Load()
		if n <= 0 {
			return false
		}
		if f.crashes.CompareAndSwap(n, n-1) {
			f.count("crash", 1)
			return true
		}
	}
}

// Total is the number of faults injected.
func (f *injector) Total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.counts {
		n += c
	}
	return n
}

// Summary lists the faults by kind.
func (f *injector) Summary() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	kinds := make([]string, 0, len(f.counts))
	for k := range f.counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s=%d", k, f.counts[k])
	}
	return strings.Join(parts, " ")
}

// LockLoss returns the spans in which the store lost its locks.
func (f *injector) LockLoss() []Interval {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.lockLoss)
}

// run injects faults until ctx is done, then heals everything.
func (f *injector) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(2)
	corruptRng := rand.New(rand.NewPCG(f.rng.Uint64(), 7))
	crashRng := rand.New(rand.NewPCG(f.rng.Uint64(), 8))
	go func() {
		defer wg.Done()
		f.corrupter(ctx, corruptRng)
	}()
	go func() {
		defer wg.Done()
		f.crasher(ctx, crashRng)
	}()
	if f.cdc != nil {
		cdcRng := rand.New(rand.NewPCG(f.rng.Uint64(), 9))
		wg.Go(func() { f.cdc.faults(ctx, cdcRng, f.count) })
	}
	gap := time.Duration(20+f.rng.IntN(80)) * time.Millisecond // the first fault comes soon
	for ctx.Err() == nil {
		sleep(ctx, gap)
		if ctx.Err() != nil {
			break
		}
		f.one(ctx)
		gap = time.Duration(200+f.rng.IntN(800)) * time.Millisecond
	}
	f.heal()
	wg.Wait()
}

// targets picks one runtime's link (most often) or all of them.
func (f *injector) targets(n int) []int {
	if f.rng.IntN(10) < 3 {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return all
	}
	return []int{f.rng.IntN(n)}
}

// hold keeps a fault on for 0.1s to 1.2s: some shorter than a client's
// retries, some longer than the breaker's first pause.
func (f *injector) hold(ctx context.Context) {
	sleep(ctx, time.Duration(100+f.rng.IntN(1100))*time.Millisecond)
}

// crasher makes one to three of the next writes, every second or so, run
// as writers that die between their commit and their releases.
func (f *injector) crasher(ctx context.Context, rng *rand.Rand) {
	gap := time.Duration(50+rng.IntN(150)) * time.Millisecond
	for ctx.Err() == nil {
		sleep(ctx, gap)
		f.crashes.Add(int64(1 + rng.IntN(3)))
		gap = time.Duration(500+rng.IntN(1000)) * time.Millisecond
	}
}

// one injects one fault and lifts it.
func (f *injector) one(ctx context.Context) {
	if f.server != nil {
		if f.replica != nil && f.rng.IntN(3) != 0 {
			f.failover(ctx) // two thirds of the faults
			return
		}
		if f.snapshot && f.rng.IntN(3) == 0 {
			f.restartFromSnapshot(ctx) // a third of the faults, besides the restarts of oneRedis
			return
		}
		f.oneRedis(ctx)
	} else {
		f.oneMemory(ctx)
	}
}

func (f *injector) oneRedis(ctx context.Context) {
	switch k := f.rng.IntN(12); {
	case k < 2:
		f.count("drop", 1)
		for _, i := range f.targets(len(f.proxies)) {
			f.proxies[i].Drop()
		}
	case k < 4:
		f.count("refuse", 1)
		t := f.targets(len(f.proxies))
		for _, i := range t {
			f.proxies[i].SetRefuse(true)
		}
		f.hold(ctx)
		for _, i := range t {
			f.proxies[i].SetRefuse(false)
		}
	case k < 6:
		f.count("partition", 1)
		t := f.targets(len(f.proxies))
		for _, i := range t {
			f.proxies[i].SetPartition(true)
		}
		f.hold(ctx)
		for _, i := range t {
			f.proxies[i].SetPartition(false)
		}
	case k < 9:
		// A slow store: some calls finish under the client's timeout, some
		// time out and still reach the server, late.
		f.count("delay", 1)
		t := f.targets(len(f.proxies))
		d := time.Duration(5+f.rng.IntN(500)) * time.Millisecond
		for _, i := range t {
			f.proxies[i].SetDelay(d)
		}
		f.hold(ctx)
		for _, i := range t {
			f.proxies[i].SetDelay(0)
		}
	case k < 10:
		f.count("flush", 1)
		from := f.now()
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = f.direct.FlushAll(cctx).Err()
		cancel()
		f.lost(Interval{from, f.now()})
	default:
		if f.snapshot {
			f.restartFromSnapshot(ctx)
			return
		}
		f.count("restart", 1)
		from := f.now()
		if err := f.server.Restart(time.Duration(20+f.rng.IntN(300)) * time.Millisecond); err != nil {
			panic(fmt.Sprintf("restart redis-server: %v", err))
		}
		f.lost(Interval{from, f.now()})
	}
}

func (f *injector) oneMemory(ctx context.Context) {
	set := func(t []int, mode int) {
		for _, i := range t {
			f.links[i].set(mode)
		}
	}
	switch k := f.rng.IntN(12); {
	case k < 3:
		f.count("down", 1)
		t := f.targets(len(f.links))
		set(t, linkDown)
		f.hold(ctx)
		set(t, linkOK)
	case k < 5:
		f.count("partition", 1)
		t := f.targets(len(f.links))
		set(t, linkBlocked)
		f.hold(ctx)
		set(t, linkOK)
	case k < 7:
		f.count("drop", 1)
		t := f.targets(len(f.links))
		set(t, linkDrop)
		f.hold(ctx)
		set(t, linkOK)
	case k < 10:
		f.count("slow", 1)
		t := f.targets(len(f.links))
		set(t, linkSlow)
		f.hold(ctx)
		set(t, linkOK)
	case k < 11:
		f.count("flush", 1)
		from := f.now()
		_ = f.mem.flush()
		f.lost(Interval{from, f.now()})
	default:
		f.count("restart", 1)
		from := f.now()
		all := make([]int, len(f.links))
		for i := range all {
			all[i] = i
		}
		set(all, linkDown)
		_ = f.mem.flush()
		sleep(ctx, time.Duration(20+f.rng.IntN(300))*time.Millisecond)
		set(all, linkOK)
		f.lost(Interval{from, f.now()})
	}
}

// corruptScript damages the value under KEYS[1], only if it holds one of
// the runtime's values ("v" + header + row): locks and leases are never
// touched. ARGV[1] is the kind of damage, ARGV[2] another value (swap).
var corruptScript = goredis.NewScript(`
local cur = redis.pcall('GET', KEYS[1])
if type(cur) ~= 'string' or string.byte(cur, 1) ~= 118 or #cur < 7 then return 0 end
local kind = tonumber(ARGV[1])
local new
if kind == 0 then new = 'v\255not a cachegen value'
elseif kind == 1 then new = string.sub(cur, 1, 3) .. string.char((string.byte(cur, 4) + 90) % 256) .. string.sub(cur, 5)
elseif kind == 2 then new = string.sub(cur, 1, #cur - 1)
elseif kind == 3 then new = cur .. '\1\2'
elseif kind == 4 then new = 'v'
elseif kind == 5 then
  local i = 7 + math.random(0, #cur - 7)
  new = string.sub(cur, 1, i - 1) .. string.char(bit.bxor(string.byte(cur, i), 2 ^ math.random(0, 7))) .. string.sub(cur, i + 1)
elseif kind == 6 then
  if string.byte(ARGV[2], 1) ~= 118 then return 0 end
  new = ARGV[2]
elseif kind == 7 then
  local ttl = redis.call('PTTL', KEYS[1])
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'not', 'a string')
  if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
  return 1
else
  new = 'foreign bytes, no tag'
end
redis.call('SET', KEYS[1], new, 'KEEPTTL')
return 1
`)

// corrupter damages a live value every few milliseconds.
func (f *injector) corrupter(ctx context.Context, rng *rand.Rand) {
	for ctx.Err() == nil {
		sleep(ctx, time.Duration(5+rng.IntN(20))*time.Millisecond)
		key := f.keys.random(rng)
		if key == "" {
			continue
		}
		kind := rng.IntN(detectableDamages)
		if f.undetectable && rng.IntN(2) == 0 {
			kind = damageBitFlip + rng.IntN(2)
		}
		if f.server != nil {
			// The Redis kinds: 0-4 the detectable damages, 5 a bit flip,
			// 6 another key's value, 7 a key of another type, 8 bytes
			// without the store's tag.
			script := kind
			switch kind {
			case damageBitFlip:
				script = 5
			case damageSwap:
				script = 6
			default:
				if rng.IntN(4) == 0 {
					script = 7 + rng.IntN(2)
				}
			}
			other := ""
			if script == 6 {
				other, _ = f.direct.Get(ctx, f.keys.random(rng)).Result()
				if other == "" {
					continue
				}
			}
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			n, err := corruptScript.Run(cctx, f.direct, []string{key}, script, other).Int()
			cancel()
			if err == nil && n == 1 {
				f.count("corrupt", 1)
			}
			continue
		}
		if kind == damageSwap {
			kind = damageBitFlip // the memory store damages in place only
		}
		if e, err := f.mem.cur.Load().Get(ctx, key); err == nil && e.Kind == store.CachedRow {
			f.mem.damage(key, kind)
			f.count("corrupt", 1)
		}
	}
}

// heal lifts every fault.
func (f *injector) heal() {
	for _, p := range f.proxies {
		p.SetRefuse(false)
		p.SetPartition(false)
		p.SetDelay(0)
	}
	for _, l := range f.links {
		l.set(linkOK)
	}
	f.crashes.Store(0)
}
