package main

import (
	"context"
	"database/sql"
	"fmt"
	"go/token"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cachegen/cachegen/gen"
	"github.com/cachegen/cachegen/internal/catalog"
	"github.com/cachegen/cachegen/internal/dburl"
	_ "github.com/go-sql-driver/mysql" // registers "mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
)

// verifyTimeout bounds the connection and the catalog queries of -verify.
const verifyTimeout = time.Minute

// verify checks the tables of every model of pkgs against the database at
// addr, printing each problem with the model's position, then the text key
// columns and their collations. It returns the exit status: 0 when every
// table matches, 1 when any does not, 2 when the check could not run.
func verify(pkgs []*gen.Package, addr, dir string, stdout, stderr io.Writer) int {
	src, err := dburl.Parse(addr, true)
	if err != nil {
		fmt.Fprintln(stderr, "cachegen: -db:", err)
		return 2
	}
	if src.Path != "" {
		if _, err := os.Stat(src.Path); err != nil {
			fmt.Fprintln(stderr, "cachegen: -db:", err)
			return 2
		}
	}
	d, err := catalog.DialectOf(src.Driver)
	if err != nil {
		fmt.Fprintln(stderr, "cachegen:", err)
		return 2
	}
	db, err := sql.Open(src.Driver, src.DSN)
	if err != nil {
		fmt.Fprintln(stderr, "cachegen: -db:", err)
		return 2
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), verifyTimeout)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		fmt.Fprintln(stderr, "cachegen: -db:", err)
		return 2
	}

	var models []*gen.Model
	var specs []*catalog.Model
	for _, pkg := range pkgs {
		for _, file := range pkg.Files {
			for _, m := range file.Models {
				models = append(models, m)
				specs = append(specs, m.Catalog())
			}
		}
	}
	r, err := catalog.Verify(ctx, db, d, specs...)
	if err != nil {
		fmt.Fprintln(stderr, "cachegen:", err)
		return 2
	}
	byTable := map[string]*gen.Model{}
	for _, m := range models {
		byTable[m.Table] = m
	}
	for _, p := range r.Problems {
		pos := problemPos(byTable[p.Table], p.Column)
		if pos.Filename != "" {
			pos.Filename = rel(dir, pos.Filename)
			fmt.Fprintf(stderr, "%s: ", pos)
		}
		fmt.Fprintln(stderr, p)
	}
	for _, k := range r.Keys {
		coll := k.Collation
		if coll == "" {
			coll = "(none)"
		}
		cmp := "compares exactly: confirmed misses are cached"
		if !k.Exact {
			cmp = "compares loosely (" + k.Loose + "): confirmed misses are not cached"
		}
		fmt.Fprintf(stdout, "%s.%s: text key column (%s), collation %s, %s\n", k.Table, k.Column, k.Type, coll, cmp)
	}
	if n := len(r.Problems); n > 0 {
		fmt.Fprintf(stderr, "cachegen: %d schema problem(s) in %s\n", n, d)
		return 1
	}
	fmt.Fprintf(stdout, "cachegen: the %d table(s) of %d model(s) match the %s database\n", len(specs), len(specs), d)
	return 0
}

// problemPos is the position of the field a problem is about, or of the
// model.
func problemPos(m *gen.Model, column string) token.Position {
	if m == nil {
		return token.Position{}
	}
	for _, f := range m.Fields {
		if f.Column == column {
			return f.Pos
		}
	}
	for _, ix := range m.Uniques {
		cols := make([]string, len(ix.Fields))
		for i, f := range ix.Fields {
			cols[i] = f.Column
		}
		if strings.Join(cols, ", ") == column {
			return ix.Pos
		}
	}
	return m.Pos
}
