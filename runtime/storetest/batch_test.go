package storetest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/store"
)

// refBatch gives the reference store batches of its own, so that the suite
// checks a store's native batches and not only store.Batched's adapter.
// Its bug, when set, names a deliberate defect of the batches.
type refBatch struct {
	*refStore
	bug string
}

var _ store.BatchStore = (*refBatch)(nil)

func (s *refBatch) GetMany(ctx context.Context, ops []store.GetOp) {
	for i := range ops {
		j := i
		if s.bug == "batch-get-misaligned" {
			j = len(ops) - 1 - i
		}
		ops[j].Entry, ops[j].Err = s.Get(ctx, ops[i].Key)
	}
}

func (s *refBatch) LeaseMany(ctx context.Context, ops []store.LeaseOp) {
	for i := range ops {
		op := &ops[i]
		if s.bug == "batch-lease-overwrites" {
			s.mu.Lock()
			s.m[op.Key] = refItem{e: store.Entry{Kind: store.Leased, Token: op.Token}, deadline: time.Now().Add(op.TTL)}
			s.mu.Unlock()
			op.OK = true
			continue
		}
		op.OK, op.Cur, op.Err = s.Lease(ctx, op.Key, op.Token, op.TTL)
	}
}

func (s *refBatch) FillMany(ctx context.Context, ops []store.FillOp) {
	for i := range ops {
		op := &ops[i]
		token := op.Token
		if s.bug == "batch-fill-any-token" {
			if e, _ := s.Get(ctx, op.Key); e.Kind == store.Leased {
				token = e.Token
			}
		}
		op.OK, op.Err = s.Fill(ctx, op.Key, token, op.Entry, op.TTL)
		if s.bug == "batch-one-fails-all" && op.Err != nil {
			for j := range ops {
				ops[j].OK, ops[j].Err = false, op.Err
			}
			return
		}
	}
}

func (s *refBatch) ReleaseMany(ctx context.Context, ops []store.ReleaseOp) {
	for i := range ops {
		op := &ops[i]
		if s.bug == "batch-release-any-token" {
			if e, _ := s.Get(ctx, op.Key); e.Kind == store.Leased {
				op.Err = s.Delete(ctx, op.Key)
				continue
			}
		}
		op.Err = s.Release(ctx, op.Key, op.Token)
	}
}

func (s *refBatch) LockMany(ctx context.Context, ops []store.LockOp) {
	for i := range ops {
		op := &ops[i]
		if s.bug == "batch-lock-resets" {
			s.mu.Lock()
			s.m[op.Key] = refItem{e: store.Entry{Kind: store.Locked, Locks: 1}, deadline: time.Now().Add(op.TTL)}
			s.mu.Unlock()
			continue
		}
		op.Err = s.Lock(ctx, op.Key, op.TTL)
	}
}

func (s *refBatch) UnlockMany(ctx context.Context, ops []store.UnlockOp) {
	for i := range ops {
		op := &ops[i]
		if s.bug == "batch-unlock-deletes" {
			op.Err = s.Delete(ctx, op.Key)
			continue
		}
		op.Err = s.Unlock(ctx, op.Key)
	}
}

// TestBatchReference runs the suite on a store with native batches.
func TestBatchReference(t *testing.T) {
	shared := &refBatch{refStore: newRefStore("")}
	Run(t, func(*testing.T) runtime.Store { return shared })
}

// TestBatchSuiteCatchesBugs checks that the Batch group fails each broken
// batch, in the subtest meant to catch it; each runs in a child process,
// told its bug by STORETEST_BATCH_MUTANT.
func TestBatchSuiteCatchesBugs(t *testing.T) {
	if bug := os.Getenv("STORETEST_BATCH_MUTANT"); bug != "" {
		shared := &refBatch{refStore: newRefStore(""), bug: bug}
		Run(t, func(*testing.T) runtime.Store { return shared })
		return
	}
	for bug, subtest := range map[string]string{
		"batch-get-misaligned":    "Batch/get",
		"batch-lease-overwrites":  "Batch/lease",
		"batch-fill-any-token":    "Batch/fill-other-token",
		"batch-release-any-token": "Batch/release",
		"batch-one-fails-all":     "Batch/bad-op-alone",
		"batch-lock-resets":       "Batch/lock",
		"batch-unlock-deletes":    "Batch/unlock",
	} {
		t.Run(bug, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestBatchSuiteCatchesBugs$", "-test.v")
			cmd.Env = append(os.Environ(), "STORETEST_BATCH_MUTANT="+bug)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a store with bug %s", bug)
			}
			if want := "--- FAIL: TestBatchSuiteCatchesBugs/contract/" + subtest + " "; !strings.Contains(string(out), want) {
				t.Errorf("no %q in the output:\n%s", want, out)
			}
		})
	}
}
