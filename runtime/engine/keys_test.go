package engine

import (
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"math"
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
		{string(AppendKeyFloat(nil, math.Copysign(0, -1))), "0"},
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

// keyValue is a lookup value of one codec kind, built from fuzz bytes:
// key appends it the way generated code does, and sem is what the
// database compares (two values with equal sem find the same rows).
type keyValue struct {
	key func(b []byte) []byte
	sem string
}

// keyKinds build a value of each kind the codec carries from p; null makes
// it NULL (a nil pointer, an invalid sql.Null*), which generated code
// writes as AppendKeyNull whatever the kind.
var keyKinds = []func(p []byte) keyValue{
	func(p []byte) keyValue { // string, named string
		s := string(p)
		return keyValue{func(b []byte) []byte { return AppendKeyString(b, s) }, "s" + s}
	},
	func(p []byte) keyValue { // []byte, named []byte, sql.Null[[]byte]: nil is NULL
		if len(p) == 1 && p[0] == 0xff {
			return keyValue{func(b []byte) []byte { return AppendKeyBytes(b, nil) }, "NULL"}
		}
		q := append([]byte{}, p...)
		return keyValue{func(b []byte) []byte { return AppendKeyBytes(b, q) }, "b" + string(q)}
	},
	func(p []byte) keyValue { // [N]byte: never nil
		var a [4]byte
		copy(a[:], p)
		return keyValue{func(b []byte) []byte { return AppendKeyBytes(b, a[:]) }, "a" + string(a[:])}
	},
	func(p []byte) keyValue { // every signed integer width
		v := int64(binary.LittleEndian.Uint64(pad8(p)))
		return keyValue{func(b []byte) []byte { return AppendKeyInt(b, v) }, fmt.Sprint("i", v)}
	},
	func(p []byte) keyValue { // every unsigned integer width
		v := binary.LittleEndian.Uint64(pad8(p))
		return keyValue{func(b []byte) []byte { return AppendKeyUint(b, v) }, fmt.Sprint("u", v)}
	},
	func(p []byte) keyValue { // bool
		v := len(p) > 0 && p[0]&1 == 1
		return keyValue{func(b []byte) []byte { return AppendKeyBool(b, v) }, fmt.Sprint("t", v)}
	},
	func(p []byte) keyValue { // float32, float64: -0 is 0, every NaN one value
		v := math.Float64frombits(binary.LittleEndian.Uint64(pad8(p)))
		sem := fmt.Sprint("f", v)
		if v == 0 {
			sem = "f0"
		}
		return keyValue{func(b []byte) []byte { return AppendKeyFloat(b, v) }, sem}
	},
	func(p []byte) keyValue { // time.Time: one instant, whatever the zone
		q := pad8(p)
		sec := int64(binary.LittleEndian.Uint64(q)) % (1 << 40)
		nsec := int64(0)
		if len(p) > 8 {
			nsec = int64(p[8]) * 7919
		}
		zones := []*time.Location{time.UTC, time.FixedZone("X", 3600), time.FixedZone("Y", -7*3600-1800)}
		at := time.Unix(sec, nsec).In(zones[int(q[0])%len(zones)])
		return keyValue{func(b []byte) []byte { return AppendKeyTime(b, at) }, "T" + at.UTC().Format(time.RFC3339Nano)}
	},
	func(p []byte) keyValue { // BinaryMarshaler; NULL when its driver.Value is nil
		m := fuzzMarshaler{valid: len(p) != 1 || p[0] != 0xff, b: append([]byte{}, p...)}
		sem := "NULL"
		if m.valid {
			sem = "m" + string(m.b)
		}
		return keyValue{func(b []byte) []byte { return AppendKeyMarshaler(b, m) }, sem}
	},
}

// shapeOf is the fuzz input that picks a group of these kinds.
func shapeOf(kinds ...int) uint16 {
	s, mul := len(kinds)-1, 3
	for _, k := range kinds {
		s += k * mul
		mul *= len(keyKinds)
	}
	return uint16(s)
}

func pad8(p []byte) []byte {
	q := make([]byte, 8)
	copy(q, p)
	return q
}

// fuzzMarshaler is a nullable marshaler in the manner of uuid.NullUUID.
type fuzzMarshaler struct {
	valid bool
	b     []byte
}

func (m fuzzMarshaler) MarshalBinary() ([]byte, error) {
	if !m.valid {
		return nil, nil
	}
	return m.b, nil
}

func (m fuzzMarshaler) Value() (driver.Value, error) {
	if !m.valid {
		return nil, nil
	}
	return m.b, nil
}

// keyOf builds the key of a group of values of the given kinds from the
// parts; a part whose null flag is set is NULL.
func keyOf(kinds []int, parts [][]byte, nulls uint8) ([]byte, string) {
	var b []byte
	var sem []string
	for i, k := range kinds {
		if i > 0 {
			b = AppendKeySep(b)
		}
		if nulls&(1<<i) != 0 {
			b = AppendKeyNull(b)
			sem = append(sem, "NULL")
			continue
		}
		v := keyKinds[k](parts[i])
		b = v.key(b)
		sem = append(sem, v.sem)
	}
	return b, strings.Join(sem, "\x00")
}

// FuzzKeyGroupsInjective checks, for groups of one to three values of
// every kind the codec carries, NULL included, that two groups share a key
// exactly when the database finds the same rows for them: the separator,
// the NULL marker and the hashed-key marker cannot hide in a value.
func FuzzKeyGroupsInjective(f *testing.F) {
	f.Add(shapeOf(0, 0), uint8(0), []byte("a,b"), []byte("c"), []byte("a"), []byte("b,c"))
	f.Add(shapeOf(0, 0), uint8(2), []byte("!"), []byte(""), []byte(""), []byte("!"))
	f.Add(shapeOf(0, 0), uint8(0), []byte("%2C"), []byte("x"), []byte(","), []byte("x"))
	f.Add(shapeOf(1), uint8(0), []byte{}, []byte{}, []byte{0xff}, []byte{}) // empty and nil []byte
	f.Add(shapeOf(1), uint8(8), []byte{0xff}, []byte{}, []byte{}, []byte{}) // nil []byte and NULL
	f.Add(shapeOf(1, 1), uint8(0), []byte{}, []byte{0xff}, []byte{0xff}, []byte{})
	f.Add(shapeOf(8), uint8(0), []byte{0xff}, []byte{}, []byte{}, []byte{})                      // NULL and empty marshaler
	f.Add(shapeOf(0), uint8(8), []byte("!"), []byte{}, []byte{}, []byte{})                       // "!" and NULL
	f.Add(shapeOf(6), uint8(0), []byte{0, 0, 0, 0, 0, 0, 0, 0x80}, []byte{}, []byte{}, []byte{}) // -0 and 0
	f.Add(shapeOf(7), uint8(0), []byte{1, 0, 0, 0, 0, 0, 0, 0}, []byte{}, []byte{2}, []byte{})   // zones
	f.Add(shapeOf(3, 4, 5), uint8(0), []byte("7"), []byte("7"), []byte("7"), []byte("7"))
	f.Add(shapeOf(0, 2, 0), uint8(0), []byte("#"), []byte("*"), []byte(""), []byte(""))
	f.Fuzz(func(t *testing.T, shape uint16, nulls uint8, a, b, c, d []byte) {
		n := 1 + int(shape)%3
		kinds := make([]int, n)
		for i, s := 0, int(shape)/3; i < n; i, s = i+1, s/len(keyKinds) {
			kinds[i] = s % len(keyKinds)
		}
		// the second group reuses parts of the first, so collisions are
		// tried, not only new values
		k1, s1 := keyOf(kinds, [][]byte{a, b, c}, nulls)
		k2, s2 := keyOf(kinds, [][]byte{c, d, a}, nulls>>3)
		if (s1 == s2) != (string(k1) == string(k2)) {
			t.Fatalf("kinds %v: values %q and %q give keys %q and %q", kinds, s1, s2, k1, k2)
		}
		for _, k := range [][]byte{k1, k2} {
			if strings.ContainsAny(string(k), " \x00\n\r\t#*=:") {
				t.Fatalf("key %q holds a space, a control character or a marker", k)
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

// nameKey builds, as a table does, the key of value under the index on
// cols (the All key when cols is empty) of table under prefix, or reports
// that a table would refuse these names.
func nameKey(prefix, table, cols, value string) (string, bool) {
	columns := strings.Split(cols, "\x00")
	if cols == "" {
		columns = nil
	}
	if checkKeyNames(prefix, table, columns) != nil {
		return "", false
	}
	base := tableBase(prefix, table)
	if columns == nil {
		return base + "all", true
	}
	ip := indexPrefix(base, columns)
	return finishKey(AppendKeyString([]byte(ip), value), keyHeadLen(ip, base)), true
}

// FuzzKeyNamesInjective checks that two keys are alike only when their
// prefix, table, index columns and value are: a separator in a name cannot
// move a part into its neighbour ("a:b" + "c" against "a" + "b:c"), and
// the All key and hashed keys meet no other key.
func FuzzKeyNamesInjective(f *testing.F) {
	f.Add("a:b", "c", "id", "1", "a", "b:c", "id", "1")
	f.Add("a", "b", "c:id", "1", "a:b", "c", "id", "1")
	f.Add("a", "b", "id", "1=x", "a", "b", "id=1", "x")
	f.Add("a", "b", "x,y", "1", "a", "b", "x\x00y", "1")
	f.Add("a", "b", "x\x00y", "1,2", "a", "b", "x", "1,2")
	f.Add("a", "b", "all", "", "a", "b", "", "")
	f.Add("a", "b:all", "", "", "a:b", "all", "", "")
	f.Add("cg", "users", "email", strings.Repeat("x", 300), "cg", "users", "", "")
	f.Add(strings.Repeat("p", 200), "t", "id", "1", strings.Repeat("p", 199), "tt", "id", "1")
	f.Add("a b", "t", "id", "1", "a%20b", "t", "id", "1")
	f.Fuzz(func(t *testing.T, p1, t1, c1, v1, p2, t2, c2, v2 string) {
		k1, ok1 := nameKey(p1, t1, c1, v1)
		k2, ok2 := nameKey(p2, t2, c2, v2)
		if !ok1 || !ok2 {
			return
		}
		if c1 == "" {
			v1 = "" // the All key has no value
		}
		if c2 == "" {
			v2 = ""
		}
		same := p1 == p2 && t1 == t2 && c1 == c2 && v1 == v2
		if same != (k1 == k2) {
			t.Fatalf("(%q, %q, %q, %q) and (%q, %q, %q, %q) give keys %q and %q", p1, t1, c1, v1, p2, t2, c2, v2, k1, k2)
		}
		for _, k := range []string{k1, k2} {
			if len(k) > MaxKeyLen || strings.ContainsAny(k, " \x00\n\r\t*") {
				t.Fatalf("key %q (%d bytes) is too long or holds a space, a control character or '*'", k, len(k))
			}
		}
	})
}

func TestCheckKeyNames(t *testing.T) {
	for _, c := range []struct {
		prefix, table string
		columns       []string
		ok            bool
	}{
		{"cg", "users", []string{"id", "email"}, true},
		{"app:v2", "shop.products", []string{"org_id", "slug"}, true},
		{"app:", "users", []string{"id"}, true},
		{"", "users", []string{"id"}, false},
		{"a b", "users", []string{"id"}, false},
		{"a*", "users", []string{"id"}, false},
		{"é", "users", []string{"id"}, false},
		{"a", "b:c", []string{"id"}, false},
		{"a", "b=c", []string{"id"}, false},
		{"a", "b", []string{"c:id"}, false},
		{"a", "b", []string{"x,y"}, false},
		{"a", "b", []string{"x=y"}, false},
		{"a", "b", []string{""}, false},
	} {
		err := checkKeyNames(c.prefix, c.table, c.columns)
		if (err == nil) != c.ok {
			t.Errorf("checkKeyNames(%q, %q, %q): %v, want ok %v", c.prefix, c.table, c.columns, err, c.ok)
		}
	}
}
