package engine

import (
	"crypto/sha256"
	"database/sql/driver"
	"encoding"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
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
//
// The names are not escaped (a key names a row for every build, old ones
// included, so its spelling cannot change); checkKeyNames rejects instead,
// when a table is made, the names that could make two keys alike. Table
// and column names hold only bytes a value keeps unescaped, ':', '=' and
// ',' never; the prefix may hold ':' besides. Read from its end, a key then
// splits one way only: the value after the last '=' (none in a value), the
// index between the last ':' and it, the table before that ':' back to the
// one before, the prefix the rest. The All key ("...:all") and hashed keys
// (see hashedKey, tableBase) have no '=' after their last ':', so they meet
// no index key.

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

// indexPrefix is what every key of the index on cols starts with.
func indexPrefix(base string, cols []string) string { return base + strings.Join(cols, ",") + "=" }

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

// checkKeyNames reports the first of prefix, table and the index columns
// that could make two keys alike (see the top of this file).
func checkKeyNames(prefix, table string, columns []string) error {
	if err := checkPrefix(prefix); err != nil {
		return fmt.Errorf("cachegen: key prefix %q: %v", prefix, err)
	}
	if bad := unsafeKeyByte(table); bad >= 0 {
		return fmt.Errorf("cachegen: table name %q holds %q, which keys cannot carry apart from their separators: a table name may hold letters, digits, '.' and any of -_~@+/ only", table, table[bad])
	}
	for _, c := range columns {
		if c == "" {
			return fmt.Errorf("cachegen: table %s: an indexed column has an empty name", table)
		}
		if bad := unsafeKeyByte(c); bad >= 0 {
			return fmt.Errorf("cachegen: table %s: the indexed column name %q holds %q, which keys cannot carry apart from their separators: a column name may hold letters, digits and any of -._~@+/ only", table, c, c[bad])
		}
	}
	return nil
}

// checkPrefix reports why prefix cannot start keys: it is empty, or holds
// a byte keys would have to escape.
func checkPrefix(prefix string) error {
	if prefix == "" {
		return errors.New("it is empty")
	}
	for i := 0; i < len(prefix); i++ {
		if c := prefix[i]; !safeKeyByte[c] && c != ':' {
			return fmt.Errorf("it holds %q: a prefix may hold letters, digits, ':' and any of -._~@+/ only", c)
		}
	}
	return nil
}

// unsafeKeyByte returns the index of the first byte of name a key value
// would escape, or -1.
func unsafeKeyByte(name string) int {
	for i := 0; i < len(name); i++ {
		if !safeKeyByte[name[i]] {
			return i
		}
	}
	return -1
}

// ownsKey reports whether key, which starts with a table's base, is one of
// that table's keys rather than one of a table whose prefix extends this
// table's (prefix "app" and table "users" have the base "app:users:", a
// prefix of every key of prefix "app:users"): only the latter have a ':'
// after the base.
func ownsKey(key, base string) bool { return !strings.Contains(key[len(base):], ":") }

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

// AppendKeyBytes appends p to a key, escaped like a string. A nil p is
// NULL to every driver (and finds no row), an empty one is not: nil gets
// the NULL marker, so the two never share a key.
func AppendKeyBytes(b []byte, p []byte) []byte {
	if p == nil {
		return AppendKeyNull(b)
	}
	return appendKeyEscaped(b, p)
}

func appendKeyEscaped(b []byte, p []byte) []byte {
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

// AppendKeyMarshaler appends the binary form of m to a key. A value the
// database sees as NULL (a driver.Valuer whose Value is nil, such as an
// invalid uuid.NullUUID) gets the NULL marker, whatever MarshalBinary
// writes for it. A value that cannot be marshaled gets a key no row can
// have (it starts with '!e'), so a lookup with it simply misses.
func AppendKeyMarshaler(b []byte, m encoding.BinaryMarshaler) []byte {
	if v, ok := m.(driver.Valuer); ok {
		if dv, err := v.Value(); err == nil && dv == nil {
			return AppendKeyNull(b)
		}
	}
	p, err := m.MarshalBinary()
	if err != nil {
		return AppendKeyString(append(b, "!e"...), err.Error())
	}
	return appendKeyEscaped(b, p)
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
