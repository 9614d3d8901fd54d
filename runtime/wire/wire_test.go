package wire

import (
	"bytes"
	"database/sql/driver"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestIntRoundTrip(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, -64, 64, -65, 1 << 40, math.MaxInt64, math.MinInt64, math.MinInt64 + 1} {
		d := NewDecoder(AppendInt(nil, v))
		if got := d.Int(); got != v || d.Finish() != nil {
			t.Errorf("Int %d: got %d, err %v", v, got, d.Finish())
		}
	}
}

func TestUintRoundTrip(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 1 << 63, math.MaxUint64} {
		d := NewDecoder(AppendUint(nil, v))
		if got := d.Uint(); got != v || d.Finish() != nil {
			t.Errorf("Uint %d: got %d, err %v", v, got, d.Finish())
		}
	}
}

func TestVarintRejectsBadForms(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":       {},
		"truncated":   {0x80},
		"non-minimal": {0x80, 0x00},
		"overlong":    {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02},
		"eleven":      bytes.Repeat([]byte{0x80}, 11),
	} {
		d := NewDecoder(b)
		if v := d.Uint(); v != 0 || !errors.Is(d.Err(), ErrCorrupt) {
			t.Errorf("Uint %s: got %d, err %v", name, v, d.Err())
		}
		d = NewDecoder(b)
		if v := d.Int(); v != 0 || !errors.Is(d.Err(), ErrCorrupt) {
			t.Errorf("Int %s: got %d, err %v", name, v, d.Err())
		}
	}
}

func TestFloatRoundTrip(t *testing.T) {
	nan64 := math.Float64frombits(0x7ff8_0000_dead_beef)
	for _, v := range []float64{0, math.Copysign(0, -1), 1.5, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), nan64} {
		d := NewDecoder(AppendFloat64(nil, v))
		got := d.Float64()
		if math.Float64bits(got) != math.Float64bits(v) || d.Finish() != nil {
			t.Errorf("Float64 %x: got %x, err %v", math.Float64bits(v), math.Float64bits(got), d.Finish())
		}
	}
	nan32 := math.Float32frombits(0x7fc0_beef)
	for _, v := range []float32{0, float32(math.Copysign(0, -1)), 1.5, math.MaxFloat32, math.SmallestNonzeroFloat32, float32(math.Inf(-1)), nan32} {
		d := NewDecoder(AppendFloat32(nil, v))
		got := d.Float32()
		if math.Float32bits(got) != math.Float32bits(v) || d.Finish() != nil {
			t.Errorf("Float32 %x: got %x, err %v", math.Float32bits(v), math.Float32bits(got), d.Finish())
		}
	}
}

func TestBool(t *testing.T) {
	b := AppendBool(AppendBool(nil, true), false)
	if !bytes.Equal(b, []byte{1, 0}) {
		t.Fatalf("encoding: %v", b)
	}
	d := NewDecoder(b)
	if x, y := d.Bool(), d.Bool(); !x || y || d.Finish() != nil {
		t.Errorf("got %v %v, err %v", x, y, d.Finish())
	}
	d = NewDecoder([]byte{2})
	if d.Bool() || !errors.Is(d.Err(), ErrCorrupt) {
		t.Errorf("byte 2 accepted: err %v", d.Err())
	}
}

func TestStringRoundTrip(t *testing.T) {
	for _, s := range []string{"", "a", "héllo, 世界", "\x00\xff", strings.Repeat("x", 1<<20)} {
		d := NewDecoder(AppendString(nil, s))
		if got := d.String(); got != s || d.Finish() != nil {
			t.Errorf("String of len %d: got len %d, err %v", len(s), len(got), d.Finish())
		}
	}
}

func TestBytesNilAndEmpty(t *testing.T) {
	b := AppendBytes(nil, nil)
	b = AppendBytes(b, []byte{})
	b = AppendBytes(b, []byte{0, 1, 255})
	d := NewDecoder(b)
	n, e, v := d.Bytes(), d.Bytes(), d.Bytes()
	if err := d.Finish(); err != nil {
		t.Fatal(err)
	}
	if n != nil {
		t.Errorf("nil came back as %#v", n)
	}
	if e == nil || len(e) != 0 {
		t.Errorf("empty came back as %#v", e)
	}
	if !bytes.Equal(v, []byte{0, 1, 255}) {
		t.Errorf("got %v", v)
	}
}

func TestDecodedValuesAreCopies(t *testing.T) {
	in := AppendString(AppendBytes(nil, []byte("abc")), "def")
	d := NewDecoder(in)
	p, s := d.Bytes(), d.String()
	clear(in)
	if string(p) != "abc" || s != "def" {
		t.Errorf("decoded values alias the input: %q %q", p, s)
	}
}

func TestTimeRoundTrip(t *testing.T) {
	base := time.Date(2024, 2, 29, 23, 59, 59, 123456789, time.UTC)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = time.FixedZone("EST", -5*3600) // no tzdata on this machine
	}
	for _, tc := range []struct {
		name string
		t    time.Time
	}{
		{"utc", base},
		{"local", base.In(time.Local)},
		{"fixed", base.In(time.FixedZone("XYZ", 5*3600+30*60))},
		{"unnamed", base.In(time.FixedZone("", -7*3600))},
		{"named location", base.In(ny)},
		{"pre-epoch", time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)},
		{"far future", time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		{"monotonic", time.Now()},
	} {
		d := NewDecoder(AppendTime(nil, tc.t))
		got := d.Time()
		if err := d.Finish(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !got.Equal(tc.t) || got.Nanosecond() != tc.t.Nanosecond() {
			t.Errorf("%s: instant %v, want %v", tc.name, got, tc.t)
		}
		gn, go_ := got.Zone()
		wn, wo := tc.t.Zone()
		if gn != wn || go_ != wo {
			t.Errorf("%s: zone %s%+d, want %s%+d", tc.name, gn, go_, wn, wo)
		}
		switch tc.t.Location() {
		case time.UTC, time.Local:
			if got.Location() != tc.t.Location() {
				t.Errorf("%s: location %v, want %v", tc.name, got.Location(), tc.t.Location())
			}
		}
		if got.Location().String() != tc.t.Location().String() {
			t.Errorf("%s: location %q, want %q", tc.name, got.Location(), tc.t.Location())
		}
		if got != got.Round(0) {
			t.Errorf("%s: monotonic reading kept", tc.name)
		}
	}
}

func TestZeroTime(t *testing.T) {
	d := NewDecoder(AppendTime(nil, time.Time{}))
	got := d.Time()
	if err := d.Finish(); err != nil {
		t.Fatal(err)
	}
	if !got.IsZero() || got != (time.Time{}) {
		t.Errorf("zero time came back as %v", got)
	}
}

// Seconds beyond what time.Time can hold wrap around inside it; they must
// still re-encode to the same bytes, so that the format stays canonical.
func TestTimeExtremeSecondsAreCanonical(t *testing.T) {
	for _, sec := range []int64{math.MaxInt64, math.MinInt64, math.MaxInt64 - 62135596800, math.MinInt64 + 62135596800} {
		for _, zone := range [][]byte{{zoneUTC}, {zoneLocal}, AppendString(AppendInt([]byte{zoneFixed}, -1), "Z")} {
			in := append(AppendUint(AppendInt(nil, sec), 999999999), zone...)
			d := NewDecoder(in)
			got := d.Time()
			if err := d.Finish(); err != nil {
				t.Fatal(err)
			}
			if out := AppendTime(nil, got); !bytes.Equal(out, in) {
				t.Errorf("seconds %d zone %v: re-encoded %x, want %x", sec, zone[0], out, in)
			}
		}
	}
}

func TestTimeRejectsBadForms(t *testing.T) {
	for name, b := range map[string][]byte{
		"nanoseconds": AppendUint(AppendInt(nil, 0), 1e9),
		"zone kind":   append(AppendUint(AppendInt(nil, 0), 0), 5),
		"no zone":     AppendUint(AppendInt(nil, 0), 0),
		"no name":     AppendInt(append(AppendUint(AppendInt(nil, 0), 0), zoneFixed), 3600),
	} {
		d := NewDecoder(b)
		if got := d.Time(); !got.IsZero() || !errors.Is(d.Err(), ErrCorrupt) {
			t.Errorf("%s: got %v, err %v", name, got, d.Err())
		}
	}
}

func TestRaw(t *testing.T) {
	in := [4]byte{1, 2, 3, 4}
	d := NewDecoder(AppendRaw(nil, in[:]))
	var out [4]byte
	d.Raw(out[:])
	if out != in || d.Finish() != nil {
		t.Errorf("got %v, err %v", out, d.Finish())
	}
	d = NewDecoder([]byte{1, 2, 3})
	out = [4]byte{9, 9, 9, 9}
	d.Raw(out[:])
	if out != ([4]byte{}) || !errors.Is(d.Err(), ErrCorrupt) {
		t.Errorf("short input: got %v, err %v", out, d.Err())
	}
}

// point is a BinaryMarshaler for the Marshaler tests.
type point struct{ x, y int64 }

var errRefused = errors.New("refused")

func (p point) MarshalBinary() ([]byte, error) {
	return AppendInt(AppendInt(nil, p.x), p.y), nil
}

func (p *point) UnmarshalBinary(b []byte) error {
	d := NewDecoder(b)
	p.x, p.y = d.Int(), d.Int()
	return d.Finish()
}

// failing fails both ways.
type failing struct{}

func (failing) MarshalBinary() ([]byte, error) { return nil, errRefused }

func (*failing) UnmarshalBinary([]byte) error { return errRefused }

func TestMarshaler(t *testing.T) {
	b, err := AppendMarshaler([]byte{7}, point{-3, 300})
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(b[1:])
	var p point
	d.Unmarshal(&p)
	if p != (point{-3, 300}) || d.Finish() != nil {
		t.Errorf("got %+v, err %v", p, d.Finish())
	}

	if out, err := AppendMarshaler([]byte{7}, failing{}); !errors.Is(err, errRefused) || !bytes.Equal(out, []byte{7}) {
		t.Errorf("marshal error: got %v, %v", out, err)
	}

	d = NewDecoder(AppendString(AppendBytes(nil, []byte("abc")), "x"))
	d.Unmarshal(&failing{})
	if err := d.Err(); !errors.Is(err, ErrCorrupt) || !errors.Is(err, errRefused) {
		t.Errorf("unmarshal error: %v", err)
	}
	if d.String() != "" {
		t.Error("error not sticky")
	}

	// a payload point cannot decode: its own ErrCorrupt is wrapped too
	d = NewDecoder(AppendBytes(nil, []byte("abc")))
	d.Unmarshal(&p)
	if !errors.Is(d.Err(), ErrCorrupt) {
		t.Errorf("bad payload: %v", d.Err())
	}
}

// tag is a nullable marshaler in the manner of uuid.NullUUID: NULL
// marshals to nothing, and a valid tag may be empty.
type tag struct {
	b     []byte
	valid bool
}

func (t tag) MarshalBinary() ([]byte, error) { return t.b, nil }

func (t *tag) UnmarshalBinary(b []byte) error { *t = tag{b, true}; return nil }

func (t tag) Value() (driver.Value, error) {
	if !t.valid {
		return nil, nil
	}
	return t.b, nil
}

func (t *tag) Scan(src any) error {
	if src != nil {
		return errRefused
	}
	*t = tag{}
	return nil
}

// TestMarshalerNull: a marshaler the database sees as NULL comes back NULL
// (through its Scan), never as a valid empty value.
func TestMarshalerNull(t *testing.T) {
	for _, in := range []tag{{}, {[]byte{}, true}, {[]byte("x"), true}} {
		b, err := AppendMarshaler(nil, in)
		if err != nil {
			t.Fatal(err)
		}
		out := tag{[]byte("stale"), true}
		d := NewDecoder(b)
		d.Unmarshal(&out)
		if err := d.Finish(); err != nil || out.valid != in.valid || string(out.b) != string(in.b) {
			t.Errorf("%+v came back as %+v, %v", in, out, err)
		}
	}
}

// row is the 5-field row used by the truncation test and the benchmark.
type row struct {
	id      int64
	name    string
	score   float64
	active  bool
	created time.Time
}

func (r *row) append(b []byte) []byte {
	b = AppendInt(b, r.id)
	b = AppendString(b, r.name)
	b = AppendFloat64(b, r.score)
	b = AppendBool(b, r.active)
	return AppendTime(b, r.created)
}

func (r *row) decode(b []byte) error {
	d := NewDecoder(b)
	r.id = d.Int()
	r.name = d.String()
	r.score = d.Float64()
	r.active = d.Bool()
	r.created = d.Time()
	return d.Finish()
}

var sample = row{
	id:      -123456789,
	name:    "Ada Lovelace",
	score:   99.5,
	active:  true,
	created: time.Date(2025, 1, 2, 3, 4, 5, 6, time.FixedZone("CET", 3600)),
}

func TestEveryTruncationIsCorrupt(t *testing.T) {
	full := sample.append(nil)
	var r row
	if err := r.decode(full); err != nil {
		t.Fatal(err)
	}
	if r.id != sample.id || r.name != sample.name || r.score != sample.score || r.active != sample.active || !r.created.Equal(sample.created) {
		t.Fatalf("round trip: got %+v", r)
	}
	for i := range full {
		if err := new(row).decode(full[:i]); !errors.Is(err, ErrCorrupt) {
			t.Errorf("truncated to %d of %d bytes: err %v", i, len(full), err)
		}
	}
}

func TestFinishReportsTrailingBytes(t *testing.T) {
	d := NewDecoder(AppendInt(AppendInt(nil, 1), 2))
	if d.Int() != 1 {
		t.Fatal("bad first value")
	}
	if d.Err() != nil {
		t.Fatal(d.Err())
	}
	if err := d.Finish(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Finish with a trailing value: %v", err)
	}
}

func TestErrorIsSticky(t *testing.T) {
	d := NewDecoder(append([]byte{0x80, 0x00}, AppendString(nil, "x")...))
	if d.Uint() != 0 || d.Err() == nil {
		t.Fatal("bad varint accepted")
	}
	first := d.Err()
	if s := d.String(); s != "" {
		t.Errorf("String after failure: %q", s)
	}
	if d.Err() != first || d.Finish() != first {
		t.Errorf("error changed: %v", d.Err())
	}
}

func TestHugeLengthDoesNotAllocate(t *testing.T) {
	for _, b := range [][]byte{
		AppendUint(nil, math.MaxUint64), // a length no input can hold
		append(AppendUint(nil, 1<<30), "short"...),
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 100 {
			d := NewDecoder(b)
			d.Bytes()
			d = NewDecoder(b)
			_ = d.String()
		}
		runtime.ReadMemStats(&after)
		// only errors are allocated, never a buffer of the claimed length
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
			t.Errorf("%d bytes allocated", n)
		}
		d := NewDecoder(b)
		if d.String() != "" || !errors.Is(d.Err(), ErrCorrupt) {
			t.Errorf("err %v", d.Err())
		}
	}
}

func BenchmarkRow(b *testing.B) {
	var buf []byte
	var r row
	b.ReportAllocs()
	for b.Loop() {
		buf = sample.append(buf[:0])
		if err := r.decode(buf); err != nil {
			b.Fatal(err)
		}
	}
}
