package outputguard

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/guardtest"
)

func mustPipeline(t testing.TB, cfg PipelineConfig) *Pipeline {
	t.Helper()
	p, err := NewPipeline(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func constFilter(v guard.Verdict, err error) guard.OutputFilter {
	return guard.OutputFilterFunc(func(context.Context, *guard.Output) (guard.Verdict, error) { return v, err })
}

func TestPipeline(t *testing.T) {
	pii := mustPII(t, PIIConfig{Action: ActionRedact})
	leak := mustLeak(t, PromptLeakConfig{SystemPrompt: testSystemPrompt})
	sec := mustSecrets(t, SecretsConfig{})
	ctx := context.Background()
	tests := []struct {
		name     string
		filters  []guard.OutputFilter
		text     string
		action   guard.Action
		wantText string
		wantCats []string
		wantErr  bool
	}{
		{"clean text allowed", []guard.OutputFilter{sec, leak, pii}, "All good.", guard.Allow, "", nil, false},
		{"card redacted", []guard.OutputFilter{sec, leak, pii}, "Card 4111 1111 1111 1111.", guard.Rewrite,
			"Card [REDACTED:pii.card].", []string{"pii.card"}, false},
		{"leak blocked", []guard.OutputFilter{sec, leak, pii}, testSystemPrompt, guard.Block, "", []string{"system_prompt.verbatim"}, false},
		{"secret blocked after a rewrite", []guard.OutputFilter{pii, sec}, "mail a@example.com key " + fakeAWS, guard.Block, "",
			[]string{"pii.email", "secret.aws-access-key-id"}, false},
		{"rewrites chain", []guard.OutputFilter{pii, constFilter(guard.Verdict{Action: guard.Rewrite, Text: "second", Categories: []string{"x"}}, nil)},
			"a@example.com", guard.Rewrite, "second", []string{"pii.email", "x"}, false},
		{"filter error blocks", []guard.OutputFilter{constFilter(guard.Verdict{Action: guard.Allow}, errors.New("boom"))}, "x", guard.Block, "", nil, true},
		{"unknown action blocks", []guard.OutputFilter{constFilter(guard.Verdict{Action: 42}, nil)}, "x", guard.Block, "", nil, true},
		{"panic blocks", []guard.OutputFilter{guard.OutputFilterFunc(func(context.Context, *guard.Output) (guard.Verdict, error) { panic("bad") })},
			"x", guard.Block, "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPipeline(t, PipelineConfig{Filters: tt.filters})
			v, err := p.FilterOutput(ctx, &guard.Output{Text: tt.text})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, guard.ErrDenied) {
				t.Fatalf("error %v does not match guard.ErrDenied", err)
			}
			if v.Action != tt.action || v.Text != tt.wantText {
				t.Fatalf("verdict %+v, want %v %q", v, tt.action, tt.wantText)
			}
			if len(tt.wantCats) > 0 && !equalStrings(v.Categories, tt.wantCats) {
				t.Fatalf("categories %v, want %v", v.Categories, tt.wantCats)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPipelineBudget(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	slow := guard.OutputFilterFunc(func(ctx context.Context, _ *guard.Output) (guard.Verdict, error) {
		<-release // ignores its context on purpose
		return guard.Verdict{Action: guard.Allow}, nil
	})
	p := mustPipeline(t, PipelineConfig{Filters: []guard.OutputFilter{slow}, Budget: 20 * time.Millisecond})
	v, err := p.FilterOutput(context.Background(), &guard.Output{Text: "x"})
	if v.Action != guard.Block || v.Rule != "output.budget" || !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("verdict %+v err %v", v, err)
	}

	// A cancelled caller never gets an allow.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p = mustPipeline(t, PipelineConfig{Filters: []guard.OutputFilter{mustPII(t, PIIConfig{})}})
	if v, err := p.FilterOutput(ctx, &guard.Output{Text: "fine"}); v.Action != guard.Block || err == nil {
		t.Fatalf("cancelled: %+v %v", v, err)
	}
}

func TestNewPipelineErrors(t *testing.T) {
	if _, err := NewPipeline(PipelineConfig{}); !errors.Is(err, guard.ErrNilPolicy) {
		t.Error("no filters accepted")
	}
	if _, err := NewPipeline(PipelineConfig{Filters: []guard.OutputFilter{nil}}); !errors.Is(err, guard.ErrNilPolicy) {
		t.Error("nil filter accepted")
	}
	if _, err := NewPipeline(PipelineConfig{Filters: []guard.OutputFilter{mustPII(t, PIIConfig{})}, Budget: -1}); err == nil {
		t.Error("negative budget accepted")
	}
}

func TestPipelineMiddleware(t *testing.T) {
	p := mustPipeline(t, PipelineConfig{Filters: []guard.OutputFilter{
		mustSecrets(t, SecretsConfig{}), mustPII(t, PIIConfig{Action: ActionRedact})}})
	mw, err := p.Middleware()
	if err != nil {
		t.Fatal(err)
	}
	tool := guard.HandlerFunc(func(_ context.Context, c *guard.Call) (*guard.Result, error) {
		switch c.Tool {
		case "leak":
			return &guard.Result{Content: "AWS key " + fakeAWS}, nil
		case "card":
			return &guard.Result{Content: "card 4111 1111 1111 1111"}, nil
		}
		return &guard.Result{Content: "ok"}, nil
	})
	h := mw(tool)
	ctx := context.Background()
	if _, err := h.Handle(ctx, &guard.Call{ID: "1", Tool: "leak"}); !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("leak: %v", err)
	}
	r, err := h.Handle(ctx, &guard.Call{ID: "2", Tool: "card"})
	if err != nil || r.Content != "card [REDACTED:pii.card]" {
		t.Fatalf("card: %+v %v", r, err)
	}
	// guardtest.TestMiddleware does not apply: it judges request-side stages
	// (a denial must not reach the tool), while this stage judges the result.
	if r, err := h.Handle(ctx, &guard.Call{ID: "3", Tool: "other"}); err != nil || r.Content != "ok" {
		t.Fatalf("other: %+v %v", r, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := h.Handle(cctx, &guard.Call{ID: "4", Tool: "other"}); !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestPipelineConformance(t *testing.T) {
	p := mustPipeline(t, PipelineConfig{Filters: []guard.OutputFilter{
		mustSecrets(t, SecretsConfig{}),
		mustLeak(t, PromptLeakConfig{SystemPrompt: testSystemPrompt}),
		mustPII(t, PIIConfig{Action: ActionRedact}),
	}})
	guardtest.TestOutputFilter(t, p, guardtest.OutputFilterCases{
		Allowed: []*guard.Output{{Text: "Paid."}, {Text: "Card 4111 1111 1111 1111"}},
		Blocked: []*guard.Output{{Text: testSystemPrompt}, {Text: fakeGitHub}},
	})
}

// The pipeline's log records carry categories and rules, never the text.
func TestPipelineLogsNoText(t *testing.T) {
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p := mustPipeline(t, PipelineConfig{Logger: log, Filters: []guard.OutputFilter{
		mustSecrets(t, SecretsConfig{}), mustPII(t, PIIConfig{Action: ActionRedact})}})
	for _, text := range []string{"card 4111 1111 1111 1111", "key " + fakeAWS} {
		_, _ = p.Check(context.Background(), text)
	}
	if strings.Contains(buf.String(), "4111") || strings.Contains(buf.String(), fakeAWS) || !strings.Contains(buf.String(), "pii.card") {
		t.Fatalf("log: %s", buf.String())
	}
}
