package eino_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/cloudwego/eino/compose"
	"github.com/cloudwego/eino/schema"

	agenteino "github.com/agentguard/agentguard/adapters/eino"
	"github.com/agentguard/agentguard/guard"
)

// Red-team tests: attacks on the Eino adapter.

const rtSecret = "sk_live_REDTEAM_0123456789abcdef"

func rtMiddleware(t *testing.T, extra ...guard.Middleware) compose.ToolMiddleware {
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
	mws := append(extra, res)
	mw, err := agenteino.ToolMiddleware(agenteino.Config{Chain: guard.Chain(mws[0], mws[1:]...),
		Principal: func(context.Context) (guard.Principal, error) { return guard.Principal{Role: "r"}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return mw
}

// An enhanced (multimodal) tool whose text is clean but whose image part carries
// the resolved secret in its URL (a signed URL, a static-map key): the secret
// must not go back to the model unjudged.
func TestRedTeamEnhancedNonTextPartsCarrySecret(t *testing.T) {
	mw := rtMiddleware(t)
	url := "https://maps.test/static?key=" + rtSecret
	extra := map[string]any{"token": rtSecret}
	for name, part := range map[string]schema.ToolOutputPart{
		"image url":  {Type: schema.ToolPartTypeImage, Image: &schema.ToolOutputImage{MessagePartCommon: schema.MessagePartCommon{URL: &url}}},
		"text extra": {Type: schema.ToolPartTypeText, Text: "clean", Extra: extra},
	} {
		t.Run(name, func(t *testing.T) {
			ep := mw.EnhancedInvokable(func(ctx context.Context, in *compose.ToolInput) (*compose.EnhancedInvokableToolOutput, error) {
				if !strings.Contains(in.Arguments, rtSecret) {
					t.Errorf("tool did not get the resolved value: %s", in.Arguments)
				}
				return &compose.EnhancedInvokableToolOutput{Result: &schema.ToolResult{Parts: []schema.ToolOutputPart{
					{Type: schema.ToolPartTypeText, Text: "here is the map"}, part}}}, nil
			})
			out, err := ep(context.Background(), &compose.ToolInput{Name: "map", Arguments: `{"k":"${secret:KEY}"}`, CallID: "c1"})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(out)
			if strings.Contains(string(b), rtSecret) {
				t.Fatalf("secret reached the model through a non-text part: %s", b)
			}
		})
	}
}

// A clean multimodal result still passes through whole.
func TestRedTeamEnhancedCleanPassesThrough(t *testing.T) {
	mw := rtMiddleware(t)
	url := "https://img.test/cat.png"
	ep := mw.EnhancedInvokable(func(ctx context.Context, in *compose.ToolInput) (*compose.EnhancedInvokableToolOutput, error) {
		return &compose.EnhancedInvokableToolOutput{Result: &schema.ToolResult{Parts: []schema.ToolOutputPart{
			{Type: schema.ToolPartTypeText, Text: "a cat"},
			{Type: schema.ToolPartTypeImage, Image: &schema.ToolOutputImage{MessagePartCommon: schema.MessagePartCommon{URL: &url}}}}}}, nil
	})
	out, err := ep(context.Background(), &compose.ToolInput{Name: "cat", Arguments: `{"k":"${secret:KEY}"}`})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Result.Parts) != 2 {
		t.Fatalf("clean image dropped: %+v", out.Result.Parts)
	}
}

// Every path is guarded: a denial never runs the tool, on all four endpoints,
// concurrently (run with -race).
func TestRedTeamAllEndpointsDeny(t *testing.T) {
	deny, _ := guard.Authorize(guard.ScoperFunc(func(context.Context, *guard.Call) error { return guard.Deny("no", "no") }))
	mw := rtMiddleware(t, deny)
	var mu sync.Mutex
	ran := 0
	run := func() { mu.Lock(); ran++; mu.Unlock() }
	in := &compose.ToolInput{Name: "t", Arguments: `{}`}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			out, err := mw.Invokable(func(context.Context, *compose.ToolInput) (*compose.ToolOutput, error) {
				run()
				return &compose.ToolOutput{Result: "x"}, nil
			})(context.Background(), in)
			if err != nil || !strings.Contains(out.Result, "refused") {
				t.Errorf("invokable: %+v %v", out, err)
			}
			so, err := mw.Streamable(func(context.Context, *compose.ToolInput) (*compose.StreamToolOutput, error) {
				run()
				return &compose.StreamToolOutput{Result: schema.StreamReaderFromArray([]string{"x"})}, nil
			})(context.Background(), in)
			if err != nil || so == nil {
				t.Errorf("streamable: %v", err)
			}
			_, err = mw.EnhancedInvokable(func(context.Context, *compose.ToolInput) (*compose.EnhancedInvokableToolOutput, error) {
				run()
				return nil, nil
			})(context.Background(), in)
			if err != nil {
				t.Errorf("enhanced: %v", err)
			}
			_, err = mw.EnhancedStreamable(func(context.Context, *compose.ToolInput) (*compose.EnhancedStreamableToolOutput, error) {
				run()
				return nil, nil
			})(context.Background(), in)
			if err != nil {
				t.Errorf("enhanced stream: %v", err)
			}
		})
	}
	wg.Wait()
	if ran != 0 {
		t.Fatalf("denied calls ran the tool %d times", ran)
	}
}

// A streamed result is scrubbed as a whole, even when the value is split across
// chunks, and an oversized stream is refused.
func TestRedTeamStreamSplitSecret(t *testing.T) {
	mw := rtMiddleware(t)
	ep := mw.Streamable(func(_ context.Context, in *compose.ToolInput) (*compose.StreamToolOutput, error) {
		half := len(rtSecret) / 2
		return &compose.StreamToolOutput{Result: schema.StreamReaderFromArray([]string{"a " + rtSecret[:half], rtSecret[half:] + " b"})}, nil
	})
	out, err := ep(context.Background(), &compose.ToolInput{Name: "t", Arguments: `{"k":"${secret:KEY}"}`})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for {
		c, err := out.Result.Recv()
		if err != nil {
			break
		}
		b.WriteString(c)
	}
	if strings.Contains(b.String(), rtSecret) {
		t.Fatalf("split secret reached the model: %s", b.String())
	}
}

// A tool error or panic carrying the value does not reach the model.
func TestRedTeamToolErrorCarriesSecret(t *testing.T) {
	mw := rtMiddleware(t)
	for name, tool := range map[string]compose.InvokableToolEndpoint{
		"error": func(_ context.Context, in *compose.ToolInput) (*compose.ToolOutput, error) {
			return nil, errors.New("bad request: " + in.Arguments)
		},
		"panic": func(_ context.Context, in *compose.ToolInput) (*compose.ToolOutput, error) {
			panic("bad request: " + in.Arguments)
		},
	} {
		out, err := mw.Invokable(tool)(context.Background(), &compose.ToolInput{Name: "t", Arguments: `{"k":"${secret:KEY}"}`})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.Contains(out.Result, rtSecret) {
			t.Fatalf("%s: %s", name, out.Result)
		}
	}
}
