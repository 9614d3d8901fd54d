//go:build tools

// Package tools pins dependencies while the packages that import them are being written.
package tools

import (
	_ "github.com/alicebob/miniredis/v2"
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/redis/go-redis/v9"
)
