package state

import (
	"bytes"
	"context"
	"hash/maphash"
	"sort"
	"sync"
	"time"
)

// Memory is the in-process [Store]: correct for one process, shared by nothing.
// Use [Redis] when several replicas must enforce one policy. The zero value is not
// usable; call [NewMemory].
type Memory struct {
	seed   maphash.Seed
	sweep  int // writes per shard between sweeps
	now    func() time.Time
	shards [memShards]memShard
}

const memShards = 32

type memShard struct {
	mu       sync.Mutex
	counters map[string]*counter
	kv       map[string]kvEntry
	sets     map[string]*setEntry
	ops      int
}

type counter struct {
	entries []entry // sorted by t; entries[head:] are live
	head    int
	total   int64
	window  time.Duration
	last    int64 // unix nanos of the last add (for sweeping)
}

type entry struct {
	t int64 // unix nanos
	n int64
}

type kvEntry struct {
	val     []byte
	expires int64 // unix nanos; 0: never
}

type setEntry struct {
	m       map[string]struct{}
	expires int64
}

// MemoryOption configures a [Memory] store.
type MemoryOption func(*Memory)

// WithMemoryClock sets the clock used for the expiry of KV and Set keys (the
// default is time.Now). Counters use the time passed to Add.
func WithMemoryClock(now func() time.Time) MemoryOption {
	return func(m *Memory) {
		if now != nil {
			m.now = now
		}
	}
}

// NewMemory returns an empty in-memory store.
func NewMemory(opts ...MemoryOption) *Memory {
	m := &Memory{seed: maphash.MakeSeed(), now: time.Now, sweep: sweepEvery}
	for _, o := range opts {
		if o != nil {
			o(m)
		}
	}
	for i := range m.shards {
		m.shards[i].counters = make(map[string]*counter)
		m.shards[i].kv = make(map[string]kvEntry)
		m.shards[i].sets = make(map[string]*setEntry)
	}
	return m
}

var _ Store = (*Memory)(nil)

func (m *Memory) shard(key string) *memShard {
	return &m.shards[maphash.String(m.seed, key)%memShards]
}

// sweepEvery is how many writes to a shard pass between sweeps of its idle keys.
const sweepEvery = 4096

// Add implements [Counter].
func (m *Memory) Add(ctx context.Context, key string, n, limit int64, window time.Duration, now time.Time) (int64, bool, error) {
	if err := checkAdd(key, limit, window); err != nil {
		return 0, false, err
	}
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	t := now.UnixNano()
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maybeSweep(m.sweep, t, m.now)
	c := s.counters[key]
	if c == nil {
		c = &counter{window: window}
		s.counters[key] = c
	}
	c.window = window
	if window > 0 {
		c.prune(t - int64(window))
	}
	if n > 0 && (c.total+n > limit || c.total+n < c.total) {
		return c.total, false, nil
	}
	c.total += n
	c.last = max(c.last, t)
	if window > 0 {
		i := len(c.entries)
		if i > c.head && c.entries[i-1].t > t { // an out-of-order clock: keep sorted
			live := c.entries[c.head:]
			i = c.head + sort.Search(len(live), func(j int) bool { return live[j].t > t })
		}
		c.entries = append(c.entries, entry{})
		copy(c.entries[i+1:], c.entries[i:])
		c.entries[i] = entry{t: t, n: n}
	}
	return c.total, true, nil
}

// prune drops the entries at or before cutoff. Dropped entries are skipped by
// moving head and compacted away only once they are half the slice, so a full
// sliding window costs O(1) amortised per call.
func (c *counter) prune(cutoff int64) {
	i := c.head
	for i < len(c.entries) && c.entries[i].t <= cutoff {
		c.total -= c.entries[i].n
		i++
	}
	c.head = i
	if c.head == len(c.entries) {
		c.entries, c.head = c.entries[:0], 0
	} else if c.head > 32 && c.head*2 > len(c.entries) {
		n := copy(c.entries, c.entries[c.head:])
		c.entries, c.head = c.entries[:n], 0
	}
}

// maybeSweep drops windowed counters that are empty and expired keys, every
// sweepEvery writes, so that a store fed many distinct keys does not grow without
// bound. tc is the counters' clock, clock the KV/Set clock.
func (s *memShard) maybeSweep(every int, tc int64, clock func() time.Time) {
	s.ops++
	if s.ops < every {
		return
	}
	s.ops = 0
	tk := clock().UnixNano()
	for k, c := range s.counters {
		if c.window > 0 && tc-c.last > int64(c.window) {
			delete(s.counters, k)
		}
	}
	for k, e := range s.kv {
		if e.expires != 0 && e.expires <= tk {
			delete(s.kv, k)
		}
	}
	for k, e := range s.sets {
		if e.expires != 0 && e.expires <= tk {
			delete(s.sets, k)
		}
	}
}

func expiry(now int64, ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	return now + int64(ttl)
}

// Get implements [KV].
func (m *Memory) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := checkKey(key, 0); err != nil {
		return nil, false, err
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	now := m.now().UnixNano()
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.kv[key]
	if !ok || (e.expires != 0 && e.expires <= now) {
		return nil, false, nil
	}
	return bytes.Clone(e.val), true, nil
}

// PutIfAbsent implements [KV].
func (m *Memory) PutIfAbsent(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	if err := checkKey(key, ttl); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := m.now().UnixNano()
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maybeSweep(m.sweep, 0, m.now)
	if e, ok := s.kv[key]; ok && (e.expires == 0 || e.expires > now) {
		return false, nil
	}
	s.kv[key] = kvEntry{val: bytes.Clone(val), expires: expiry(now, ttl)}
	return true, nil
}

// CompareAndSwap implements [KV].
func (m *Memory) CompareAndSwap(ctx context.Context, key string, old, val []byte, ttl time.Duration) (bool, error) {
	if err := checkKey(key, ttl); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := m.now().UnixNano()
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.kv[key]
	if !ok || (e.expires != 0 && e.expires <= now) || !bytes.Equal(e.val, old) {
		return false, nil
	}
	exp := e.expires
	if ttl > 0 {
		exp = expiry(now, ttl)
	}
	s.kv[key] = kvEntry{val: bytes.Clone(val), expires: exp}
	return true, nil
}

// Delete implements [KV].
func (m *Memory) Delete(ctx context.Context, key string) error {
	if err := checkKey(key, 0); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.kv, key)
	return nil
}

// AddMembers implements [Set].
func (m *Memory) AddMembers(ctx context.Context, key string, ttl time.Duration, members ...string) error {
	if err := checkKey(key, ttl); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := m.now().UnixNano()
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maybeSweep(m.sweep, 0, m.now)
	e := s.sets[key]
	if e == nil || (e.expires != 0 && e.expires <= now) {
		e = &setEntry{m: make(map[string]struct{}, len(members))}
		s.sets[key] = e
	}
	for _, v := range members {
		e.m[v] = struct{}{}
	}
	e.expires = expiry(now, ttl)
	return nil
}

func (s *memShard) liveSet(key string, now int64) *setEntry {
	e := s.sets[key]
	if e == nil || (e.expires != 0 && e.expires <= now) {
		return nil
	}
	return e
}

// Members implements [Set].
func (m *Memory) Members(ctx context.Context, key string) ([]string, error) {
	if err := checkKey(key, 0); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := m.now().UnixNano()
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.liveSet(key, now)
	if e == nil {
		return nil, nil
	}
	out := make([]string, 0, len(e.m))
	for v := range e.m {
		out = append(out, v)
	}
	return out, nil
}

// ContainsAny implements [Set].
func (m *Memory) ContainsAny(ctx context.Context, key string, members ...string) (bool, error) {
	if err := checkKey(key, 0); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := m.now().UnixNano()
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.liveSet(key, now)
	if e == nil {
		return false, nil
	}
	for _, v := range members {
		if _, ok := e.m[v]; ok {
			return true, nil
		}
	}
	return false, nil
}
