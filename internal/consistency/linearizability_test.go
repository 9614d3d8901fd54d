package consistency

import (
	"math/rand/v2"
	"testing"

	"github.com/anishathalye/porcupine"
)

// TestPruningImpliedReadsKeepsTheVerdict: porcupine's verdict on random
// small register histories is the same with and without the reads
// pruneImpliedReads drops, and it drops some.
func TestPruningImpliedReadsKeepsTheVerdict(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dropped := 0
	for round := range 400 {
		var ops []porcupine.Operation
		for i := range 4 + rng.IntN(8) {
			call := rng.Int64N(100)
			op := porcupine.Operation{ClientId: i, Call: call, Return: call + 1 + rng.Int64N(40)}
			key := int64(1 + rng.IntN(2))
			if rng.IntN(3) == 0 {
				op.Input, op.Output = pInput{key: key, write: true, value: int64(1 + rng.IntN(3))}, int64(0)
			} else {
				op.Input, op.Output = pInput{key: key}, int64(rng.IntN(4))
			}
			ops = append(ops, op)
		}
		kept, n := pruneImpliedReads(ops)
		dropped += n
		if len(kept)+n != len(ops) {
			t.Fatalf("round %d: kept %d and dropped %d of %d", round, len(kept), n, len(ops))
		}
		full := porcupine.CheckOperations(registerModel, ops)
		pruned := porcupine.CheckOperations(registerModel, kept)
		if full != pruned {
			t.Fatalf("round %d: linearizable %v, after pruning %v: %+v", round, full, pruned, ops)
		}
	}
	if dropped == 0 {
		t.Fatal("no read was ever implied by another")
	}
}
