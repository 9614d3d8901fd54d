// Package timecheck compares two times the way an application would use
// them, for differential tests of values that went through the cache.
package timecheck

import (
	"testing"
	"time"
)

// Layout formats a time with everything a zone shows: nanoseconds,
// abbreviation and offset.
const Layout = "2006-01-02 15:04:05.999999999 MST -07:00"

// Same fails t unless got behaves like want: the same instant; the same
// location (the same pointer for time.UTC and time.Local, the same name
// otherwise, so a named zone stays named and a fixed one fixed); the same
// Format output and IsDST; the same zone bounds; and the same results of
// date arithmetic across daylight saving changes (AddDate by 1, 4, 6 and
// 8 months).
func Same(t testing.TB, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s: instant %v, want %v", what, got, want)
		return
	}
	gl, wl := got.Location(), want.Location()
	if (wl == time.UTC || wl == time.Local || gl == time.UTC || gl == time.Local) && gl != wl {
		t.Errorf("%s: location %p %q, want %p %q", what, gl, gl, wl, wl)
	}
	if gl.String() != wl.String() {
		t.Errorf("%s: location %q, want %q", what, gl, wl)
	}
	if g, w := got.Format(Layout), want.Format(Layout); g != w {
		t.Errorf("%s: formats as %q, want %q", what, g, w)
	}
	if got.IsDST() != want.IsDST() {
		t.Errorf("%s: IsDST %t, want %t", what, got.IsDST(), want.IsDST())
	}
	for _, m := range []int{1, 4, 6, 8} {
		g, w := got.AddDate(0, m, 0), want.AddDate(0, m, 0)
		if !g.Equal(w) || g.Format(Layout) != w.Format(Layout) {
			t.Errorf("%s: AddDate(0, %d, 0) = %s, want %s", what, m, g.Format(Layout), w.Format(Layout))
		}
	}
	gs, ge := got.ZoneBounds()
	ws, we := want.ZoneBounds()
	if !gs.Equal(ws) || !ge.Equal(we) {
		t.Errorf("%s: zone bounds [%v, %v), want [%v, %v)", what, gs, ge, ws, we)
	}
}
