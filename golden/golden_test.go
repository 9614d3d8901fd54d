// Package golden holds the generator's cases: each folder is a package whose
// *_cachegen.go files are the expected output, checked in and compiled with
// the module; golden/testdata/errors holds the cases that must fail, with
// // want comments on the lines that must report them (errors_test.go).
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/gen"
	"github.com/cachegen/cachegen/internal/genfiles"
	"github.com/cachegen/cachegen/internal/tempmod"
)

var update = flag.Bool("update", false, "rewrite the expected generated files")

func cases(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "testdata" {
			dirs = append(dirs, e.Name())
		}
	}
	if len(dirs) == 0 {
		t.Fatal("no golden cases")
	}
	return dirs
}

// TestGolden regenerates every case and compares it with the checked-in
// output; -update rewrites the output instead.
func TestGolden(t *testing.T) {
	for _, dir := range cases(t) {
		t.Run(dir, func(t *testing.T) {
			abs, err := filepath.Abs(dir)
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := check(abs, *update)
			if err != nil {
				t.Fatal(err)
			}
			for _, msg := range msgs {
				t.Errorf("%srun go test ./golden -update and review the diff", msg)
			}
		})
	}
}

// TestGoldenFailureShowsDiff makes a copy of a case stale and checks that
// the failure TestGolden would report carries the diff, not just the name.
func TestGoldenFailureShowsDiff(t *testing.T) {
	dir := tempmod.Copy(t, "multifile")
	path := filepath.Join(dir, "accounts_cachegen.go")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte("Login"), []byte("Logon"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	msgs, err := check(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("got %d failures, want 1 (the stale file):\n%s", len(msgs), strings.Join(msgs, ""))
	}
	for _, want := range []string{
		`accounts_cachegen\.go: stale\n`,
		`(?m)^\t-\s*\d+  .*Logon`,  // the checked-in line
		`(?m)^\t\+\s*\d+  .*Login`, // the generated one
	} {
		if !regexp.MustCompile(want).MatchString(msgs[0]) {
			t.Errorf("the failure does not match %q:\n%s", want, msgs[0])
		}
	}
}

// check is the whole comparison of one case: it loads dir and returns one
// message per generated file that is stale (with its diff), missing or
// orphaned; with update it rewrites them instead and returns none.
func check(dir string, update bool) ([]string, error) {
	pkgs, err := gen.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if len(pkgs) != 1 {
		return nil, fmt.Errorf("got %d packages with models, want 1", len(pkgs))
	}
	changes, err := genfiles.Compare(pkgs)
	if err != nil {
		return nil, err
	}
	var msgs []string
	for _, c := range changes {
		if update {
			if err := c.Apply(); err != nil {
				return nil, err
			}
			continue
		}
		msgs = append(msgs, c.Describe(filepath.Join(filepath.Base(dir), filepath.Base(c.Path)), 20))
	}
	return msgs, nil
}

// TestGoldenCompiles vets every case with its generated files: the expected
// output must build and pass go vet, not just match.
func TestGoldenCompiles(t *testing.T) {
	var pkgs []string
	for _, dir := range cases(t) {
		pkgs = append(pkgs, "./"+dir)
	}
	out, err := exec.Command("go", append([]string{"vet"}, pkgs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go vet %s: %v\n%s", strings.Join(pkgs, " "), err, out)
	}
}
