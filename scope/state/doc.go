// Package state holds the shared state of agentguard's control stages behind
// three small interfaces: [Counter] (atomic add-with-limit over a sliding window,
// for budgets and rate limits), [KV] (get, put-if-absent and compare-and-swap, for
// parked approvals and tool-definition pins) and [Set] (per-session label sets and
// fingerprints, for flow rules). [Store] is all three.
//
// Two implementations: [Memory], the in-process default, and [Redis], which lets
// many replicas of an agent service enforce one policy. [Key] builds collision-free
// keys from attacker-influenced parts, and [CanonicalJSON] gives the canonical
// form of tool arguments used to recognise "the same call". Package statetest is
// a conformance suite for other implementations; redistest starts a throw-away
// redis-server for tests.
//
// # Security model
//
// Every update that checks before it writes is a single atomic step: a mutex in
// [Memory], one Lua script (EVALSHA, loaded on first use) or one SET NX in
// [Redis]. There is no read-modify-write across a network round trip, so 1,000
// concurrent calls against a budget of 100 admit exactly 100 whether they arrive at
// one replica or at several. Each operation touches one key, so Redis Cluster
// works. Store errors are returned, never turned into "allowed": the callers in
// budget, approval and flow deny on error.
//
// Keys are built with [Key], which length-prefixes every part, so a session ID or
// subject containing a separator cannot alias another principal's key.
// [CanonicalJSON] refuses keys that are equal ignoring case (encoding/json
// matches struct fields case-insensitively and keeps the last duplicate, other
// parsers keep the first), so an approval or loop check cannot be made to judge
// different arguments from the ones the tool reads.
//
// # Limitations
//
// Windows are sliding logs: a windowed counter keeps one entry per admitted add
// until it leaves the window, so memory is proportional to the calls admitted per
// window (bounded by the limit for call counts). Time is the caller's clock (the
// time passed to Add): replicas with skewed clocks disagree by their skew at
// window edges. Redis keeps windows at millisecond resolution and totals in Lua
// doubles, exact below 2^53. Redis expiry of keys (garbage collection) follows the
// server's clock. [Memory] sweeps idle keys every few thousand writes per shard, so
// an idle key may linger until then; lifetime counters (window 0) are never swept.
// The Redis store needs Redis 7 (KEEPTTL, SMISMEMBER, script effects replication).
//
// The Redis server is trusted: anyone who can write to it can reset a budget,
// approve a parked call or clear a session's taint. Run it on a private network
// with authentication (and TLS across hosts), give agentguard a key prefix of its
// own, and do not share the database with tenants you do not trust. A Redis that
// loses data (a restart without persistence, a failover before replication)
// forgets budgets, approvals and taint: counters restart at zero.
package state
