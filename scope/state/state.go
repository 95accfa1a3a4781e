package state

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Counter keeps atomic running totals, each over a sliding time window. Budgets
// (call counts, summed arguments, loop detection) are built on it.
//
// Implementations must be safe for concurrent use, and across processes when the
// store is shared: the check and the update of one Add are a single atomic step,
// never a read followed by a write.
type Counter interface {
	// Add adds n to the total kept under key and reports whether the new total is
	// within limit. The total counts what was added in the window (now-window, now];
	// a window of 0 means for as long as the store keeps the key.
	//
	// When n > 0 and total+n would exceed limit, nothing is recorded, ok is false
	// and total is the current total. A negative n (a refund of an earlier Add with
	// the same now and window) is always recorded. now is the caller's clock, so
	// that replicas and tests agree on one notion of time.
	Add(ctx context.Context, key string, n, limit int64, window time.Duration, now time.Time) (total int64, ok bool, err error)
}

// KV is a small key/value store with atomic conditional writes, for parked
// approvals and tool-definition pins. Values are opaque bytes.
//
// A ttl of 0 passed to PutIfAbsent stores the value without expiry; a ttl of 0
// passed to CompareAndSwap keeps the key's current expiry.
type KV interface {
	// Get returns the value under key; ok is false when there is none.
	Get(ctx context.Context, key string) (val []byte, ok bool, err error)
	// PutIfAbsent stores val under key only if the key holds no value, and reports
	// whether it did.
	PutIfAbsent(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error)
	// CompareAndSwap replaces the value under key with val only if it currently
	// equals old (byte for byte), and reports whether it did.
	CompareAndSwap(ctx context.Context, key string, old, val []byte, ttl time.Duration) (bool, error)
	// Delete removes key. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// Set keeps sets of strings, for example the flow labels a session has taken in or
// the fingerprints of secret data it has seen.
type Set interface {
	// AddMembers adds members to the set under key and sets the key to expire ttl
	// after this write (0: no expiry).
	AddMembers(ctx context.Context, key string, ttl time.Duration, members ...string) error
	// Members returns the members of the set, in no particular order.
	Members(ctx context.Context, key string) ([]string, error)
	// ContainsAny reports whether any of members is in the set.
	ContainsAny(ctx context.Context, key string, members ...string) (bool, error)
}

// Store is everything the control packages need from shared state. [Memory] and
// [Redis] implement it.
type Store interface {
	Counter
	KV
	Set
}

// ErrInvalid is returned for an argument a store cannot accept (an empty key, a
// negative window or ttl, a limit below zero).
var ErrInvalid = errors.New("state: invalid argument")

func checkAdd(key string, limit int64, window time.Duration) error {
	switch {
	case key == "":
		return errors.Join(ErrInvalid, errors.New("empty key"))
	case limit < 0:
		return errors.Join(ErrInvalid, errors.New("negative limit"))
	case window < 0:
		return errors.Join(ErrInvalid, errors.New("negative window"))
	}
	return nil
}

func checkKey(key string, ttl time.Duration) error {
	switch {
	case key == "":
		return errors.Join(ErrInvalid, errors.New("empty key"))
	case ttl < 0:
		return errors.Join(ErrInvalid, errors.New("negative ttl"))
	}
	return nil
}

// Key joins parts into one store key that no other list of parts produces: each
// part is written with its length, so attacker-chosen parts (a session ID, a
// subject) cannot forge another key by containing a separator.
//
//	Key("budget", "a:b", "c") != Key("budget", "a", "b:c")
func Key(parts ...string) string {
	n := 0
	for _, p := range parts {
		n += len(p) + 4
	}
	var b strings.Builder
	b.Grow(n)
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString(strconv.Itoa(len(p)))
		b.WriteByte(':')
		b.WriteString(p)
	}
	return b.String()
}

// Digest returns a short, fixed-length digest of s for use inside keys, so that
// long attacker-controlled values (arguments) do not make keys long.
func Digest(s []byte) string {
	sum := sha256.Sum256(s)
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}
