package engine

import (
	"context"
	"encoding/json"
	"time"

	"github.com/cachegen/cachegen/runtime/store"
)

// board is what a table's board key holds.
type board struct {
	// Epoch names the current coverage epoch: every cached value of the
	// table carries it, and a new one fences the values filled before.
	Epoch string `json:"e"`
	// Seq counts the members that joined, so that a member can tell which
	// views were made after it joined.
	Seq int64 `json:"s"`
	// Builds maps each build announced since the epoch began to the
	// indexes it declares, live or not: a writer keeps locking an index
	// of this epoch after its build has gone quiet.
	Builds map[string][]string `json:"b"`
	// Members are the live runtimes.
	Members map[string]boardMember `json:"m"`
}

// boardMember is one runtime's announcement.
type boardMember struct {
	Build    string   `json:"b"`
	JoinSeq  int64    `json:"j"` // Seq when it joined
	Deadline int64    `json:"d"` // unix ms: it has lapsed after this
	Seen     int64    `json:"v"` // Seq of the view its reads use
	Covers   []string `json:"c"` // the indexes every write of it locks
}

// announcement is what a runtime tells the board on a heartbeat.
type announcement struct {
	member string
	build  string
	decl   []string // the indexes its build declares
	rec    boardMember
	now    time.Time
	bump   bool   // start a new epoch even if the build is known
	epoch  string // the epoch to start, if one starts
}

// apply records a on the board and reports whether a's member joined
// (was not live). Lapsed members are dropped first. A member of a build
// the epoch does not know starts a new epoch, as does a bump; the new
// epoch keeps the builds that still have live members.
func (b *board) apply(a announcement) (joined bool) {
	if b.Builds == nil {
		b.Builds = map[string][]string{}
	}
	if b.Members == nil {
		b.Members = map[string]boardMember{}
	}
	now := a.now.UnixMilli()
	for id, m := range b.Members {
		if m.Deadline < now {
			delete(b.Members, id)
		}
	}
	old, live := b.Members[a.member]
	rec := a.rec
	rec.Build = a.build
	if live {
		rec.JoinSeq = old.JoinSeq
	} else {
		b.Seq++
		rec.JoinSeq = b.Seq
	}
	_, known := b.Builds[a.build]
	if b.Epoch == "" || a.bump || (!live && !known) {
		b.Epoch = a.epoch
		kept := map[string][]string{}
		for _, m := range b.Members {
			if d, ok := b.Builds[m.Build]; ok {
				kept[m.Build] = d
			}
		}
		b.Builds = kept
	}
	b.Builds[a.build] = a.decl
	b.Members[a.member] = rec
	return !live
}

// updateBoard applies a to the board under key in store and returns the
// board as it left it.
func updateBoard(ctx context.Context, bs store.BoardStore, key string, keep time.Duration, a announcement) (board, bool, error) {
	var out board
	var joined bool
	err := bs.UpdateBoard(ctx, key, keep, func(cur []byte) ([]byte, error) {
		var b board
		if len(cur) > 0 && json.Unmarshal(cur, &b) != nil {
			b = board{} // bytes that are not a board: start a new one (and a new epoch)
		}
		joined = b.apply(a)
		out = b
		return json.Marshal(&b)
	})
	return out, joined, err
}
