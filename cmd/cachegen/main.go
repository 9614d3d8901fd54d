// Command cachegen generates cached repositories from tagged Go structs.
//
// Usage:
//
//	cachegen [flags] [packages]
//
// For every source file that declares a model (a struct with a cache:"pk"
// field) it writes <file>_cachegen.go beside it. Typical use (Go 1.24+) is
// to track it as a tool of the module and put a directive in the package:
//
//	go get -tool github.com/cachegen/cachegen/cmd/cachegen
//	//go:generate go tool cachegen
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
//	-explain  write nothing; print for every model its keys with their TTLs
//	          and miss policies, what Save and Delete invalidate, its SQL
//	          per dialect and what change-data capture needs of its table
//	-version  print the version and exit
//
// cachegen init -db DSN [-tables a,b] [-schema s] [-o dir] [-pkg name]
// [-force] writes a tagged model per table of a live database instead
// (see "cachegen init -h").
//
// Errors in the models are printed as file:line:col: message, with a hint,
// and exit with status 2.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/cachegen/cachegen/gen"
	"github.com/cachegen/cachegen/internal/genfiles"
)

const usage = `usage: cachegen [flags] [packages]
       cachegen init -db DSN [-tables a,b] [-o dir] [-pkg name] [-force]

Generates <file>_cachegen.go beside each Go file that declares a model
(a struct with a cache:"pk" field). Packages default to ".".

Flags:
`

func main() {
	os.Exit(run(os.Args[1:], ".", os.Stdout, os.Stderr))
}

// run is the whole command, minus the process: it returns the exit status.
func run(args []string, dir string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "init" {
		return runInit(args[1:], dir, stdout, stderr)
	}
	fs := flag.NewFlagSet("cachegen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check", false, "write nothing; exit 1 if a generated file is stale, missing or orphaned")
	verifyDB := fs.Bool("verify", false, "write nothing; check the models' tables against the database of -db: exit 1 listing every problem")
	dbAddr := fs.String("db", "", "the database of -verify: postgres://…, mysql://user@host:port/db, or a SQLite file path")
	explainModels := fs.Bool("explain", false, "write nothing; print each model's keys, TTLs, miss policies, invalidations, SQL per dialect and change-data capture needs")
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
	case *explainModels && (*check || *verifyDB):
		fmt.Fprintln(stderr, "cachegen: -explain is a run of its own")
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
	if *explainModels {
		explain(stdout, pkgs, absDir)
		return 0
	}

	changes, err := genfiles.Compare(pkgs)
	if err != nil {
		fmt.Fprintln(stderr, "cachegen:", err)
		return 2
	}
	for _, c := range changes {
		if *check {
			fmt.Fprint(stderr, c.Describe(rel(absDir, c.Path), 12))
			continue
		}
		if err := c.Apply(); err != nil {
			fmt.Fprintln(stderr, "cachegen:", err)
			return 2
		}
		verb := "wrote"
		if c.Kind == genfiles.Orphaned {
			verb = "removed"
		}
		fmt.Fprintf(stdout, "cachegen: %s %s\n", verb, rel(absDir, c.Path))
	}
	if *check && len(changes) > 0 {
		fmt.Fprintf(stderr, "cachegen: %d generated file(s) out of date; run go generate (or cachegen) to update them\n", len(changes))
		return 1
	}
	return 0
}

// rel shows path relative to dir when it lies inside it.
func rel(dir, path string) string {
	if r, err := filepath.Rel(dir, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

// printErrors prints generator errors with paths relative to dir.
func printErrors(w io.Writer, dir string, err error) {
	var list gen.ErrorList
	if !errors.As(err, &list) {
		fmt.Fprintln(w, "cachegen:", err)
		return
	}
	for _, e := range list {
		c := *e
		c.Pos.Filename = rel(dir, e.Pos.Filename)
		e = &c
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
