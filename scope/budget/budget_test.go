package budget_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/scope/budget"
	"github.com/agentguard/agentguard/scope/state"
	"github.com/agentguard/agentguard/scope/state/redistest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_700_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func call(tool, args string) *guard.Call {
	return &guard.Call{
		ID: "c1", Tool: tool, Args: json.RawMessage(args), SessionID: "s1",
		Principal: guard.Principal{Subject: "alice", Role: "support"},
	}
}

func mustNew(t testing.TB, cfg budget.Config) *budget.Budget {
	t.Helper()
	b, err := budget.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantDenied(t *testing.T, err error, rule string) {
	t.Helper()
	var d *guard.DenialError
	if !errors.As(err, &d) || !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("err = %v; want a denial", err)
	}
	if rule != "" && d.Rule != rule {
		t.Fatalf("rule = %q; want %q (%v)", d.Rule, rule, err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]budget.Config{
		"no limits":              {},
		"empty name":             {Limits: []budget.Limit{{MaxCalls: 1}}},
		"duplicate name":         {Limits: []budget.Limit{{Name: "a", MaxCalls: 1}, {Name: "a", MaxCalls: 2}}},
		"negative calls":         {Limits: []budget.Limit{{Name: "a", MaxCalls: -1}}},
		"calls past 2^53":        {Limits: []budget.Limit{{Name: "a", MaxCalls: 1 << 53}}},
		"negative window":        {Limits: []budget.Limit{{Name: "a", Window: -time.Second}}},
		"unknown kind":           {Limits: []budget.Limit{{Name: "a", Kind: 9}}},
		"unknown per":            {Limits: []budget.Limit{{Name: "a", Per: 64}}},
		"sum without arg":        {Limits: []budget.Limit{{Name: "a", Kind: budget.Sum, MaxSum: 1}}},
		"sum negative":           {Limits: []budget.Limit{{Name: "a", Kind: budget.Sum, Arg: "x", MaxSum: -1}}},
		"sum too large":          {Limits: []budget.Limit{{Name: "a", Kind: budget.Sum, Arg: "x", MaxSum: 1e10}}},
		"sum with MaxCalls":      {Limits: []budget.Limit{{Name: "a", Kind: budget.Sum, Arg: "x", MaxSum: 1, MaxCalls: 3}}},
		"calls with arg":         {Limits: []budget.Limit{{Name: "a", Arg: "x", MaxCalls: 1}}},
		"empty tool in the list": {Limits: []budget.Limit{{Name: "a", Tools: []string{""}, MaxCalls: 1}}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := budget.New(cfg); err == nil {
				t.Fatal("New accepted a bad config")
			}
		})
	}
}

func TestZeroLimitAdmitsNothing(t *testing.T) {
	b := mustNew(t, budget.Config{Limits: []budget.Limit{{Name: "none"}}})
	wantDenied(t, b.Authorize(context.Background(), call("x", `{}`)), "budget.none")
}

func TestCallsPerWindow(t *testing.T) {
	clk := newClock()
	b := mustNew(t, budget.Config{Now: clk.Now, Limits: []budget.Limit{
		{Name: "per-minute", MaxCalls: 3, Window: time.Minute, Per: budget.PerPrincipal},
	}})
	ctx := context.Background()
	for i := range 3 {
		if err := b.Authorize(ctx, call("search", `{}`)); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		clk.Advance(10 * time.Second)
	}
	wantDenied(t, b.Authorize(ctx, call("search", `{}`)), "budget.per-minute")
	other := call("search", `{}`)
	other.Principal.Subject = "bob"
	if err := b.Authorize(ctx, other); err != nil {
		t.Fatalf("another principal shares alice's budget: %v", err)
	}
	clk.Advance(31 * time.Second) // the first call leaves the window
	if err := b.Authorize(ctx, call("search", `{}`)); err != nil {
		t.Fatalf("after the window slid: %v", err)
	}
	wantDenied(t, b.Authorize(ctx, call("search", `{}`)), "budget.per-minute")
}

func TestPerKeys(t *testing.T) {
	for _, tc := range []struct {
		name      string
		per       budget.Per
		change    func(c *guard.Call)
		separates bool
	}{
		{"global shares across subjects", 0, func(c *guard.Call) { c.Principal.Subject = "bob" }, false},
		{"per principal separates subjects", budget.PerPrincipal, func(c *guard.Call) { c.Principal.Subject = "bob" }, true},
		{"per principal shares sessions", budget.PerPrincipal, func(c *guard.Call) { c.SessionID = "s2" }, false},
		{"per session separates sessions", budget.PerSession, func(c *guard.Call) { c.SessionID = "s2" }, true},
		{"per tool separates tools", budget.PerTool, func(c *guard.Call) { c.Tool = "other" }, true},
		{"per tool shares subjects", budget.PerTool, func(c *guard.Call) { c.Principal.Subject = "bob" }, false},
		{"separator in subject cannot alias another key", budget.PerPrincipal | budget.PerSession, func(c *guard.Call) {
			c.Principal.Subject, c.SessionID = "alice|1:s", "1"
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := mustNew(t, budget.Config{Limits: []budget.Limit{{Name: "one", MaxCalls: 1, Per: tc.per}}})
			ctx := context.Background()
			if err := b.Authorize(ctx, call("tool", `{}`)); err != nil {
				t.Fatal(err)
			}
			c := call("tool", `{}`)
			tc.change(c)
			err := b.Authorize(ctx, c)
			if tc.separates && err != nil {
				t.Fatalf("second key was charged to the first's budget: %v", err)
			}
			if !tc.separates {
				wantDenied(t, err, "budget.one")
			}
		})
	}
}

func TestToolsFilter(t *testing.T) {
	b := mustNew(t, budget.Config{Limits: []budget.Limit{{Name: "refunds", Tools: []string{"refund_order"}, MaxCalls: 1}}})
	ctx := context.Background()
	for range 5 {
		if err := b.Authorize(ctx, call("search", `{}`)); err != nil {
			t.Fatalf("a limit for another tool charged search: %v", err)
		}
	}
	if err := b.Authorize(ctx, call("refund_order", `{}`)); err != nil {
		t.Fatal(err)
	}
	wantDenied(t, b.Authorize(ctx, call("refund_order", `{}`)), "budget.refunds")
}

func TestSum(t *testing.T) {
	newB := func() *budget.Budget {
		return mustNew(t, budget.Config{Limits: []budget.Limit{
			{Name: "refund-total", Kind: budget.Sum, Arg: "amount", MaxSum: 100, Window: 24 * time.Hour, Tools: []string{"refund_order"}},
		}})
	}
	ctx := context.Background()
	t.Run("sums up to the limit", func(t *testing.T) {
		b := newB()
		for _, a := range []string{`60`, `39.99`, `0.01`} {
			if err := b.Authorize(ctx, call("refund_order", `{"order":"o1","amount":`+a+`}`)); err != nil {
				t.Fatalf("amount %s: %v", a, err)
			}
		}
		wantDenied(t, b.Authorize(ctx, call("refund_order", `{"amount":0.000001}`)), "budget.refund-total")
		if err := b.Authorize(ctx, call("refund_order", `{"amount":0}`)); err != nil {
			t.Fatalf("a zero amount at the limit: %v", err)
		}
	})
	t.Run("denied amount is not charged", func(t *testing.T) {
		b := newB()
		wantDenied(t, b.Authorize(ctx, call("refund_order", `{"amount":100.01}`)), "")
		if err := b.Authorize(ctx, call("refund_order", `{"amount":100}`)); err != nil {
			t.Fatalf("an earlier denied amount was charged: %v", err)
		}
	})
	// The attacks: each of these must deny, and must not have been charged.
	for name, args := range map[string]string{
		"missing":                    `{"order":"o1"}`,
		"string number":              `{"amount":"100"}`,
		"null":                       `{"amount":null}`,
		"bool":                       `{"amount":true}`,
		"object":                     `{"amount":{"value":5}}`,
		"array":                      `{"amount":[5]}`,
		"negative to lower the sum":  `{"amount":-50}`,
		"negative exponent form":     `{"amount":-5e1}`,
		"duplicate key":              `{"amount":1,"amount":1000}`,
		"duplicate in another case":  `{"amount":1,"Amount":1000}`,
		"duplicate via escape":       `{"amount":1,"\u0061mount":1000}`,
		"duplicate via Kelvin fold":  `{"amount":1,"AMOUNT":1000}`,
		"huge exponent":              `{"amount":1e999999999}`,
		"over the limit by exponent": `{"amount":1.0001e2}`,
		"not an object":              `[{"amount":1}]`,
		"invalid JSON":               `{"amount":1`,
		"trailing document":          `{"amount":1}{"amount":1000}`,
		"over-long number":           `{"amount":0.00000000000000000000000000000000000000000000000000000000000000000001}`,
		"empty args":                 ``,
	} {
		t.Run("denies "+name, func(t *testing.T) {
			b := newB()
			wantDenied(t, b.Authorize(ctx, call("refund_order", args)), "budget.refund-total")
			if err := b.Authorize(ctx, call("refund_order", `{"amount":100}`)); err != nil {
				t.Fatalf("the denied call was charged: %v", err)
			}
		})
	}
	t.Run("case-insensitive match like encoding/json", func(t *testing.T) {
		b := newB()
		if err := b.Authorize(ctx, call("refund_order", `{"AMOUNT":100}`)); err != nil {
			t.Fatal(err)
		}
		wantDenied(t, b.Authorize(ctx, call("refund_order", `{"Amount":1}`)), "budget.refund-total")
	})
	t.Run("nested amount is not the argument", func(t *testing.T) {
		b := newB()
		wantDenied(t, b.Authorize(ctx, call("refund_order", `{"meta":{"amount":1}}`)), "budget.refund-total")
	})
}

func TestRepeats(t *testing.T) {
	b := mustNew(t, budget.Config{Limits: []budget.Limit{{Name: "loop", Kind: budget.Repeats, MaxCalls: 2, Per: budget.PerSession}}})
	ctx := context.Background()
	if err := b.Authorize(ctx, call("search", `{"q":"x","page":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := b.Authorize(ctx, call("search", ` { "page" : 1, "q" : "\u0078" } `)); err != nil {
		t.Fatal(err)
	}
	// A reformatted copy of the same call is the same call.
	wantDenied(t, b.Authorize(ctx, call("search", `{"page":1,"q":"x"}`)), "budget.loop")
	// Other arguments, another tool or another session are other calls.
	for _, c := range []*guard.Call{call("search", `{"q":"y","page":1}`), call("fetch", `{"q":"x","page":1}`)} {
		if err := b.Authorize(ctx, c); err != nil {
			t.Fatalf("%s %s: %v", c.Tool, c.Args, err)
		}
	}
	other := call("search", `{"q":"x","page":1}`)
	other.SessionID = "s2"
	if err := b.Authorize(ctx, other); err != nil {
		t.Fatal(err)
	}
}

func TestSeveralLimitsAllOrNothing(t *testing.T) {
	b := mustNew(t, budget.Config{Limits: []budget.Limit{
		{Name: "calls", MaxCalls: 10},
		{Name: "sum", Kind: budget.Sum, Arg: "amount", MaxSum: 5},
	}})
	ctx := context.Background()
	for range 5 {
		wantDenied(t, b.Authorize(ctx, call("refund", `{"amount":6}`)), "budget.sum")
	}
	// The five denied calls were refunded from "calls": ten more fit.
	for i := range 10 {
		if err := b.Authorize(ctx, call("refund", `{"amount":0}`)); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	wantDenied(t, b.Authorize(ctx, call("refund", `{"amount":0}`)), "budget.calls")
}

type failingStore struct{}

func (failingStore) Add(context.Context, string, int64, int64, time.Duration, time.Time) (int64, bool, error) {
	return 0, true, errors.New("store down")
}

func TestStoreErrorFailsClosed(t *testing.T) {
	b := mustNew(t, budget.Config{Store: failingStore{}, Limits: []budget.Limit{{Name: "a", MaxCalls: 100}}})
	if err := b.Authorize(context.Background(), call("x", `{}`)); err == nil {
		t.Fatal("a store error allowed the call")
	}
	mw, err := b.Middleware()
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	_, err = mw(guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) {
		ran = true
		return &guard.Result{}, nil
	})).Handle(context.Background(), call("x", `{}`))
	if ran || !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("ran=%v err=%v; want a denial without running the tool", ran, err)
	}
	var d *guard.DenialError
	if errors.As(err, &d); d.Stage != guard.StageBudget {
		t.Fatalf("stage = %q", d.Stage)
	}
}

func TestMiddlewareRefundsSumWhenLaterStageDenies(t *testing.T) {
	b := mustNew(t, budget.Config{Limits: []budget.Limit{
		{Name: "sum", Kind: budget.Sum, Arg: "amount", MaxSum: 100},
		{Name: "calls", MaxCalls: 3},
	}})
	mw, err := b.Middleware()
	if err != nil {
		t.Fatal(err)
	}
	deny := true
	h := mw(guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) {
		if deny {
			return nil, &guard.DenialError{Stage: guard.StageApproval, Pending: true, ApprovalID: "a1"}
		}
		return &guard.Result{Content: "ok"}, nil
	}))
	ctx := context.Background()
	if _, err := h.Handle(ctx, call("refund", `{"amount":100}`)); !errors.Is(err, guard.ErrPending) {
		t.Fatalf("err = %v", err)
	}
	deny = false
	if _, err := h.Handle(ctx, call("refund", `{"amount":100}`)); err != nil {
		t.Fatalf("the parked call's amount was not refunded: %v", err)
	}
	// The call count was not refunded: 2 used, 1 left.
	if _, err := h.Handle(ctx, call("refund", `{"amount":0}`)); err != nil {
		t.Fatal(err)
	}
	_, err = h.Handle(ctx, call("refund", `{"amount":0}`))
	wantDenied(t, err, "budget.calls")
}

func TestMiddlewareMonitorMode(t *testing.T) {
	b := mustNew(t, budget.Config{Limits: []budget.Limit{{Name: "none"}}})
	mw, err := b.Middleware(guard.WithMode(guard.Monitor))
	if err != nil {
		t.Fatal(err)
	}
	r, err := mw(guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) {
		return &guard.Result{Content: "ran"}, nil
	})).Handle(context.Background(), call("x", `{}`))
	if err != nil || r.Content != "ran" {
		t.Fatalf("monitor mode: %v, %v", r, err)
	}
}

// TestHammer is the done-means test: 1,000 concurrent calls through the
// middleware against a budget of 100 run exactly 100 tools, on the memory store
// and on Redis with two independent clients for two replicas.
func TestHammer(t *testing.T) {
	stores := map[string]func(t *testing.T) (state.Counter, state.Counter){
		"memory": func(t *testing.T) (state.Counter, state.Counter) { m := state.NewMemory(); return m, m },
		"redis": func(t *testing.T) (state.Counter, state.Counter) {
			srv := redistest.Start(t)
			a, _ := state.NewRedis(srv.Client(t), "hammer:")
			b, _ := state.NewRedis(srv.Client(t), "hammer:")
			return a, b
		},
	}
	for name, mk := range stores {
		t.Run(name, func(t *testing.T) {
			sa, sb := mk(t)
			limits := []budget.Limit{
				{Name: "calls", MaxCalls: 100, Window: time.Hour, Per: budget.PerPrincipal},
				{Name: "sum", Kind: budget.Sum, Arg: "amount", MaxSum: 250, Window: 24 * time.Hour},
			}
			var ran atomic.Int64
			tool := guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) {
				ran.Add(1)
				return &guard.Result{}, nil
			})
			var handlers [2]guard.Handler
			for i, s := range []state.Counter{sa, sb} {
				b := mustNew(t, budget.Config{Store: s, Limits: limits})
				mw, err := b.Middleware()
				if err != nil {
					t.Fatal(err)
				}
				handlers[i] = mw(tool)
			}
			var denied atomic.Int64
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range 1000 {
				wg.Go(func() {
					<-start
					_, err := handlers[i%2].Handle(context.Background(), call("refund", `{"amount":1.5}`))
					if errors.Is(err, guard.ErrDenied) {
						denied.Add(1)
					} else if err != nil {
						t.Error(err)
					}
				})
			}
			close(start)
			wg.Wait()
			if ran.Load() != 100 || denied.Load() != 900 {
				t.Fatalf("ran %d, denied %d; want exactly 100 and 900", ran.Load(), denied.Load())
			}
		})
	}
}

// FuzzParseAmount checks the exact decimal conversion against math/big on the
// numbers JSON allows, through the public API.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"0", "1", "1.5", "0.000001", "0.0000001", "1e2", "1E-7", "-0", "-1", "9007199254", "123.4560", "1e999999999", "0.1e1"} {
		f.Add(s)
	}
	b := mustNew(f, budget.Config{Limits: []budget.Limit{{Name: "s", Kind: budget.Sum, Arg: "a", MaxSum: 9e9}}})
	f.Fuzz(func(t *testing.T, num string) {
		args := `{"a":` + num + `}`
		err := b.Authorize(context.Background(), &guard.Call{Tool: "t", Args: json.RawMessage(args)})
		var v any
		if !json.Valid([]byte(args)) || json.Unmarshal([]byte(args), &v) != nil {
			if err == nil {
				t.Fatalf("invalid %q admitted", args)
			}
			return
		}
		if _, isNum := v.(map[string]any)["a"].(float64); !isNum {
			if err == nil {
				t.Fatalf("non-number %q admitted", num)
			}
			return
		}
		r, ok := new(big.Rat).SetString(num)
		if !ok || len(num) > 64 {
			return
		}
		if r.Sign() < 0 && err == nil {
			t.Fatalf("negative %q admitted", num)
		}
		if r.Cmp(big.NewRat(9e9, 1)) > 0 && err == nil {
			t.Fatalf("%q over the limit admitted", num)
		}
	})
}

func BenchmarkAuthorizeMemory(b *testing.B) {
	bud := mustNew(b, budget.Config{Limits: []budget.Limit{
		{Name: "calls", MaxCalls: 1 << 40, Window: time.Hour, Per: budget.PerPrincipal | budget.PerTool},
	}})
	c := call("search", `{"q":"x"}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := bud.Authorize(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthorizeMemorySum(b *testing.B) {
	bud := mustNew(b, budget.Config{Limits: []budget.Limit{
		{Name: "sum", Kind: budget.Sum, Arg: "amount", MaxSum: 9e9},
	}})
	c := call("refund", `{"order":"o-1","amount":0}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := bud.Authorize(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthorizeRedis(b *testing.B) {
	srv := redistest.Start(b)
	s, _ := state.NewRedis(srv.Client(b), "bench:")
	bud := mustNew(b, budget.Config{Store: s, Limits: []budget.Limit{
		{Name: "calls", MaxCalls: 1 << 40, Per: budget.PerPrincipal},
	}})
	c := call("search", `{"q":"x"}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := bud.Authorize(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}
