// Package dburl reads the database addresses cachegen's commands and examples
// accept: postgres://… (or postgresql://…), mysql://user:pass@host:port/db,
// and SQLite as sqlite:PATH or a plain file path.
package dburl

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// Source is a parsed address: the database/sql driver to open it with and
// the driver's own data source name.
type Source struct {
	Driver string // "pgx", "mysql" or "sqlite"
	DSN    string // what sql.Open takes
	// Path is the file of a SQLite source ("" for the servers).
	Path string
}

// Parse reads s. A SQLite path is opened read-only when readOnly is set,
// so that a mistyped path fails instead of creating an empty database.
func Parse(s string, readOnly bool) (Source, error) {
	switch {
	case s == "":
		return Source{}, errors.New("empty database address")
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		if _, err := url.Parse(s); err != nil {
			return Source{}, err
		}
		return Source{Driver: "pgx", DSN: s}, nil
	case strings.HasPrefix(s, "mysql://"):
		cfg, err := MySQLConfig(s)
		if err != nil {
			return Source{}, err
		}
		return Source{Driver: "mysql", DSN: cfg.FormatDSN()}, nil
	case strings.Contains(s, "://"):
		return Source{}, fmt.Errorf("%q: want postgres://…, mysql://user@host:port/db, sqlite:PATH or a SQLite file path", s)
	}
	path := strings.TrimPrefix(s, "sqlite:")
	if path == "" {
		return Source{}, fmt.Errorf("%q: no SQLite file path", s)
	}
	src := "file:" + path
	if readOnly {
		src += "?mode=ro"
	}
	return Source{Driver: "sqlite", DSN: src, Path: path}, nil
}

// MySQLConfig turns mysql://user:pass@host:port/db into the driver's config.
func MySQLConfig(s string) (*mysql.Config, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "mysql" {
		return nil, fmt.Errorf("%q: not a mysql:// address", s)
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net, cfg.Addr = "tcp", u.Host
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	return cfg, nil
}
