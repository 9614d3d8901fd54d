package main

import (
	"context"
	"database/sql"
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
	// The statements as goctl writes them for the database: PostgreSQL's
	// numbered placeholders ($1 the id in both), MySQL's in order.
	findOne, update string
	updateArgs      func(u *gozeroUser) []any
}

// gozeroConf is the cache goctl's models take: one Redis node.
func gozeroConf(redisAddr string) cache.CacheConf {
	return cache.CacheConf{{RedisConf: gzredis.RedisConf{Host: redisAddr, Type: gzredis.NodeType}, Weight: 100}}
}

func newGozeroUsers(dsn, redisAddr, schema string) (*gozeroUsers, error) {
	return &gozeroUsers{
		conn:      sqlc.NewConn(postgres.New(dsn), gozeroConf(redisAddr)),
		keyPrefix: gozeroKeyPrefix + schema + ":users:id:",
		findOne:   "select id, email, org_id, handle, name from users where id = $1 limit 1",
		update:    "update users set email = $2, org_id = $3, handle = $4, name = $5 where id = $1",
		updateArgs: func(u *gozeroUser) []any {
			return []any{u.ID, u.Email, u.OrgID, u.Handle, u.Name}
		},
	}, nil
}

// newGozeroMySQLUsers is goctl's MySQL model of the table (go-zero's sqlx
// on the go-sql-driver), its keys under database's name.
func newGozeroMySQLUsers(dsn, redisAddr, database string) (*gozeroUsers, error) {
	return &gozeroUsers{
		conn:      sqlc.NewConn(sqlx.NewMysql(dsn), gozeroConf(redisAddr)),
		keyPrefix: gozeroKeyPrefix + database + ":users:id:",
		findOne:   "select `id`,`email`,`org_id`,`handle`,`name` from `users` where `id` = ? limit 1",
		update:    "update `users` set `email`=?,`org_id`=?,`handle`=?,`name`=? where `id` = ?",
		updateArgs: func(u *gozeroUser) []any {
			return []any{u.Email, u.OrgID, u.Handle, u.Name, u.ID}
		},
	}, nil
}

// FindOne is goctl's FindOne: cache-aside on one key, filled with a plain set.
func (m *gozeroUsers) FindOne(ctx context.Context, id int64) (*gozeroUser, error) {
	key := fmt.Sprintf("%s%v", m.keyPrefix, id)
	var resp gozeroUser
	err := m.conn.QueryRowCtx(ctx, &resp, key, func(ctx context.Context, conn sqlx.SqlConn, v any) error {
		return conn.QueryRowCtx(ctx, v, m.findOne, id)
	})
	if err != nil {
		return nil, err
	}
	return &resp, nil
}

// Update is goctl's Update: FindOne (through the cache) for the old unique
// values, the UPDATE, then one DEL of the keys of the pk and of the old
// unique values (CachedConn.ExecCtx).
func (m *gozeroUsers) Update(ctx context.Context, u *gozeroUser) error {
	data, err := m.FindOne(ctx, u.ID)
	if err != nil {
		return err
	}
	idKey := fmt.Sprintf("%s%v", m.keyPrefix, data.ID)
	emailKey := fmt.Sprintf("%semail:%v", m.uniquePrefix(), data.Email)
	orgHandleKey := fmt.Sprintf("%sorgId:handle:%v:%v", m.uniquePrefix(), data.OrgID, data.Handle)
	_, err = m.conn.ExecCtx(ctx, func(ctx context.Context, conn sqlx.SqlConn) (sql.Result, error) {
		return conn.ExecCtx(ctx, m.update, m.updateArgs(u)...)
	}, idKey, emailKey, orgHandleKey)
	return err
}

// uniquePrefix starts the keys goctl gives the unique indexes.
func (m *gozeroUsers) uniquePrefix() string {
	return m.keyPrefix[:len(m.keyPrefix)-len("id:")]
}
