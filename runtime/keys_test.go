package runtime

import (
	"strings"
	"testing"
	"time"
)

func TestKeyValuesAreEscaped(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"a,b", "a%2Cb"},
		{"a:b=c", "a%3Ab%3Dc"},
		{"100%", "100%25"},
		{"!", "%21"},
		{"sp ace\n\x00", "sp%20ace%0A%00"},
		{"é", "%C3%A9"},
		{"ada@example.com", "ada@example.com"},
	} {
		if got := string(AppendKeyString(nil, tc.in)); got != tc.want {
			t.Errorf("AppendKeyString(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := string(AppendKeyBytes(nil, []byte(tc.in))); got != tc.want {
			t.Errorf("AppendKeyBytes(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestKeyScalars(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600))
	for _, tc := range []struct{ got, want string }{
		{string(AppendKeyInt(nil, -42)), "-42"},
		{string(AppendKeyUint(nil, 18446744073709551615)), "18446744073709551615"},
		{string(AppendKeyBool(nil, true)), "t"},
		{string(AppendKeyFloat(nil, -0.0*1)), "0"},
		{string(AppendKeyFloat(nil, 1.5)), "1.5"},
		{string(AppendKeyTime(nil, at)), "2026-01-02T02%3A04%3A05.000000006Z"},
		{string(AppendKeyNull(nil)), "!"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	negZero := 0.0
	negZero = -negZero
	if a, b := string(AppendKeyFloat(nil, negZero)), string(AppendKeyFloat(nil, 0)); a != b {
		t.Errorf("-0 and 0 have keys %q and %q; the database finds the same rows for both", a, b)
	}
}

// FuzzKeyGroupsInjective checks that two different pairs of values never
// share a key: the separator and the NULL marker cannot hide in a value.
func FuzzKeyGroupsInjective(f *testing.F) {
	f.Add("a,b", "c", "a", "b,c")
	f.Add("!", "", "", "!")
	f.Add("%2C", "x", ",", "x")
	f.Fuzz(func(t *testing.T, a, b, c, d string) {
		k1 := AppendKeyString(AppendKeySep(AppendKeyString(nil, a)), b)
		k2 := AppendKeyString(AppendKeySep(AppendKeyString(nil, c)), d)
		if (a == c && b == d) != (string(k1) == string(k2)) {
			t.Fatalf("(%q,%q) and (%q,%q) give keys %q and %q", a, b, c, d, k1, k2)
		}
		null := AppendKeyNull(AppendKeySep(AppendKeyString(nil, a)))
		if string(null) == string(k2) {
			t.Fatalf("NULL and %q share the key %q", d, null)
		}
		for _, k := range [][]byte{k1, k2} {
			if strings.ContainsAny(string(k), " \x00\n\r\t") {
				t.Fatalf("key %q holds a space or control character", k)
			}
		}
	})
}

func TestLongKeysAreHashed(t *testing.T) {
	base := tableBase("cg", "users")
	prefix := base + "email="
	head := keyHeadLen(prefix, base)
	short := append([]byte(prefix), "a@x.org"...)
	if got := finishKey(short, head); got != string(short) {
		t.Fatalf("short key changed: %q", got)
	}
	long := AppendKeyString([]byte(prefix), strings.Repeat("é", 200))
	k1 := finishKey(long, head)
	if len(k1) > MaxKeyLen || !strings.HasPrefix(k1, prefix+"#") {
		t.Fatalf("long key %q (%d bytes) is not hashed under its prefix", k1, len(k1))
	}
	other := AppendKeyString([]byte(prefix), strings.Repeat("é", 199)+"e")
	if k2 := finishKey(other, head); k2 == k1 {
		t.Fatal("two long keys hash alike")
	}
}

// TestLongKeysKeepTheirTableBase: whatever the length of the prefix, the
// table and the index, every key of a table, hashed or not, starts with
// the table's base, which InvalidateAll lists; and bases of different
// tables or prefixes differ.
func TestLongKeysKeepTheirTableBase(t *testing.T) {
	bases := map[string]string{}
	for _, n := range []int{0, 1, 100, 140, 150, 152, 153, 154, 155, 156, 157, 200, 300} {
		for _, table := range []string{"t", strings.Repeat("t", 63), strings.Repeat("t", 64)} {
			prefix := strings.Repeat("p", n)
			base := tableBase(prefix, table)
			if other, ok := bases[base]; ok {
				t.Fatalf("prefix %d bytes, table %q: base %q is also %s's", n, table, base, other)
			}
			bases[base] = prefix + ":" + table
			if len(base) > maxHeadLen {
				t.Fatalf("base of %d bytes: a hashed key could not keep it", len(base))
			}
			for _, index := range []string{"id", strings.Repeat("c", 64) + "," + strings.Repeat("d", 64)} {
				ip := base + index + "="
				head := keyHeadLen(ip, base)
				for _, v := range []string{"", "v", strings.Repeat("v", 250)} {
					k := finishKey(AppendKeyString([]byte(ip), v), head)
					if len(k) > MaxKeyLen || !strings.HasPrefix(k, base) {
						t.Fatalf("prefix %d, index %d, value %d bytes: key %q (%d bytes) lost its base %q",
							n, len(index), len(v), k, len(k), base)
					}
				}
			}
		}
	}
}
