package main

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sample is make bench output: figures, a ratio, a non-numeric line and
// lines that are not figures; near_hit_ns and raw_redis_get_ns are missing.
const sample = `cd bench && go run . -pg postgres://… -redis 127.0.0.1:6379
bench: pg_query_ns=155960
bench: pg_query_allocs=34
bench: pg_query_unique_ns=204040
bench: redis_hit_ns=112936
bench: redis_unique_hit_ns=91662
bench: memory_hit_ns=1489
  bench: gozero_hit_ns = 227338
bench: gozero_hit_ns=227000
bench: redis_hit_vs_db=1.38
bench: not_measured=near_hit_vs_db (no near cache yet),allocs_near_hit
bench: broken
go: downloading something
`

func TestParseAndPick(t *testing.T) {
	figures, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if got := figures["pg_query_allocs"]; got != 34 {
		t.Errorf("pg_query_allocs = %v, want 34", got)
	}
	if got := figures["gozero_hit_ns"]; got != 227000 {
		t.Errorf("gozero_hit_ns = %v, want 227000 (the later line wins)", got)
	}
	if _, ok := figures["not_measured"]; ok {
		t.Error("a non-numeric value was parsed")
	}
	var names []string
	var us []float64
	for _, b := range pick(figures) {
		names = append(names, b.name)
		us = append(us, b.us)
	}
	wantNames := []string{"pg_query", "pg_query_unique", "redis_hit", "redis_unique_hit", "gozero_hit", "memory_hit"}
	wantUs := []float64{155.96, 204.04, 112.936, 91.662, 227, 1.489}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("bars %v, want %v", names, wantNames)
	}
	for i := range us {
		if i >= len(wantUs) || math.Abs(us[i]-wantUs[i]) > 1e-9 {
			t.Errorf("µs %v, want %v", us, wantUs)
			break
		}
	}
}

func TestRenderPNG(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "bench.out")
	if err := os.WriteFile(in, []byte(sample+"bench: near_hit_ns=180\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "benchmarks.png")
	if err := run(out, []string{in}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", out, err)
	}
	if b := img.Bounds(); b.Dx() < 100 || b.Dy() < 100 {
		t.Errorf("the image is %v, want at least 100×100", b)
	}
}

func TestNoFigures(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "bench.out")
	if err := os.WriteFile(in, []byte("bench: redis_hit_vs_db=1.38\nbench: not_measured=x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "benchmarks.png")
	if err := run(out, []string{in}); err == nil {
		t.Error("no error for an input without latency figures")
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a PNG was written for an input without latency figures")
	}
}
