// Command cachegen generates cached repositories from tagged Go structs.
//
// Usage:
//
//	cachegen [flags] [packages]
//
// For every source file that declares a model (a struct with a cache:"pk"
// field) it writes <file>_cachegen.go beside it. Typical use is a directive
// in the package:
//
//	//go:generate go run github.com/cachegen/cachegen/cmd/cachegen
//
// Flags:
//
//	-check    write nothing; exit 1 listing every stale, missing or orphaned
//	          generated file with a short diff, 0 when all are fresh
//	-verify   with -db: write nothing; check every model's table against the
//	          live database (tables, columns, types, the primary key, a
//	          unique index behind every unique tag) and exit 1 listing every
//	          problem with the DDL that fixes it, 0 when all match
//	-db       the database of -verify: postgres://…, mysql://user@host:port/db,
//	          or a SQLite file path (sqlite:PATH)
//	-version  print the version and exit
//
// Errors in the models are printed as file:line:col: message, with a hint,
// and exit with status 2.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/cachegen/cachegen/gen"
	"github.com/cachegen/cachegen/templates"
)

const usage = `usage: cachegen [flags] [packages]

Generates <file>_cachegen.go beside each Go file that declares a model
(a struct with a cache:"pk" field). Packages default to ".".

Flags:
`

func main() {
	os.Exit(run(os.Args[1:], ".", os.Stdout, os.Stderr))
}

// run is the whole command, minus the process: it returns the exit status.
func run(args []string, dir string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cachegen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check", false, "write nothing; exit 1 if a generated file is stale, missing or orphaned")
	verifyDB := fs.Bool("verify", false, "write nothing; check the models' tables against the database of -db: exit 1 listing every problem")
	dbAddr := fs.String("db", "", "the database of -verify: postgres://…, mysql://user@host:port/db, or a SQLite file path")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, "cachegen", version())
		return 0
	}
	switch {
	case *verifyDB && *dbAddr == "":
		fmt.Fprintln(stderr, "cachegen: -verify needs -db: the database to check the models against")
		return 2
	case *dbAddr != "" && !*verifyDB:
		fmt.Fprintln(stderr, "cachegen: -db is only used by -verify")
		return 2
	case *verifyDB && *check:
		fmt.Fprintln(stderr, "cachegen: -verify and -check are separate runs")
		return 2
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		fmt.Fprintln(stderr, "cachegen:", err)
		return 2
	}
	pkgs, err := gen.Load(absDir, fs.Args()...)
	if err != nil {
		printErrors(stderr, absDir, err)
		return 2
	}
	if *verifyDB {
		return verify(pkgs, *dbAddr, absDir, stdout, stderr)
	}

	g := &generator{dir: absDir, check: *check, stdout: stdout, stderr: stderr}
	for _, pkg := range pkgs {
		if err := g.pkg(pkg); err != nil {
			fmt.Fprintln(stderr, "cachegen:", err)
			return 2
		}
	}
	if g.stale > 0 {
		fmt.Fprintf(stderr, "cachegen: %d generated file(s) out of date; run go generate (or cachegen) to update them\n", g.stale)
		return 1
	}
	return 0
}

// generator writes (or, with check, compares) the files of each package.
type generator struct {
	dir            string
	check          bool
	stdout, stderr io.Writer
	stale          int
}

func (g *generator) pkg(pkg *gen.Package) error {
	want := map[string]bool{}
	for _, file := range pkg.Files {
		src, err := templates.Render(pkg, file)
		if err != nil {
			return err
		}
		want[file.Output] = true
		if err := g.file(file.Output, src); err != nil {
			return err
		}
	}
	// A generated file whose source no longer declares a model is orphaned.
	old, err := filepath.Glob(filepath.Join(pkg.Dir, "*_cachegen.go"))
	if err != nil {
		return err
	}
	for _, path := range old {
		if want[path] || !isGenerated(path) {
			continue
		}
		if g.check {
			g.stale++
			fmt.Fprintf(g.stderr, "%s: orphaned: its source declares no model any more\n", g.rel(path))
			continue
		}
		if err := os.Remove(path); err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "cachegen: removed %s\n", g.rel(path))
	}
	return nil
}

func (g *generator) file(path string, src []byte) error {
	have, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err == nil && bytes.Equal(have, src) {
		return nil
	}
	if g.check {
		g.stale++
		if have == nil {
			fmt.Fprintf(g.stderr, "%s: missing\n", g.rel(path))
		} else {
			fmt.Fprintf(g.stderr, "%s: stale\n%s", g.rel(path), shortDiff(string(have), string(src), 12))
		}
		return nil
	}
	if err := os.WriteFile(path, src, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "cachegen: wrote %s\n", g.rel(path))
	return nil
}

func (g *generator) rel(path string) string {
	if r, err := filepath.Rel(g.dir, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

// isGenerated reports whether path starts with cachegen's header, so that a
// hand-written file that happens to end in _cachegen.go is never removed.
func isGenerated(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := io.ReadFull(f, head)
	return bytes.HasPrefix(head[:n], []byte("// "+templates.Header))
}

// printErrors prints generator errors with paths relative to dir.
func printErrors(w io.Writer, dir string, err error) {
	var list gen.ErrorList
	if !errors.As(err, &list) {
		fmt.Fprintln(w, "cachegen:", err)
		return
	}
	for _, e := range list {
		if r, rerr := filepath.Rel(dir, e.Pos.Filename); rerr == nil && !strings.HasPrefix(r, "..") {
			c := *e
			c.Pos.Filename = r
			e = &c
		}
		fmt.Fprintln(w, e.Error())
	}
}

func version() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range append(info.Deps, &info.Main) {
			if dep != nil && dep.Path == "github.com/cachegen/cachegen" && dep.Version != "" {
				return dep.Version
			}
		}
	}
	return "(devel)"
}
