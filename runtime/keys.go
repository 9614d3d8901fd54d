package runtime

import (
	"crypto/sha256"
	"encoding"
	"encoding/base64"
	"math"
	"strconv"
	"time"
	"unsafe"
)

// Keys have the form <prefix>:<table>:<index>=<value>[,<value>], where
// <index> names the index's columns (pk, email, org,handle): a key names a
// row, not a build, so two builds of one model (a rolling deploy that adds
// a column, two services mapping one table) share every key, and a write by
// either invalidates what both read. The value, not the key, carries the
// shape of the row. Every value is escaped so that a separator never
// appears inside one, which makes the mapping from lookups to keys
// one-to-one. The appenders below are what generated code uses to write
// the values.

// MaxKeyLen is the longest key handed to a store; a longer one is hashed so
// it fits every backend (memcached allows 250 bytes).
const MaxKeyLen = 200

// maxHeadLen is the longest head a hashed key keeps before '#' and the
// 43 characters of its hash.
const maxHeadLen = MaxKeyLen - 44

// tableBase is what every key of a table starts with, and what
// InvalidateAll lists: "<prefix>:<table>:", or, when that is too long for a
// hashed key to keep it, '#', its hash and ':'. Either way a hashed key
// keeps it whole, so a table-wide scan finds every key of the table,
// whatever the length of the prefix, the table or index names, or the
// values.
func tableBase(prefix, table string) string {
	base := prefix + ":" + table + ":"
	if len(base) <= maxHeadLen {
		return base
	}
	sum := sha256.Sum256([]byte(base))
	return "#" + base64.RawURLEncoding.EncodeToString(sum[:]) + ":"
}

// keyHeadLen is how much of an index's keys a hashed key keeps: the whole
// index prefix when it fits, else the table base.
func keyHeadLen(indexPrefix, base string) int {
	if len(indexPrefix) <= maxHeadLen {
		return len(indexPrefix)
	}
	return len(base)
}

const hexDigits = "0123456789ABCDEF"

// safeKeyByte reports whether c may appear unescaped in a key value. '%'
// starts an escape, ',' separates values, '!' marks NULL: none is safe, and
// neither is any control character, space or non-ASCII byte.
var safeKeyByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~@+/" {
		t[c] = true
	}
	return t
}()

// AppendKeyString appends s to a key, escaped.
func AppendKeyString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if safeKeyByte[c] {
			b = append(b, c)
		} else {
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return b
}

// AppendKeyBytes appends p to a key, escaped like a string.
func AppendKeyBytes(b []byte, p []byte) []byte {
	for _, c := range p {
		if safeKeyByte[c] {
			b = append(b, c)
		} else {
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return b
}

// AppendKeyInt appends a signed integer to a key.
func AppendKeyInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

// AppendKeyUint appends an unsigned integer to a key.
func AppendKeyUint(b []byte, v uint64) []byte { return strconv.AppendUint(b, v, 10) }

// AppendKeyBool appends a bool to a key as t or f.
func AppendKeyBool(b []byte, v bool) []byte {
	if v {
		return append(b, 't')
	}
	return append(b, 'f')
}

// AppendKeyFloat appends a float to a key. -0 is written as 0, since the
// database finds the same rows for both.
func AppendKeyFloat(b []byte, v float64) []byte {
	if v == 0 {
		v = 0
	}
	if math.IsNaN(v) {
		return append(b, "NaN"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// AppendKeyTime appends an instant to a key, in UTC with nanoseconds, so
// that two times for the same instant share a key whatever their zone.
func AppendKeyTime(b []byte, t time.Time) []byte {
	return AppendKeyString(b, t.UTC().Format(time.RFC3339Nano))
}

// AppendKeyMarshaler appends the binary form of m to a key. A value that
// cannot be marshaled gets a key no row can have (it starts with '!e'), so a
// lookup with it simply misses.
func AppendKeyMarshaler(b []byte, m encoding.BinaryMarshaler) []byte {
	p, err := m.MarshalBinary()
	if err != nil {
		return AppendKeyString(append(b, "!e"...), err.Error())
	}
	return AppendKeyBytes(b, p)
}

// AppendKeyNull appends the marker of a NULL value (a nil pointer, an
// invalid sql.Null*). '!' is always escaped inside values, so it cannot be
// confused with one.
func AppendKeyNull(b []byte) []byte { return append(b, '!') }

// AppendKeySep appends the separator between the values of a
// unique_together group.
func AppendKeySep(b []byte) []byte { return append(b, ',') }

// ownKey is finishKey for a key built in a buffer its caller reuses: the
// string never shares it.
func ownKey(b []byte, headLen int) string {
	if len(b) <= MaxKeyLen {
		return string(b)
	}
	return hashedKey(b, headLen)
}

// finishKey turns a built key into a string, hashing the part after its
// head (keyHeadLen) when the key would be too long for a backend.
func finishKey(b []byte, headLen int) string {
	if len(b) <= MaxKeyLen {
		// b is the key's own buffer, never written again: share it.
		return unsafe.String(unsafe.SliceData(b), len(b))
	}
	return hashedKey(b, headLen)
}

// hashedKey is a key too long for a backend: its first headLen bytes (at
// most maxHeadLen), '#', and the SHA-256 of the whole key. '#' is escaped
// inside values, so no key that is not hashed looks like one.
func hashedKey(b []byte, headLen int) string {
	sum := sha256.Sum256(b)
	out := make([]byte, 0, headLen+44)
	out = append(out, b[:headLen]...)
	out = append(out, '#')
	return string(base64.RawURLEncoding.AppendEncode(out, sum[:]))
}
