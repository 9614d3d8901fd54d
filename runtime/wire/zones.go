package wire

import (
	"sync"
	"sync/atomic"
	"time"
)

// maxZones bounds the locations kept by name. A process uses a handful;
// names past the bound (only garbage bytes could bring that many) are
// loaded on each decode instead of being kept.
const maxZones = 256

// zones maps a location name to the location time.LoadLocation returned,
// or nil when it failed. Readers load the map without a lock; a writer
// copies it under zonesMu and swaps it in.
var (
	zones   atomic.Pointer[map[string]*time.Location]
	zonesMu sync.Mutex
)

// location returns the location named name, loaded once per process; nil
// when this process cannot load it. A hit allocates nothing.
func location(name []byte) *time.Location {
	if m := zones.Load(); m != nil {
		if loc, ok := (*m)[string(name)]; ok {
			return loc
		}
	}
	key := string(name)
	loc, err := time.LoadLocation(key)
	if err != nil {
		loc = nil
	}
	zonesMu.Lock()
	defer zonesMu.Unlock()
	old := zones.Load()
	if old != nil && len(*old) >= maxZones {
		return loc
	}
	next := make(map[string]*time.Location, 1+lenOf(old))
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	if kept, ok := next[key]; ok {
		return kept // another decoder stored it meanwhile: one pointer per name
	}
	next[key] = loc
	zones.Store(&next)
	return loc
}

func lenOf(m *map[string]*time.Location) int {
	if m == nil {
		return 0
	}
	return len(*m)
}
