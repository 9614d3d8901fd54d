package wire

import (
	"bytes"
	"math"
	"testing"
	"time"
)

// FuzzDecoder decodes arbitrary bytes as one fixed sequence of fields. The
// decoder must never panic, and since the format is canonical, whatever it
// accepts must re-encode to exactly the input. The seeds hold times in
// every kind of zone (zoneCases), so the fuzzer mutates named zones too.
func FuzzDecoder(f *testing.F) {
	valid := fuzzEncode(-42, "name", []byte{1, 2}, time.Date(2025, 6, 1, 12, 0, 0, 5, time.FixedZone("X", -3600)),
		math.Pi, true, 7, [4]byte{0xde, 0xad, 0xbe, 0xef})
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add(fuzzEncode(0, "", nil, time.Time{}, 0, false, 0, [4]byte{}))
	f.Add(fuzzEncode(math.MinInt64, "é", []byte{}, time.Unix(0, 0).In(time.Local), math.NaN(), false, math.MaxUint64, [4]byte{}))
	for _, tm := range zoneCases(f) {
		f.Add(fuzzEncode(1, "", nil, tm, 0, false, 0, [4]byte{}))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d := NewDecoder(in)
		i, s, p, tm := d.Int(), d.String(), d.Bytes(), d.Time()
		fl, bo, u := d.Float64(), d.Bool(), d.Uint()
		var raw [4]byte
		d.Raw(raw[:])
		if d.Finish() != nil {
			return
		}
		if out := fuzzEncode(i, s, p, tm, fl, bo, u, raw); !bytes.Equal(out, in) {
			t.Fatalf("accepted a non-canonical encoding:\n in  %x\n out %x", in, out)
		}
	})
}

func fuzzEncode(i int64, s string, p []byte, tm time.Time, fl float64, bo bool, u uint64, raw [4]byte) []byte {
	b := AppendInt(nil, i)
	b = AppendString(b, s)
	b = AppendBytes(b, p)
	b = AppendTime(b, tm)
	b = AppendFloat64(b, fl)
	b = AppendBool(b, bo)
	b = AppendUint(b, u)
	return AppendRaw(b, raw[:])
}
