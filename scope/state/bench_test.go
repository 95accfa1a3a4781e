package state_test

import (
	"context"
	"testing"
	"time"

	"github.com/agentguard/agentguard/scope/state"
	"github.com/agentguard/agentguard/scope/state/redistest"
)

func benchAdd(b *testing.B, s state.Counter, window time.Duration) {
	ctx := context.Background()
	key := state.Key("budget", "calls", "alice")
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := s.Add(ctx, key, 1, 1<<50, window, now); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkMemoryAdd(b *testing.B) { benchAdd(b, state.NewMemory(), 0) }

// BenchmarkMemoryAddFullWindow: a sliding window that stays full (1,000 entries,
// one leaving per call), the steady state of a busy rate limit.
func BenchmarkMemoryAddFullWindow(b *testing.B) {
	m := state.NewMemory()
	ctx := context.Background()
	t := time.Unix(1_700_000_000, 0)
	for range 1000 {
		t = t.Add(time.Millisecond)
		m.Add(ctx, "k", 1, 1<<50, time.Second, t)
	}
	b.ReportAllocs()
	for b.Loop() {
		t = t.Add(time.Millisecond)
		if _, ok, err := m.Add(ctx, "k", 1, 1<<50, time.Second, t); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkMemoryAddParallel(b *testing.B) {
	m := state.NewMemory()
	ctx := context.Background()
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Add(ctx, "k", 1, 1<<50, 0, now)
		}
	})
}

func BenchmarkRedisAdd(b *testing.B) {
	srv := redistest.Start(b)
	s, _ := state.NewRedis(srv.Client(b), "bench:")
	b.Run("lifetime", func(b *testing.B) { benchAdd(b, s, 0) })
	b.Run("window", func(b *testing.B) {
		// A window short enough that the log stays small (about 2 entries).
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := s.Add(ctx, "w", 1, 1<<50, time.Millisecond, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRedisCompareAndSwap(b *testing.B) {
	srv := redistest.Start(b)
	s, _ := state.NewRedis(srv.Client(b), "bench:")
	ctx := context.Background()
	s.PutIfAbsent(ctx, "k", []byte("a"), 0)
	b.ReportAllocs()
	for b.Loop() {
		s.CompareAndSwap(ctx, "k", []byte("a"), []byte("a"), 0)
	}
}
