package engine

import (
	"math"
	"testing"
	"time"
)

// TestTrustedAtNeverTrustsMoreThanTrusts: the hit path's answer on one
// clock reading says yes only when the view is valid, no heartbeat is due
// and the index is trusted; anything else is left to trusts.
func TestTrustedAtNeverTrustsMoreThanTrusts(t *testing.T) {
	now := monoNow()
	valid := &buildView{validMono: now + int64(time.Second), trusted: []bool{true, false, true}}
	expired := &buildView{validMono: now, trusted: []bool{true, true, true}}
	for _, c := range []struct {
		name string
		mono bool
		due  int64
		view *buildView
		i    int
		want bool
	}{
		{"valid view, pk", true, now + 1, valid, 0, true},
		{"valid view, trusted index", true, now + 1, valid, 2, true},
		{"valid view, untrusted index", true, now + 1, valid, 1, false},
		{"no view", true, now + 1, nil, 0, false},
		{"view expired", true, now + 1, expired, 0, false},
		{"heartbeat due", true, now, valid, 0, false},
		{"never beaten", true, math.MinInt64, valid, 0, false},
		{"a test clock", false, now + 1, valid, 0, false},
	} {
		b := &builds{mono: c.mono}
		b.dueMono.Store(c.due)
		if c.view != nil {
			b.view.Store(c.view)
		}
		if got := b.trustedAt(c.i, now); got != c.want {
			t.Errorf("%s: trustedAt = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestMonoOfIsMonoNowsScale: a deadline taken from time.Now and put on
// monoNow's scale compares with later readings as the times do.
func TestMonoOfIsMonoNowsScale(t *testing.T) {
	before := monoNow()
	at := monoOf(time.Now())
	after := monoNow()
	if at < before || at > after {
		t.Fatalf("monoOf(time.Now()) = %d, not within [%d, %d]", at, before, after)
	}
	if d := monoOf(time.Now().Add(time.Hour)) - after; d < int64(time.Hour) || d > int64(time.Hour+time.Minute) {
		t.Fatalf("an hour ahead reads %v ahead", time.Duration(d))
	}
}
