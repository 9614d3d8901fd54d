package storetest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/store"
)

// refStore is a plain reference implementation of the contract, to check
// the suite itself. bug, when set, names a deliberate defect.
type refStore struct {
	mu  sync.Mutex
	m   map[string]refItem
	bug string
}

type refItem struct {
	e        store.Entry
	deadline time.Time
}

func newRefStore(bug string) *refStore { return &refStore{m: map[string]refItem{}, bug: bug} }

// cur returns what key holds, dropping it if it expired. mu must be held.
func (s *refStore) cur(key string) (refItem, bool) {
	it, ok := s.m[key]
	if ok && s.bug != "no-expiry" && !time.Now().Before(it.deadline) {
		delete(s.m, key)
		return refItem{}, false
	}
	return it, ok
}

func (s *refStore) Get(_ context.Context, key string) (store.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, _ := s.cur(key)
	return it.e, nil
}

func (s *refStore) Lease(_ context.Context, key, token string, ttl time.Duration) (bool, store.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.cur(key); ok {
		return false, it.e, nil
	}
	s.m[key] = refItem{store.Entry{Kind: store.Leased, Token: token}, time.Now().Add(ttl)}
	return true, store.Entry{}, nil
}

func (s *refStore) Fill(_ context.Context, key, token string, e store.Entry, ttl time.Duration) (bool, error) {
	if e.Kind != store.CachedRow && e.Kind != store.CachedNotFound {
		return false, errors.New("bad kind")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.cur(key)
	if !ok || it.e.Kind != store.Leased || (it.e.Token != token && s.bug != "fill-any-token") {
		return false, nil
	}
	if s.bug != "keeps-slice" && e.Value != nil {
		e.Value = append([]byte{}, e.Value...)
	}
	s.m[key] = refItem{store.Entry{Kind: e.Kind, Value: e.Value}, time.Now().Add(ttl)}
	return true, nil
}

func (s *refStore) Release(_ context.Context, key, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.cur(key); ok && it.e.Kind == store.Leased && (it.e.Token == token || s.bug == "release-any-token") {
		delete(s.m, key)
	}
	return nil
}

func (s *refStore) Lock(_ context.Context, key string, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.cur(key)
	n := 1
	if ok && it.e.Kind == store.Locked && s.bug != "lock-no-count" {
		n = it.e.Locks + 1
	}
	deadline := time.Now().Add(ttl)
	if ok && it.e.Kind == store.Locked && s.bug == "lock-keeps-ttl" {
		deadline = it.deadline
	}
	s.m[key] = refItem{store.Entry{Kind: store.Locked, Locks: n}, deadline}
	return nil
}

func (s *refStore) Unlock(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.cur(key)
	if ok && it.e.Kind == store.Locked && it.e.Locks > 1 {
		it.e.Locks--
		if s.bug == "unlock-drops-ttl" {
			it.deadline = time.Now().Add(time.Hour)
		}
		s.m[key] = it
		return nil
	}
	delete(s.m, key)
	return nil
}

func (s *refStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

// The reference store runs on Go's clock, so its runs are in synctest
// bubbles: no case waits for real time.

func TestReferenceStore(t *testing.T) {
	RunSynctest(t, func(*testing.T) runtime.Store { return newRefStore("") })
}

func TestReferenceStoreShared(t *testing.T) {
	RunSynctestShared(t, func(*testing.T) runtime.Store { return newRefStore("") })
}

// TestSuiteCatchesBugs checks that the suite fails each broken store, in the
// subtest meant to catch the defect. Each broken store runs in a child
// process of this test, told which bug to carry by STORETEST_MUTANT.
func TestSuiteCatchesBugs(t *testing.T) {
	if bug := os.Getenv("STORETEST_MUTANT"); bug != "" {
		if os.Getenv("STORETEST_SHARED") != "" {
			RunSynctestShared(t, func(*testing.T) runtime.Store { return newRefStore(bug) })
			return
		}
		RunSynctest(t, func(*testing.T) runtime.Store { return newRefStore(bug) })
		return
	}
	for bug, subtest := range map[string]string{
		"no-expiry":         "Expiry/lease",
		"fill-any-token":    "Fill/fails-on-lease",
		"keeps-slice":       "Fill/copies-value",
		"release-any-token": "Release/keeps-lease",
		"lock-no-count":     "Concurrent/lock-count",
		"lock-keeps-ttl":    "Lock/renews-ttl",
		"unlock-drops-ttl":  "Unlock/keeps-ttl",
	} {
		t.Run(bug, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestSuiteCatchesBugs$", "-test.v")
			cmd.Env = append(os.Environ(), "STORETEST_MUTANT="+bug)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a store with bug %s", bug)
			}
			if want := "--- FAIL: TestSuiteCatchesBugs/contract/" + subtest + " "; !strings.Contains(string(out), want) {
				t.Errorf("no %q in the output:\n%s", want, out)
			}
		})
	}
}

// TestSharedRunCatchesBugs: RunSynctestShared, whose cases share one
// bubble and are no subtests, fails a broken store too, and names the case
// that caught it.
func TestSharedRunCatchesBugs(t *testing.T) {
	for bug, subtest := range map[string]string{
		"no-expiry":        "Expiry/lease",
		"keeps-slice":      "Fill/copies-value",
		"unlock-drops-ttl": "Unlock/keeps-ttl",
	} {
		t.Run(bug, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestSuiteCatchesBugs$", "-test.v")
			cmd.Env = append(os.Environ(), "STORETEST_MUTANT="+bug, "STORETEST_SHARED=1")
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the shared run passed a store with bug %s", bug)
			}
			if want := ": " + subtest + ": "; !strings.Contains(string(out), want) {
				t.Errorf("no %q in the output:\n%s", want, out)
			}
		})
	}
}
