package agentloop

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	openai "github.com/sashabaranov/go-openai"

	"github.com/agentguard/agentguard/guard"
)

// Client is the part of a chat completions client the loop needs. *openai.Client
// satisfies it, and so does [ScriptedClient] for tests and demos with no key.
type Client interface {
	CreateChatCompletion(ctx context.Context, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error)
}

// Message is a chat message, as go-openai defines it.
type Message = openai.ChatCompletionMessage

// Tool is a tool the model may call.
type Tool struct {
	// Name is what the model calls the tool by.
	Name string
	// Description is shown to the model.
	Description string
	// Parameters is the JSON Schema of the arguments object, shown to the model. A
	// nil schema is shown as an empty object schema.
	Parameters json.RawMessage
	// Handler runs the tool. The loop wraps it in Config.Middleware.
	Handler guard.Handler
}

// Defaults for the loop's bounds.
const (
	DefaultMaxTurns     = 8
	DefaultMaxToolCalls = 16
)

// Errors the loop returns. A run that ends on a bound returns an *Answer as well as
// an error matching one of these.
var (
	ErrTurnLimit     = errors.New("agentloop: turn limit reached")
	ErrToolCallLimit = errors.New("agentloop: tool call limit reached")
	ErrNoChoices     = errors.New("agentloop: model returned no choices")
)

// Config configures a [Loop]. The zero value of every optional field is the safe
// choice: no tools, default bounds, no extra scanning.
type Config struct {
	// Client talks to the model. Required.
	Client Client
	// Model names the model. Required.
	Model string
	// SystemPrompt is the application's instructions. It is sent as the system
	// message and never has untrusted text concatenated into it.
	SystemPrompt string
	// Tools the model may call. Names must be unique.
	Tools []Tool
	// Middleware is the guard chain put around every tool (build it with
	// guard.Chain). Nil runs tools unguarded, which New refuses unless
	// InsecureNoMiddleware is set.
	Middleware guard.Middleware
	// InsecureNoMiddleware allows a nil Middleware.
	InsecureNoMiddleware bool
	// Principal is who the agent acts for; it is put on every call.
	Principal guard.Principal
	// MaxTurns bounds model round trips per Send; 0 means DefaultMaxTurns.
	MaxTurns int
	// MaxToolCalls bounds tool calls per Send; 0 means DefaultMaxToolCalls.
	MaxToolCalls int
	// InputDetector, when set, scans every user message before the model sees it.
	// In Enforce mode (the default) a detected injection or a detector error stops
	// the message; in Monitor mode it is only reported.
	InputDetector guard.InjectionDetector
	InputMode     guard.Mode
	// OutputFilter, when set, judges the final answer before it is returned. A block
	// or a filter error withholds it (fail closed); a rewrite replaces it.
	OutputFilter guard.OutputFilter
	// Observer, when set, is told each step of the loop (for transcripts and UIs).
	Observer func(Step)
}

// StepKind names a step of the loop.
type StepKind string

// The steps an Observer sees.
const (
	StepUserInput    StepKind = "user_input"
	StepInputBlocked StepKind = "input_blocked"
	StepToolCall     StepKind = "tool_call"
	StepToolResult   StepKind = "tool_result"
	StepToolDenied   StepKind = "tool_denied"
	StepToolFailed   StepKind = "tool_failed"
	StepAnswer       StepKind = "answer"
	StepAnswerHeld   StepKind = "answer_withheld"
)

// Step is one event of the loop, for observers.
type Step struct {
	Kind StepKind
	// Call is the guarded call for tool steps.
	Call *guard.Call
	// Text is the user input, the text the model was shown for a tool step, or the
	// answer.
	Text string
	// Err is the denial or failure, for StepToolDenied, StepToolFailed,
	// StepInputBlocked and StepAnswerHeld. It carries the audit detail; the model
	// saw only guard.ModelMessage(Err).
	Err error
	// Detection is the input scan's finding, for StepUserInput and
	// StepInputBlocked when an InputDetector is set.
	Detection *guard.Detection
	// Verdict is the output filter's verdict, for StepAnswer and StepAnswerHeld.
	Verdict *guard.Verdict
}

// Loop runs a guarded tool-call loop. It is safe for concurrent use; each
// [Conversation] is not.
type Loop struct {
	cfg   Config
	tools map[string]guard.Handler
	defs  []openai.Tool
}

// New validates cfg and returns a Loop.
func New(cfg Config) (*Loop, error) {
	if cfg.Client == nil {
		return nil, errors.New("agentloop: Config.Client is required")
	}
	if cfg.Model == "" {
		return nil, errors.New("agentloop: Config.Model is required")
	}
	if cfg.Middleware == nil && !cfg.InsecureNoMiddleware {
		return nil, fmt.Errorf("agentloop: Config.Middleware is nil (set InsecureNoMiddleware to run tools unguarded): %w", guard.ErrNilPolicy)
	}
	if cfg.MaxTurns < 0 || cfg.MaxToolCalls < 0 {
		return nil, errors.New("agentloop: negative bound")
	}
	if cfg.MaxTurns == 0 {
		cfg.MaxTurns = DefaultMaxTurns
	}
	if cfg.MaxToolCalls == 0 {
		cfg.MaxToolCalls = DefaultMaxToolCalls
	}
	if cfg.InputMode > guard.Monitor {
		return nil, fmt.Errorf("agentloop: invalid input mode %v", cfg.InputMode)
	}
	l := &Loop{cfg: cfg, tools: make(map[string]guard.Handler, len(cfg.Tools))}
	for _, t := range cfg.Tools {
		if t.Name == "" || t.Handler == nil {
			return nil, fmt.Errorf("agentloop: tool %q needs a name and a handler", t.Name)
		}
		if _, dup := l.tools[t.Name]; dup {
			return nil, fmt.Errorf("agentloop: duplicate tool %q", t.Name)
		}
		h := t.Handler
		if cfg.Middleware != nil {
			h = cfg.Middleware(h)
		}
		l.tools[t.Name] = h
		params := t.Parameters
		if params == nil {
			params = json.RawMessage(`{"type":"object","properties":{},"additionalProperties":false}`)
		} else if !json.Valid(params) {
			return nil, fmt.Errorf("agentloop: tool %q: parameters are not valid JSON", t.Name)
		}
		l.defs = append(l.defs, openai.Tool{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{
			Name: t.Name, Description: t.Description, Parameters: params,
		}})
	}
	return l, nil
}

// Conversation is one session with the agent: its message history and session id.
// It is not safe for concurrent use.
type Conversation struct {
	loop     *Loop
	id       string
	messages []openai.ChatCompletionMessage
}

// Conversation starts a session. An empty id gets a random one.
func (l *Loop) Conversation(sessionID string) *Conversation {
	if sessionID == "" {
		sessionID = "sess_" + randomID()
	}
	c := &Conversation{loop: l, id: sessionID}
	if l.cfg.SystemPrompt != "" {
		c.messages = append(c.messages, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleSystem, Content: l.cfg.SystemPrompt})
	}
	return c
}

// ID returns the session id.
func (c *Conversation) ID() string { return c.id }

// Messages returns a copy of the history as the model sees it.
func (c *Conversation) Messages() []openai.ChatCompletionMessage {
	return append([]openai.ChatCompletionMessage(nil), c.messages...)
}

// Answer is the outcome of one user message.
type Answer struct {
	// Text is the final answer as released (filtered, possibly rewritten), or a
	// generic refusal when Withheld.
	Text string
	// Withheld is set when the input was blocked or the output filter withheld the
	// answer.
	Withheld bool
	Turns    int
	// ToolCalls counts tool calls requested by the model, denied ones included.
	ToolCalls int
	// Denied counts tool calls a guard denied.
	Denied int
}

// Refusals shown when the loop withholds text.
const (
	InputRefusal  = "I can't help with that request."
	OutputRefusal = "I can't share that answer."
)

// Run is a one-message conversation with a fresh session.
func (l *Loop) Run(ctx context.Context, input string) (*Answer, error) {
	return l.Conversation("").Send(ctx, input)
}

// Send sends a user message and runs the loop until the model answers without tool
// calls, a bound is reached, or ctx ends.
func (c *Conversation) Send(ctx context.Context, input string) (*Answer, error) {
	l := c.loop
	ans := &Answer{}
	if blocked, err := l.scanInput(ctx, input); err != nil || blocked {
		ans.Text, ans.Withheld = InputRefusal, true
		return ans, err
	}
	c.messages = append(c.messages, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: input})
	for ans.Turns < l.cfg.MaxTurns {
		if err := ctx.Err(); err != nil {
			return ans, fmt.Errorf("agentloop: %w", err)
		}
		ans.Turns++
		resp, err := l.cfg.Client.CreateChatCompletion(ctx, openai.ChatCompletionRequest{
			Model: l.cfg.Model, Messages: c.messages, Tools: l.defs,
		})
		if err != nil {
			return ans, fmt.Errorf("agentloop: turn %d: %w", ans.Turns, err)
		}
		if len(resp.Choices) == 0 {
			return ans, ErrNoChoices
		}
		msg := resp.Choices[0].Message
		msg.Role = openai.ChatMessageRoleAssistant
		if len(msg.ToolCalls) == 0 {
			return ans, c.finish(ctx, ans, msg)
		}
		c.messages = append(c.messages, msg)
		for _, tc := range msg.ToolCalls {
			ans.ToolCalls++
			var content string
			if ans.ToolCalls > l.cfg.MaxToolCalls {
				content = "Tool call limit reached; no more tools can be called in this turn."
			} else {
				content = c.dispatch(ctx, ans, tc)
			}
			// Every tool call gets its answer, so the history stays well-formed.
			c.messages = append(c.messages, openai.ChatCompletionMessage{
				Role: openai.ChatMessageRoleTool, ToolCallID: tc.ID, Name: tc.Function.Name, Content: content,
			})
		}
		if ans.ToolCalls > l.cfg.MaxToolCalls {
			return ans, fmt.Errorf("%w (%d)", ErrToolCallLimit, l.cfg.MaxToolCalls)
		}
	}
	return ans, fmt.Errorf("%w (%d)", ErrTurnLimit, l.cfg.MaxTurns)
}

func (l *Loop) observe(s Step) {
	if l.cfg.Observer != nil {
		l.cfg.Observer(s)
	}
}

func (l *Loop) scanInput(ctx context.Context, input string) (blocked bool, err error) {
	if l.cfg.InputDetector == nil {
		l.observe(Step{Kind: StepUserInput, Text: input})
		return false, nil
	}
	det, derr := safeDetect(ctx, l.cfg.InputDetector, guard.Text{Content: input, Provenance: guard.ProvenanceUser})
	switch {
	case derr != nil && l.cfg.InputMode == guard.Enforce:
		err := fmt.Errorf("agentloop: input scan failed (denying): %w", derr)
		l.observe(Step{Kind: StepInputBlocked, Text: input, Err: err})
		return true, nil
	case det.Injection && l.cfg.InputMode == guard.Enforce:
		err := &guard.DenialError{Stage: guard.StageInjection, Rule: "input." + firstOr(det.Rules, "injection"),
			Reason: fmt.Sprintf("user input looks like a prompt injection (score %.2f)", det.Score)}
		l.observe(Step{Kind: StepInputBlocked, Text: input, Err: err, Detection: &det})
		return true, nil
	}
	l.observe(Step{Kind: StepUserInput, Text: input, Detection: &det})
	return false, nil
}

func safeDetect(ctx context.Context, d guard.InjectionDetector, in guard.Text) (det guard.Detection, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("detector panicked: %v", p)
		}
	}()
	return d.DetectInjection(ctx, in)
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

// dispatch runs one tool call through the chain and returns what the model is shown.
func (c *Conversation) dispatch(ctx context.Context, ans *Answer, tc openai.ToolCall) string {
	l := c.loop
	call := &guard.Call{
		ID:        "call_" + randomID(),
		Tool:      tc.Function.Name,
		Args:      json.RawMessage(tc.Function.Arguments),
		Principal: l.cfg.Principal,
		SessionID: c.id,
	}
	l.observe(Step{Kind: StepToolCall, Call: call})
	h, ok := l.tools[tc.Function.Name]
	if !ok {
		ans.Denied++
		err := &guard.DenialError{Stage: guard.StageScope, Rule: "tool.unknown", Reason: "no such tool", CallID: call.ID, Tool: call.Tool}
		l.observe(Step{Kind: StepToolDenied, Call: call, Err: err})
		return err.ModelMessage()
	}
	r, err := safeHandle(ctx, h, call)
	switch {
	case err != nil && errors.Is(err, guard.ErrDenied):
		ans.Denied++
		l.observe(Step{Kind: StepToolDenied, Call: call, Err: err})
		return guard.ModelMessage(err)
	case err != nil:
		l.observe(Step{Kind: StepToolFailed, Call: call, Err: err})
		return guard.ModelMessage(err)
	case r == nil:
		l.observe(Step{Kind: StepToolResult, Call: call})
		return ""
	}
	l.observe(Step{Kind: StepToolResult, Call: call, Text: r.Content})
	return r.Content
}

func safeHandle(ctx context.Context, h guard.Handler, c *guard.Call) (r *guard.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			// The panic value is not put in the error: it may hold anything the tool
			// had in hand, including resolved secrets.
			r, err = nil, errors.New("agentloop: tool panicked")
		}
	}()
	return h.Handle(ctx, c)
}

// finish runs the output filter over the model's final message.
func (c *Conversation) finish(ctx context.Context, ans *Answer, msg openai.ChatCompletionMessage) error {
	l := c.loop
	text := msg.Content
	if len(msg.MultiContent) > 0 {
		// A multi-part answer is judged, returned and kept as its text parts only:
		// parts the filter cannot read are not passed on unjudged.
		var parts []string
		if text != "" {
			parts = append(parts, text)
		}
		for _, p := range msg.MultiContent {
			if p.Type == openai.ChatMessagePartTypeText {
				parts = append(parts, p.Text)
			}
		}
		text = strings.Join(parts, "\n")
		msg.Content, msg.MultiContent = text, nil
	}
	if l.cfg.OutputFilter != nil {
		v, err := safeFilter(ctx, l.cfg.OutputFilter, &guard.Output{Text: text, Provenance: guard.ProvenanceModelOutput,
			SessionID: c.id, Principal: l.cfg.Principal})
		switch {
		case err != nil:
			ans.Text, ans.Withheld = OutputRefusal, true
			l.observe(Step{Kind: StepAnswerHeld, Text: text, Err: fmt.Errorf("agentloop: output filter failed (withholding): %w", err)})
			return nil
		case v.Action == guard.Block:
			ans.Text, ans.Withheld = OutputRefusal, true
			l.observe(Step{Kind: StepAnswerHeld, Text: text, Verdict: &v,
				Err: &guard.DenialError{Stage: guard.StageOutput, Rule: v.Rule, Reason: v.Reason}})
			// The withheld text is not kept in the history either, nor the
			// message's other fields (reasoning, refusal, parts) that may repeat it.
			c.messages = append(c.messages, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: OutputRefusal})
			return nil
		case v.Action == guard.Rewrite:
			text = v.Text
		case v.Action != guard.Allow:
			ans.Text, ans.Withheld = OutputRefusal, true
			l.observe(Step{Kind: StepAnswerHeld, Text: text, Err: fmt.Errorf("agentloop: unknown output action %v", v.Action)})
			return nil
		}
		msg.Content = text
		ans.Text = text
		c.messages = append(c.messages, msg)
		l.observe(Step{Kind: StepAnswer, Text: text, Verdict: &v})
		return nil
	}
	ans.Text = text
	c.messages = append(c.messages, msg)
	l.observe(Step{Kind: StepAnswer, Text: text})
	return nil
}

func safeFilter(ctx context.Context, f guard.OutputFilter, out *guard.Output) (v guard.Verdict, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("output filter panicked: %v", p)
		}
	}()
	return f.FilterOutput(ctx, out)
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ScriptedClient is a [Client] that replays scripted assistant messages in order,
// for tests and demos that run with no key and no network. Build messages with
// [Say] and [CallTools]. It records every request. It is safe for concurrent use.
type ScriptedClient struct {
	mu       sync.Mutex
	replies  []openai.ChatCompletionMessage
	requests []openai.ChatCompletionRequest
}

// NewScriptedClient returns a client that answers with replies, one per request.
func NewScriptedClient(replies ...openai.ChatCompletionMessage) *ScriptedClient {
	return &ScriptedClient{replies: replies}
}

// Say is a scripted final answer.
func Say(text string) openai.ChatCompletionMessage {
	return openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: text}
}

// Call is a scripted tool call: a tool name and its JSON arguments.
type Call struct {
	Tool string
	Args string
}

// CallTools is a scripted assistant message that calls tools.
func CallTools(calls ...Call) openai.ChatCompletionMessage {
	m := openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant}
	for i, c := range calls {
		m.ToolCalls = append(m.ToolCalls, openai.ToolCall{
			ID: fmt.Sprintf("tc_%d_%s", i, strings.ReplaceAll(c.Tool, " ", "_")), Type: openai.ToolTypeFunction,
			Function: openai.FunctionCall{Name: c.Tool, Arguments: c.Args},
		})
	}
	return m
}

// CreateChatCompletion returns the next scripted reply.
func (s *ScriptedClient) CreateChatCompletion(ctx context.Context, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error) {
	if err := ctx.Err(); err != nil {
		return openai.ChatCompletionResponse{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	req.Messages = append([]openai.ChatCompletionMessage(nil), req.Messages...)
	s.requests = append(s.requests, req)
	if len(s.replies) == 0 {
		return openai.ChatCompletionResponse{}, errors.New("agentloop: scripted client has no more replies")
	}
	msg := s.replies[0]
	s.replies = s.replies[1:]
	finish := openai.FinishReasonStop
	if len(msg.ToolCalls) > 0 {
		finish = openai.FinishReasonToolCalls
	}
	return openai.ChatCompletionResponse{Model: req.Model, Choices: []openai.ChatCompletionChoice{{Message: msg, FinishReason: finish}}}, nil
}

// Requests returns the requests received so far.
func (s *ScriptedClient) Requests() []openai.ChatCompletionRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]openai.ChatCompletionRequest(nil), s.requests...)
}
