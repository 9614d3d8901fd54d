package redis

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachegen/cachegen/runtime/store"
)

// DefaultChannel is the channel a Bus uses unless told otherwise.
const DefaultChannel = "cachegen:near"

// Bus carries near-cache invalidations over Redis pub/sub: it implements
// store.Bus. On a Redis Cluster it uses sharded pub/sub (SPUBLISH,
// SSUBSCRIBE), so that messages and probes meet on one node, in one order;
// that order is what bounds a near cache's staleness.
type Bus struct {
	c       goredis.UniversalClient
	channel string
	sharded bool
	base    time.Time // probes carry their send time as an offset from base
}

var _ store.Bus = (*Bus)(nil)

// NewBus returns a bus on channel (DefaultChannel when empty). Every process
// whose repositories share a store must use the same channel.
func NewBus(c goredis.UniversalClient, channel string) (*Bus, error) {
	if c == nil {
		return nil, errors.New("redis: NewBus: nil client")
	}
	if channel == "" {
		channel = DefaultChannel
	}
	_, sharded := c.(*goredis.ClusterClient)
	return &Bus{c: c, channel: channel, sharded: sharded, base: time.Now()}, nil
}

// Publish sends keys in one message. It returns once Redis has queued the
// message to every subscriber, or by ctx's deadline (a write's phase
// publishes, and must not wait on a server that does not answer: see
// LockMany).
func (b *Bus) Publish(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	msg := encodeKeys(keys)
	var perr error // written by the call, read only once it is done
	err := bounded(ctx, func() {
		if b.sharded {
			perr = b.c.SPublish(ctx, b.channel, msg).Err()
		} else {
			perr = b.c.Publish(ctx, b.channel, msg).Err()
		}
	})
	if err == nil {
		err = perr
	}
	if err != nil {
		return fmt.Errorf("redis: publish: %w", err)
	}
	return nil
}

// Listen subscribes to the channel and reports to h until ctx ends: see
// store.Bus. A probe is a PING on the subscribed connection; its reply
// comes back after every message Redis queued to the connection before it.
func (b *Bus) Listen(ctx context.Context, interval time.Duration, h store.BusHandler) error {
	if interval <= 0 {
		return fmt.Errorf("redis: listen: interval %v is not positive", interval)
	}
	var ps *goredis.PubSub
	if b.sharded {
		ps = b.c.SSubscribe(ctx, b.channel)
	} else {
		ps = b.c.Subscribe(ctx, b.channel)
	}
	defer ps.Close()
	// Receive does not watch ctx: closing the subscription ends it.
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()

	probes := make(chan struct{})
	defer close(probes)
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-probes:
				return
			case <-t.C:
				// A failed probe needs nothing here: no reply comes back, so
				// the near cache stops serving when its window ends, and the
				// receiver sees the broken connection.
				_ = ps.Ping(ctx, strconv.FormatInt(int64(time.Since(b.base)), 10))
			}
		}
	}()

	pause := 10 * time.Millisecond
	for {
		msg, err := ps.Receive(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			// The connection broke: messages sent meanwhile are lost. The
			// next Receive reconnects and subscribes again.
			h.Lost()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pause):
			}
			pause = min(2*pause, time.Second)
			continue
		}
		pause = 10 * time.Millisecond
		switch m := msg.(type) {
		case *goredis.Subscription:
			// A (re)subscription: nothing published before it was seen.
			if m.Kind == "subscribe" || m.Kind == "ssubscribe" {
				h.Lost()
			}
		case *goredis.Message:
			keys, err := decodeKeys(m.Payload)
			if err != nil {
				h.Lost() // not ours, or damaged: drop everything to be safe
				continue
			}
			h.Invalidated(keys)
		case *goredis.Pong:
			ns, err := strconv.ParseInt(m.Payload, 10, 64)
			if err != nil {
				continue // a PING that is not ours
			}
			h.Synced(b.base.Add(time.Duration(ns)))
		}
	}
}

// A message is the keys, each as a uvarint length and its bytes: keys may
// hold any byte the caller's prefix does.
func encodeKeys(keys []string) []byte {
	n := 0
	for _, k := range keys {
		n += len(k) + binary.MaxVarintLen32
	}
	b := make([]byte, 0, n)
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
	}
	return b
}

func decodeKeys(s string) ([]string, error) {
	var keys []string
	for len(s) > 0 {
		n, w := binary.Uvarint([]byte(s[:min(len(s), binary.MaxVarintLen64)]))
		if w <= 0 || n > uint64(len(s)-w) {
			return nil, errors.New("redis: bus message is not a key list")
		}
		keys = append(keys, s[w:w+int(n)])
		s = s[w+int(n):]
	}
	if len(keys) == 0 {
		return nil, errors.New("redis: empty bus message")
	}
	return keys, nil
}

var _ store.PhaseAnnouncer = (*Store)(nil)

// publication is a Bus message sent down a write phase's pipeline; err is
// what the PUBLISH answered (or why it was not sent).
type publication struct {
	bus *Bus
	msg []byte
	err error
}

func (p *publication) args() []any { return []any{p.bus.publishCmd(), p.bus.channel, p.msg} }

// sendAlone publishes on its own, on c, by ctx's deadline.
func (p *publication) sendAlone(ctx context.Context, c goredis.UniversalClient) {
	var err error // written by the call, read only once it is done
	if p.err = bounded(ctx, func() { err = c.Do(ctx, p.args()...).Err() }); p.err == nil {
		p.err = err
	}
}

func (b *Bus) publishCmd() string {
	if b.sharded {
		return "spublish"
	}
	return "publish"
}

// CarriesBus reports whether bus was made on the store's own client, outside
// a Cluster: a PUBLISH in the store's pipeline then reaches the bus's
// subscribers in the same order as Bus.Publish's own. (On a Cluster the
// store's phase may span nodes and the bus's sharded channel lives on one
// of them: the message is sent by the bus, after the phase.)
func (s *Store) CarriesBus(bus store.Bus) bool {
	b, ok := bus.(*Bus)
	if !ok || b.sharded || b.c != s.c {
		return false
	}
	_, cluster := s.c.(*goredis.ClusterClient)
	return !cluster
}

// LockManyAnnounce does LockMany and publishes keys on bus in the same
// pipeline, after the locks: see store.PhaseAnnouncer.
func (s *Store) LockManyAnnounce(ctx context.Context, ops []store.LockOp, bus store.Bus, keys []string) error {
	if !s.CarriesBus(bus) {
		s.LockMany(ctx, ops)
		return bus.Publish(ctx, keys)
	}
	pub := &publication{bus: bus.(*Bus), msg: encodeKeys(keys)}
	s.lockMany(ctx, ops, pub)
	return pubErr(pub.err)
}

// UnlockManyAnnounce does UnlockMany and publishes keys on bus in the same
// pipeline, after the releases: see store.PhaseAnnouncer.
func (s *Store) UnlockManyAnnounce(ctx context.Context, ops []store.UnlockOp, bus store.Bus, keys []string) error {
	if !s.CarriesBus(bus) {
		s.UnlockMany(ctx, ops)
		return bus.Publish(ctx, keys)
	}
	pub := &publication{bus: bus.(*Bus), msg: encodeKeys(keys)}
	s.unlockMany(ctx, ops, pub)
	return pubErr(pub.err)
}

func pubErr(err error) error {
	if err != nil {
		return fmt.Errorf("redis: publish: %w", err)
	}
	return nil
}
