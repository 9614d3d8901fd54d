package gen

import (
	"fmt"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/tools/go/packages"
)

// fastMode is what go/packages must give us: names, files, syntax (for doc
// comments and positions) and types of the packages asked for; their
// dependencies come from export data, which the go command compiles (and
// caches).
const fastMode = packages.NeedName | packages.NeedFiles | packages.NeedSyntax |
	packages.NeedTypes | packages.NeedTypesInfo

// sourceMode type-checks the dependencies from source too. It is slower,
// and used only when a package does not compile: with export data, the go
// command reports compile errors as one unpositioned blob (and a stale
// generated file would stop its own regeneration), while the type checker
// gives each error its position, dependencies included.
const sourceMode = fastMode | packages.NeedImports | packages.NeedDeps

// generatedSuffix ends the name of every file cachegen writes.
const generatedSuffix = "_cachegen.go"

// outputPath is the generated file of the source file src:
// /x/models.go -> /x/models_cachegen.go.
func outputPath(src string) string {
	return strings.TrimSuffix(src, ".go") + generatedSuffix
}

// Load loads the packages matching patterns (default "." if none), relative
// to dir, and returns the models of each package that declares at least one
// (packages with none are omitted), sorted by import path. On any problem it
// returns an ErrorList with every error found (not just the first), sorted
// by position; the packages are then nil.
//
// Type and syntax errors inside generated files (*_cachegen.go) are not
// reported: those files are rewritten from the models anyway, and a stale
// or truncated one must not stop its own regeneration.
func Load(dir string, patterns ...string) (pkgs []*Package, err error) {
	defer func() {
		if r := recover(); r != nil {
			pkgs, err = nil, ErrorList{{Msg: fmt.Sprintf("internal error in cachegen: %v", r),
				Hint: "please report this with the package that caused it"}}
		}
	}()
	if len(patterns) == 0 {
		patterns = []string{"."}
	}
	absDir, aerr := filepath.Abs(dir)
	if aerr != nil {
		return nil, ErrorList{{Msg: aerr.Error()}}
	}
	if fi, serr := os.Stat(absDir); serr != nil || !fi.IsDir() {
		return nil, ErrorList{{Pos: token.Position{Filename: absDir}, Msg: "not a directory"}}
	}
	loaded, lerr := load(absDir, fastMode, patterns)
	if lerr == nil && !compiles(loaded) {
		loaded, lerr = load(absDir, sourceMode, patterns)
	}
	if lerr != nil {
		return nil, ErrorList{{Pos: token.Position{Filename: absDir}, Msg: lerr.Error()}}
	}

	var errs ErrorList
	var good []*packages.Package
	roots := map[*packages.Package]bool{}
	for _, p := range loaded {
		roots[p] = true
	}
	packages.Visit(loaded, nil, func(p *packages.Package) {
		fatal := false
		for _, e := range p.Errors {
			pos := parsePos(e.Pos, absDir)
			if (e.Kind == packages.TypeError || e.Kind == packages.ParseError) &&
				strings.HasSuffix(pos.Filename, generatedSuffix) {
				continue // a generated file is about to be rewritten
			}
			if pos.Filename == "" && p.Dir != "" {
				pos.Filename = p.Dir
			}
			errs = append(errs, &Error{Pos: pos, Msg: e.Msg})
			fatal = true
		}
		if roots[p] && !fatal && p.Types != nil && p.TypesInfo != nil {
			good = append(good, p)
		}
	})
	sort.Slice(good, func(i, j int) bool { return good[i].PkgPath < good[j].PkgPath })

	for _, p := range good {
		a := &analyzer{pkg: p, fset: p.Fset}
		a.run()
		errs = append(errs, a.errs...)
		// Tables are unique within a package; packages may well serve
		// different databases.
		errs = append(errs, checkTables(a.models)...)
		if out := a.result(); out != nil {
			pkgs = append(pkgs, out)
		}
	}

	if len(errs) > 0 {
		return nil, errs.sortAndDedup()
	}
	for _, p := range pkgs {
		complete(p)
	}
	return pkgs, nil
}

func load(dir string, mode packages.LoadMode, patterns []string) ([]*packages.Package, error) {
	cfg := &packages.Config{Mode: mode, Dir: dir, Tests: false}
	return packages.Load(cfg, patterns...)
}

// compiles reports whether every package loaded with export data is free
// of errors, its dependencies included.
func compiles(pkgs []*packages.Package) bool {
	for _, p := range pkgs {
		if p.IllTyped || len(p.Errors) > 0 {
			return false
		}
	}
	return true
}

// checkTables reports two models of one package that use the same table,
// at the second one.
func checkTables(all []*candidate) ErrorList {
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i].pos, all[j].pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Offset < b.Offset
	})
	var errs ErrorList
	first := map[string]*candidate{}
	for _, c := range all {
		if c.table == "" {
			continue
		}
		key := strings.ToLower(c.table)
		if f, ok := first[key]; ok {
			errs = append(errs, errorf(c.pos, "give one of them its own table with //cachegen:table NAME",
				"model %s uses table %q, already used by model %s at %s", c.name, c.table, f.name, posString(f.pos)))
			continue
		}
		first[key] = c
	}
	return errs
}
