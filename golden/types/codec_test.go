package types

import (
	"bytes"
	"database/sql"
	"reflect"
	"testing"
	"time"
)

// full returns an Everything with every field set to a value that is not
// its zero value, so a field the codec forgot shows up.
func full() Everything {
	nick, count := "nick", int64(-7)
	seen := time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
	return Everything{
		ID: 1, I: -2, I8: -3, I16: -4, I32: -5, I64: -6, U: 7, U8: 8, U16: 9, U64: 1 << 63,
		F32: 1.5, F64: -2.25, Flag: true, Text: "text, with: separators=", Blob: []byte{0, 1, 2},
		At:   time.Date(2025, 1, 2, 3, 4, 5, 6, time.FixedZone("CET", 3600)),
		Nick: &nick, Count: &count, Seen: &seen,
		Bio: sql.NullString{String: "bio", Valid: true}, Score: sql.NullInt64{Int64: 42, Valid: true},
		Left: sql.NullTime{Time: seen, Valid: true}, Level: sql.Null[int32]{V: 3, Valid: true},
		Status: -1, Email: "e@x.org", Raw: Raw{7}, Digest: Hash{1, 2, 3}, UUID: [16]byte{15: 1},
		Version: Version{Major: 1, Minor: 2}, Ratio: 0.5, When: seen,
		Tags: map[string]string{"related": "never cached"},
	}
}

func TestCodecRoundTrip(t *testing.T) {
	var m everythingMapper
	for name, in := range map[string]Everything{"full": full(), "zero": {}} {
		b, err := m.Encode(nil, &in)
		if err != nil {
			t.Fatal(err)
		}
		var out Everything
		if err := m.Decode(b, &out); err != nil {
			t.Fatalf("%s: decode: %v", name, err)
		}
		want := in
		want.Tags = nil // a related field is never encoded
		if !reflect.DeepEqual(out, want) {
			t.Errorf("%s: round trip\n got %+v\nwant %+v", name, out, want)
		}
		if name == "full" && bytes.Contains(b, []byte("never cached")) {
			t.Error("the encoding holds a db:\"-\" field")
		}
		// Every truncation is an error, never a panic or a silent success.
		for n := 0; n < len(b); n++ {
			var cut Everything
			if err := m.Decode(b[:n], &cut); err == nil {
				t.Fatalf("%s: decoding %d of %d bytes succeeded", name, n, len(b))
			}
		}
		if err := m.Decode(append(b, 0), &out); err == nil {
			t.Fatalf("%s: a trailing byte was accepted", name)
		}
	}
}

// FuzzDecode feeds the generated decoder arbitrary bytes: it must never
// panic, and what it accepts must encode back to what it decodes.
func FuzzDecode(f *testing.F) {
	var m everythingMapper
	for _, e := range []Everything{full(), {}} {
		b, err := m.Encode(nil, &e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Everything
		if err := m.Decode(b, &e); err != nil {
			return
		}
		again, err := m.Encode(nil, &e)
		if err != nil {
			t.Fatalf("decoded value does not encode: %v", err)
		}
		var e2 Everything
		if err := m.Decode(again, &e2); err != nil {
			t.Fatalf("re-encoded value does not decode: %v", err)
		}
		if !reflect.DeepEqual(e, e2) {
			t.Fatalf("decode(encode(decode(b))) differs from decode(b)")
		}
	})
}
