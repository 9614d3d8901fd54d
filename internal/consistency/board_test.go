package consistency

import (
	"context"
	"testing"
	"time"

	"github.com/cachegen/cachegen/runtime/store"
)

// TestMemoryLinksKeepTheBoard: each runtime's link to the shared memory
// store carries the build board through the trace, with the link's faults.
// Without it the memory runs, -two-builds among them, ran with no board.
func TestMemoryLinksKeepTheBoard(t *testing.T) {
	ctx := context.Background()
	mem, err := newMemShared()
	if err != nil {
		t.Fatal(err)
	}
	defer mem.close()
	link := &memFault{inner: mem, timeout: 10 * time.Millisecond}
	board, ok := tracing(link, &keySet{}).(store.BoardStore)
	if !ok {
		t.Fatal("the traced memory link hides the build board")
	}
	put := func(b []byte) ([]byte, error) { return []byte("v1"), nil }
	if err := board.UpdateBoard(ctx, "p:builds", time.Minute, put); err != nil {
		t.Fatal(err)
	}
	var seen string
	read := func(b []byte) ([]byte, error) { seen = string(b); return b, nil }
	if err := board.UpdateBoard(ctx, "p:builds", time.Minute, read); err != nil || seen != "v1" {
		t.Fatalf("second update saw %q, %v; want the first's v1", seen, err)
	}
	link.set(linkDown)
	if err := board.UpdateBoard(ctx, "p:builds", time.Minute, read); err == nil {
		t.Fatal("a board update through a down link succeeded")
	}
	link.set(linkOK)
	if err := mem.flush(); err != nil {
		t.Fatal(err)
	}
	seen = "?"
	if err := board.UpdateBoard(ctx, "p:builds", time.Minute, read); err != nil || seen != "" {
		t.Fatalf("after a flush the update saw %q, %v; want an empty board", seen, err)
	}
}
