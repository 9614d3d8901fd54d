package dbtest

import (
	"context"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// DeleteRedisKeys deletes every key matching pattern, on every master of a
// Cluster, so a test leaves a shared Redis as it found it.
func DeleteRedisKeys(client goredis.UniversalClient, pattern string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	del := func(ctx context.Context, c *goredis.Client) error {
		iter := c.Scan(ctx, 0, pattern, 500).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		return iter.Err()
	}
	switch c := client.(type) {
	case *goredis.ClusterClient:
		_ = c.ForEachMaster(ctx, del)
	case *goredis.Client:
		_ = del(ctx, c)
	}
}
