package golden

import (
	"errors"
	"fmt"
	"go/scanner"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/gen"
)

// The error cases, analysistest-style: every directory under
// testdata/errors holds one package, named after its directory, whose lines
// that must report an error carry a trailing // want "regexp" comment
// (several regexps for several errors on one line). They live under
// testdata so that what cannot compile or pass go vet (Go errors, malformed
// struct tags) sits beside the rest; a file that gofmt cannot parse is kept
// as NAME.go.txt and copied into a temporary module as NAME.go.

// errorsRoot holds every error case.
const errorsRoot = "testdata/errors"

// goErrorCases report errors of the Go toolchain, which carry no hint.
var goErrorCases = map[string]bool{"syntaxerror": true, "typeerror": true}

func errorCaseDirs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(errorsRoot)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(errorsRoot, e.Name()))
		}
	}
	return dirs
}

func TestErrorCases(t *testing.T) {
	dirs := errorCaseDirs(t)
	if len(dirs) < 30 {
		t.Fatalf("found %d error cases, want at least 30", len(dirs))
	}
	for _, dir := range dirs {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkErrorCase(t, dir, name)
		})
	}
}

// expectation is one regexp of a // want comment.
type expectation struct {
	file    string
	line    int
	re      *regexp.Regexp
	matched bool
}

func checkErrorCase(t *testing.T, dir, name string) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	dir = prepareCase(t, dir, name)

	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	var wants []*expectation
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^(//go:build .*\n\n)?package ` + name + `\n`).Match(src) {
			t.Errorf("%s: the package of an error case is named after its directory (%s)", f, name)
		}
		wants = append(wants, parseWants(t, f, src)...)
	}
	if len(wants) == 0 {
		t.Fatalf("case %s has no // want comment", name)
	}

	pkgs, err := gen.Load(dir)
	if err == nil {
		t.Fatalf("Load succeeded with %d packages; want errors", len(pkgs))
	}
	if pkgs != nil {
		t.Errorf("Load returned packages along with errors")
	}
	var list gen.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Load returned %T, want gen.ErrorList: %v", err, err)
	}
	if !sort.SliceIsSorted(list, func(i, j int) bool {
		a, b := list[i].Pos, list[j].Pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	}) {
		t.Errorf("errors are not sorted by position:\n%v", list)
	}
	if got := list.Error(); strings.Count(got, "\n") < len(list)-1 {
		t.Errorf("ErrorList.Error does not give one error per line:\n%s", got)
	}

	for _, e := range list {
		checkErrorShape(t, e, dir, !goErrorCases[name])
	}
	if report := compareWants(wants, list); report != "" {
		t.Errorf("case %s:\n%s", name, report)
	}
}

// compareWants matches the reported errors against the // want comments,
// each want at most once, and returns "" when every error is wanted and
// every want is met. Otherwise it lists, as file:line:col: message, what
// was reported, and what was reported but not wanted and wanted but not
// reported.
func compareWants(wants []*expectation, list gen.ErrorList) string {
	var unexpected []string
	for _, e := range list {
		found := false
		for _, w := range wants {
			if !w.matched && w.file == e.Pos.Filename && w.line == e.Pos.Line && w.re.MatchString(e.Msg) {
				w.matched, found = true, true
				break
			}
		}
		if !found {
			unexpected = append(unexpected, position(e))
		}
	}
	var missing []string
	for _, w := range wants {
		if !w.matched {
			missing = append(missing, fmt.Sprintf("%s:%d: %s", filepath.Base(w.file), w.line, w.re))
		}
	}
	if len(unexpected) == 0 && len(missing) == 0 {
		return ""
	}
	var b strings.Builder
	section := func(title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		fmt.Fprintf(&b, "%s:\n", title)
		for _, l := range lines {
			fmt.Fprintf(&b, "\t%s\n", l)
		}
	}
	var reported []string
	for _, e := range list {
		reported = append(reported, position(e))
	}
	section("reported", reported)
	section("reported, not wanted", unexpected)
	section("wanted, not reported (file:line: regexp)", missing)
	return b.String()
}

// position is an error as file:line:col: message, the file by its base name.
func position(e *gen.Error) string {
	return fmt.Sprintf("%s:%d:%d: %s", filepath.Base(e.Pos.Filename), e.Pos.Line, e.Pos.Column, e.Msg)
}

// checkErrorShape checks what every error must have: a position in the
// case's files with line and column, a hint when cachegen reports it, and
// the documented Error() form.
func checkErrorShape(t *testing.T, e *gen.Error, dir string, wantHint bool) {
	t.Helper()
	p := e.Pos
	if !filepath.IsAbs(p.Filename) || filepath.Dir(p.Filename) != dir {
		t.Errorf("error %q: file %q is not an absolute path in %s", e.Msg, p.Filename, dir)
	}
	if p.Line <= 0 || p.Column <= 0 {
		t.Errorf("error %q: position %v lacks a line or a column", e.Msg, p)
	}
	if wantHint && e.Hint == "" {
		t.Errorf("error %q has no hint", e.Msg)
	}
	want := fmt.Sprintf("%s:%d:%d: %s", p.Filename, p.Line, p.Column, e.Msg)
	if e.Hint != "" {
		want += "\n\thint: " + e.Hint
	}
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// prepareCase returns the directory to load for a case: the case itself,
// or, when it has NAME.go.txt files, a temporary module holding them as
// NAME.go.
func prepareCase(t *testing.T, dir, name string) string {
	txt, _ := filepath.Glob(filepath.Join(dir, "*.go.txt"))
	if len(txt) == 0 {
		return dir
	}
	tmp := t.TempDir()
	writeFile(t, filepath.Join(tmp, "go.mod"), "module "+name+"\n\ngo 1.26\n")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(tmp, strings.TrimSuffix(e.Name(), ".txt")), string(src))
	}
	// t.TempDir may sit behind a symlink; positions use the real path.
	real, err := filepath.EvalSymlinks(tmp)
	if err != nil {
		t.Fatal(err)
	}
	return real
}

// parseWants finds the // want comments of one file. A want may follow
// other text inside a comment (as on a //cachegen: directive line).
func parseWants(t *testing.T, file string, src []byte) []*expectation {
	t.Helper()
	fset := token.NewFileSet()
	tf := fset.AddFile(file, -1, len(src))
	var s scanner.Scanner
	s.Init(tf, src, func(token.Position, string) {}, scanner.ScanComments)
	var out []*expectation
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		if tok != token.COMMENT {
			continue
		}
		i := strings.Index(lit, "// want ")
		if i < 0 {
			continue
		}
		line := fset.Position(pos).Line
		rest := strings.TrimSpace(lit[i+len("// want "):])
		for rest != "" {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				t.Fatalf("%s:%d: bad want comment %q: %v", file, line, lit, err)
			}
			pattern, _ := strconv.Unquote(q)
			re, err := regexp.Compile(pattern)
			if err != nil {
				t.Fatalf("%s:%d: bad want regexp %q: %v", file, line, pattern, err)
			}
			out = append(out, &expectation{file: file, line: line, re: re})
			rest = strings.TrimSpace(rest[len(q):])
		}
	}
	return out
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCompareWantsReport checks what a failing case prints: every error
// with its position, and which were not wanted and which wants were not met.
func TestCompareWantsReport(t *testing.T) {
	at := func(line, col int, msg string) *gen.Error {
		return &gen.Error{Pos: token.Position{Filename: "/x/m.go", Line: line, Column: col}, Msg: msg}
	}
	wants := []*expectation{
		{file: "/x/m.go", line: 4, re: regexp.MustCompile(`no pk`)},
		{file: "/x/m.go", line: 9, re: regexp.MustCompile(`bad ttl`)},
	}
	list := gen.ErrorList{at(4, 6, "model T has no pk"), at(7, 2, "field X: unknown option")}
	got := compareWants(wants, list)
	for _, want := range []string{
		"reported:\n\tm.go:4:6: model T has no pk\n\tm.go:7:2: field X: unknown option\n",
		"reported, not wanted:\n\tm.go:7:2: field X: unknown option\n",
		"wanted, not reported (file:line: regexp):\n\tm.go:9: bad ttl\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	for _, w := range wants {
		w.matched = false
	}
	if got := compareWants(wants[:1], list[:1]); got != "" {
		t.Errorf("a case that matches reports:\n%s", got)
	}
}
