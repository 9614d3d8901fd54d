package store

import (
	"context"
	"time"
)

// A Bus carries invalidations between the processes that share a store, for
// their near caches. runtime/redis implements it with Redis pub/sub.
type Bus interface {
	// Publish announces that keys are about to change. It returns once the
	// bus has ordered the message: a probe sent after Publish returns comes
	// back to every listener after the message.
	Publish(ctx context.Context, keys []string) error
	// Listen subscribes and reports to h until ctx ends, in the order the
	// bus delivers: Invalidated for each message, Synced when a probe comes
	// back. It sends a probe every interval, reconnects by itself, and calls
	// Lost whenever messages may have been missed (a broken connection, a
	// new subscription). It returns ctx.Err() when ctx ends.
	Listen(ctx context.Context, interval time.Duration, h BusHandler) error
}

// BusHandler receives what a Bus delivers.
type BusHandler interface {
	// Invalidated reports that keys are about to change.
	Invalidated(keys []string)
	// Synced reports that a probe sent at sent came back: every message
	// published before sent has been delivered.
	Synced(sent time.Time)
	// Lost reports that messages may have been missed.
	Lost()
}
