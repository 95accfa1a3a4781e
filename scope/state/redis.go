package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a [Store] in Redis (7.0 or later), shared by every replica that uses
// the same server and prefix. Every update is one Lua script run with EVALSHA
// (falling back to EVAL once per server to load it), so a check and its write are
// one atomic step on the server: two replicas can never both take the last unit
// of a budget.
//
// Each operation touches one key, or two keys with a common hash tag, so the
// store also works on Redis Cluster.
type Redis struct {
	c      redis.UniversalClient
	prefix string
}

var _ Store = (*Redis)(nil)

// NewRedis returns a store that keeps its keys in c under prefix (for example
// "agentguard:"). A nil client is an error. The client's lifetime is the caller's:
// Redis never closes it.
func NewRedis(c redis.UniversalClient, prefix string) (*Redis, error) {
	if c == nil {
		return nil, errors.New("state: nil redis client")
	}
	return &Redis{c: c, prefix: prefix}, nil
}

// A lifetime counter (window 0) is a plain integer. A windowed counter is two
// keys in one hash slot: a sorted set of entries "<n>:<unique id>" scored by their
// time in milliseconds, and the running total of the live entries, so each call
// touches only the entries leaving the window, not the whole log. Lua numbers are
// doubles: totals and limits must stay below 2^53, and numbers are passed back to
// Redis formatted as integers.
var addScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
if window == 0 then
  local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
  if n > 0 and cur + n > limit then return {0, cur} end
  return {1, redis.call('INCRBY', KEYS[1], ARGV[3])}
end
local z, tk = KEYS[1], KEYS[2]
local cutoff = now - window
local function amount(m) return tonumber(string.match(m, '^(-?%d+):')) end
local total
local tv = redis.call('GET', tk)
if tv then
  total = tonumber(tv)
  local gone = 0
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', z, '-inf', cutoff)) do gone = gone + amount(m) end
  if gone ~= 0 then total = tonumber(redis.call('DECRBY', tk, string.format('%.0f', gone))) end
  redis.call('ZREMRANGEBYSCORE', z, '-inf', cutoff)
else
  -- no total (first use, or lost): rebuild it from the log
  redis.call('ZREMRANGEBYSCORE', z, '-inf', cutoff)
  total = 0
  for _, m in ipairs(redis.call('ZRANGE', z, 0, -1)) do total = total + amount(m) end
  redis.call('SET', tk, string.format('%.0f', total))
end
local ttl = window + 60000
if n > 0 and total + n > limit then
  redis.call('PEXPIRE', tk, ttl)
  return {0, total}
end
redis.call('ZADD', z, now, ARGV[3] .. ':' .. ARGV[5])
total = tonumber(redis.call('INCRBY', tk, ARGV[3]))
redis.call('PEXPIRE', z, ttl)
redis.call('PEXPIRE', tk, ttl)
return {1, total}
`)

// MaxExact is the largest limit or amount [Redis.Add] accepts: its scripts
// compute in Lua doubles, exact up to 2^53.
const MaxExact = 1<<53 - 1

// Add implements [Counter]. Windows are kept at millisecond resolution. Limits and
// amounts past [MaxExact] are an error.
func (r *Redis) Add(ctx context.Context, key string, n, limit int64, window time.Duration, now time.Time) (int64, bool, error) {
	if err := checkAdd(key, limit, window); err != nil {
		return 0, false, err
	}
	if limit > MaxExact || n > MaxExact || n < -MaxExact {
		return 0, false, errors.Join(ErrInvalid, errors.New("amount or limit past 2^53-1"))
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	w := window.Milliseconds()
	if window > 0 && w == 0 {
		w = 1
	}
	// The hash tag puts the log and its total in one Redis Cluster slot: both
	// names start with "{" + k, so their first "}" is at the same place.
	k := r.prefix + key
	keys := []string{k}
	if window > 0 {
		keys = []string{"{" + k + "}:log", "{" + k + "}:total"}
	}
	res, err := addScript.Run(ctx, r.c, keys,
		now.UnixMilli(), w, n, limit, hex.EncodeToString(id[:])).Int64Slice()
	if err != nil {
		return 0, false, fmt.Errorf("state: redis add: %w", err)
	}
	if len(res) != 2 {
		return 0, false, fmt.Errorf("state: redis add: unexpected reply %v", res)
	}
	return res[1], res[0] == 1, nil
}

// Get implements [KV].
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := checkKey(key, 0); err != nil {
		return nil, false, err
	}
	b, err := r.c.Get(ctx, r.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("state: redis get: %w", err)
	}
	return b, true, nil
}

// PutIfAbsent implements [KV] with SET NX.
func (r *Redis) PutIfAbsent(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	if err := checkKey(key, ttl); err != nil {
		return false, err
	}
	ok, err := r.c.SetNX(ctx, r.prefix+key, val, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("state: redis put: %w", err)
	}
	return ok, nil
}

var casScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
end
return 1
`)

// CompareAndSwap implements [KV] with a script, so the comparison and the write
// are one step.
func (r *Redis) CompareAndSwap(ctx context.Context, key string, old, val []byte, ttl time.Duration) (bool, error) {
	if err := checkKey(key, ttl); err != nil {
		return false, err
	}
	ms := ttl.Milliseconds()
	if ttl > 0 && ms == 0 {
		ms = 1
	}
	n, err := casScript.Run(ctx, r.c, []string{r.prefix + key}, old, val, ms).Int()
	if err != nil {
		return false, fmt.Errorf("state: redis compare-and-swap: %w", err)
	}
	return n == 1, nil
}

// Delete implements [KV].
func (r *Redis) Delete(ctx context.Context, key string) error {
	if err := checkKey(key, 0); err != nil {
		return err
	}
	if err := r.c.Del(ctx, r.prefix+key).Err(); err != nil {
		return fmt.Errorf("state: redis delete: %w", err)
	}
	return nil
}

var addMembersScript = redis.NewScript(`
for i = 2, #ARGV do redis.call('SADD', KEYS[1], ARGV[i]) end
local ttl = tonumber(ARGV[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
return 1
`)

// AddMembers implements [Set]; the members and the expiry are written in one step.
func (r *Redis) AddMembers(ctx context.Context, key string, ttl time.Duration, members ...string) error {
	if err := checkKey(key, ttl); err != nil {
		return err
	}
	if len(members) == 0 {
		return nil
	}
	ms := ttl.Milliseconds()
	if ttl > 0 && ms == 0 {
		ms = 1
	}
	// Large sets are written in chunks to bound the script's argument list; each
	// chunk is atomic and a failure is reported, so a partial write only ever
	// records less taint, and the caller fails closed on the error.
	const chunk = 1024
	for len(members) > 0 {
		k := min(chunk, len(members))
		args := make([]any, 0, k+1)
		args = append(args, strconv.FormatInt(ms, 10))
		for _, m := range members[:k] {
			args = append(args, m)
		}
		if err := addMembersScript.Run(ctx, r.c, []string{r.prefix + key}, args...).Err(); err != nil {
			return fmt.Errorf("state: redis add members: %w", err)
		}
		members = members[k:]
	}
	return nil
}

// Members implements [Set].
func (r *Redis) Members(ctx context.Context, key string) ([]string, error) {
	if err := checkKey(key, 0); err != nil {
		return nil, err
	}
	m, err := r.c.SMembers(ctx, r.prefix+key).Result()
	if err != nil {
		return nil, fmt.Errorf("state: redis members: %w", err)
	}
	return m, nil
}

// ContainsAny implements [Set] with SMISMEMBER.
func (r *Redis) ContainsAny(ctx context.Context, key string, members ...string) (bool, error) {
	if err := checkKey(key, 0); err != nil {
		return false, err
	}
	if len(members) == 0 {
		return false, nil
	}
	args := make([]any, len(members))
	for i, m := range members {
		args[i] = m
	}
	res, err := r.c.SMIsMember(ctx, r.prefix+key, args...).Result()
	if err != nil {
		return false, fmt.Errorf("state: redis contains: %w", err)
	}
	for _, ok := range res {
		if ok {
			return true, nil
		}
	}
	return false, nil
}
