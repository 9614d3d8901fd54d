package memcached

import (
	"crypto/sha256"
	"encoding/base64"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cachegen/cachegen/runtime/engine"
	"github.com/cachegen/cachegen/runtime/store"
)

// legal reports whether memcached (and gomemcache) take mk as a key.
func legal(mk string) bool {
	if len(mk) < 1 || len(mk) > 250 {
		return false
	}
	for i := 0; i < len(mk); i++ {
		if mk[i] <= ' ' || mk[i] >= 0x7f {
			return false
		}
	}
	return true
}

// trickyKeys are keys at the edges of the encoding.
var trickyKeys = []string{
	"", "a", " ", "^", "^5E", "^5e", "^^", "^#", "^#abc", "a b", "a^20b", "a%20b",
	"\x00", "\x7f", "\xff", "\r\n", "ünïcødé-键-🔑", "with space ", "colon:separated:key",
	strings.Repeat("k", 250), strings.Repeat("k", 251), strings.Repeat("k", 1000),
	strings.Repeat(" ", 83), strings.Repeat(" ", 84), strings.Repeat("k", 247) + " ",
	strings.Repeat("k", 248) + " ",
}

func TestEncodeKey(t *testing.T) {
	seen := map[string]string{}
	for _, k := range trickyKeys {
		mk := encodeKey(k)
		if !legal(mk) {
			t.Errorf("encodeKey(%q) = %q, which memcached does not take", k, mk)
		}
		if other, ok := seen[mk]; ok {
			t.Errorf("encodeKey(%q) = encodeKey(%q) = %q", k, other, mk)
		}
		seen[mk] = k
		hashed := strings.HasPrefix(mk, hashedMark)
		if got, ok := decodeKey(mk); ok != !hashed || ok && got != k {
			t.Errorf("decodeKey(encodeKey(%q) = %q) = %q, %v", k, mk, got, ok)
		}
	}
	for k, want := range map[string]string{
		"a b":                          "a^20b",
		"^":                            "^5E",
		"ü":                            "^C3^BC",
		strings.Repeat("k", 250):       strings.Repeat("k", 250),
		strings.Repeat("k", 247) + " ": strings.Repeat("k", 247) + "^20",
	} {
		if got := encodeKey(k); got != want {
			t.Errorf("encodeKey(%q) = %q, want %q", k, got, want)
		}
	}
	// a key whose escaped form is too long is hashed
	long := strings.Repeat("k", 248) + " "
	sum := sha256.Sum256([]byte(long))
	if got, want := encodeKey(long), "^#"+base64.RawURLEncoding.EncodeToString(sum[:]); got != want {
		t.Errorf("encodeKey of 248 bytes and a space = %q, want %q", got, want)
	}
	// what encodeKey never writes is not decoded
	for _, mk := range []string{"", "^", "^4", "^41", "^5e", "^zz", "a^", "^#x", "a b", strings.Repeat("k", 251)} {
		if k, ok := decodeKey(mk); ok {
			t.Errorf("decodeKey(%q) = %q, true", mk, k)
		}
	}
}

// TestRuntimeKeysUnchanged: every key the runtime makes is sent as it is,
// escaped values, NULL markers, separators and hashed keys included.
func TestRuntimeKeysUnchanged(t *testing.T) {
	var all []byte
	for c := range 256 {
		all = append(all, byte(c))
	}
	base := "cg:users:0a1b2c3d:"
	var values [][]byte
	values = append(values,
		engine.AppendKeyString(nil, string(all[:64])),
		engine.AppendKeyString(nil, "with space, comma! and % sign"),
		engine.AppendKeyString(nil, "ünïcødé-键-🔑"),
		engine.AppendKeyBytes(nil, all[200:]),
		engine.AppendKeyInt(nil, math.MinInt64),
		engine.AppendKeyUint(nil, math.MaxUint64),
		engine.AppendKeyFloat(nil, math.Inf(-1)),
		engine.AppendKeyFloat(nil, math.NaN()),
		engine.AppendKeyFloat(nil, -1.5e-300),
		engine.AppendKeyBool(nil, true),
		engine.AppendKeyTime(nil, time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))),
		engine.AppendKeyNull(nil),
		engine.AppendKeySep(engine.AppendKeyInt(nil, 7)),
	)
	for _, v := range values {
		k := base + "email=" + string(v)
		if len(k) > engine.MaxKeyLen {
			t.Fatalf("test key longer than runtime.MaxKeyLen: %q", k)
		}
		if mk := encodeKey(k); mk != k {
			t.Errorf("runtime key %q is sent as %q", k, mk)
		}
	}
	// the form of a key the runtime hashed: its prefix, '#', base64url
	sum := sha256.Sum256(all)
	hashed := base + "email=#" + base64.RawURLEncoding.EncodeToString(sum[:])
	if mk := encodeKey(hashed); mk != hashed {
		t.Errorf("hashed runtime key %q is sent as %q", hashed, mk)
	}
	// the longest key the runtime hands over
	longest := base + strings.Repeat("%FF", (engine.MaxKeyLen-len(base))/3)
	if mk := encodeKey(longest); mk != longest {
		t.Errorf("runtime key of %d bytes is sent as %q", len(longest), mk)
	}
}

// FuzzEncodeKey: every key is sent as a legal memcached key, distinct keys
// as distinct ones, and what is not hashed decodes back.
func FuzzEncodeKey(f *testing.F) {
	for i, k := range trickyKeys {
		f.Add(k, trickyKeys[(i+1)%len(trickyKeys)])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ma, mb := encodeKey(a), encodeKey(b)
		if !legal(ma) {
			t.Fatalf("encodeKey(%q) = %q, which memcached does not take", a, ma)
		}
		if a != b && ma == mb {
			t.Fatalf("encodeKey(%q) = encodeKey(%q) = %q", a, b, ma)
		}
		if k, ok := decodeKey(ma); ok != !strings.HasPrefix(ma, hashedMark) || ok && k != a {
			t.Fatalf("decodeKey(encodeKey(%q) = %q) = %q, %v", a, ma, k, ok)
		}
	})
}

func TestExpiration(t *testing.T) {
	const now = 1_700_000_000_123 // unix ms
	for _, tc := range []struct {
		left int64 // ms to the deadline
		want int32
	}{
		{-5000, 3}, // past: still never 0, which would mean never
		{0, 3},
		{1, 4},
		{100, 4},
		{1000, 4},
		{1001, 5},
		{60_000, 63},
		{(maxRelative - expirySlack) * 1000, maxRelative},
		// above 30 days: a unix time, seconds rounded up
		{(maxRelative-expirySlack)*1000 + 1, int32((now+999)/1000 + maxRelative + 1)},
		{int64(maxTTL / time.Millisecond), int32(min((now+999)/1000+int64(maxTTL/time.Second)+expirySlack, math.MaxInt32))},
		{math.MaxInt64 / 4, math.MaxInt32},
	} {
		if got := expiration(now, now+tc.left); got != tc.want {
			t.Errorf("expiration with %d ms left = %d, want %d", tc.left, got, tc.want)
		}
	}
}

func TestDecode(t *testing.T) {
	for raw, want := range map[string]decoded{
		"v12:":                    {e: store.Entry{Kind: store.CachedRow, Value: []byte{}}, deadline: 12, ours: true},
		"v12:a:b":                 {e: store.Entry{Kind: store.CachedRow, Value: []byte("a:b")}, deadline: 12, ours: true},
		"n0:":                     {e: store.Entry{Kind: store.CachedNotFound}, deadline: 0, ours: true},
		"l99:tok:en":              {e: store.Entry{Kind: store.Leased, Token: "tok:en"}, deadline: 99, ours: true},
		"l99:":                    {e: store.Entry{Kind: store.Leased, Token: ""}, deadline: 99, ours: true},
		"w5:007":                  {e: store.Entry{Kind: store.Locked, Locks: 7}, deadline: 5, ours: true},
		"w5:" + "999999999999999": {e: store.Entry{Kind: store.Locked, Locks: 999999999999999}, deadline: 5, ours: true},
	} {
		got := decode([]byte(raw))
		if got.ours != want.ours || got.deadline != want.deadline || !sameEntry(got.e, want.e) {
			t.Errorf("decode(%q) = %+v, want %+v", raw, got, want)
		}
	}
	for _, raw := range []string{
		"", "v", "v:", "v:x", "vx:", "v12", "v-1:", "v+1:", "v 1:", "v1234567890123456:", "n1:x", "n1", "l:t",
		"w1:", "w1:0", "w1:000", "w1:-1", "w1:1 ", "w1:1234567890123456", "w1:x", "x1:", "hello", "\xff\x00",
	} {
		got := decode([]byte(raw))
		if got.ours || got.e.Kind != store.CachedRow || string(got.e.Value) != raw || got.e.Value == nil {
			t.Errorf("decode(%q) = %+v, want a foreign value", raw, got)
		}
	}
}

func sameEntry(a, b store.Entry) bool {
	return a.Kind == b.Kind && string(a.Value) == string(b.Value) && (a.Value == nil) == (b.Value == nil) &&
		a.Token == b.Token && a.Locks == b.Locks
}

// TestBackoffFollowsTheTry: the backoff's bounds are 20µs doubling to 2ms
// for tries of up to backoffTry, and stretch with longer tries, so that on
// a slow machine racing writers spread over as many tries' worth of time
// (seen: 50 writers on one key under -race on a loaded machine, some losing
// 100 tries in a row when the bounds stayed at 2ms).
func TestBackoffFollowsTheTry(t *testing.T) {
	for _, c := range []struct {
		i    int
		took time.Duration
		want time.Duration
	}{
		{2, 0, 20 * time.Microsecond},
		{3, backoffTry, 40 * time.Microsecond},
		{9, 10 * time.Microsecond, 2 * time.Millisecond},
		{99, backoffTry, 2 * time.Millisecond},
		{2, 10 * backoffTry, 200 * time.Microsecond},
		{99, 5 * time.Millisecond, 200 * time.Millisecond},
	} {
		if got := backoffBound(c.i, c.took); got != c.want {
			t.Errorf("backoffBound(%d, %v) = %v, want %v", c.i, c.took, got, c.want)
		}
	}
}
