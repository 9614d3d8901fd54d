package main

import (
	"context"
	"fmt"

	"github.com/zeromicro/go-zero/core/logx"
	"github.com/zeromicro/go-zero/core/stores/cache"
	"github.com/zeromicro/go-zero/core/stores/postgres"
	gzredis "github.com/zeromicro/go-zero/core/stores/redis"
	"github.com/zeromicro/go-zero/core/stores/sqlc"
	"github.com/zeromicro/go-zero/core/stores/sqlx"
)

func init() {
	// go-zero logs every query and its stats by default: not on a benchmark.
	logx.Disable()
	logx.DisableStat()
}

// gozeroKeyPrefix starts the keys of the go-zero model, as goctl writes them.
const gozeroKeyPrefix = "cache:"

// gozeroUser is the row as goctl's generated model declares it.
type gozeroUser struct {
	ID     int64  `db:"id"`
	Email  string `db:"email"`
	OrgID  int64  `db:"org_id"`
	Handle string `db:"handle"`
	Name   string `db:"name"`
}

// gozeroUsers is the cached model goctl generates for the table, reduced to
// FindOne: go-zero's CachedConn, its JSON-encoded cache entry and its query.
type gozeroUsers struct {
	conn      sqlc.CachedConn
	keyPrefix string
}

func newGozeroUsers(dsn, redisAddr, schema string) (*gozeroUsers, error) {
	conf := cache.CacheConf{{RedisConf: gzredis.RedisConf{Host: redisAddr, Type: gzredis.NodeType}, Weight: 100}}
	return &gozeroUsers{
		conn:      sqlc.NewConn(postgres.New(dsn), conf),
		keyPrefix: gozeroKeyPrefix + schema + ":users:id:",
	}, nil
}

// FindOne is goctl's FindOne: cache-aside on one key, filled with a plain set.
func (m *gozeroUsers) FindOne(ctx context.Context, id int64) (*gozeroUser, error) {
	key := fmt.Sprintf("%s%v", m.keyPrefix, id)
	var resp gozeroUser
	err := m.conn.QueryRowCtx(ctx, &resp, key, func(ctx context.Context, conn sqlx.SqlConn, v any) error {
		return conn.QueryRowCtx(ctx, v, "select id, email, org_id, handle, name from users where id = $1 limit 1", id)
	})
	if err != nil {
		return nil, err
	}
	return &resp, nil
}
