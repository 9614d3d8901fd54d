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
	prefix := "cg:users:0a1b2c3d:email="
	short := append([]byte(prefix), "a@x.org"...)
	if got := finishKey(short, len(prefix)); got != string(short) {
		t.Fatalf("short key changed: %q", got)
	}
	long := AppendKeyString([]byte(prefix), strings.Repeat("é", 200))
	k1 := finishKey(long, len(prefix))
	if len(k1) > MaxKeyLen || !strings.HasPrefix(k1, prefix+"#") {
		t.Fatalf("long key %q (%d bytes) is not hashed under its prefix", k1, len(k1))
	}
	other := AppendKeyString([]byte(prefix), strings.Repeat("é", 199)+"e")
	if k2 := finishKey(other, len(prefix)); k2 == k1 {
		t.Fatal("two long keys hash alike")
	}
	hugePrefix := strings.Repeat("p", 300) + "="
	if k := finishKey([]byte(hugePrefix+"v"), len(hugePrefix)); len(k) > MaxKeyLen {
		t.Fatalf("key with a huge prefix is %d bytes", len(k))
	}
}
