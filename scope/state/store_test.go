package state_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/agentguard/agentguard/scope/state"
	"github.com/agentguard/agentguard/scope/state/redistest"
	"github.com/agentguard/agentguard/scope/state/statetest"
)

type storeMaker func(t *testing.T) (a, b state.Store)

// stores returns the implementations under test: each maker returns two handles
// on one shared store (for Redis, two independent clients standing in for two
// replicas).
func stores() map[string]storeMaker {
	return map[string]storeMaker{
		"memory": func(t *testing.T) (state.Store, state.Store) {
			m := state.NewMemory()
			return m, m
		},
		"redis": func(t *testing.T) (state.Store, state.Store) {
			srv := redistest.Start(t)
			a, err := state.NewRedis(srv.Client(t), "t:")
			if err != nil {
				t.Fatal(err)
			}
			b, err := state.NewRedis(srv.Client(t), "t:")
			if err != nil {
				t.Fatal(err)
			}
			return a, b
		},
	}
}

func TestCounterOverflowDenies(t *testing.T) {
	m := state.NewMemory()
	ctx := context.Background()
	const maxI = int64(^uint64(0) >> 1)
	if _, ok, _ := m.Add(ctx, "k", maxI-1, maxI, 0, time.Now()); !ok {
		t.Fatal("first add refused")
	}
	if _, ok, _ := m.Add(ctx, "k", maxI, maxI, 0, time.Now()); ok {
		t.Fatal("an add that overflows int64 was admitted")
	}
}

// TestConformance runs the statetest suite on both stores; for Redis the two
// handles are independent clients, standing in for two replicas.
func TestConformance(t *testing.T) {
	for name, mk := range stores() {
		t.Run(name, func(t *testing.T) { statetest.TestStore(t, statetest.Open(mk)) })
	}
}

func TestMemoryExpiry(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	m := state.NewMemory(state.WithMemoryClock(func() time.Time { return now }))
	ctx := context.Background()
	if ok, _ := m.PutIfAbsent(ctx, "k", []byte("v"), time.Minute); !ok {
		t.Fatal("put failed")
	}
	if err := m.AddMembers(ctx, "s", time.Minute, "x"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(59 * time.Second)
	if _, ok, _ := m.Get(ctx, "k"); !ok {
		t.Fatal("value expired early")
	}
	now = now.Add(time.Second)
	if _, ok, _ := m.Get(ctx, "k"); ok {
		t.Fatal("value outlived its ttl")
	}
	if ok, _ := m.CompareAndSwap(ctx, "k", []byte("v"), []byte("w"), 0); ok {
		t.Fatal("CompareAndSwap revived an expired value")
	}
	if ok, _ := m.PutIfAbsent(ctx, "k", []byte("v2"), 0); !ok {
		t.Fatal("PutIfAbsent over an expired value failed")
	}
	if in, _ := m.ContainsAny(ctx, "s", "x"); in {
		t.Fatal("set outlived its ttl")
	}
}

func TestRedisExpiry(t *testing.T) {
	a, _ := stores()["redis"](t)
	ctx := context.Background()
	if ok, _ := a.PutIfAbsent(ctx, "k", []byte("v"), 30*time.Millisecond); !ok {
		t.Fatal("put failed")
	}
	if ok, _ := a.CompareAndSwap(ctx, "k", []byte("v"), []byte("w"), 0); !ok { // keeps the ttl
		t.Fatal("swap failed")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok, _ := a.Get(ctx, "k"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("CompareAndSwap with ttl 0 dropped the key's expiry")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRedisRebuildsLostTotal(t *testing.T) {
	srv := redistest.Start(t)
	cl := srv.Client(t)
	s, _ := state.NewRedis(cl, "t:")
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	for range 3 {
		if _, ok, err := s.Add(ctx, "k", 2, 10, time.Hour, now); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	if err := cl.Del(ctx, "{t:k}:total").Err(); err != nil {
		t.Fatal(err)
	}
	total, ok, err := s.Add(ctx, "k", 4, 10, time.Hour, now)
	if err != nil || !ok || total != 10 {
		t.Fatalf("after losing the total: %d, %v, %v; want 10, true", total, ok, err)
	}
	if _, ok, _ := s.Add(ctx, "k", 1, 10, time.Hour, now); ok {
		t.Fatal("over the limit after a rebuilt total")
	}
}

func TestRedisLargeAmounts(t *testing.T) {
	a, _ := stores()["redis"](t)
	ctx := context.Background()
	now := time.Now()
	const big = int64(1) << 52 // exact in Lua doubles, and past %.14g formatting
	for _, w := range []time.Duration{0, time.Hour} {
		key := fmt.Sprint("big", w)
		const limit = state.MaxExact
		if total, ok, err := a.Add(ctx, key, big+1, limit, w, now); !ok || err != nil || total != big+1 {
			t.Fatalf("window %v: %d %v %v", w, total, ok, err)
		}
		if total, ok, err := a.Add(ctx, key, big-2, limit, w, now); !ok || err != nil || total != limit {
			t.Fatalf("window %v: %d %v %v; want exactly %d", w, total, ok, err, int64(limit))
		}
		for _, n := range []int64{1, 2, 3} {
			if _, ok, _ := a.Add(ctx, key, n, limit, w, now); ok {
				t.Fatalf("window %v: %d past the limit admitted", w, n)
			}
		}
		if _, _, err := a.Add(ctx, key, 1, limit+1, w, now); err == nil {
			t.Fatalf("window %v: a limit past 2^53-1 accepted", w)
		}
	}
}
