package scope

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/agentguard/agentguard/examples/policies"
	"github.com/agentguard/agentguard/guard"
)

func supportPolicy(t testing.TB) *Policy {
	t.Helper()
	p, err := Parse("support.yaml", policies.SupportYAML)
	if err != nil {
		t.Fatalf("reference policy: %v", err)
	}
	return p
}

var allTools = []string{"read_document", "search_knowledge_base", "update_order_status", "send_email", "refund_order", "provision_server"}

// validArgs satisfies every tool's condition in the reference policy.
var validArgs = map[string]string{
	"update_order_status": `{"order_id":"A1","status":"shipped"}`,
	"refund_order":        `{"order_id":"A1","amount":50}`,
}

func call(role, tool, args string) *guard.Call {
	return &guard.Call{ID: "c1", Tool: tool, Args: json.RawMessage(args), Principal: guard.Principal{Subject: "u1", Role: role}}
}

func TestAuthorizeRoleTool(t *testing.T) {
	p := supportPolicy(t)
	allowed := map[string][]string{
		"reader":   {"read_document", "search_knowledge_base"},
		"operator": {"update_order_status", "send_email"},
		"admin":    {"refund_order", "provision_server"},
		"intern":   nil,
		"":         nil,
	}
	for role, tools := range allowed {
		for _, tool := range allTools {
			want := false
			for _, a := range tools {
				want = want || a == tool
			}
			name := role + "/" + tool
			if role == "" {
				name = "no-role/" + tool
			}
			t.Run(name, func(t *testing.T) {
				err := p.Authorize(context.Background(), call(role, tool, validArgs[tool]))
				if got := err == nil; got != want {
					t.Fatalf("allowed = %v, want %v (err %v)", got, want, err)
				}
				if err != nil {
					var d *guard.DenialError
					if !errors.As(err, &d) || !errors.Is(err, guard.ErrDenied) || d.Stage != guard.StageScope || d.Tool != tool {
						t.Fatalf("denial not typed: %#v", err)
					}
				}
			})
		}
	}
}

func TestAuthorizeToolNameBypass(t *testing.T) {
	p := supportPolicy(t)
	for _, name := range []string{
		"Refund_Order", "REFUND_ORDER", "refund_order ", " refund_order", "refund_order\x00",
		"refund\u200border", "refund_ordеr" /* Cyrillic е */, "ｒｅｆｕｎｄ_order", "refund_order\n",
		"read_document/../refund_order", "Read_Document", "read_document\u0301", "read-document", "",
	} {
		t.Run(name, func(t *testing.T) {
			for _, role := range []string{"reader", "operator", "admin"} {
				c := call(role, name, `{"amount":1,"status":"shipped"}`)
				if err := p.Authorize(context.Background(), c); err == nil {
					t.Fatalf("role %s: tool %q allowed", role, name)
				}
			}
		})
	}
	for _, role := range []string{"Admin", "ADMIN", "admin ", "аdmin", "admin\u200b", "*"} {
		if err := p.Authorize(context.Background(), call(role, "refund_order", validArgs["refund_order"])); err == nil {
			t.Fatalf("role %q allowed", role)
		}
	}
}

func TestAuthorizeContextPrincipal(t *testing.T) {
	p := supportPolicy(t)
	c := call("", "read_document", "")
	ctx := ContextWithPrincipal(context.Background(), guard.Principal{Role: "reader"})
	if err := p.Authorize(ctx, c); err != nil {
		t.Fatalf("context principal: %v", err)
	}
	// The call's own principal wins over the context.
	c = call("reader", "refund_order", validArgs["refund_order"])
	ctx = ContextWithPrincipal(context.Background(), guard.Principal{Role: "admin"})
	if err := p.Authorize(ctx, c); err == nil {
		t.Fatal("context principal overrode the call's principal")
	}
	if err := p.Authorize(context.Background(), call("", "read_document", "")); err == nil {
		t.Fatal("call without principal allowed")
	}
	var nilP *Policy
	if err := nilP.Authorize(context.Background(), c); !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("nil policy: %v", err)
	}
	//lint:ignore SA1012 a nil context must not panic
	if err := p.Authorize(nil, call("admin", "refund_order", validArgs["refund_order"])); err != nil { //nolint:staticcheck
		t.Fatalf("nil context: %v", err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Authorize(cancelled, call("admin", "refund_order", validArgs["refund_order"])); !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("cancelled context with condition: %v", err)
	}
	if err := p.Authorize(context.Background(), nil); !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("nil call: %v", err)
	}
}

func TestAuthorizeConditions(t *testing.T) {
	p := supportPolicy(t)
	cases := []struct {
		name, tool, args string
		allow            bool
		rule             string
	}{
		{"refund within limit", "refund_order", `{"amount": 500}`, true, ""},
		{"refund integer literal compare", "refund_order", `{"amount": 1}`, true, ""},
		{"refund over limit", "refund_order", `{"amount": 500.01}`, false, "tool.condition"},
		{"refund negative", "refund_order", `{"amount": -5}`, false, "tool.condition"},
		{"refund amount as string", "refund_order", `{"amount": "100"}`, false, "tool.condition.error"},
		{"refund missing amount", "refund_order", `{}`, false, "tool.condition.error"},
		{"refund empty args", "refund_order", ``, false, "tool.condition.error"},
		{"refund duplicate key smuggling", "refund_order", `{"amount": 10, "amount": 100000}`, false, "tool.args"},
		{"refund nested duplicate", "refund_order", `{"amount": 10, "x": {"a":1,"a":2}}`, false, "tool.args"},
		{"refund case-variant key", "refund_order", `{"amount": 10, "AMOUNT": 100000}`, false, "tool.args"},
		{"refund long-s key", "refund_order", "{\"amount\": 10, \"amount_\u017F\": 1, \"amount_s\": 2}", false, "tool.args"},
		{"refund kelvin-sign key", "refund_order", "{\"amount\": 10, \"\u212A\": 1, \"k\": 2}", false, "tool.args"},
		{"refund many keys case collision", "refund_order", manyKeys(40, "A0"), false, "tool.args"},
		{"refund many keys", "refund_order", manyKeys(40, ""), true, ""},
		{"refund escaped duplicate", "refund_order", `{"amount": 10, "\u0061mount": 100000}`, false, "tool.args"},
		{"refund array args", "refund_order", `[{"amount": 10}]`, false, "tool.args"},
		{"refund trailing data", "refund_order", `{"amount": 10} {"amount": 1e9}`, false, "tool.args"},
		{"refund invalid utf8", "refund_order", "{\"amount\": 10, \"n\": \"\xff\"}", false, "tool.args"},
		{"refund huge number", "refund_order", `{"amount": 1e400}`, false, "tool.args"},
		{"refund NaN", "refund_order", `{"amount": NaN}`, false, "tool.args"},
		{"refund null", "refund_order", `{"amount": null}`, false, "tool.condition.error"},
		{"refund bool", "refund_order", `{"amount": true}`, false, "tool.condition.error"},
		{"status allowed", "update_order_status", `{"status": "shipped"}`, true, ""},
		{"status not in list", "update_order_status", `{"status": "refunded"}`, false, "tool.condition"},
		{"status case trick", "update_order_status", `{"status": "Shipped"}`, false, "tool.condition"},
		{"status escaped equals", "update_order_status", `{"status": "ship\u0070ed"}`, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			role := "admin"
			if tc.tool == "update_order_status" {
				role = "operator"
			}
			err := p.Authorize(context.Background(), call(role, tc.tool, tc.args))
			if (err == nil) != tc.allow {
				t.Fatalf("allowed = %v, want %v: %v", err == nil, tc.allow, err)
			}
			var d *guard.DenialError
			if err != nil && (!errors.As(err, &d) || d.Rule != tc.rule) {
				t.Fatalf("rule = %v, want %q", err, tc.rule)
			}
		})
	}
}

func TestConditionCostLimit(t *testing.T) {
	p, err := New(Spec{Version: 1,
		Roles: map[string]Role{"r": {Tools: []string{"t"}}},
		Tools: map[string]Tool{"t": {When: `args.xs.all(a, args.xs.all(b, args.xs.all(c, a + b + c >= 0.0)))`}},
	})
	if err != nil {
		t.Fatal(err)
	}
	xs := make([]int, 200)
	args, _ := json.Marshal(map[string]any{"xs": xs})
	err = p.Authorize(context.Background(), call("r", "t", string(args)))
	var d *guard.DenialError
	if !errors.As(err, &d) || d.Rule != "tool.condition.error" {
		t.Fatalf("expensive condition: %v", err)
	}
	small, _ := json.Marshal(map[string]any{"xs": xs[:3]})
	if err := p.Authorize(context.Background(), call("r", "t", string(small))); err != nil {
		t.Fatalf("cheap evaluation: %v", err)
	}
}

func TestConditionVariables(t *testing.T) {
	p, err := New(Spec{Version: 1,
		Roles: map[string]Role{"r": {Tools: []string{"t"}}},
		Tools: map[string]Tool{"t": {When: `tool == "t" && principal.role == "r" && "billing" in principal.scopes && principal.subject == args.user`}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := call("r", "t", `{"user":"u1"}`)
	c.Principal.Scopes = []string{"billing"}
	if err := p.Authorize(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	c.Principal.Scopes = nil
	if err := p.Authorize(context.Background(), c); err == nil {
		t.Fatal("missing scope in condition allowed")
	}
}

func TestToolScopes(t *testing.T) {
	p, err := New(Spec{Version: 1,
		Roles: map[string]Role{"r": {Tools: []string{"t"}}},
		Tools: map[string]Tool{"t": {Scopes: []string{"orders:write"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := call("r", "t", "")
	if err := p.Authorize(context.Background(), c); err == nil {
		t.Fatal("missing scope allowed")
	}
	c.Principal.Scopes = []string{"orders:read", "orders:write"}
	if err := p.Authorize(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	c.Principal.Scopes = []string{"ORDERS:WRITE"}
	if err := p.Authorize(context.Background(), c); err == nil {
		t.Fatal("scope case trick allowed")
	}
}

func TestInheritance(t *testing.T) {
	p, err := New(Spec{Version: 1,
		Roles: map[string]Role{
			"reader":   {Tools: []string{"read"}},
			"operator": {Inherits: []string{"reader"}, Tools: []string{"write"}},
			"admin":    {Inherits: []string{"operator"}, Tools: []string{"delete"}},
		},
		Tools: map[string]Tool{"read": {}, "write": {}, "delete": {}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for role, want := range map[string]string{"reader": "read", "operator": "read,write", "admin": "delete,read,write"} {
		if got := strings.Join(p.Tools(role), ","); got != want {
			t.Errorf("%s tools = %s, want %s", role, got, want)
		}
	}
	_, err = New(Spec{Version: 1,
		Roles: map[string]Role{"a": {Inherits: []string{"b"}}, "b": {Inherits: []string{"a"}}},
	})
	if err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("cycle: %v", err)
	}
}

func TestReferencePolicyIsExplicit(t *testing.T) {
	p := supportPolicy(t)
	want := map[string]string{
		"reader":   "read_document,search_knowledge_base",
		"operator": "send_email,update_order_status",
		"admin":    "provision_server,refund_order",
	}
	for role, tools := range want {
		if got := strings.Join(p.Tools(role), ","); got != tools {
			t.Errorf("%s: tools %s, want %s", role, got, tools)
		}
	}
	spec := p.Spec()
	for _, r := range spec.Roles {
		if len(r.Inherits) != 0 {
			t.Errorf("reference roles must not inherit: %v", r.Inherits)
		}
	}
	if spec.Tools["refund_order"].Approval != ApprovalRequired || spec.Tools["read_document"].Labels[0] != guard.LabelUntrusted {
		t.Errorf("tool metadata lost: %+v", spec.Tools)
	}
	if s := spec.Roles["admin"].Budgets[0].Sum; s == nil || s.Arg != "amount" || s.Max != 500 || s.Window.Std().Hours() != 24 {
		t.Errorf("budget sum lost: %+v", spec.Roles["admin"].Budgets)
	}
	if spec.Tools["send_email"].Approval != ApprovalNone || spec.Roles["operator"].Budgets[0].Per != PerSession {
		t.Errorf("spellings of zero values not normalised: %+v", spec.Tools["send_email"])
	}
	if spec.Flow.NoFlow[0].FromLabel != guard.LabelSecret || spec.Flow.AfterUntrusted.Deny[0] != "provision_server" {
		t.Errorf("flow lost: %+v", spec.Flow)
	}
	// Spec returns a copy.
	spec.Roles["reader"].Tools[0] = "refund_order"
	if p.Tools("reader")[0] != "read_document" || p.Spec().Roles["reader"].Tools[0] != "read_document" {
		t.Error("Spec() aliases the policy")
	}
	if p.Access("reader") != AccessReadOnly || p.Access("operator") != AccessReadWrite || p.Access("admin") != AccessFull || p.Access("x") != AccessNone {
		t.Error("database access does not match the table")
	}
}

func TestMiddleware(t *testing.T) {
	p := supportPolicy(t)
	mw, err := p.Middleware()
	if err != nil {
		t.Fatal(err)
	}
	var ran atomic.Int32
	h := mw(guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
		ran.Add(1)
		return &guard.Result{Content: "ok"}, nil
	}))
	if _, err := h.Handle(context.Background(), call("reader", "refund_order", validArgs["refund_order"])); !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("reader refund: %v", err)
	}
	if ran.Load() != 0 {
		t.Fatal("denied call reached the tool")
	}
	if _, err := h.Handle(context.Background(), call("operator", "update_order_status", validArgs["update_order_status"])); err != nil {
		t.Fatalf("operator update: %v", err)
	}
	if ran.Load() != 1 {
		t.Fatal("allowed call did not reach the tool")
	}
	var nilP *Policy
	if _, err := nilP.Middleware(); !errors.Is(err, guard.ErrNilPolicy) {
		t.Fatalf("nil policy middleware: %v", err)
	}
	var d *guard.DenialError
	_, err = h.Handle(context.Background(), call("reader", "refund_order", ""))
	if !errors.As(err, &d) || strings.Contains(d.ModelMessage(), "reader") || strings.Contains(d.ModelMessage(), "role") {
		t.Fatalf("model message leaks policy: %q", d.ModelMessage())
	}
}

func TestConcurrentAuthorize(t *testing.T) {
	p := supportPolicy(t)
	done := make(chan struct{})
	for g := 0; g < 8; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 200; i++ {
				_ = p.Authorize(context.Background(), call("admin", "refund_order", `{"amount": 10}`))
				_ = p.Authorize(context.Background(), call("reader", "read_document", ``))
			}
		}()
	}
	for g := 0; g < 8; g++ {
		<-done
	}
}

// manyKeys returns an object with n keys a0..a(n-1), an amount, and extra when set.
func manyKeys(n int, extra string) string {
	var b strings.Builder
	b.WriteString(`{"amount": 10`)
	for i := range n {
		fmt.Fprintf(&b, `, "a%d": %d`, i, i)
	}
	if extra != "" {
		fmt.Fprintf(&b, `, %q: 1`, extra)
	}
	b.WriteString("}")
	return b.String()
}

func TestMiddlewareMonitorAndAudit(t *testing.T) {
	p := supportPolicy(t)
	var events []guard.Event
	aud := guard.AuditorFunc(func(_ context.Context, e guard.Event) { events = append(events, e) })
	mw, err := p.Middleware(guard.WithMode(guard.Monitor), guard.WithAuditor(aud))
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	h := mw(guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) {
		ran = true
		return &guard.Result{}, nil
	}))
	if _, err := h.Handle(context.Background(), call("reader", "refund_order", "")); err != nil || !ran {
		t.Fatalf("monitor mode: err %v, ran %v", err, ran)
	}
	if len(events) != 1 || events[0].Decision != guard.DecisionMonitored || events[0].Rule != "role.tools" || events[0].Stage != guard.StageScope {
		t.Fatalf("audit events: %+v", events)
	}
}
