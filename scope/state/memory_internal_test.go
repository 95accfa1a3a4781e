package state

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func (m *Memory) counters() int {
	n := 0
	for i := range m.shards {
		m.shards[i].mu.Lock()
		n += len(m.shards[i].counters)
		m.shards[i].mu.Unlock()
	}
	return n
}

// TestMemorySweepsIdleKeys: a store fed endless distinct keys (one per session)
// does not keep the ones whose window has passed.
func TestMemorySweepsIdleKeys(t *testing.T) {
	m := NewMemory()
	m.sweep = 64
	ctx := context.Background()
	t0 := time.Unix(1_700_000_000, 0)
	const n = 10_000
	for i := range n {
		m.Add(ctx, fmt.Sprint("a", i), 1, 10, time.Second, t0)
	}
	for i := range n {
		m.Add(ctx, fmt.Sprint("b", i), 1, 10, time.Second, t0.Add(2*time.Second))
	}
	if got := m.counters(); got >= 2*n-n/4 {
		t.Fatalf("%d counters kept of %d; idle ones were not swept", got, 2*n)
	}
}

func TestMemoryOutOfOrderClock(t *testing.T) {
	m := NewMemory()
	ctx := context.Background()
	t0 := time.Unix(1_700_000_000, 0)
	m.Add(ctx, "k", 5, 10, 10*time.Second, t0.Add(10*time.Second))
	m.Add(ctx, "k", 3, 10, 10*time.Second, t0.Add(5*time.Second)) // a replica's clock behind
	// At t0+16s the entry from t0+5s has left the window, the one from t0+10s not.
	total, ok, _ := m.Add(ctx, "k", 5, 10, 10*time.Second, t0.Add(16*time.Second))
	if !ok || total != 10 {
		t.Fatalf("total %d, %v; want 10, true", total, ok)
	}
}
