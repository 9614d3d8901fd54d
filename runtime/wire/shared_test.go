package wire

import (
	"bytes"
	"testing"
)

func TestSharedDecoderSharesStringsCopiesBytes(t *testing.T) {
	b := AppendString(nil, "hello")
	b = AppendBytes(b, []byte("blob"))
	d := NewSharedDecoder(b)
	s := d.String()
	p := d.Bytes()
	if err := d.Finish(); err != nil || s != "hello" || string(p) != "blob" {
		t.Fatalf("decoded %q %q %v", s, p, err)
	}
	p[0] = 'X' // the caller owns the bytes it got
	if !bytes.Contains(b, []byte("blob")) {
		t.Fatal("Bytes shared the input: writing to the result changed it")
	}
	allocs := testing.AllocsPerRun(100, func() {
		d := NewSharedDecoder(b)
		_ = d.String()
	})
	if allocs != 0 {
		t.Fatalf("a shared string cost %v allocations", allocs)
	}
	if allocs := testing.AllocsPerRun(100, func() {
		d := NewDecoder(b)
		_ = d.String()
	}); allocs != 1 {
		t.Fatalf("NewDecoder's string cost %v allocations, want its own copy", allocs)
	}
}
