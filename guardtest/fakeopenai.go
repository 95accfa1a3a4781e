package guardtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// ToolCall is a tool call the fake model makes.
type ToolCall struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Reply is one scripted answer of the fake model.
type Reply struct {
	// Content is the assistant's text.
	Content string
	// ToolCalls are the tool calls the assistant makes (finish_reason "tool_calls").
	ToolCalls []ToolCall
	// Status, when not 0 or 200, makes the server answer with that HTTP status and an
	// OpenAI-style error body.
	Status int
	// Raw, when set, is written as the response body verbatim (for malformed answers).
	Raw string
	// Delay is waited before answering (for timeout tests); the wait ends early when
	// the client goes away.
	Delay time.Duration
}

// Message is a chat message as the fake server received it.
type Message struct {
	Role       string     `json:"role"`
	Content    string     `json:"content"`
	Name       string     `json:"name,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	ToolCalls  []ToolCall `json:"-"`
}

// Request is a chat completion request as the fake server received it.
type Request struct {
	Model    string
	Messages []Message
	// Tools holds the raw tool definitions the client offered.
	Tools         []json.RawMessage
	Stream        bool
	Authorization string
	Body          []byte
	// Prompt is set for requests to the legacy /completions endpoint.
	Prompt string
}

// FakeOpenAI is an OpenAI-compatible server on loopback that replays scripted
// replies in order, or answers with Respond when it is set. It serves
// POST {URL}/chat/completions, streaming (SSE) when the request asks for it, and the
// legacy POST {URL}/completions (a reply's Content is the completion text).
type FakeOpenAI struct {
	// URL is the base URL to give a client (ends in /v1).
	URL string
	// Respond, when set, computes each reply from the request instead of the script.
	// Set it before the first request.
	Respond func(Request) Reply

	srv      *httptest.Server
	mu       sync.Mutex
	script   []Reply
	requests []Request
}

// NewFakeOpenAI starts a fake server replaying replies and stops it when the test
// ends.
func NewFakeOpenAI(t testing.TB, replies ...Reply) *FakeOpenAI {
	t.Helper()
	f := &FakeOpenAI{script: replies}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL + "/v1"
	t.Cleanup(f.srv.Close)
	return f
}

// Enqueue appends replies to the script.
func (f *FakeOpenAI) Enqueue(replies ...Reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = append(f.script, replies...)
}

// Requests returns the requests received so far.
func (f *FakeOpenAI) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

type wireRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role       string          `json:"role"`
		Content    json.RawMessage `json:"content"`
		Name       string          `json:"name"`
		ToolCallID string          `json:"tool_call_id"`
		ToolCalls  []struct {
			ID       string `json:"id"`
			Function struct {
				Name      string `json:"name"`
				Arguments string `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
	} `json:"messages"`
	Tools  []json.RawMessage `json:"tools"`
	Stream bool              `json:"stream"`
	// Prompt is the legacy completions endpoint's prompt.
	Prompt string `json:"prompt"`
}

func (f *FakeOpenAI) serve(w http.ResponseWriter, r *http.Request) {
	legacy := strings.HasSuffix(r.URL.Path, "/completions") && !strings.HasSuffix(r.URL.Path, "/chat/completions")
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/completions") {
		writeError(w, http.StatusNotFound, "fake: only POST /v1/chat/completions and /v1/completions are served")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "fake: reading body: "+err.Error())
		return
	}
	var wr wireRequest
	if err := json.Unmarshal(body, &wr); err != nil {
		writeError(w, http.StatusBadRequest, "fake: bad JSON: "+err.Error())
		return
	}
	req := Request{Model: wr.Model, Tools: wr.Tools, Stream: wr.Stream, Authorization: r.Header.Get("Authorization"), Body: body, Prompt: wr.Prompt}
	for _, m := range wr.Messages {
		msg := Message{Role: m.Role, Name: m.Name, ToolCallID: m.ToolCallID, Content: contentText(m.Content)}
		for _, tc := range m.ToolCalls {
			msg.ToolCalls = append(msg.ToolCalls, ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
		req.Messages = append(req.Messages, msg)
	}

	f.mu.Lock()
	f.requests = append(f.requests, req)
	var reply Reply
	switch {
	case f.Respond != nil:
		f.mu.Unlock()
		reply = f.Respond(req)
		f.mu.Lock()
	case len(f.script) > 0:
		reply, f.script = f.script[0], f.script[1:]
	default:
		reply = Reply{Status: http.StatusInternalServerError, Content: "fake: script exhausted"}
	}
	n := len(f.requests)
	f.mu.Unlock()

	if reply.Delay > 0 {
		select {
		case <-time.After(reply.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if reply.Status != 0 && reply.Status != http.StatusOK {
		writeError(w, reply.Status, reply.Content)
		return
	}
	if reply.Raw != "" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, reply.Raw)
		return
	}
	id := fmt.Sprintf("chatcmpl-fake-%d", n)
	if legacy {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": fmt.Sprintf("cmpl-fake-%d", n), "object": "text_completion", "created": 0, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "text": reply.Content, "finish_reason": "stop"}},
		})
		return
	}
	if req.Stream {
		f.stream(w, id, req.Model, reply)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(completion(id, req.Model, reply))
}

// contentText returns a message's text whether content is a string or parts.
func contentText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) == nil {
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(p.Text)
		}
		return b.String()
	}
	return string(raw)
}

type wireToolCall struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

func wireCalls(tcs []ToolCall, indexed bool) []wireToolCall {
	out := make([]wireToolCall, len(tcs))
	for i, tc := range tcs {
		out[i].ID, out[i].Type = tc.ID, "function"
		if out[i].ID == "" {
			out[i].ID = fmt.Sprintf("call_%d", i)
		}
		out[i].Function.Name, out[i].Function.Arguments = tc.Name, tc.Arguments
		if indexed {
			idx := i
			out[i].Index = &idx
		}
	}
	return out
}

func completion(id, model string, r Reply) map[string]any {
	msg := map[string]any{"role": "assistant", "content": r.Content}
	finish := "stop"
	if len(r.ToolCalls) > 0 {
		msg["tool_calls"] = wireCalls(r.ToolCalls, false)
		finish = "tool_calls"
	}
	return map[string]any{
		"id": id, "object": "chat.completion", "created": 0, "model": model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}},
		"usage":   map[string]any{"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
	}
}

// stream writes the reply as server-sent events, splitting content into chunks of a
// few characters so that filters see text split across chunks.
func (f *FakeOpenAI) stream(w http.ResponseWriter, id, model string, r Reply) {
	w.Header().Set("Content-Type", "text/event-stream")
	fl, _ := w.(http.Flusher)
	send := func(delta map[string]any, finish any) {
		chunk := map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": 0, "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}},
		}
		b, _ := json.Marshal(chunk)
		fmt.Fprintf(w, "data: %s\n\n", b)
		if fl != nil {
			fl.Flush()
		}
	}
	send(map[string]any{"role": "assistant"}, nil)
	const size = 7
	for s := r.Content; s != ""; {
		n := min(size, len(s))
		send(map[string]any{"content": s[:n]}, nil)
		s = s[n:]
	}
	finish := "stop"
	if len(r.ToolCalls) > 0 {
		send(map[string]any{"tool_calls": wireCalls(r.ToolCalls, true)}, nil)
		finish = "tool_calls"
	}
	send(map[string]any{}, finish)
	fmt.Fprint(w, "data: [DONE]\n\n")
	if fl != nil {
		fl.Flush()
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "fake_error"}})
}
