package genkit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/firebase/genkit/go/ai"
	gk "github.com/firebase/genkit/go/genkit"

	agentgenkit "github.com/agentguard/agentguard/adapters/genkit"
	"github.com/agentguard/agentguard/guard"
)

// Red-team tests: attacks on the Genkit adapter, run through the tool action
// itself (RunRaw) as Genkit's generate loop does.

const rtSecret = "sk_live_REDTEAM_0123456789abcdef"

type rtIn struct {
	Key  string `json:"key"`
	Mode string `json:"mode"`
}

type rtOut struct {
	Echo string `json:"echo"`
}

func rtTool(t *testing.T, g *gk.Genkit, name string, pre guard.Middleware, ran *int) *ai.ToolDef[rtIn, any] {
	t.Helper()
	res, err := guard.ResolveSecrets(guard.SecretResolverFunc(func(_ context.Context, ref string) (guard.Secret, error) {
		if ref == "KEY" {
			return guard.NewSecret(ref, rtSecret), nil
		}
		return guard.Secret{}, errors.New("unknown")
	}))
	if err != nil {
		t.Fatal(err)
	}
	chain := res
	if pre != nil {
		chain = guard.Chain(pre, res)
	}
	tool, err := agentgenkit.DefineTool(g, name, "echo", agentgenkit.Config{Chain: chain,
		Principal: func(context.Context) (guard.Principal, error) { return guard.Principal{Role: "r"}, nil }},
		func(tc *ai.ToolContext, in rtIn) (rtOut, error) {
			*ran++
			switch in.Mode {
			case "error":
				return rtOut{}, fmt.Errorf("bad key %s", in.Key)
			case "panic":
				panic("bad key " + in.Key)
			case "upper":
				return rtOut{Echo: strings.ToUpper(in.Key)}, nil
			}
			return rtOut{Echo: in.Key}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return tool
}

// The resolved value does not come back in the output, the error or a panic.
func TestRedTeamGenkitNoSecretBack(t *testing.T) {
	ctx := context.Background()
	g := gk.Init(ctx)
	ran := 0
	tool := rtTool(t, g, "echo", nil, &ran)
	for _, mode := range []string{"", "error", "panic", "upper"} {
		out, err := func() (out any, err error) {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("panicked: %v", p)
				}
			}()
			return tool.RunRaw(ctx, map[string]any{"key": "${secret:KEY}", "mode": mode})
		}()
		b, _ := json.Marshal(out)
		all := string(b) + fmt.Sprint(err)
		if strings.Contains(strings.ToUpper(all), strings.ToUpper(rtSecret)) {
			t.Errorf("mode %q: secret came back: %s", mode, all)
		}
	}
	if ran != 4 {
		t.Errorf("tool ran %d times, want 4", ran)
	}
}

// Denied and pending calls never run the function; pending becomes an interrupt.
func TestRedTeamGenkitDenyAndPending(t *testing.T) {
	ctx := context.Background()
	g := gk.Init(ctx)
	ran := 0
	deny, _ := guard.Authorize(guard.ScoperFunc(func(_ context.Context, c *guard.Call) error {
		if strings.Contains(string(c.Args), "approve") {
			return &guard.DenialError{Rule: "approval", Pending: true, ApprovalID: "ap-1"}
		}
		return guard.Deny("no", "no")
	}))
	tool := rtTool(t, g, "guarded", deny, &ran)
	out, err := tool.RunRaw(ctx, map[string]any{"key": "${secret:KEY}", "mode": ""})
	if err != nil {
		t.Fatalf("denial should be an output, got %v", err)
	}
	if b, _ := json.Marshal(out); !strings.Contains(string(b), "refused") {
		t.Errorf("denial output: %s", b)
	}
	_, err = tool.RunRaw(ctx, map[string]any{"key": "x", "mode": "approve"})
	if ok, meta := ai.IsToolInterruptError(err); !ok || meta["agentguard_approval_id"] != "ap-1" {
		t.Errorf("pending call: want an interrupt with the approval id, got %v %v", err, meta)
	}
	// Near-miss placeholders deny rather than reach the function.
	_, _ = tool.RunRaw(ctx, map[string]any{"key": "${SECRET:KEY}", "mode": ""})
	if ran != 0 {
		t.Fatalf("denied calls ran the function %d times", ran)
	}
}
