package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/scope/state"
)

// State is where a parked call stands.
type State string

// The states of a [Ticket]. pending moves once, to approved, denied or expired;
// approved moves once, to consumed (the retry ran) or expired.
const (
	StatePending  State = "pending"
	StateApproved State = "approved"
	StateDenied   State = "denied"
	StateConsumed State = "consumed"
	StateExpired  State = "expired"
)

// Ticket is a parked call and its decision.
type Ticket struct {
	Request
	State State `json:"state"`
	// Expires is when the current state lapses: the deadline for a decision
	// while pending, for the retry once approved, and how long a refusal is
	// remembered once denied.
	Expires time.Time `json:"expires"`
	// Reason is the operator's reason for a refusal.
	Reason string `json:"reason,omitempty"`
	// Fingerprint identifies the call: session, principal, tool and canonical
	// arguments.
	Fingerprint string `json:"fp"`
}

// Errors from [Queue.Approve] and [Queue.Deny].
var (
	ErrNotFound = errors.New("approval: no such request")
	ErrDecided  = errors.New("approval: request already decided")
	ErrExpired  = errors.New("approval: request expired")
)

// QueueConfig configures a [Queue].
type QueueConfig struct {
	// Store keeps the tickets. Nil means a new in-process [state.Memory]; give a
	// [state.Redis] so that any replica can park, decide and release a call.
	Store state.KV
	// PendingFor is how long a parked call waits for a decision (default 15
	// minutes); it is also how long a refusal is remembered.
	PendingFor time.Duration
	// GrantFor is how long an approval may be used by the retry (default 10
	// minutes).
	GrantFor time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Notify, if set, is called once for each newly parked call, for example to
	// page an operator. It must not block; it runs on the call path.
	Notify func(ctx context.Context, r Request)
}

// Queue is the asynchronous [Approver]. A call that needs approval is parked: it
// does not run, and the model is told it awaits approval (a [*guard.DenialError]
// with Pending set and ApprovalID, matching [guard.ErrPending]). An operator later
// calls [Queue.Approve] or [Queue.Deny] with the ID, from any replica.
//
// Release semantics: the call is not run by the queue. After approval, the next
// retry of the same call (same session, principal, tool and canonical arguments)
// runs, once: the approval is consumed atomically, so of concurrent retries exactly
// one runs and any later retry is parked again as a new request. A retry with
// different arguments is a different call and needs its own approval. Retries
// while pending get the same ID. After a refusal, retries are refused until
// PendingFor has passed. An approval not used within GrantFor, and a request not
// decided within PendingFor, expire: the retry that finds it is denied with rule
// "approval.expired" and the one after that parks a new request.
type Queue struct {
	store      state.KV
	pendingFor time.Duration
	grantFor   time.Duration
	now        func() time.Time
	notify     func(context.Context, Request)
}

var _ Approver = (*Queue)(nil)

// gcGrace is how long the store keeps a ticket after it lapses, so that a late
// retry is told "expired" rather than parked anew at once.
const gcGrace = time.Hour

// NewQueue validates cfg and returns its Queue.
func NewQueue(cfg QueueConfig) (*Queue, error) {
	if cfg.PendingFor < 0 || cfg.GrantFor < 0 {
		return nil, errors.New("approval: negative duration")
	}
	q := &Queue{store: cfg.Store, pendingFor: cfg.PendingFor, grantFor: cfg.GrantFor, now: cfg.Now, notify: cfg.Notify}
	if q.store == nil {
		q.store = state.NewMemory()
	}
	if q.pendingFor == 0 {
		q.pendingFor = 15 * time.Minute
	}
	if q.grantFor == 0 {
		q.grantFor = 10 * time.Minute
	}
	if q.now == nil {
		q.now = time.Now
	}
	return q, nil
}

func ticketKey(id string) string { return state.Key("approval", "id", id) }
func indexKey(fp string) string  { return state.Key("approval", "fp", fp) }

// tombstone marks an index whose ticket was used up, so the next call parks anew.
var tombstone = []byte("-")

func (q *Queue) indexTTL() time.Duration { return q.pendingFor + q.grantFor + gcGrace }

// fingerprint identifies a call for release: a retry must match it exactly.
func fingerprint(c *guard.Call) (string, error) {
	args := c.Args
	if len(args) == 0 {
		args = json.RawMessage("null")
	}
	canon, err := state.CanonicalJSON(args)
	if err != nil {
		return "", err
	}
	return state.Digest([]byte(state.Key(c.SessionID, c.Principal.Subject, c.Principal.Role, c.Tool, string(canon)))), nil
}

func pending(id string) error {
	return &guard.DenialError{Rule: "approval.pending", Reason: "parked awaiting human approval", Pending: true, ApprovalID: id}
}

// Review implements [Approver]: it releases an approved call once, parks a new
// one, and denies a refused or expired one.
func (q *Queue) Review(ctx context.Context, c *guard.Call) error {
	if c == nil {
		return guard.Deny("approval.call", "nil call")
	}
	fp, err := fingerprint(c)
	if err != nil {
		return guard.Deny("approval.args", "arguments cannot be identified for approval: "+err.Error())
	}
	ik := indexKey(fp)
	for range 8 { // each retry follows a lost race; the loop is bounded
		idx, ok, err := q.store.Get(ctx, ik)
		if err != nil {
			return fmt.Errorf("approval: %w", err)
		}
		if !ok || string(idx) == string(tombstone) {
			var old []byte
			if ok {
				old = idx
			}
			id, won, err := q.park(ctx, c, fp, ik, old)
			if err != nil {
				return err
			}
			if won {
				return pending(id)
			}
			continue
		}
		id := string(idx)
		raw, ok, err := q.store.Get(ctx, ticketKey(id))
		if err != nil {
			return fmt.Errorf("approval: %w", err)
		}
		var t Ticket
		if !ok || json.Unmarshal(raw, &t) != nil || t.Fingerprint != fp {
			// The ticket is gone (or is not this call's): park anew; the next
			// round returns whichever ticket the index names.
			if _, _, err := q.park(ctx, c, fp, ik, idx); err != nil {
				return err
			}
			continue
		}
		now := q.now()
		lapsed := !now.Before(t.Expires)
		switch {
		case t.State == StatePending && !lapsed:
			return pending(id)
		case (t.State == StatePending || t.State == StateApproved) && lapsed:
			if q.transition(ctx, id, raw, t, StateExpired, now, "") {
				_, _ = q.store.CompareAndSwap(ctx, ik, idx, tombstone, 0)
				return guard.Deny("approval.expired", fmt.Sprintf("approval request %s expired", id))
			}
			continue
		case t.State == StateApproved:
			if q.transition(ctx, id, raw, t, StateConsumed, now, "") {
				_, _ = q.store.CompareAndSwap(ctx, ik, idx, tombstone, 0)
				return nil
			}
			continue
		case t.State == StateExpired:
			// Expired by a late Approve or Deny: this retry learns it, the next parks anew.
			if ok, err := q.store.CompareAndSwap(ctx, ik, idx, tombstone, 0); err != nil {
				return fmt.Errorf("approval: %w", err)
			} else if ok {
				return guard.Deny("approval.expired", fmt.Sprintf("approval request %s expired", id))
			}
			continue
		case t.State == StateDenied && !lapsed:
			return guard.Deny("approval.denied", fmt.Sprintf("request %s refused by an operator", id))
		default: // consumed, expired, or a refusal no longer remembered
			if _, _, err := q.park(ctx, c, fp, ik, idx); err != nil {
				return err
			}
			continue
		}
	}
	return errors.New("approval: too much contention on one call; denying")
}

// park creates a pending ticket and points the index at it: with PutIfAbsent when
// there is no index (old == nil), else with a swap from old. won reports whether
// this call's ticket is the one the index now names.
func (q *Queue) park(ctx context.Context, c *guard.Call, fp, ik string, old []byte) (string, bool, error) {
	id, err := newID()
	if err != nil {
		return "", false, err
	}
	now := q.now()
	t := Ticket{Request: newRequest(id, c, now), State: StatePending, Expires: now.Add(q.pendingFor), Fingerprint: fp}
	raw, err := json.Marshal(t)
	if err != nil {
		return "", false, fmt.Errorf("approval: %w", err)
	}
	if ok, err := q.store.PutIfAbsent(ctx, ticketKey(id), raw, q.pendingFor+q.grantFor+gcGrace); err != nil || !ok {
		return "", false, fmt.Errorf("approval: storing request: %w", errors.Join(err, errIf(!ok, "id collision")))
	}
	var won bool
	if old == nil {
		won, err = q.store.PutIfAbsent(ctx, ik, []byte(id), q.indexTTL())
	} else {
		won, err = q.store.CompareAndSwap(ctx, ik, old, []byte(id), q.indexTTL())
	}
	if err != nil || !won {
		_ = q.store.Delete(context.WithoutCancel(ctx), ticketKey(id))
		if err != nil {
			return "", false, fmt.Errorf("approval: %w", err)
		}
		return "", false, nil
	}
	if q.notify != nil {
		q.notify(ctx, t.Request)
	}
	return id, true, nil
}

func errIf(cond bool, msg string) error {
	if cond {
		return errors.New(msg)
	}
	return nil
}

// transition swaps the ticket from its current bytes to the new state and reports
// whether this caller made the change.
func (q *Queue) transition(ctx context.Context, id string, raw []byte, t Ticket, to State, now time.Time, reason string) bool {
	t.State = to
	t.Reason = reason
	ttl := gcGrace
	switch to {
	case StateApproved:
		t.Expires = now.Add(q.grantFor)
		ttl += q.grantFor
	case StateDenied:
		t.Expires = now.Add(q.pendingFor)
		ttl += q.pendingFor
	}
	nb, err := json.Marshal(t)
	if err != nil {
		return false
	}
	ok, err := q.store.CompareAndSwap(ctx, ticketKey(id), raw, nb, ttl)
	return err == nil && ok
}

// Approve approves the pending request id; the next retry of the call runs, once.
// It fails with [ErrNotFound], [ErrDecided] (including when a concurrent Approve or
// Deny won) or [ErrExpired].
func (q *Queue) Approve(ctx context.Context, id string) error {
	return q.decide(ctx, id, StateApproved, "")
}

// Deny refuses the pending request id with a reason for the audit trail (never
// shown to the model). Errors as for [Queue.Approve].
func (q *Queue) Deny(ctx context.Context, id, reason string) error {
	return q.decide(ctx, id, StateDenied, reason)
}

func (q *Queue) decide(ctx context.Context, id string, to State, reason string) error {
	if id == "" {
		return ErrNotFound
	}
	raw, ok, err := q.store.Get(ctx, ticketKey(id))
	if err != nil {
		return fmt.Errorf("approval: %w", err)
	}
	var t Ticket
	if !ok || json.Unmarshal(raw, &t) != nil || t.ID != id {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	now := q.now()
	if t.State != StatePending {
		if t.State == StateExpired {
			return fmt.Errorf("%w: %s", ErrExpired, id)
		}
		return fmt.Errorf("%w: %s is %s", ErrDecided, id, t.State)
	}
	if !now.Before(t.Expires) {
		q.transition(ctx, id, raw, t, StateExpired, now, "")
		return fmt.Errorf("%w: %s", ErrExpired, id)
	}
	if !q.transition(ctx, id, raw, t, to, now, reason) {
		return fmt.Errorf("%w: %s (concurrently)", ErrDecided, id)
	}
	// Keep the index alive as long as the decision.
	_, _ = q.store.CompareAndSwap(ctx, indexKey(t.Fingerprint), []byte(id), []byte(id), q.indexTTL())
	return nil
}

// Get returns the ticket id, for an operator's view of what is being approved.
func (q *Queue) Get(ctx context.Context, id string) (Ticket, error) {
	if id == "" {
		return Ticket{}, ErrNotFound
	}
	raw, ok, err := q.store.Get(ctx, ticketKey(id))
	if err != nil {
		return Ticket{}, fmt.Errorf("approval: %w", err)
	}
	var t Ticket
	if !ok || json.Unmarshal(raw, &t) != nil {
		return Ticket{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return t, nil
}
