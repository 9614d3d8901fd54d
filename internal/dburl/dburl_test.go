package dburl

import "testing"

func TestParse(t *testing.T) {
	cases := []struct {
		in, driver, dsn string
	}{
		{"postgres://u@h:5432/db?sslmode=disable", "pgx", "postgres://u@h:5432/db?sslmode=disable"},
		{"postgresql://u@h/db", "pgx", "postgresql://u@h/db"},
		{"mysql://root@127.0.0.1:3306/test", "mysql", "root@tcp(127.0.0.1:3306)/test"},
		{"mysql://u:p%40ss@h:3306/db", "mysql", "u:p@ss@tcp(h:3306)/db"},
		{"sqlite:/tmp/a.db", "sqlite", "file:/tmp/a.db?mode=ro"},
		{"data/a.db", "sqlite", "file:data/a.db?mode=ro"},
	}
	for _, c := range cases {
		src, err := Parse(c.in, true)
		if err != nil || src.Driver != c.driver || src.DSN != c.dsn {
			t.Errorf("Parse(%q) = %+v, %v; want %s %s", c.in, src, err, c.driver, c.dsn)
		}
	}
	if src, _ := Parse("a.db", false); src.DSN != "file:a.db" || src.Path != "a.db" {
		t.Errorf("read-write SQLite: %+v", src)
	}
	for _, bad := range []string{"", "redis://h:6379", "sqlite:"} {
		if _, err := Parse(bad, true); err == nil {
			t.Errorf("Parse(%q): no error", bad)
		}
	}
}
