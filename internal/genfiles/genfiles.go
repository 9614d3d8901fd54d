// Package genfiles is the one generation path: it renders the generated
// files of loaded packages, compares them with the files on disk, finds
// orphaned ones, and writes or describes the difference. The command and
// the golden tests both go through it, so they agree on what is stale and
// both show the same diff.
package genfiles

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cachegen/cachegen/gen"
	"github.com/cachegen/cachegen/templates"
)

// Kind says how a generated file differs from what the generator writes.
type Kind int

const (
	Missing  Kind = iota // not on disk
	Stale                // on disk with other contents
	Orphaned             // on disk, generated, but its source declares no model any more
)

func (k Kind) String() string {
	switch k {
	case Missing:
		return "missing"
	case Stale:
		return "stale"
	}
	return "orphaned"
}

// Change is one generated file that is not as the generator would leave it.
type Change struct {
	Path string // absolute
	Kind Kind
	Have []byte // on disk; nil when Missing
	Want []byte // rendered; nil when Orphaned
}

// Compare renders every file of pkgs and returns the generated files that
// differ from it, in the order of pkgs and their files, then each package's
// orphans. It writes nothing.
func Compare(pkgs []*gen.Package) ([]*Change, error) {
	var changes []*Change
	for _, pkg := range pkgs {
		want := map[string]bool{}
		for _, file := range pkg.Files {
			src, err := templates.Render(pkg, file)
			if err != nil {
				return nil, err
			}
			want[file.Output] = true
			have, err := os.ReadFile(file.Output)
			switch {
			case errors.Is(err, os.ErrNotExist):
				changes = append(changes, &Change{Path: file.Output, Kind: Missing, Want: src})
			case err != nil:
				return nil, err
			case !bytes.Equal(have, src):
				changes = append(changes, &Change{Path: file.Output, Kind: Stale, Have: have, Want: src})
			}
		}
		old, err := filepath.Glob(filepath.Join(pkg.Dir, "*_cachegen.go"))
		if err != nil {
			return nil, err
		}
		ignored := map[string]bool{}
		for _, path := range pkg.Ignored {
			ignored[path] = true
		}
		for _, path := range old {
			// A file this build leaves out, or whose source it leaves out,
			// may hold models: they are not seen, so not judged.
			if want[path] || ignored[path] || ignored[strings.TrimSuffix(path, "_cachegen.go")+".go"] {
				continue
			}
			have, ok := generated(path)
			if ok {
				changes = append(changes, &Change{Path: path, Kind: Orphaned, Have: have})
			}
		}
	}
	return changes, nil
}

// Apply makes the file what the generator wants: written, or removed when
// orphaned.
func (c *Change) Apply() error {
	if c.Kind == Orphaned {
		return os.Remove(c.Path)
	}
	return os.WriteFile(c.Path, c.Want, 0o644)
}

// Describe says what is wrong with the file, shown under the name name:
// "name: stale" followed by the first maxLines changed lines, as - (on
// disk) and + (generated) lines with their line numbers.
func (c *Change) Describe(name string, maxLines int) string {
	switch c.Kind {
	case Missing:
		return name + ": missing\n"
	case Orphaned:
		return name + ": orphaned: its source declares no model any more\n"
	}
	return fmt.Sprintf("%s: stale\n%s", name, Diff(string(c.Have), string(c.Want), maxLines))
}

// generated returns the contents of path when it starts with cachegen's
// header, so that a hand-written file that happens to end in _cachegen.go
// is never taken for an orphan.
func generated(path string) ([]byte, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil || !bytes.HasPrefix(b, []byte("// "+templates.Header)) {
		return nil, false
	}
	return b, true
}
