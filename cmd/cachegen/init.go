package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/cachegen/cachegen/internal/catalog"
	"github.com/cachegen/cachegen/internal/dburl"
	"github.com/cachegen/cachegen/internal/scaffold"
	"github.com/go-sql-driver/mysql"
)

const initUsage = `usage: cachegen init -db DSN [-tables a,b] [-schema s] [-o dir] [-pkg name] [-force]

Writes a tagged model per table of the database: the Go types of its
columns, its primary key, unique constraints and foreign keys as tags.
Then run go generate in the output directory.

Flags:
`

// runInit is cachegen init: models from a live database's schema. It
// returns the exit status: 0 when written, 2 when nothing was.
func runInit(args []string, dir string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cachegen init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbAddr := fs.String("db", "", "the database: postgres://…, mysql://user@host:port/db, or a SQLite file path (sqlite:PATH)")
	tableList := fs.String("tables", "", "comma-separated tables to write models for (schema.table for another schema); default: every table of -schema")
	schema := fs.String("schema", "", "the schema (MySQL: database) whose tables to list when -tables is empty; its tables' directives name it")
	out := fs.String("o", ".", "the directory to write the models to")
	pkg := fs.String("pkg", "", "the package name (default: the package already in -o, else the directory's name)")
	force := fs.Bool("force", false, "overwrite files that exist")
	fs.Usage = func() {
		fmt.Fprint(stderr, initUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "cachegen init:", err)
		return 2
	}
	switch {
	case *dbAddr == "":
		return fail(errors.New("-db is required: the database whose tables to read"))
	case fs.NArg() > 0:
		return fail(fmt.Errorf("unexpected arguments %q", fs.Args()))
	case *tableList != "" && *schema != "":
		return fail(errors.New("-tables and -schema are separate: name another schema's tables as schema.table"))
	}
	outDir := *out
	if !filepath.IsAbs(outDir) {
		outDir = filepath.Join(dir, outDir)
	}
	name, err := packageName(outDir, *pkg)
	if err != nil {
		return fail(err)
	}
	src, err := dburl.Parse(*dbAddr, true)
	if err != nil {
		return fail(fmt.Errorf("-db: %w", err))
	}
	if src.Path != "" {
		if _, err := os.Stat(src.Path); err != nil {
			return fail(fmt.Errorf("-db: %w", err))
		}
	}
	d, err := catalog.DialectOf(src.Driver)
	if err != nil {
		return fail(err)
	}
	db, err := sql.Open(src.Driver, src.DSN)
	if err != nil {
		return fail(fmt.Errorf("-db: %w", err))
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), verifyTimeout)
	defer cancel()
	tables, err := readTables(ctx, db, d, *tableList, *schema)
	if err != nil {
		return fail(err)
	}
	o := scaffold.Options{Dialect: d, Package: name, Source: describe(*dbAddr, src)}
	files, warnings, err := scaffold.Build(tables, o)
	for _, w := range warnings {
		fmt.Fprintln(stderr, "cachegen init: warning:", w)
	}
	if err != nil {
		return fail(err)
	}
	if len(files) == 0 {
		return fail(errors.New("no table to write a model for"))
	}
	return writeFiles(outDir, dir, files, o, *force, stdout, stderr)
}

// readTables reads the tables named in list, or every table of schema.
func readTables(ctx context.Context, db *sql.DB, d catalog.Dialect, list, schema string) ([]scaffold.Table, error) {
	var names []string
	if list != "" {
		for _, n := range strings.Split(list, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
	} else {
		all, err := catalog.Tables(ctx, db, d, schema)
		if err != nil {
			return nil, err
		}
		for _, n := range all {
			if schema != "" {
				n = schema + "." + n
			}
			names = append(names, n)
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("no tables in %s", orCurrentSchema(schema))
		}
	}
	var tables []scaffold.Table
	for _, n := range names {
		s, t := catalog.SplitName(n)
		ct, err := catalog.ReadTable(ctx, db, d, s, t)
		if err != nil {
			return nil, err
		}
		if ct == nil {
			return nil, fmt.Errorf("no table %s in the database", n)
		}
		fks, err := catalog.ForeignKeys(ctx, db, d, ct)
		if err != nil {
			return nil, err
		}
		tables = append(tables, scaffold.Table{Name: n, Catalog: ct, ForeignKeys: fks})
	}
	return tables, nil
}

func orCurrentSchema(schema string) string {
	if schema == "" {
		return "the connection's schema"
	}
	return schema
}

// writeFiles writes the models and, when the directory has none, the
// package's go:generate file. It writes nothing when a model file exists
// and force is not set.
func writeFiles(outDir, dir string, files []scaffold.File, o scaffold.Options, force bool, stdout, stderr io.Writer) int {
	var exist []string
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(outDir, f.Name)); err == nil {
			exist = append(exist, rel(dir, filepath.Join(outDir, f.Name)))
		}
	}
	if len(exist) > 0 && !force {
		fmt.Fprintf(stderr, "cachegen init: %s exist(s); nothing written (-force overwrites, -tables leaves a table out)\n", strings.Join(exist, ", "))
		return 2
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		fmt.Fprintln(stderr, "cachegen init:", err)
		return 2
	}
	pf, err := scaffold.Package(o)
	if err != nil {
		fmt.Fprintln(stderr, "cachegen init:", err)
		return 2
	}
	if _, err := os.Stat(filepath.Join(outDir, pf.Name)); err == nil || hasGoFiles(outDir) {
		pf = scaffold.File{} // the package is there: its own go:generate line stays its own
	}
	for _, f := range append(files, pf) {
		if f.Name == "" {
			continue
		}
		path := filepath.Join(outDir, f.Name)
		if err := os.WriteFile(path, f.Source, 0o644); err != nil {
			fmt.Fprintln(stderr, "cachegen init:", err)
			return 2
		}
		what := f.Model + " from " + f.Table
		if f.Model == "" {
			what = "the package's go:generate line"
		}
		fmt.Fprintf(stdout, "cachegen init: wrote %s (%s)\n", rel(dir, path), what)
	}
	if pf.Name != "" && !hasTool(outDir) {
		fmt.Fprintln(stdout, "cachegen init: go generate runs `go tool cachegen`: first run go get -tool github.com/cachegen/cachegen/cmd/cachegen in the module")
	}
	return 0
}

// hasTool reports whether the go.mod of the module holding dir names
// cachegen as a tool, which the go:generate line init writes needs.
func hasTool(dir string) bool {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for d := abs; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			return bytes.Contains(b, []byte("github.com/cachegen/cachegen/cmd/cachegen"))
		}
		if filepath.Dir(d) == d {
			return false
		}
	}
}

func hasGoFiles(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	return len(m) > 0
}

// packageName is name, else the package of the directory's Go files,
// else the directory's name made an identifier.
func packageName(dir, name string) (string, error) {
	if name != "" {
		if !token.IsIdentifier(name) || token.IsKeyword(name) {
			return "", fmt.Errorf("-pkg %q is not a package name", name)
		}
		return name, nil
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.go")); len(m) > 0 {
		for _, p := range m {
			if strings.HasSuffix(p, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.PackageClauseOnly)
			if err == nil {
				return f.Name.Name, nil
			}
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, r := range strings.ToLower(filepath.Base(abs)) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' && b.Len() > 0 {
			b.WriteRune(r)
		}
	}
	if s := b.String(); s != "" && !token.IsKeyword(s) && s != "main" {
		return s, nil
	}
	return "models", nil
}

// describe names the database for the files' headers, without its
// password: host:port/database and the schema a URL sets.
func describe(addr string, src dburl.Source) string {
	switch src.Driver {
	case "pgx":
		u, err := url.Parse(addr)
		if err != nil {
			return "(unparsable address)"
		}
		s := u.Host + u.Path
		if sp := u.Query().Get("search_path"); sp != "" {
			s += " (search_path " + sp + ")"
		}
		return s
	case "mysql":
		if cfg, err := mysql.ParseDSN(src.DSN); err == nil {
			return cfg.Addr + "/" + cfg.DBName
		}
	}
	return filepath.Base(src.Path)
}
