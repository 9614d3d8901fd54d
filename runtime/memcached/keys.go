package memcached

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// Keys, as the package doc describes: plain keys are sent as they are,
// others escaped, and escaped keys too long for memcached hashed.
const (
	// maxKeyLen is memcached's limit on a key.
	maxKeyLen = 250
	// escape starts an escaped byte; plain keys never hold it.
	escape = '^'
	// hashedMark starts a hashed key; escaped keys never hold it, since an
	// escape is always followed by two hex digits.
	hashedMark = "^#"
	upperHex   = "0123456789ABCDEF"
)

// plain reports whether c may appear in a key sent as it is: printable
// ASCII, not a space, and not the escape byte.
func plain(c byte) bool { return c > ' ' && c < 0x7f && c != escape }

// encodeKey returns the memcached key for key: key itself when it is plain
// and 1 to 250 bytes, otherwise its escaped form, or its hash when that is
// longer than 250 bytes (or empty). Distinct keys give distinct results.
func encodeKey(key string) string {
	n := 0 // the length of the escaped form
	for i := 0; i < len(key); i++ {
		if plain(key[i]) {
			n++
		} else {
			n += 3
		}
	}
	if n == len(key) && n >= 1 && n <= maxKeyLen {
		return key // the common case: every key the runtime makes
	}
	if n >= 1 && n <= maxKeyLen {
		b := make([]byte, 0, n)
		for i := 0; i < len(key); i++ {
			if c := key[i]; plain(c) {
				b = append(b, c)
			} else {
				b = append(b, escape, upperHex[c>>4], upperHex[c&15])
			}
		}
		return string(b)
	}
	sum := sha256.Sum256([]byte(key))
	return hashedMark + base64.RawURLEncoding.EncodeToString(sum[:])
}

// decodeKey returns the key that encodeKey turned into mk, and false for
// a hashed key (which cannot be turned back) or a key encodeKey does not
// make.
func decodeKey(mk string) (string, bool) {
	if !strings.Contains(mk, string(escape)) {
		return mk, len(mk) >= 1 && len(mk) <= maxKeyLen && encodeKey(mk) == mk
	}
	b := make([]byte, 0, len(mk))
	for i := 0; i < len(mk); i++ {
		c := mk[i]
		if c != escape {
			b = append(b, c)
			continue
		}
		if i+2 >= len(mk) {
			return "", false
		}
		hi, lo := strings.IndexByte(upperHex, mk[i+1]), strings.IndexByte(upperHex, mk[i+2])
		if hi < 0 || lo < 0 {
			return "", false
		}
		b = append(b, byte(hi<<4|lo))
		i += 2
	}
	key := string(b)
	if encodeKey(key) != mk { // not how encodeKey writes it, so not from it
		return "", false
	}
	return key, true
}
