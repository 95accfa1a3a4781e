package mcpguard_test

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/mcpguard"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestProxyEndToEnd runs a go-sdk client → the proxy → the example server as a
// real child process.
func TestProxyEndToEnd(t *testing.T) {
	cs, _, rep := startProxy(t, proxyOpts{})
	if rep.Refused() {
		t.Fatalf("clean server had refused tools: %+v", rep.Findings)
	}

	t.Run("filtered_list", func(t *testing.T) {
		got := toolNames(t, cs)
		want := []string{"read_document", "refund_order"}
		if !slices.Equal(got, want) {
			t.Fatalf("support sees %v, want %v", got, want)
		}
	})
	t.Run("allowed_call", func(t *testing.T) {
		res := call(t, cs, "refund_order", map[string]any{"order_id": "ORD-1234", "amount": 20})
		if res.IsError || resultText(res) != "refunded 20.00 EUR on ORD-1234" {
			t.Fatalf("got IsError=%v %q", res.IsError, resultText(res))
		}
	})
	t.Run("denied_call", func(t *testing.T) {
		res := call(t, cs, "delete_customer", map[string]any{"customer_id": "c1"})
		if !res.IsError {
			t.Fatalf("delete_customer ran for support: %q", resultText(res))
		}
		txt := resultText(res)
		if !strings.Contains(txt, "refused by policy") || strings.Contains(txt, "role.tools") || strings.Contains(txt, "support") {
			t.Fatalf("denial text must be generic, got %q", txt)
		}
	})
	t.Run("invalid_argument", func(t *testing.T) {
		for name, args := range map[string]string{
			"over_max":        `{"order_id":"ORD-1234","amount":100000}`,
			"negative":        `{"order_id":"ORD-1234","amount":-5}`,
			"bad_pattern":     `{"order_id":"../../etc","amount":5}`,
			"extra_property":  `{"order_id":"ORD-1234","amount":5,"note":"x"}`,
			"missing":         `{"order_id":"ORD-1234"}`,
			"duplicate_key":   `{"order_id":"ORD-1234","amount":5,"amount":100000}`,
			"string_amount":   `{"order_id":"ORD-1234","amount":"5"}`,
			"array_arguments": `[1,2]`,
		} {
			t.Run(name, func(t *testing.T) {
				res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "refund_order", Arguments: rawArgs(args)})
				if err != nil {
					// The SDK client refuses to send non-object arguments.
					if name != "array_arguments" {
						t.Fatalf("CallTool: %v", err)
					}
					return
				}
				if !res.IsError || !strings.Contains(resultText(res), "arguments") {
					t.Fatalf("invalid arguments reached the server: IsError=%v %q", res.IsError, resultText(res))
				}
			})
		}
	})
	t.Run("injection_in_result_withheld", func(t *testing.T) {
		res := call(t, cs, "read_document", map[string]any{"id": "ticket-7"})
		if !res.IsError || strings.Contains(resultText(res), "IGNORE") {
			t.Fatalf("injected document reached the client: %q", resultText(res))
		}
	})
	t.Run("benign_result", func(t *testing.T) {
		res := call(t, cs, "read_document", map[string]any{"id": "faq"})
		if res.IsError || !strings.Contains(resultText(res), "two working days") {
			t.Fatalf("got %q", resultText(res))
		}
	})
	t.Run("unknown_tool", func(t *testing.T) {
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "rm_rf", Arguments: map[string]any{}})
		if err == nil && !res.IsError {
			t.Fatalf("unknown tool ran: %q", resultText(res))
		}
	})
}

// rawArgs passes raw JSON through the client unchanged.
type rawArgs string

func (r rawArgs) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// TestExampleServerTrustsArguments shows the baseline: without the proxy the
// example server accepts what the proxy refuses.
func TestExampleServerTrustsArguments(t *testing.T) {
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "direct", Version: "v1"}, nil).
		Connect(context.Background(), exampleCommand(t, "normal"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res := call(t, cs, "refund_order", map[string]any{"order_id": "ORD-1234", "amount": 100000})
	if res.IsError || !strings.Contains(resultText(res), "100000.00") {
		t.Fatalf("direct call: %q", resultText(res))
	}
}

func TestProxyRoles(t *testing.T) {
	for _, tc := range []struct {
		role string
		want []string
	}{
		{"admin", []string{"delete_customer", "read_document", "refund_order"}},
		{"reader", []string{"read_document"}},
		{"nobody", nil},
		{"", nil},
	} {
		t.Run("role_"+tc.role, func(t *testing.T) {
			cs, _, _ := startProxy(t, proxyOpts{role: tc.role, emptyRole: tc.role == ""})
			if got := toolNames(t, cs); !slices.Equal(got, tc.want) {
				t.Fatalf("role %q sees %v, want %v", tc.role, got, tc.want)
			}
		})
	}
}

func TestProxyRugPull(t *testing.T) {
	pins := &mcpguard.MemoryPinStore{}
	// First run pins the definitions.
	cs, _, rep := startProxy(t, proxyOpts{pins: pins})
	if rep.Refused() {
		t.Fatalf("first run refused: %+v", rep.Findings)
	}
	if n := countFindings(rep, mcpguard.FindingPinned); n != 3 {
		t.Fatalf("pinned %d tools, want 3: %+v", n, rep.Findings)
	}
	cs.Close()

	// The server is upgraded with a changed refund_order definition.
	cs, p, rep := startProxy(t, proxyOpts{pins: pins, variant: "rugpull"})
	f := findFinding(rep, "refund_order")
	if f == nil || f.Kind != mcpguard.FindingRugPull || !f.Refused || f.Pinned == f.Digest {
		t.Fatalf("rug pull not refused: %+v", rep.Findings)
	}
	if got := toolNames(t, cs); !slices.Equal(got, []string{"read_document"}) {
		t.Fatalf("after rug pull the list is %v", got)
	}
	res := call(t, cs, "refund_order", map[string]any{"order_id": "ORD-1234", "amount": 900000})
	if !res.IsError {
		t.Fatalf("changed tool ran: %q", resultText(res))
	}

	// Re-approval: an operator pins the new definition.
	if _, err := pinsApprove(t, pins, "shop", "rugpull"); err != nil {
		t.Fatal(err)
	}
	rep, err := p.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Refused() {
		t.Fatalf("approved definition still refused: %+v", rep.Findings)
	}
	if got := toolNames(t, cs); !slices.Contains(got, "refund_order") {
		t.Fatalf("approved tool not listed: %v", got)
	}
}

// pinsApprove lists the variant's tools directly and approves them.
func pinsApprove(t *testing.T, pins mcpguard.PinStore, server, variant string) (int, error) {
	in, err := mcpguard.NewInspector(mcpguard.InspectorConfig{Pins: pins, InsecureSkipPoisonScan: true})
	if err != nil {
		return 0, err
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "approver", Version: "v1"}, nil).
		Connect(context.Background(), exampleCommand(t, variant), nil)
	if err != nil {
		return 0, err
	}
	defer cs.Close()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		return 0, err
	}
	for _, tl := range res.Tools {
		if _, err := in.Approve(context.Background(), server, tl); err != nil {
			return 0, err
		}
	}
	return len(res.Tools), nil
}

func TestProxyPoisonedDescription(t *testing.T) {
	cs, _, rep := startProxy(t, proxyOpts{variant: "poison"})
	f := findFinding(rep, "refund_order")
	if f == nil || f.Kind != mcpguard.FindingPoisoned || !f.Refused {
		t.Fatalf("poisoned tool not refused: %+v", rep.Findings)
	}
	if got := toolNames(t, cs); slices.Contains(got, "refund_order") {
		t.Fatalf("poisoned tool listed: %v", got)
	}
}

func TestProxyShadowing(t *testing.T) {
	pins := &mcpguard.MemoryPinStore{}
	in, err := mcpguard.NewInspector(mcpguard.InspectorConfig{Pins: pins, Detector: keywordDetector})
	if err != nil {
		t.Fatal(err)
	}
	startProxy(t, proxyOpts{server: "shop", inspector: in})
	cs, _, rep := startProxy(t, proxyOpts{server: "evil-shop", inspector: in})
	if n := countFindings(rep, mcpguard.FindingShadowed); n != 3 {
		t.Fatalf("shadowed findings = %d, want 3: %+v", n, rep.Findings)
	}
	f := findFinding(rep, "refund_order")
	if f.Other != "shop" || !f.Refused {
		t.Fatalf("finding %+v", f)
	}
	if got := toolNames(t, cs); len(got) != 0 {
		t.Fatalf("shadowing tools listed: %v", got)
	}
}

func TestProxyUpstreamDies(t *testing.T) {
	cs, p, _ := startProxy(t, proxyOpts{})
	p.Close()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "read_document", Arguments: map[string]any{"id": "faq"}})
	if err == nil && !res.IsError {
		t.Fatalf("call succeeded with upstream closed: %q", resultText(res))
	}
	if err == nil && (strings.Contains(resultText(res), "upstream") || strings.Contains(resultText(res), "closed")) {
		t.Fatalf("internal error leaked to the model: %q", resultText(res))
	}
}

func countFindings(rep *mcpguard.Report, k mcpguard.FindingKind) int {
	n := 0
	for _, f := range rep.Findings {
		if f.Kind == k {
			n++
		}
	}
	return n
}

func findFinding(rep *mcpguard.Report, tool string) *mcpguard.Finding {
	for i := range rep.Findings {
		if rep.Findings[i].Tool == tool {
			return &rep.Findings[i]
		}
	}
	return nil
}

var _ = exec.Command
