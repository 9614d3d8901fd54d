// Package testenv gives integration tests the servers they need. Each
// server's address comes from an environment variable; when it is unset the
// test is skipped with a message naming the variable, unless
// CACHEGEN_INTEGRATION=required (as .ci/run sets), which turns a missing
// server into a failure: in CI an integration test never passes by being
// skipped.
package testenv

import (
	"os"
	"strings"
	"testing"
)

// The variables integration tests read.
const (
	PostgresVar     = "CACHEGEN_PG_DSN"        // e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable
	MySQLVar        = "CACHEGEN_MYSQL_DSN"     // e.g. root@tcp(127.0.0.1:3306)/test
	RedisVar        = "CACHEGEN_REDIS_ADDR"    // e.g. 127.0.0.1:6379
	RedisClusterVar = "CACHEGEN_REDIS_CLUSTER" // e.g. 127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002
	RequiredVar     = "CACHEGEN_INTEGRATION"   // "required": fail instead of skip
)

// Required reports whether missing servers fail tests instead of skipping them.
func Required() bool { return os.Getenv(RequiredVar) == "required" }

func lookup(t testing.TB, name, what string) string {
	t.Helper()
	v := strings.TrimSpace(os.Getenv(name))
	if v != "" {
		return v
	}
	if Required() {
		t.Fatalf("%s is not set but %s=required: the %s integration suite must run", name, RequiredVar, what)
	}
	t.Skipf("%s not set: %s integration suite not run", name, what)
	return ""
}

// PostgresDSN returns the DSN of the PostgreSQL server for integration tests.
func PostgresDSN(t testing.TB) string { return lookup(t, PostgresVar, "PostgreSQL") }

// MySQLDSN returns the DSN of the MySQL/MariaDB server for integration tests.
func MySQLDSN(t testing.TB) string { return lookup(t, MySQLVar, "MySQL/MariaDB") }

// RedisAddr returns the address of the single Redis node for integration tests.
func RedisAddr(t testing.TB) string { return lookup(t, RedisVar, "Redis") }

// RedisCluster returns the seed addresses of the Redis Cluster for integration tests.
func RedisCluster(t testing.TB) []string {
	return strings.Split(lookup(t, RedisClusterVar, "Redis Cluster"), ",")
}

// MemcachedVar names the memcached server for integration tests, e.g. 127.0.0.1:11211.
const MemcachedVar = "CACHEGEN_MEMCACHED_ADDR"

// MemcachedAddr returns the address of the memcached server for integration tests.
func MemcachedAddr(t testing.TB) string { return lookup(t, MemcachedVar, "memcached") }

// The Sentinel deployment failover tests run against (scripts/redis-sentinel.sh
// start runs one): the Sentinels' addresses, and the name they monitor the
// master under, "cachegen" when RedisSentinelMasterVar is unset.
const (
	RedisSentinelVar       = "CACHEGEN_REDIS_SENTINEL"        // e.g. 127.0.0.1:27100,127.0.0.1:27101,127.0.0.1:27102
	RedisSentinelMasterVar = "CACHEGEN_REDIS_SENTINEL_MASTER" // e.g. cachegen
)

// RedisSentinel returns the Sentinels' addresses and the master name for
// failover integration tests.
func RedisSentinel(t testing.TB) (addrs []string, master string) {
	t.Helper()
	addrs = strings.Split(lookup(t, RedisSentinelVar, "Redis Sentinel"), ",")
	master = strings.TrimSpace(os.Getenv(RedisSentinelMasterVar))
	if master == "" {
		master = "cachegen"
	}
	return addrs, master
}

// The servers of the change-data-capture suites, with the settings they
// need: scripts/pg-logical.sh start runs a PostgreSQL with wal_level=logical,
// scripts/mariadb-binlog.sh start a MariaDB with a ROW binlog.
const (
	PostgresCDCVar = "CACHEGEN_PG_CDC_DSN"    // e.g. postgres://postgres@127.0.0.1:5433/test?sslmode=disable
	MySQLCDCVar    = "CACHEGEN_MYSQL_CDC_DSN" // e.g. root@tcp(127.0.0.1:3307)/test
)

// PostgresCDCDSN returns the DSN of the PostgreSQL server with logical
// replication for change-data-capture tests.
func PostgresCDCDSN(t testing.TB) string {
	return lookup(t, PostgresCDCVar, "PostgreSQL change-data-capture")
}

// MySQLCDCDSN returns the DSN of the MariaDB/MySQL server with a ROW binlog
// for change-data-capture tests.
func MySQLCDCDSN(t testing.TB) string {
	return lookup(t, MySQLCDCVar, "MariaDB binlog change-data-capture")
}

// BrowserVar names the headless Chromium the browser tests drive, e.g.
// /usr/bin/chromium (scripts/chromium.sh installs it and prints its path).
const BrowserVar = "CACHEGEN_BROWSER"

// Browser returns the path of the Chromium binary for browser tests.
func Browser(t testing.TB) string { return lookup(t, BrowserVar, "browser (Chromium)") }
