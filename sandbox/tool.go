package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/agentguard/agentguard/guard"
)

// PythonToolName is the tool name models know code interpreters by.
const PythonToolName = "run_python"

// PythonToolDescription is the tool description shown to the model.
const PythonToolDescription = "Run a Python 3.12 program in an isolated sandbox and return its printed output. " +
	"Use print() to show results. The sandbox has no network and no access to the user's files; " +
	"only the Python standard library is available. Each call starts from a fresh interpreter unless the host keeps a session."

// PythonToolSchema returns the JSON Schema of the tool's arguments:
// {"code": string}.
func PythonToolSchema() json.RawMessage {
	return json.RawMessage(`{"type":"object","properties":{"code":{"type":"string","description":"The Python program to run."}},"required":["code"],"additionalProperties":false}`)
}

// Defaults for [ToolConfig].
const (
	DefaultMaxCode   = 64 << 10
	DefaultMaxResult = 16 << 10
)

// ToolConfig configures [NewPythonTool].
type ToolConfig struct {
	// Lang is the language passed to the sandbox (default [LangPython]).
	Lang string
	// MaxCode bounds the program's size in bytes (default [DefaultMaxCode]).
	MaxCode int
	// MaxResult bounds the stdout and the stderr shown to the model, each
	// (default [DefaultMaxResult]); the rest is cut with a marker.
	MaxResult int
	// Labels are added to every result (for example [guard.LabelUntrusted] when
	// the sandbox mounts files an attacker may have written).
	Labels []string
}

// NewPythonTool returns the handler of the run_python tool: it takes
// {"code": "..."}, runs the code in sb and returns its exit status, output and
// any limit that stopped it as the tool result. Malformed arguments are a
// denial at [guard.StageArgs] whose reason the model can act on; a sandbox that
// cannot run code (not installed, failing) is an error. A nil sb is an error.
func NewPythonTool(sb guard.Sandbox, cfg ToolConfig) (guard.Handler, error) {
	if sb == nil {
		return nil, fmt.Errorf("sandbox: python tool: %w", guard.ErrNilPolicy)
	}
	if cfg.MaxCode < 0 || cfg.MaxResult < 0 {
		return nil, errors.New("sandbox: python tool: negative limit")
	}
	if cfg.Lang == "" {
		cfg.Lang = LangPython
	}
	if cfg.MaxCode == 0 {
		cfg.MaxCode = DefaultMaxCode
	}
	if cfg.MaxResult == 0 {
		cfg.MaxResult = DefaultMaxResult
	}
	cfg.Labels = append([]string(nil), cfg.Labels...)
	return guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
		code, err := DecodeToolArgs(c.Args, cfg.MaxCode)
		if err != nil {
			return nil, &guard.DenialError{Stage: guard.StageArgs, Rule: PythonToolName + ".args", Reason: err.Error(),
				CallID: c.ID, Tool: c.Tool}
		}
		ex, err := sb.Exec(guard.ContextWithCall(ctx, c), guard.Code{Lang: cfg.Lang, Source: code})
		if err != nil {
			return nil, fmt.Errorf("sandbox: run_python: %w", err)
		}
		return &guard.Result{Content: FormatExecution(ex, cfg.MaxResult), Labels: append([]string(nil), cfg.Labels...)}, nil
	}), nil
}

// DecodeToolArgs decodes run_python arguments strictly: one JSON object with
// exactly one field, "code", a non-empty string of at most maxCode bytes.
func DecodeToolArgs(args json.RawMessage, maxCode int) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.DisallowUnknownFields()
	var in struct {
		Code *string `json:"code"`
	}
	if err := dec.Decode(&in); err != nil {
		return "", errors.New(`arguments must be a JSON object {"code": "<python program>"}`)
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", errors.New("arguments must be a single JSON object")
	}
	if in.Code == nil || strings.TrimSpace(*in.Code) == "" {
		return "", errors.New(`"code" is required and must not be empty`)
	}
	if len(*in.Code) > maxCode {
		return "", fmt.Errorf(`"code" is %d bytes; the limit is %d`, len(*in.Code), maxCode)
	}
	if !utf8.ValidString(*in.Code) {
		return "", errors.New(`"code" must be valid UTF-8`)
	}
	return *in.Code, nil
}

// FormatExecution renders an execution as the text a model reads: the exit
// status, a line naming the limit that stopped the run, then stdout and stderr,
// each cut to max bytes.
func FormatExecution(ex *guard.Execution, max int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "exit status: %d\n", ex.ExitCode)
	switch ex.LimitHit {
	case guard.LimitNone:
	case guard.LimitTime:
		b.WriteString("stopped: the time limit was reached\n")
	case guard.LimitMemory:
		b.WriteString("stopped: the memory limit was reached\n")
	case guard.LimitOutput:
		b.WriteString("stopped: the output limit was reached\n")
	default:
		fmt.Fprintf(&b, "stopped: the %s limit was reached\n", ex.LimitHit)
	}
	section := func(name string, s []byte) {
		if len(s) == 0 {
			return
		}
		fmt.Fprintf(&b, "%s:\n", name)
		if len(s) > max {
			b.WriteString(strings.ToValidUTF8(string(s[:max]), "\uFFFD"))
			fmt.Fprintf(&b, "\n[... %d more bytes cut]\n", len(s)-max)
			return
		}
		b.WriteString(strings.ToValidUTF8(string(s), "\uFFFD"))
		if s[len(s)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	section("stdout", ex.Stdout)
	section("stderr", ex.Stderr)
	return b.String()
}
