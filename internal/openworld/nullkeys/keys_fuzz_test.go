package nullkeys

import (
	"database/sql"
	"testing"
)

// nullable builds a []byte from fuzz bytes: a lone 0xff stands for nil.
func nullable(p []byte) []byte {
	if len(p) == 1 && p[0] == 0xff {
		return nil
	}
	return append([]byte{}, p...)
}

// sem is what the database compares for a bound []byte: nil is NULL.
func sem(p []byte) string {
	if p == nil {
		return "NULL"
	}
	return "v" + string(p)
}

func blobOf(p []byte, valid bool) Blob {
	b := Blob{Data: nullable(p), Raw: Raw(nullable(p)), Opt: sql.Null[[]byte]{V: nullable(p), Valid: valid},
		Tag: Tag{B: nullable(p), Valid: valid}}
	if valid {
		s := string(p)
		b.Nick = &s
	}
	return b
}

// semantics is, per unique index of Blob (1 to 5), what the database
// compares for the row's value.
func semantics(b *Blob) []string {
	opt := "NULL"
	if b.Opt.Valid {
		opt = sem(b.Opt.V) // a valid nil []byte is bound as NULL too
	}
	nick := "NULL"
	if b.Nick != nil {
		nick = "v" + *b.Nick
	}
	tag := "NULL"
	if b.Tag.Valid {
		tag = "v" + string(b.Tag.B) // Value binds a valid nil as empty
	}
	return []string{"", sem(b.Data), sem(b.Raw), opt, nick, tag}
}

// FuzzBlobKeysInjective checks the generated AppendKey of each nullable
// kind: two lookups share a key exactly when the database compares their
// values equal (NULL with NULL: neither finds a row).
func FuzzBlobKeysInjective(f *testing.F) {
	f.Add([]byte{}, true, []byte{0xff}, true)
	f.Add([]byte{}, true, []byte{}, false)
	f.Add([]byte{0xff}, false, []byte{}, false)
	f.Add([]byte("!"), true, []byte{0xff}, true)
	f.Add([]byte("x"), true, []byte("x"), true)
	f.Fuzz(func(t *testing.T, p []byte, pv bool, q []byte, qv bool) {
		a, b := blobOf(p, pv), blobOf(q, qv)
		sa, sb := semantics(&a), semantics(&b)
		var m blobMapper
		for i := 1; i <= 5; i++ {
			ka, kb := m.AppendKey(nil, i, &a), m.AppendKey(nil, i, &b)
			if (sa[i] == sb[i]) != (string(ka) == string(kb)) {
				t.Fatalf("index %d: values %q and %q give keys %q and %q", i, sa[i], sb[i], ka, kb)
			}
		}
	})
}
