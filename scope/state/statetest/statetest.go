package statetest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentguard/agentguard/scope/state"
)

// Open returns two handles on one new, empty store. For a shared store they
// should be independent clients (standing in for two replicas); for an
// in-process store they may be the same value.
type Open func(t *testing.T) (a, b state.Store)

// TestStore runs the conformance suite: counter totals, sliding windows and
// refunds; exactly-limit admission under 1,000 concurrent adds split across the
// two handles; put-if-absent and compare-and-swap, with exactly one of many
// concurrent swaps winning; sets; and cancelled contexts failing rather than
// succeeding.
func TestStore(t *testing.T, open Open) {
	t.Helper()
	t.Run("Counter", func(t *testing.T) { testCounter(t, open) })
	t.Run("CounterHammer", func(t *testing.T) { testHammer(t, open) })
	t.Run("KV", func(t *testing.T) { testKV(t, open) })
	t.Run("CompareAndSwapOnce", func(t *testing.T) { testCASOnce(t, open) })
	t.Run("Set", func(t *testing.T) { testSet(t, open) })
	t.Run("Cancelled", func(t *testing.T) { testCancelled(t, open) })
}

func testCounter(t *testing.T, open Open) {
	a, b := open(t)
	ctx := context.Background()
	t0 := time.Unix(1_700_000_000, 0)
	add := func(s state.Store, key string, n, limit int64, w time.Duration, at time.Time, wantTotal int64, wantOK bool) {
		t.Helper()
		total, ok, err := s.Add(ctx, key, n, limit, w, at)
		if err != nil {
			t.Fatalf("Add(%q, %d): %v", key, n, err)
		}
		if total != wantTotal || ok != wantOK {
			t.Fatalf("Add(%q, %d, limit %d) = %d, %v; want %d, %v", key, n, limit, total, ok, wantTotal, wantOK)
		}
	}
	// Lifetime counter.
	add(a, "life", 3, 5, 0, t0, 3, true)
	add(b, "life", 2, 5, 0, t0, 5, true)
	add(a, "life", 1, 5, 0, t0, 5, false)
	add(b, "life", -2, 5, 0, t0, 3, true) // refund
	add(a, "life", 2, 5, 0, t0, 5, true)
	add(a, "life", 0, 5, 0, t0, 5, true) // zero always fits

	// Sliding window: entries leave the window one by one.
	w := time.Minute
	add(a, "win", 4, 10, w, t0, 4, true)
	add(b, "win", 6, 10, w, t0.Add(30*time.Second), 10, true)
	add(a, "win", 1, 10, w, t0.Add(59*time.Second), 10, false)
	add(b, "win", 4, 10, w, t0.Add(60*time.Second), 10, true) // the first entry left at exactly +60s
	add(a, "win", 1, 10, w, t0.Add(89*time.Second), 10, false)
	add(a, "win", 6, 10, w, t0.Add(91*time.Second), 10, true)
	add(a, "win", -6, 10, w, t0.Add(91*time.Second), 4, true) // refund
	// Later, every entry (refunds included) has left the window.
	add(b, "win", 10, 10, w, t0.Add(200*time.Second), 10, true)
	add(a, "win", 1, 10, w, t0.Add(200*time.Second), 10, false)

	// A limit of zero admits nothing positive.
	add(a, "zero", 1, 0, w, t0, 0, false)
	// Keys are independent.
	add(b, "other", 10, 10, w, t0, 10, true)
	// Invalid arguments are errors, never admissions.
	for _, bad := range []struct {
		key    string
		limit  int64
		window time.Duration
	}{{"", 1, 0}, {"k", -1, 0}, {"k", 1, -time.Second}} {
		if _, ok, err := a.Add(ctx, bad.key, 1, bad.limit, bad.window, t0); err == nil || ok {
			t.Fatalf("Add(%q, limit %d, window %v) = %v, %v; want an error", bad.key, bad.limit, bad.window, ok, err)
		}
	}
}

func testHammer(t *testing.T, open Open) {
	a, b := open(t)
	for _, window := range []time.Duration{0, time.Hour} {
		t.Run(fmt.Sprint("window=", window), func(t *testing.T) {
			key := fmt.Sprint("hammer-", window)
			var ok atomic.Int64
			var wg sync.WaitGroup
			start := make(chan struct{})
			now := time.Now()
			for i := range 1000 {
				s := a
				if i%2 == 1 {
					s = b
				}
				wg.Go(func() {
					<-start
					_, admitted, err := s.Add(context.Background(), key, 1, 100, window, now)
					if err != nil {
						t.Error(err)
					}
					if admitted {
						ok.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			if got := ok.Load(); got != 100 {
				t.Fatalf("admitted %d of 1000 against a limit of 100; want exactly 100", got)
			}
		})
	}
}

func testKV(t *testing.T, open Open) {
	a, b := open(t)
	ctx := context.Background()
	if _, ok, err := a.Get(ctx, "k"); ok || err != nil {
		t.Fatalf("Get(missing) = %v, %v", ok, err)
	}
	if ok, err := a.PutIfAbsent(ctx, "k", []byte("v1"), 0); !ok || err != nil {
		t.Fatalf("PutIfAbsent = %v, %v", ok, err)
	}
	if ok, _ := b.PutIfAbsent(ctx, "k", []byte("v2"), 0); ok {
		t.Fatal("PutIfAbsent overwrote a value")
	}
	if ok, _ := b.CompareAndSwap(ctx, "k", []byte("wrong"), []byte("v3"), 0); ok {
		t.Fatal("CompareAndSwap with a wrong old value succeeded")
	}
	if ok, _ := b.CompareAndSwap(ctx, "missing", nil, []byte("v3"), 0); ok {
		t.Fatal("CompareAndSwap on a missing key succeeded")
	}
	if ok, _ := b.CompareAndSwap(ctx, "k", []byte("v1"), []byte("v3"), time.Hour); !ok {
		t.Fatal("CompareAndSwap with the right old value failed")
	}
	if v, ok, _ := a.Get(ctx, "k"); !ok || !bytes.Equal(v, []byte("v3")) {
		t.Fatalf("Get = %q, %v", v, ok)
	}
	if err := a.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, "k"); err != nil {
		t.Fatal("deleting a missing key:", err)
	}
	if _, ok, _ := b.Get(ctx, "k"); ok {
		t.Fatal("Get after Delete found a value")
	}
}

func testCASOnce(t *testing.T, open Open) {
	a, b := open(t)
	ctx := context.Background()
	if _, err := a.PutIfAbsent(ctx, "ticket", []byte("pending"), time.Hour); err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int64
	var wg sync.WaitGroup
	for i := range 200 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			ok, err := s.CompareAndSwap(ctx, "ticket", []byte("pending"), fmt.Appendf(nil, "done-%d", i), 0)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d swaps won; want exactly 1", wins.Load())
	}
}

func testSet(t *testing.T, open Open) {
	a, b := open(t)
	ctx := context.Background()
	if in, err := a.ContainsAny(ctx, "s", "x"); in || err != nil {
		t.Fatalf("ContainsAny(empty) = %v, %v", in, err)
	}
	if err := a.AddMembers(ctx, "s", time.Hour, "x", "y"); err != nil {
		t.Fatal(err)
	}
	if err := b.AddMembers(ctx, "s", time.Hour, "y", "z"); err != nil {
		t.Fatal(err)
	}
	got, err := b.Members(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"x", "y", "z"}) {
		t.Fatalf("Members = %v", got)
	}
	if in, _ := a.ContainsAny(ctx, "s", "q", "z"); !in {
		t.Fatal("ContainsAny missed a member")
	}
	if in, _ := a.ContainsAny(ctx, "s", "q"); in {
		t.Fatal("ContainsAny found a non-member")
	}
	if in, _ := a.ContainsAny(ctx, "s"); in {
		t.Fatal("ContainsAny of nothing is true")
	}
	many := make([]string, 3000)
	for i := range many {
		many[i] = fmt.Sprint("m", i)
	}
	if err := a.AddMembers(ctx, "big", 0, many...); err != nil {
		t.Fatal(err)
	}
	if in, _ := b.ContainsAny(ctx, "big", "m2999"); !in {
		t.Fatal("a member of a large write is missing")
	}
	if in, _ := b.ContainsAny(ctx, "big", "\x00binary\xff"); in {
		t.Fatal("ContainsAny found a non-member")
	}
	if err := a.AddMembers(ctx, "bin", 0, "\x00binary\xff"); err != nil {
		t.Fatal(err)
	}
	if in, _ := b.ContainsAny(ctx, "bin", "\x00binary\xff"); !in {
		t.Fatal("a binary member was not kept byte for byte")
	}
}

func testCancelled(t *testing.T, open Open) {
	a, _ := open(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok, err := a.Add(ctx, "k", 1, 10, 0, time.Now()); err == nil || ok {
		t.Fatalf("Add on a cancelled context = %v, %v; want an error", ok, err)
	}
	if ok, err := a.PutIfAbsent(ctx, "k", []byte("v"), 0); err == nil || ok {
		t.Fatalf("PutIfAbsent on a cancelled context = %v, %v; want an error", ok, err)
	}
	if ok, err := a.CompareAndSwap(ctx, "k", nil, []byte("v"), 0); err == nil || ok {
		t.Fatalf("CompareAndSwap on a cancelled context = %v, %v; want an error", ok, err)
	}
}
