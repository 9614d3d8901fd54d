// Command plot draws the read latency figures of the bench suite as a bar
// chart: one bar per read path, in microseconds per read on a log scale
// (the paths span three orders of magnitude, from an in-process hit to a
// database query). It reads the "bench: name=value" lines that bench prints
// (`make bench`), from the file named by its argument or from stdin, and
// takes each path's "<name>_ns" figure (the median ns/op); other lines, and
// paths the input has no figure for, are skipped.
//
//	make bench-plot
//	cd bench && go run ./cmd/plot -o ../docs/benchmarks.png ../docs/bench.out
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// kind groups the read paths by what answers them; each has a colour.
type kind int

const (
	database kind = iota
	redis
	inProcess
)

var kinds = []struct {
	name  string
	color color.Color
}{
	database:  {"PostgreSQL", color.RGBA{R: 0xc0, G: 0x50, B: 0x40, A: 0xff}},
	redis:     {"Redis", color.RGBA{R: 0x40, G: 0x70, B: 0xb0, A: 0xff}},
	inProcess: {"in process", color.RGBA{R: 0x40, G: 0x9a, B: 0x50, A: 0xff}},
}

// paths are the read paths drawn, top to bottom: the name of the figure
// ("<name>_ns" in the input) and its label.
var paths = []struct {
	name, label string
	kind        kind
}{
	{"pg_query", "PostgreSQL query by id", database},
	{"pg_query_unique", "PostgreSQL query by email", database},
	{"raw_redis_get", "raw go-redis GET", redis},
	{"redis_hit", "cachegen Redis hit by id", redis},
	{"redis_unique_hit", "cachegen Redis hit by email", redis},
	{"gozero_hit", "go-zero cached hit", redis},
	{"memory_hit", "cachegen memory store hit", inProcess},
	{"near_hit", "cachegen near-cache hit", inProcess},
}

// bar is one read path with a figure in the input.
type bar struct {
	name, label string
	kind        kind
	us          float64 // microseconds per read
}

func main() {
	out := flag.String("o", "benchmarks.png", "the PNG to write")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: plot [-o out.png] [bench output file; default stdin]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*out, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "plot:", err)
		os.Exit(1)
	}
}

func run(out string, args []string) error {
	var in io.Reader = os.Stdin
	switch len(args) {
	case 0:
	case 1:
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	default:
		return errors.New("at most one input file")
	}
	figures, err := parse(in)
	if err != nil {
		return err
	}
	bars := pick(figures)
	if len(bars) == 0 {
		return errors.New("no read latency figure (pg_query_ns, redis_hit_ns, …) in the input")
	}
	return render(bars, out)
}

// parse returns the numeric figures of the "bench: name=value" lines of r;
// a later line wins over an earlier one of the same name.
func parse(r io.Reader) (map[string]float64, error) {
	figures := map[string]float64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "bench:")
		if !ok {
			continue
		}
		name, value, ok := strings.Cut(strings.TrimSpace(rest), "=")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			continue // not a number: not_measured=…
		}
		figures[strings.TrimSpace(name)] = v
	}
	return figures, sc.Err()
}

// pick returns the paths with a positive "<name>_ns" figure, in the
// order of paths.
func pick(figures map[string]float64) []bar {
	var bars []bar
	for _, p := range paths {
		if ns, ok := figures[p.name+"_ns"]; ok && ns > 0 {
			bars = append(bars, bar{name: p.name, label: p.label, kind: p.kind, us: ns / 1000})
		}
	}
	return bars
}

// render writes bars as a horizontal bar chart to path, in the format its
// extension names (.png, .svg, .pdf).
func render(bars []bar, path string) error {
	p := plot.New()
	p.Title.Text = "Read latency per path (median, log scale; shorter is faster)"
	p.Title.Padding = vg.Points(8)
	p.X.Label.Text = "µs per read"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = false
	p.Legend.Left = false
	p.Legend.TextStyle.Font.Size = vg.Points(10)

	// A bar starts at 0, which a log scale cannot place: each bar is
	// stacked on an undrawn one as long as the axis' minimum, a power of
	// ten at or below the smallest figure.
	lo, hi := math.Inf(1), 0.0
	for _, b := range bars {
		lo, hi = math.Min(lo, b.us), math.Max(hi, b.us)
	}
	least := lo
	if lo = math.Pow(10, math.Floor(math.Log10(least))); lo >= least {
		lo /= 10 // the smallest figure is a power of ten: give it a bar
	}
	p.X.Min = lo
	p.X.Max = math.Pow(10, math.Ceil(math.Log10(hi*4))) // room for the labels

	n := len(bars)
	labels := make([]string, n)
	var xys plotter.XYs
	var texts []string
	legend := map[kind]bool{}
	for i, b := range bars {
		y := float64(n - 1 - i) // the first path on top
		labels[n-1-i] = b.label
		base, err := plotter.NewBarChart(plotter.Values{lo}, vg.Points(14))
		if err != nil {
			return err
		}
		bc, err := plotter.NewBarChart(plotter.Values{b.us - lo}, vg.Points(14))
		if err != nil {
			return err
		}
		bc.Horizontal = true
		base.Horizontal = true
		bc.StackOn(base)
		base.XMin, bc.XMin = y, y
		bc.Color = kinds[b.kind].color
		bc.LineStyle.Width = 0
		p.Add(bc)
		if !legend[b.kind] {
			legend[b.kind] = true
			p.Legend.Add(kinds[b.kind].name, bc)
		}
		xys = append(xys, plotter.XY{X: b.us, Y: y})
		texts = append(texts, micros(b.us))
	}
	values, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: texts})
	if err != nil {
		return err
	}
	for i := range values.TextStyle {
		values.TextStyle[i].XAlign = draw.XLeft
		values.TextStyle[i].YAlign = draw.YCenter
	}
	values.Offset = vg.Point{X: vg.Points(4), Y: vg.Points(2)}
	p.Add(values)
	p.NominalY(labels...)
	p.Y.Padding = vg.Points(10)
	return p.Save(8*vg.Inch, vg.Length(1.5+0.45*float64(n))*vg.Inch, path)
}

// micros formats a latency in µs with about three significant digits.
func micros(us float64) string {
	switch {
	case us >= 100:
		return fmt.Sprintf("%.0f µs", us)
	case us >= 10:
		return fmt.Sprintf("%.1f µs", us)
	default:
		return fmt.Sprintf("%.2f µs", us)
	}
}
