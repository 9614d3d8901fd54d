// Package tempmod copies a package into a temporary module that depends on
// this checkout, so that a test can change or delete its generated files
// without touching the source tree.
package tempmod

import (
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
)

// Path is the module path of every temporary module.
const Path = "example.com/tempmod"

// Copy makes a module in a new t.TempDir holding a copy of the files (not
// the folders) of src, and returns its directory. The module requires this
// checkout through a replace, has the checkout's requirements and go.sum,
// so the copy loads and builds offline as it does in place, and has
// cachegen as a tool, so that `go tool cachegen` runs this checkout's.
func Copy(t testing.TB, src string) string {
	t.Helper()
	root := Root(t)
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	first, rest, _ := strings.Cut(string(mod), "\n")
	if !strings.HasPrefix(first, "module ") {
		t.Fatalf("%s/go.mod does not start with its module line", root)
	}
	self := strings.TrimPrefix(first, "module ")
	gomod := "module " + Path + "\n" + rest +
		"\nrequire " + self + " v0.0.0\n\nreplace " + self + " => " + root + "\n" +
		"\ntool " + self + "/cmd/cachegen\n" // as the quick start's go get -tool leaves it
	dir, err := filepath.EvalSymlinks(t.TempDir()) // positions use the real path
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "go.mod"), []byte(gomod))
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "go.sum"), sum)
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, e.Name()), b)
	}
	return dir
}

// Root is the checkout this package is compiled from.
func Root(t testing.TB) string {
	t.Helper()
	_, file, _, ok := goruntime.Caller(0)
	if !ok {
		t.Fatal("tempmod: no caller information")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func write(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
