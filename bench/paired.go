package main

import (
	"errors"
	"time"
)

// A pair is two operations measured call by call in alternation: on a
// shared, noisy machine a load spike slows both alike, where figures
// measured one after the other can each catch a different moment.
type pair struct {
	name     string // the ratio it gives: time(num) / time(den)
	num, den func() error
}

// pairedRatio runs p's operations alternately for d, each call timed on
// its own (which goes first swaps every iteration), and returns the summed
// time of num over that of den.
func pairedRatio(p pair, d time.Duration) (float64, error) {
	var tn, td time.Duration
	deadline := time.Now().Add(d)
	for i := 0; time.Now().Before(deadline); i++ {
		first, second, tf, ts := p.num, p.den, &tn, &td
		if i%2 == 1 {
			first, second, tf, ts = p.den, p.num, &td, &tn
		}
		start := time.Now()
		if err := first(); errors.Is(err, errPairDone) {
			break
		} else if err != nil {
			return 0, err
		}
		mid := time.Now()
		if err := second(); errors.Is(err, errPairDone) {
			break
		} else if err != nil {
			return 0, err
		}
		*tf += mid.Sub(start)
		*ts += time.Since(mid)
	}
	return float64(tn) / float64(td), nil
}

// pairs are the latency ratios of the performance targets, each against
// its baseline.
func (e *env) pairs() []pair {
	ops := e.readOps()
	return append([]pair{
		{"redis_hit_vs_db", ops.pgByID, ops.hit},
		{"unique_hit_vs_db", ops.pgByEmail, ops.uniqueHit},
		{"hit_overhead_vs_raw_redis", ops.hit, ops.rawGet},
		{"redis_hit_vs_gozero", ops.gozeroHit, ops.hit},
		{"http_304_vs_render", e.http.render, e.http.revalidate},
		{"http_304_vs_render_near", e.http.nearRender, e.http.nearRevalidate},
		{"http_kept_page_vs_render", e.http.render, e.http.kept},
	}, e.writePairs()...)
}
