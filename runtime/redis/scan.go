package redis

import (
	"context"
	"fmt"
	"strings"
	"sync"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachegen/cachegen/runtime/store"
)

var _ store.KeyScanner = (*Store)(nil)

// ScanKeys calls fn with every key that starts with prefix, with SCAN on
// every master of a Cluster.
func (s *Store) ScanKeys(ctx context.Context, prefix string, fn func(key string) error) error {
	ctx, err := check(ctx)
	if err != nil {
		return err
	}
	pattern := globEscape(prefix) + "*"
	scan := func(ctx context.Context, c goredis.Cmdable) error {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			if err := fn(iter.Val()); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	if cc, ok := s.c.(*goredis.ClusterClient); ok {
		// ForEachMaster scans the masters at once; fn sees one key at a time.
		var mu sync.Mutex
		inner := fn
		fn = func(key string) error {
			mu.Lock()
			defer mu.Unlock()
			return inner(key)
		}
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, s.c)
	}
	if err != nil {
		return fmt.Errorf("redis: scan: %w", err)
	}
	return nil
}

// globEscape quotes the characters SCAN's MATCH pattern gives a meaning.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
