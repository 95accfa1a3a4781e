package approval_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/scope/approval"
	"github.com/agentguard/agentguard/scope/state"
	"github.com/agentguard/agentguard/scope/state/redistest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func refund(args string) *guard.Call {
	return &guard.Call{ID: "c", Tool: "refund_order", Args: json.RawMessage(args), SessionID: "s1",
		Principal: guard.Principal{Subject: "alice", Role: "support"}}
}

func pendingID(t *testing.T, err error) string {
	t.Helper()
	var d *guard.DenialError
	if !errors.Is(err, guard.ErrPending) || !errors.Is(err, guard.ErrDenied) || !errors.As(err, &d) || d.ApprovalID == "" {
		t.Fatalf("err = %v; want a pending denial with an id", err)
	}
	return d.ApprovalID
}

func wantRule(t *testing.T, err error, rule string) {
	t.Helper()
	var d *guard.DenialError
	if !errors.As(err, &d) || d.Rule != rule || errors.Is(err, guard.ErrPending) {
		t.Fatalf("err = %v; want a denial with rule %q", err, rule)
	}
}

type queueMaker func(t *testing.T, clk *clock) (a, b *approval.Queue)

func queues() map[string]queueMaker {
	return map[string]queueMaker{
		"memory": func(t *testing.T, clk *clock) (*approval.Queue, *approval.Queue) {
			s := state.NewMemory()
			return newQueue(t, s, clk), newQueue(t, s, clk)
		},
		"redis": func(t *testing.T, clk *clock) (*approval.Queue, *approval.Queue) {
			srv := redistest.Start(t)
			a, _ := state.NewRedis(srv.Client(t), "apr:")
			b, _ := state.NewRedis(srv.Client(t), "apr:")
			return newQueue(t, a, clk), newQueue(t, b, clk)
		},
	}
}

func newQueue(t *testing.T, s state.KV, clk *clock) *approval.Queue {
	q, err := approval.NewQueue(approval.QueueConfig{Store: s, Now: clk.Now, PendingFor: time.Hour, GrantFor: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestQueueLifecycle(t *testing.T) {
	for name, mk := range queues() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			t.Run("approve releases one retry", func(t *testing.T) {
				clk := &clock{t: time.Unix(1_700_000_000, 0)}
				a, b := mk(t, clk) // a is the agent replica, b the operator's
				id := pendingID(t, a.Review(ctx, refund(`{"order":"o1","amount":10}`)))
				if again := pendingID(t, a.Review(ctx, refund(`{"amount":10, "order":"o1"}`))); again != id {
					t.Fatalf("retry while pending got id %s; want %s", again, id)
				}
				tk, err := b.Get(ctx, id)
				if err != nil || tk.State != approval.StatePending || tk.Tool != "refund_order" || string(tk.Args) != `{"order":"o1","amount":10}` {
					t.Fatalf("Get = %+v, %v", tk, err)
				}
				if err := b.Approve(ctx, id); err != nil {
					t.Fatal(err)
				}
				if err := b.Approve(ctx, id); !errors.Is(err, approval.ErrDecided) {
					t.Fatalf("second Approve = %v; want ErrDecided", err)
				}
				// Another call is not released by this approval.
				for _, c := range []*guard.Call{
					refund(`{"order":"o1","amount":10000}`),
					func() *guard.Call { c := refund(`{"order":"o1","amount":10}`); c.SessionID = "s2"; return c }(),
					func() *guard.Call {
						c := refund(`{"order":"o1","amount":10}`)
						c.Principal.Subject = "mallory"
						return c
					}(),
					func() *guard.Call { c := refund(`{"order":"o1","amount":10}`); c.Tool = "delete_account"; return c }(),
				} {
					if other := pendingID(t, a.Review(ctx, c)); other == id {
						t.Fatalf("a different call (%s %s) shares the approved id", c.Tool, c.Args)
					}
				}
				if err := a.Review(ctx, refund(`{"order":"o1","amount":10}`)); err != nil {
					t.Fatalf("approved retry: %v", err)
				}
				again := pendingID(t, a.Review(ctx, refund(`{"order":"o1","amount":10}`)))
				if again == id {
					t.Fatal("an approval was used twice")
				}
				if tk, _ := b.Get(ctx, id); tk.State != approval.StateConsumed {
					t.Fatalf("state after use = %s", tk.State)
				}
			})
			t.Run("deny refuses retries until forgotten", func(t *testing.T) {
				clk := &clock{t: time.Unix(1_700_000_000, 0)}
				a, b := mk(t, clk)
				id := pendingID(t, a.Review(ctx, refund(`{"amount":5}`)))
				if err := b.Deny(ctx, id, "not this customer"); err != nil {
					t.Fatal(err)
				}
				if err := b.Approve(ctx, id); !errors.Is(err, approval.ErrDecided) {
					t.Fatalf("Approve after Deny = %v", err)
				}
				wantRule(t, a.Review(ctx, refund(`{"amount":5}`)), "approval.denied")
				clk.Advance(time.Hour)
				if next := pendingID(t, a.Review(ctx, refund(`{"amount":5}`))); next == id {
					t.Fatal("a forgotten refusal was not parked anew")
				}
			})
			t.Run("undecided request expires", func(t *testing.T) {
				clk := &clock{t: time.Unix(1_700_000_000, 0)}
				a, b := mk(t, clk)
				id := pendingID(t, a.Review(ctx, refund(`{"amount":5}`)))
				clk.Advance(time.Hour)
				if err := b.Approve(ctx, id); !errors.Is(err, approval.ErrExpired) {
					t.Fatalf("Approve after expiry = %v; want ErrExpired", err)
				}
				wantRule(t, a.Review(ctx, refund(`{"amount":5}`)), "approval.expired")
				if next := pendingID(t, a.Review(ctx, refund(`{"amount":5}`))); next == id {
					t.Fatal("an expired request was reused")
				}
			})
			t.Run("unused approval expires", func(t *testing.T) {
				clk := &clock{t: time.Unix(1_700_000_000, 0)}
				a, b := mk(t, clk)
				id := pendingID(t, a.Review(ctx, refund(`{"amount":5}`)))
				if err := b.Approve(ctx, id); err != nil {
					t.Fatal(err)
				}
				clk.Advance(10 * time.Minute)
				wantRule(t, a.Review(ctx, refund(`{"amount":5}`)), "approval.expired")
				pendingID(t, a.Review(ctx, refund(`{"amount":5}`)))
			})
			t.Run("unknown id", func(t *testing.T) {
				clk := &clock{t: time.Unix(1_700_000_000, 0)}
				_, b := mk(t, clk)
				for _, id := range []string{"", "apr_nope"} {
					if err := b.Approve(ctx, id); !errors.Is(err, approval.ErrNotFound) {
						t.Fatalf("Approve(%q) = %v", id, err)
					}
				}
			})
		})
	}
}

// TestQueueDecidedOnce: concurrent approves and denies of one request, from two
// replicas, make exactly one decision; concurrent retries after approval run
// exactly once.
func TestQueueDecidedOnce(t *testing.T) {
	for name, mk := range queues() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			clk := &clock{t: time.Unix(1_700_000_000, 0)}
			a, b := mk(t, clk)
			id := pendingID(t, a.Review(ctx, refund(`{"amount":5}`)))
			var approved, denied atomic.Int64
			var wg sync.WaitGroup
			for i := range 100 {
				q := []*approval.Queue{a, b}[i%2]
				wg.Go(func() {
					var err error
					if i%4 < 2 {
						if err = q.Approve(ctx, id); err == nil {
							approved.Add(1)
						}
					} else if err = q.Deny(ctx, id, "no"); err == nil {
						denied.Add(1)
					}
					if err != nil && !errors.Is(err, approval.ErrDecided) {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if approved.Load()+denied.Load() != 1 {
				t.Fatalf("%d approvals and %d refusals succeeded; want exactly one decision", approved.Load(), denied.Load())
			}
			var ran atomic.Int64
			for i := range 50 {
				q := []*approval.Queue{a, b}[i%2]
				wg.Go(func() {
					if q.Review(ctx, refund(`{"amount":5}`)) == nil {
						ran.Add(1)
					}
				})
			}
			wg.Wait()
			want := approved.Load() // 1 when approved, 0 when denied
			if ran.Load() != want {
				t.Fatalf("%d retries ran; want %d", ran.Load(), want)
			}
		})
	}
}

func TestQueueRejectsAmbiguousArgs(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	q := newQueue(t, state.NewMemory(), clk)
	id := pendingID(t, q.Review(ctx, refund(`{"amount":10}`)))
	if err := q.Approve(ctx, id); err != nil {
		t.Fatal(err)
	}
	// A parser that keeps the first key would refund 10000 under the approval for
	// 10; such arguments cannot be approved at all.
	for _, args := range []string{
		`{"amount":10000,"amount":10}`, `{"Amount":10000,"amount":10}`, `{"amount":10`,
		`{"amount":10,"note":"\ud800"}`, "{\"amount\":10,\"note\":\"\xff\"}",
	} {
		wantRule(t, q.Review(ctx, refund(args)), "approval.args")
	}
	if err := q.Review(ctx, refund(`{"amount":10}`)); err != nil {
		t.Fatalf("the approved call: %v", err)
	}
}

func TestQueueNotify(t *testing.T) {
	ctx := context.Background()
	var got []approval.Request
	q, err := approval.NewQueue(approval.QueueConfig{Notify: func(_ context.Context, r approval.Request) { got = append(got, r) }})
	if err != nil {
		t.Fatal(err)
	}
	id := pendingID(t, q.Review(ctx, refund(`{"amount":1}`)))
	pendingID(t, q.Review(ctx, refund(`{"amount":1}`)))
	if len(got) != 1 || got[0].ID != id || got[0].Subject != "alice" {
		t.Fatalf("notified %+v; want one request %s", got, id)
	}
}

func TestCallback(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		answer bool
		err    error
		allow  bool
	}{
		{"approved", true, nil, true},
		{"refused", false, nil, false},
		{"error refuses", true, errors.New("pager down"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cb, err := approval.NewCallback(func(_ context.Context, r approval.Request) (bool, error) {
				if r.Tool != "refund_order" || r.ID == "" {
					t.Errorf("request = %+v", r)
				}
				return tc.answer, tc.err
			})
			if err != nil {
				t.Fatal(err)
			}
			err = cb.Review(ctx, refund(`{}`))
			if (err == nil) != tc.allow {
				t.Fatalf("Review = %v; allow %v", err, tc.allow)
			}
		})
	}
	if _, err := approval.NewCallback(nil); !errors.Is(err, guard.ErrNilPolicy) {
		t.Fatalf("NewCallback(nil) = %v", err)
	}
}

func TestGate(t *testing.T) {
	if _, err := approval.New(approval.Config{Tools: []string{"x"}}); !errors.Is(err, guard.ErrNilPolicy) {
		t.Fatalf("nil approver: %v", err)
	}
	if _, err := approval.New(approval.Config{Approver: approval.ApproverFunc(func(context.Context, *guard.Call) error { return nil })}); err == nil {
		t.Fatal("no tools accepted")
	}
	refuse := approval.ApproverFunc(func(context.Context, *guard.Call) error { return guard.Deny("approval.denied", "no") })
	g, err := approval.New(approval.Config{Tools: []string{"refund_order"}, Approver: refuse})
	if err != nil {
		t.Fatal(err)
	}
	mw, err := g.Middleware()
	if err != nil {
		t.Fatal(err)
	}
	h := mw(guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) { return &guard.Result{Content: "ok"}, nil }))
	ctx := context.Background()
	if _, err := h.Handle(ctx, &guard.Call{Tool: "search"}); err != nil {
		t.Fatalf("ungated tool: %v", err)
	}
	_, err = h.Handle(ctx, refund(`{}`))
	var d *guard.DenialError
	if !errors.As(err, &d) || d.Stage != guard.StageApproval {
		t.Fatalf("gated tool: %v", err)
	}
}

func TestPendingModelMessage(t *testing.T) {
	q, _ := approval.NewQueue(approval.QueueConfig{})
	g, _ := approval.New(approval.Config{Tools: []string{"refund_order"}, Approver: q})
	mw, _ := g.Middleware()
	_, err := mw(guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) {
		t.Fatal("a parked call ran")
		return nil, nil
	})).Handle(context.Background(), refund(`{"amount":1}`))
	id := pendingID(t, err)
	msg := guard.ModelMessage(err)
	if !strings.Contains(msg, "awaiting human approval") || !strings.Contains(msg, id) {
		t.Fatalf("model message %q", msg)
	}
}

type failingKV struct{ state.KV }

func (failingKV) Get(context.Context, string) ([]byte, bool, error) {
	return nil, false, errors.New("store down")
}

func TestQueueStoreErrorDenies(t *testing.T) {
	q, err := approval.NewQueue(approval.QueueConfig{Store: failingKV{}})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := approval.New(approval.Config{Tools: []string{"refund_order"}, Approver: q})
	mw, _ := g.Middleware()
	ran := false
	_, err = mw(guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) {
		ran = true
		return &guard.Result{}, nil
	})).Handle(context.Background(), refund(`{"amount":1}`))
	if ran || !errors.Is(err, guard.ErrDenied) || errors.Is(err, guard.ErrPending) {
		t.Fatalf("ran=%v err=%v; want a plain denial", ran, err)
	}
}

// TestCallbackTimeoutDenies: an operator who never answers does not leave the
// call hanging or let it through.
func TestCallbackTimeoutDenies(t *testing.T) {
	cb, _ := approval.NewCallback(func(ctx context.Context, _ approval.Request) (bool, error) {
		<-ctx.Done()
		return true, nil // a late "yes" after the deadline must not count
	})
	g, _ := approval.New(approval.Config{Tools: []string{"refund_order"}, Approver: cb})
	mw, err := g.Middleware(guard.WithTimeout(20 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	_, err = mw(guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) {
		ran = true
		return &guard.Result{}, nil
	})).Handle(context.Background(), refund(`{}`))
	var d *guard.DenialError
	if ran || !errors.As(err, &d) || d.Rule != "timeout" {
		t.Fatalf("ran=%v err=%v; want a timeout denial", ran, err)
	}
}

func TestCallbackLateAnswerDenies(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cb, _ := approval.NewCallback(func(context.Context, approval.Request) (bool, error) {
		cancel() // the caller gives up while the operator is deciding
		return true, nil
	})
	if err := cb.Review(ctx, refund(`{}`)); err == nil {
		t.Fatal("an approval given after the call was abandoned let it run")
	}
}

// TestQueueConcurrentParkOneRequest: many replicas parking the same call at once
// create one request, and every caller is told its ID.
func TestQueueConcurrentParkOneRequest(t *testing.T) {
	for name, mk := range queues() {
		t.Run(name, func(t *testing.T) {
			clk := &clock{t: time.Unix(1_700_000_000, 0)}
			a, b := mk(t, clk)
			ctx := context.Background()
			var mu sync.Mutex
			ids := map[string]int{}
			var wg sync.WaitGroup
			for i := range 60 {
				q := []*approval.Queue{a, b}[i%2]
				wg.Go(func() {
					err := q.Review(ctx, refund(`{"amount":7}`))
					var d *guard.DenialError
					if !errors.As(err, &d) || !d.Pending {
						t.Errorf("Review = %v; want pending", err)
						return
					}
					mu.Lock()
					ids[d.ApprovalID]++
					mu.Unlock()
				})
			}
			wg.Wait()
			if len(ids) != 1 {
				t.Fatalf("%d distinct requests for one call: %v", len(ids), ids)
			}
		})
	}
}
