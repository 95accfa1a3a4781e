package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/guard"
)

// echoSandbox "runs" code by echoing it, so the tool is tested without an
// interpreter.
var echoSandbox = guard.SandboxFunc(func(_ context.Context, c guard.Code) (*guard.Execution, error) {
	switch c.Source {
	case "fail":
		return nil, errors.New("sandbox down")
	case "loop":
		return &guard.Execution{ExitCode: -1, LimitHit: guard.LimitTime}, nil
	}
	return &guard.Execution{Stdout: []byte(c.Source)}, nil
})

func toolCall(args string) *guard.Call {
	return &guard.Call{ID: "c1", Tool: PythonToolName, Args: json.RawMessage(args), Principal: guard.Principal{Role: "reader"}}
}

func TestPythonTool(t *testing.T) {
	h, err := NewPythonTool(echoSandbox, ToolConfig{MaxCode: 100, MaxResult: 10, Labels: []string{guard.LabelUntrusted}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    string
		want    string // substring of the content
		denied  bool
		failing bool
	}{
		{name: "runs", args: `{"code":"print(1)"}`, want: "exit status: 0\nstdout:\nprint(1)\n"},
		{name: "long output is cut", args: `{"code":"` + strings.Repeat("a", 30) + `"}`, want: "[... 20 more bytes cut]"},
		{name: "limit named", args: `{"code":"loop"}`, want: "stopped: the time limit was reached"},
		{name: "missing code", args: `{}`, denied: true},
		{name: "empty code", args: `{"code":"  "}`, denied: true},
		{name: "extra field", args: `{"code":"1","cwd":"/"}`, denied: true},
		{name: "duplicate object", args: `{"code":"1"}{"code":"2"}`, denied: true},
		{name: "not an object", args: `"print(1)"`, denied: true},
		{name: "code too long", args: `{"code":"` + strings.Repeat("a", 101) + `"}`, denied: true},
		{name: "sandbox failure", args: `{"code":"fail"}`, failing: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := h.Handle(t.Context(), toolCall(tt.args))
			switch {
			case tt.denied:
				var d *guard.DenialError
				if !errors.As(err, &d) || d.Stage != guard.StageArgs || !errors.Is(err, guard.ErrDenied) {
					t.Fatalf("err = %v, want an args denial", err)
				}
			case tt.failing:
				if err == nil || errors.Is(err, guard.ErrDenied) {
					t.Fatalf("err = %v, want a tool failure", err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(r.Content, tt.want) || !r.HasLabel(guard.LabelUntrusted) {
					t.Fatalf("content %q labels %v", r.Content, r.Labels)
				}
			}
		})
	}
	if _, err := NewPythonTool(nil, ToolConfig{}); !errors.Is(err, guard.ErrNilPolicy) {
		t.Errorf("nil sandbox: %v", err)
	}
}

func FuzzDecodeToolArgs(f *testing.F) {
	for _, s := range []string{`{"code":"print(1)"}`, `{}`, `{"code":null}`, `[]`, `{"code":"a"}{}`, `{"code":"\ud800"}`, `{"Code":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		code, err := DecodeToolArgs(b, 1<<10)
		if err == nil && (code == "" || len(code) > 1<<10) {
			t.Fatalf("accepted %q", code)
		}
	})
}
