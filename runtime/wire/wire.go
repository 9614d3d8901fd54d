// Package wire holds the binary codec primitives that generated encoders use
// to turn a row into bytes and back, without reflection.
//
// The format is canonical: every value has exactly one encoding, and the
// decoder rejects any other (a non-minimal varint, a bool byte other than 0
// or 1, nanoseconds out of range). Decoding never panics and never allocates
// more than the input could hold, whatever the bytes.
package wire

import (
	"database/sql/driver"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
	"unsafe"
)

// ErrCorrupt is wrapped by every decoding error: the bytes are truncated,
// malformed, or not what the reader expected.
var ErrCorrupt = errors.New("wire: corrupt or truncated value")

// Zone kinds written by AppendTime.
const (
	zoneUTC   = 0
	zoneLocal = 1
	// zoneLegacy was written for every other location before named zones
	// were kept: a fixed offset, even for America/New_York. Such bytes may
	// stand for a named zone the decoder can no longer tell, so they are
	// rejected as corrupt (a cache miss), never decoded into a fixed zone.
	zoneLegacy = 2
	zoneFixed  = 3 // offset, name: a time.FixedZone
	zoneNamed  = 4 // location name, offset, abbreviation: a loaded location
)

// AppendInt appends v as a zigzag varint.
func AppendInt(b []byte, v int64) []byte { return binary.AppendVarint(b, v) }

// AppendUint appends v as a uvarint.
func AppendUint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

// AppendFloat32 appends the IEEE 754 bits of v, little endian, so every bit
// (NaN payloads, the sign of zero) survives.
func AppendFloat32(b []byte, v float32) []byte {
	return binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
}

// AppendFloat64 appends the IEEE 754 bits of v, little endian.
func AppendFloat64(b []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}

// AppendBool appends one byte, 1 for true and 0 for false.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// AppendString appends the length of s as a uvarint, then s.
func AppendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// AppendBytes appends p so that nil and empty stay apart: a nil p is the
// uvarint 0, any other p is the uvarint len(p)+1 followed by p.
func AppendBytes(b []byte, p []byte) []byte {
	if p == nil {
		return binary.AppendUvarint(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(p))+1)
	return append(b, p...)
}

// AppendTime appends the instant of t (Unix seconds as a varint, then
// nanoseconds as a uvarint) and its location, so that the decoded time
// behaves like t: same Format output, same zone after AddDate across a
// daylight saving change. The location is one byte 0 for time.UTC, 1 for
// time.Local; 3 followed by the offset in seconds (varint) and the name
// (string) for a fixed zone (one offset and name for all time, as
// time.FixedZone makes); or 4 followed by the location's name (string),
// then the offset (varint) and abbreviation (string) at t, for any other
// location, such as America/New_York loaded by a driver. The decoder
// loads that location by name and checks the offset and abbreviation
// against it. The monotonic reading is dropped.
func AppendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	loc := t.Location()
	switch loc {
	case time.UTC:
		return append(b, zoneUTC)
	case time.Local:
		return append(b, zoneLocal)
	}
	abbr, offset := t.Zone()
	if isFixed(t, loc, abbr) {
		b = append(b, zoneFixed)
		b = binary.AppendVarint(b, int64(offset))
		return AppendString(b, abbr)
	}
	b = append(b, zoneNamed)
	b = AppendString(b, loc.String())
	b = binary.AppendVarint(b, int64(offset))
	return AppendString(b, abbr)
}

// isFixed reports whether loc, the location of t, behaves exactly like
// time.FixedZone(abbr, offset): one zone for all time (no bounds around
// t), not daylight saving time, and a location name that is the zone's
// abbreviation, as FixedZone makes it.
func isFixed(t time.Time, loc *time.Location, abbr string) bool {
	if t.IsDST() || loc.String() != abbr {
		return false
	}
	start, end := t.ZoneBounds()
	return start.IsZero() && end.IsZero()
}

// AppendRaw appends p as it is, without a length: for fixed-size arrays,
// AppendRaw(b, v[:]).
func AppendRaw(b []byte, p []byte) []byte { return append(b, p...) }

// AppendMarshaler appends m so that NULL and empty stay apart: a value the
// database sees as NULL (a driver.Valuer whose Value is nil, such as an
// invalid uuid.NullUUID) is the uvarint 0; any other is the uvarint
// len(p)+1 followed by p, m's MarshalBinary output. It returns b unchanged
// and the error if Value or MarshalBinary fails.
func AppendMarshaler(b []byte, m encoding.BinaryMarshaler) ([]byte, error) {
	if m == nil {
		return b, errors.New("wire: nil BinaryMarshaler")
	}
	if v, ok := m.(driver.Valuer); ok {
		dv, err := v.Value()
		if err != nil {
			return b, err
		}
		if dv == nil {
			return binary.AppendUvarint(b, 0), nil
		}
	}
	p, err := m.MarshalBinary()
	if err != nil {
		return b, err
	}
	b = binary.AppendUvarint(b, uint64(len(p))+1)
	return append(b, p...), nil
}

// Decoder reads values in the order they were appended. Its error is sticky:
// after the first failure every method returns the zero value and Err
// reports that failure.
type Decoder struct {
	b      []byte // unread bytes
	n      int    // length of the whole input, to report offsets
	err    error
	shared bool // strings may point into b
}

// NewDecoder returns a Decoder reading b. It is a value so that it can live
// on the caller's stack: d := NewDecoder(b), then call methods on d.
// The Decoder never retains b in anything it returns.
func NewDecoder(b []byte) Decoder { return Decoder{b: b, n: len(b)} }

// NewSharedDecoder is NewDecoder for input that never changes: the strings
// it returns share b's memory instead of copying it, which saves an
// allocation per string on the cache's read path. The caller guarantees that
// nothing writes to b afterwards; byte slices are still copied, since their
// holder may write to them.
func NewSharedDecoder(b []byte) Decoder { return Decoder{b: b, n: len(b), shared: true} }

// fail records the first error, with the offset it happened at.
func (d *Decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at offset %d", ErrCorrupt, what, d.n-len(d.b))
	}
}

// uvarint reads a minimal uvarint.
func (d *Decoder) uvarint(what string) (uint64, bool) {
	if d.err != nil {
		return 0, false
	}
	v, n := binary.Uvarint(d.b)
	// n == 0: truncated; n < 0: overflows 64 bits. A last byte of 0 after a
	// continuation adds nothing: a non-minimal form, rejected to stay canonical.
	if n <= 0 || (n > 1 && d.b[n-1] == 0) {
		d.fail("bad " + what)
		return 0, false
	}
	d.b = d.b[n:]
	return v, true
}

// varint reads a minimal zigzag varint.
func (d *Decoder) varint(what string) (int64, bool) {
	u, ok := d.uvarint(what)
	// the zigzag decoding binary.Varint uses
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v, ok
}

// take returns the next n bytes, without copying, if there are that many.
func (d *Decoder) take(n uint64, what string) ([]byte, bool) {
	if d.err != nil {
		return nil, false
	}
	// compared before any allocation, so a corrupt length cannot make one
	if n > uint64(len(d.b)) {
		d.fail("truncated " + what)
		return nil, false
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p, true
}

// Int reads a value written by AppendInt.
func (d *Decoder) Int() int64 {
	v, _ := d.varint("int")
	return v
}

// Uint reads a value written by AppendUint.
func (d *Decoder) Uint() uint64 {
	v, _ := d.uvarint("uint")
	return v
}

// Float32 reads a value written by AppendFloat32.
func (d *Decoder) Float32() float32 {
	p, ok := d.take(4, "float32")
	if !ok {
		return 0
	}
	return math.Float32frombits(binary.LittleEndian.Uint32(p))
}

// Float64 reads a value written by AppendFloat64.
func (d *Decoder) Float64() float64 {
	p, ok := d.take(8, "float64")
	if !ok {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(p))
}

// Bool reads a value written by AppendBool; a byte other than 0 or 1 is
// corrupt.
func (d *Decoder) Bool() bool {
	if d.err == nil && len(d.b) > 0 && d.b[0] > 1 {
		d.fail("bad bool")
		return false
	}
	p, ok := d.take(1, "bool")
	return ok && p[0] == 1
}

// String reads a value written by AppendString. The result is a copy.
func (d *Decoder) String() string {
	n, _ := d.uvarint("string length")
	p, _ := d.take(n, "string")
	if d.shared && len(p) > 0 {
		return unsafe.String(&p[0], len(p))
	}
	return string(p)
}

// Bytes reads a value written by AppendBytes: nil for a nil slice, a non-nil
// empty slice for an empty one. The result is a copy.
func (d *Decoder) Bytes() []byte {
	n, ok := d.uvarint("bytes length")
	if !ok || n == 0 {
		return nil
	}
	p, ok := d.take(n-1, "bytes")
	if !ok {
		return nil
	}
	return append([]byte{}, p...)
}

// Time reads a value written by AppendTime: in time.UTC, time.Local, a
// time.FixedZone with the written name and offset, or the location loaded
// by its name (cached: loaded once per process). A named location this
// process cannot load, or whose offset or abbreviation at that instant
// differs from the written ones (another tzdata), is an error wrapping
// ErrCorrupt: a cache miss, never a time in the wrong zone. So is the zone
// kind older versions wrote for every other location, which could not tell
// a named zone from a fixed one.
func (d *Decoder) Time() time.Time {
	sec, _ := d.varint("time seconds")
	nsec, _ := d.uvarint("time nanoseconds")
	kind, ok := d.take(1, "time zone")
	if !ok {
		return time.Time{}
	}
	if nsec >= 1e9 {
		d.fail("time nanoseconds out of range")
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec))
	switch kind[0] {
	case zoneUTC:
		return t.UTC()
	case zoneLocal:
		return t // time.Unix returns local time
	case zoneFixed:
		offset, _ := d.varint("time zone offset")
		name := d.String()
		if d.err != nil {
			return time.Time{}
		}
		if int64(int(offset)) != offset {
			d.fail("time zone offset out of range")
			return time.Time{}
		}
		return t.In(time.FixedZone(name, int(offset)))
	case zoneNamed:
		return d.namedZone(t)
	case zoneLegacy:
		d.fail("time zone of an older format (a named zone may have been kept as a fixed offset)")
		return time.Time{}
	}
	d.fail("bad time zone kind")
	return time.Time{}
}

// namedZone reads the rest of a zoneNamed time whose instant is t.
func (d *Decoder) namedZone(t time.Time) time.Time {
	n, _ := d.uvarint("time zone name length")
	name, _ := d.take(n, "time zone name")
	offset, _ := d.varint("time zone offset")
	n, _ = d.uvarint("time zone abbreviation length")
	abbr, _ := d.take(n, "time zone abbreviation")
	if d.err != nil {
		return time.Time{}
	}
	loc := location(name)
	if loc == nil {
		d.fail(fmt.Sprintf("time zone %q is unknown here", name))
		return time.Time{}
	}
	t = t.In(loc)
	gotAbbr, gotOffset := t.Zone()
	if int64(gotOffset) != offset || gotAbbr != string(abbr) {
		d.fail(fmt.Sprintf("time zone %q is %s%+d here at that instant, not %s%+d", name, gotAbbr, gotOffset, abbr, offset))
		return time.Time{}
	}
	// canonical: the location is what AppendTime writes as a named zone
	if loc == time.UTC || loc == time.Local || loc.String() != string(name) || isFixed(t, loc, gotAbbr) {
		d.fail(fmt.Sprintf("time zone %q is not a named zone", name))
		return time.Time{}
	}
	return t
}

// Raw fills dst with the next len(dst) bytes, as written by AppendRaw. On
// failure dst is zeroed.
func (d *Decoder) Raw(dst []byte) {
	p, ok := d.take(uint64(len(dst)), "raw bytes")
	if !ok {
		clear(dst)
		return
	}
	copy(dst, p)
}

// Unmarshal reads a value written by AppendMarshaler and hands a copy of its
// bytes to u.UnmarshalBinary. NULL is handed to u's Scan(nil), as
// database/sql does, when u has one; otherwise u is left as it is. An error
// from u becomes the Decoder's error, wrapping both ErrCorrupt and the
// original error.
func (d *Decoder) Unmarshal(u encoding.BinaryUnmarshaler) {
	if u == nil {
		d.fail("nil BinaryUnmarshaler")
		return
	}
	n, ok := d.uvarint("marshaled length")
	if !ok {
		return
	}
	if n == 0 {
		if s, ok := u.(interface{ Scan(src any) error }); ok {
			if err := s.Scan(nil); err != nil {
				d.err = fmt.Errorf("%w: scan NULL at offset %d: %w", ErrCorrupt, d.n-len(d.b), err)
			}
		}
		return
	}
	p, ok := d.take(n-1, "marshaled value")
	if !ok {
		return
	}
	// a copy: u may keep the slice, and the input belongs to the caller
	if err := u.UnmarshalBinary(append([]byte{}, p...)); err != nil {
		d.err = fmt.Errorf("%w: unmarshal at offset %d: %w", ErrCorrupt, d.n-len(d.b)-len(p), err)
	}
}

// Err returns the first decoding error, or nil.
func (d *Decoder) Err() error { return d.err }

// Finish returns Err, or an error wrapping ErrCorrupt if bytes remain
// unread: a value longer than its schema is as corrupt as a shorter one.
func (d *Decoder) Finish() error {
	if d.err == nil && len(d.b) > 0 {
		d.fail(fmt.Sprintf("%d trailing bytes", len(d.b)))
	}
	return d.err
}
