package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var lineRE = regexp.MustCompile(`^consistency: backend=sqlite\+memory(\(weak\))? ops=\d+ stale_after_ack=\d+ linearizability=(ok|violated) lost_writes=\d+ faults=\d+ max_staleness_ms=\d+$`)

func lastLine(t *testing.T, out string) string {
	t.Helper()
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(l, "consistency: ") {
			if !lineRE.MatchString(l) {
				t.Fatalf("the verdict line does not have the promised shape: %q", l)
			}
			return l
		}
	}
	t.Fatalf("no verdict line in:\n%s", out)
	return ""
}

func TestVerdictAndExitStatus(t *testing.T) {
	var out, errs bytes.Buffer
	code := run([]string{"-q", "-ops", "3000", "-herd=false", "-ttl", "1s", "-lock-ttl", "10s", "-seed", "3"}, &out, &errs)
	line := lastLine(t, out.String())
	if code != 0 || !strings.Contains(line, " stale_after_ack=0 linearizability=ok lost_writes=0 ") {
		t.Fatalf("exit %d:\n%s%s", code, out.String(), errs.String())
	}

	out.Reset()
	code = run([]string{"-q", "-ops", "6000", "-weak", "-faults=false", "-herd=false", "-ttl", "1s", "-seed", "3", "-expect-violations"}, &out, &errs)
	line = lastLine(t, out.String())
	if code != 0 || strings.Contains(line, " stale_after_ack=0 ") {
		t.Fatalf("negative control: exit %d:\n%s", code, out.String())
	}
	out.Reset()
	code = run([]string{"-q", "-ops", "6000", "-weak", "-faults=false", "-herd=false", "-ttl", "1s", "-seed", "3"}, &out, &errs)
	if code != 1 {
		t.Fatalf("violations found, yet exit %d", code)
	}

	if code := run([]string{"-db", "oracle://x"}, &out, &errs); code != 2 {
		t.Fatalf("a database it cannot open: exit %d", code)
	}

	errs.Reset()
	if code := run([]string{"-q", "-near", "100ms", "-store", "memory"}, &out, &errs); code != 2 || !strings.Contains(errs.String(), "-near needs -store redis") {
		t.Fatalf("-near without Redis: exit %d: %s", code, errs.String())
	}

	errs.Reset()
	if code := run([]string{"-q", "-weak-batch", "sometimes"}, &out, &errs); code != 2 || !strings.Contains(errs.String(), `-weak-batch "sometimes"`) {
		t.Fatalf("an unknown -weak-batch: exit %d: %s", code, errs.String())
	}
}

// TestBadFlagsWriteNothing: a bad combination of flags is refused before
// the -dump file is created.
func TestBadFlagsWriteNothing(t *testing.T) {
	var out, errs bytes.Buffer
	dump := filepath.Join(t.TempDir(), "dump")
	code := run([]string{"-q", "-near-lossy", "-dump", dump}, &out, &errs)
	if code != 2 || !strings.Contains(errs.String(), "-near-lossy needs -near") {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	if _, err := os.Stat(dump); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the -dump file was created before the flags were checked: %v", err)
	}
}
