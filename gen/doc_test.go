package gen

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackagesHaveDocs: every package of the generator and the runtime
// has a package doc, in one of its non-test files, for go doc to show.
func TestPackagesHaveDocs(t *testing.T) {
	for _, root := range []string{"../runtime", "../gen", "../templates", "../cmd"} {
		err := filepath.WalkDir(root, func(dir string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			if d.Name() == "testdata" {
				return filepath.SkipDir
			}
			files, err := filepath.Glob(filepath.Join(dir, "*.go"))
			if err != nil {
				return err
			}
			seen, documented := false, false
			for _, name := range files {
				if strings.HasSuffix(name, "_test.go") {
					continue
				}
				f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.PackageClauseOnly|parser.ParseComments)
				if err != nil {
					return err
				}
				seen, documented = true, documented || f.Doc != nil
			}
			if seen && !documented {
				t.Errorf("the package in %s has no package doc", dir)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
