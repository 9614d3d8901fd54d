package wire

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/timecheck"
)

// zoneCases are times in every kind of location, on both sides of daylight
// saving changes (New York: second Sunday of March and first of November;
// Sydney, the other way round), at the change itself, and far from them.
func zoneCases(t testing.TB) []time.Time {
	t.Helper()
	load := func(name string) *time.Location {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatalf("tzdata: %v", err)
		}
		return loc
	}
	ny, sydney, kolkata, gmt5 := load("America/New_York"), load("Australia/Sydney"), load("Asia/Kolkata"), load("Etc/GMT+5")
	locs := []*time.Location{
		time.UTC, time.Local, ny, sydney, kolkata, gmt5,
		time.FixedZone("EST", -5*3600), time.FixedZone("America/New_York", -4*3600),
		time.FixedZone("", 0), time.FixedZone("", 5*3600+30*60), time.FixedZone("UTC", 0),
	}
	instants := []time.Time{
		time.Date(2024, 3, 10, 6, 59, 59, 999999999, time.UTC), // NY: 01:59:59 EST
		time.Date(2024, 3, 10, 7, 0, 0, 0, time.UTC),           // NY: 03:00 EDT
		time.Date(2024, 11, 3, 5, 30, 0, 0, time.UTC),          // NY: 01:30 EDT
		time.Date(2024, 11, 3, 6, 30, 0, 0, time.UTC),          // NY: 01:30 EST
		time.Date(2024, 4, 6, 15, 59, 0, 0, time.UTC),          // Sydney: just before its autumn change
		time.Date(2025, 1, 31, 12, 0, 0, 123456789, time.UTC),
		time.Date(2025, 7, 31, 12, 0, 0, 0, time.UTC),
		time.Date(1850, 1, 1, 0, 0, 0, 0, time.UTC), // before New York's first transition (LMT)
		time.Date(2200, 7, 1, 0, 0, 0, 0, time.UTC), // past the table: the TZ rule
		{},
	}
	var out []time.Time
	for _, loc := range locs {
		for _, at := range instants {
			out = append(out, at.In(loc))
		}
	}
	return out
}

func TestTimeKeepsLocationBehaviour(t *testing.T) {
	for _, want := range zoneCases(t) {
		what := want.Location().String() + " " + want.UTC().Format(time.RFC3339Nano)
		b := AppendTime(nil, want)
		d := NewDecoder(b)
		got := d.Time()
		if err := d.Finish(); err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		timecheck.Same(t, what, got, want)
		if again := AppendTime(nil, got); !bytes.Equal(again, b) {
			t.Errorf("%s: re-encodes as %x, want %x", what, again, b)
		}
	}
}

// TestTimeNamedZoneLoadedOnce: decoding a named zone must not load it per
// value: two decodes share one location, and a decode allocates nothing.
func TestTimeNamedZoneLoadedOnce(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	b := AppendTime(nil, time.Date(2024, 7, 1, 12, 0, 0, 0, ny))
	decode := func() time.Time {
		d := NewDecoder(b)
		tm := d.Time()
		if err := d.Finish(); err != nil {
			t.Fatal(err)
		}
		return tm
	}
	if a, c := decode(), decode(); a.Location() != c.Location() {
		t.Error("two decodes of one named zone hold two locations")
	}
	if allocs := testing.AllocsPerRun(100, func() { decode() }); allocs != 0 {
		t.Errorf("a named-zone decode cost %v allocations", allocs)
	}
}

func TestTimeNamedZoneMismatchIsCorrupt(t *testing.T) {
	at := time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC)
	head := AppendUint(AppendInt(nil, at.Unix()), 0)
	named := func(name string, offset int64, abbr string) []byte {
		return AppendString(AppendInt(AppendString(append(bytes.Clone(head), zoneNamed), name), offset), abbr)
	}
	for what, b := range map[string][]byte{
		"legacy fixed kind":   AppendString(AppendInt(append(bytes.Clone(head), zoneLegacy), -4*3600), "EDT"),
		"unknown zone":        named("Nowhere/Atlantis", 0, "ATL"),
		"wrong offset":        named("America/New_York", -5*3600, "EDT"),
		"wrong abbreviation":  named("America/New_York", -4*3600, "EST"),
		"UTC is its own kind": named("UTC", 0, "UTC"),
		"Local is its own":    named("Local", 0, "UTC"),
		"empty name":          named("", 0, "UTC"),
		"fixed as named":      named("EST", -5*3600, "EST"),
		"no abbreviation":     AppendInt(AppendString(append(bytes.Clone(head), zoneNamed), "America/New_York"), -4*3600),
	} {
		d := NewDecoder(b)
		got := d.Time()
		if err := d.Finish(); err == nil || !errors.Is(err, ErrCorrupt) || !got.IsZero() {
			// "EST" is a fixed zone in some tzdata versions and a link to
			// America/Panama in others: only reject it where it is fixed.
			if what == "fixed as named" && err == nil {
				if start, _ := got.ZoneBounds(); !start.IsZero() {
					continue
				}
			}
			t.Errorf("%s: decoded %v, err %v", what, got, err)
		}
	}
}
