package genkit_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/firebase/genkit/go/ai"
	gk "github.com/firebase/genkit/go/genkit"

	agentgenkit "github.com/agentguard/agentguard/adapters/genkit"
	"github.com/agentguard/agentguard/guard"
)

type refundIn struct {
	OrderID string  `json:"order_id"`
	Amount  float64 `json:"amount"`
}

type refundOut struct {
	Status string `json:"status"`
}

// scriptedModel asks for a refund first, then answers with what the tool said.
func scriptedModel(g *gk.Genkit, seen *[]string, mu *sync.Mutex) ai.Model {
	return gk.DefineModel(g, "test/scripted", &ai.ModelOptions{Supports: &ai.ModelSupports{Multiturn: true, Tools: true}},
		func(ctx context.Context, req *ai.ModelRequest, cb ai.ModelStreamCallback) (*ai.ModelResponse, error) {
			for _, m := range req.Messages {
				for _, p := range m.Content {
					if p.IsToolResponse() {
						b, _ := json.Marshal(p.ToolResponse.Output)
						mu.Lock()
						*seen = append(*seen, string(b))
						mu.Unlock()
						return &ai.ModelResponse{Message: ai.NewModelTextMessage("tool said: " + string(b)), FinishReason: ai.FinishReasonStop}, nil
					}
				}
			}
			return &ai.ModelResponse{Message: &ai.Message{Role: ai.RoleModel, Content: []*ai.Part{
				ai.NewToolRequestPart(&ai.ToolRequest{Name: "refund_order", Ref: "r1", Input: map[string]any{"order_id": "A-1", "amount": 5}}),
			}}, FinishReason: ai.FinishReasonStop}, nil
		})
}

func TestGenerateSeesRefusal(t *testing.T) {
	for _, tc := range []struct {
		role, want string
		refunds    int
	}{
		{"reader", `{"error":"The call to \"refund_order\" was refused by policy."}`, 0},
		{"admin", `{"status":"refunded A-1"}`, 1},
	} {
		t.Run(tc.role, func(t *testing.T) {
			ctx := context.Background()
			g := gk.Init(ctx)
			var seen []string
			var mu sync.Mutex
			model := scriptedModel(g, &seen, &mu)
			refunds := 0
			scope, _ := guard.Authorize(guard.ScoperFunc(func(ctx context.Context, c *guard.Call) error {
				if c.Principal.Role != "admin" {
					return guard.Deny("role.tools", "admins only")
				}
				return nil
			}))
			tool, err := agentgenkit.DefineTool(g, "refund_order", "Refund an order.", agentgenkit.Config{Chain: guard.Chain(scope),
				Principal: func(context.Context) (guard.Principal, error) { return guard.Principal{Role: tc.role}, nil }},
				func(tc *ai.ToolContext, in refundIn) (refundOut, error) {
					refunds++
					return refundOut{Status: "refunded " + in.OrderID}, nil
				})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := gk.Generate(ctx, g, ai.WithModel(model), ai.WithPrompt("refund A-1"), ai.WithTools(tool))
			if err != nil {
				t.Fatal(err)
			}
			if refunds != tc.refunds || len(seen) != 1 || seen[0] != tc.want {
				t.Fatalf("refunds=%d seen=%v", refunds, seen)
			}
			if !strings.Contains(resp.Text(), "tool said") {
				t.Fatalf("answer %q", resp.Text())
			}
		})
	}
}

func TestPendingBecomesInterrupt(t *testing.T) {
	ctx := context.Background()
	g := gk.Init(ctx)
	var seen []string
	var mu sync.Mutex
	model := scriptedModel(g, &seen, &mu)
	approval, _ := guard.Authorize(guard.ScoperFunc(func(ctx context.Context, c *guard.Call) error {
		return &guard.DenialError{Rule: "approval.required", Pending: true, ApprovalID: "ap_42"}
	}), guard.WithStage(guard.StageApproval))
	tool, _ := agentgenkit.DefineTool(g, "refund_order", "Refund an order.", agentgenkit.Config{Chain: guard.Chain(approval),
		Principal: func(context.Context) (guard.Principal, error) { return guard.Principal{Role: "admin"}, nil }},
		func(tc *ai.ToolContext, in refundIn) (refundOut, error) {
			return refundOut{}, errors.New("must not run")
		})
	resp, err := gk.Generate(ctx, g, ai.WithModel(model), ai.WithPrompt("refund A-1"), ai.WithTools(tool))
	if err != nil {
		t.Fatal(err)
	}
	if resp.FinishReason != ai.FinishReasonInterrupted {
		t.Fatalf("finish reason %q, want interrupted", resp.FinishReason)
	}
	found := false
	for _, p := range resp.Interrupts() {
		if md, ok := p.Metadata["interrupt"].(map[string]any); ok && md["agentguard_approval_id"] == "ap_42" {
			found = true
		}
	}
	if !found {
		t.Fatalf("interrupt without the approval id: %+v", resp.Interrupts())
	}
}

func TestDefineToolValidates(t *testing.T) {
	g := gk.Init(context.Background())
	fn := func(tc *ai.ToolContext, in refundIn) (refundOut, error) { return refundOut{}, nil }
	if _, err := agentgenkit.DefineTool(g, "x", "x", agentgenkit.Config{}, fn); !errors.Is(err, guard.ErrNilPolicy) {
		t.Fatalf("err = %v", err)
	}
}
