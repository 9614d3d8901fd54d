package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/go-sql-driver/mysql"
)

// -cdc on each change-stream server, with the memory store and Redis: the
// raw UPDATE becomes visible through the cache (runCDC fails otherwise).
func TestRunCDC(t *testing.T) {
	my, err := mysql.ParseDSN(testenv.MySQLCDCDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	myURL := "mysql://" + my.User + "@" + my.Addr + "/" + my.DBName
	for _, c := range []struct{ name, dsn, redis string }{
		{"postgres+memory", testenv.PostgresCDCDSN(t), ""},
		{"mariadb+redis", myURL, testenv.RedisAddr(t)},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := runCDC(context.Background(), &out, c.dsn, c.redis); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "visible through the cache after") {
				t.Errorf("output:\n%s", out.String())
			}
		})
	}
	if err := runCDC(context.Background(), &bytes.Buffer{}, "", ""); err == nil || !strings.Contains(err.Error(), "SQLite has no change stream") {
		t.Errorf("-cdc on SQLite: %v", err)
	}
}
