package engine

import "testing"

func TestVersionAtLeast(t *testing.T) {
	for _, c := range []struct {
		v            string
		major, minor int
		want         bool
	}{
		{"10.11.19-MariaDB-0+deb12u1", 10, 5, true},
		{"10.5.0-MariaDB", 10, 5, true},
		{"10.4.34-MariaDB", 10, 5, false},
		{"8.0.36", 10, 5, false}, // MySQL: the caller checks for MariaDB too
		{"3.46.0", 3, 35, true},
		{"3.35.5", 3, 35, true},
		{"3.34.1", 3, 35, false},
		{"4.0", 3, 35, true},
		{"", 3, 35, false},
		{"x.y", 3, 35, false},
	} {
		if got := versionAtLeast(c.v, c.major, c.minor); got != c.want {
			t.Errorf("versionAtLeast(%q, %d, %d) = %v, want %v", c.v, c.major, c.minor, got, c.want)
		}
	}
}
