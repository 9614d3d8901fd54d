// Package golden holds the generator's cases: each folder is a package whose
// *_cachegen.go files are the expected output, checked in and compiled with
// the module; golden/errors holds the cases that must fail.
package golden

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/gen"
	"github.com/cachegen/cachegen/templates"
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
		if e.IsDir() && e.Name() != "errors" && e.Name() != "testdata" {
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
			pkgs, err := gen.Load(abs)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if len(pkgs) != 1 {
				t.Fatalf("got %d packages with models, want 1", len(pkgs))
			}
			want := map[string]bool{}
			for _, file := range pkgs[0].Files {
				got, err := templates.Render(pkgs[0], file)
				if err != nil {
					t.Fatal(err)
				}
				want[file.Output] = true
				if *update {
					if err := os.WriteFile(file.Output, got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				have, err := os.ReadFile(file.Output)
				if err != nil {
					t.Fatalf("expected output missing (run go test ./golden -update): %v", err)
				}
				if !bytes.Equal(have, got) {
					t.Errorf("%s differs from the generator's output; run go test ./golden -update and review the diff", file.Output)
				}
			}
			existing, _ := filepath.Glob(filepath.Join(abs, "*_cachegen.go"))
			for _, path := range existing {
				if !want[path] {
					t.Errorf("%s is not generated from any source file", path)
				}
			}
		})
	}
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
