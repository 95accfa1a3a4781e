// Package mcpgo puts agentguard's guard chain inside MCP servers built with
// github.com/mark3labs/mcp-go.
//
// [ServerOptions] returns two mcp-go server options: a tool-handler middleware
// (server.WithToolHandlerMiddleware) that sends every tools/call through the chain,
// and a tool filter (server.WithToolFilter) that shows each principal only the tools
// its role may call and refuses calls to the others. mcp-go's Hooks only observe;
// these two are the places where a call can be stopped.
//
// A denial goes back to the client as a tool result with isError set and the
// chain's generic refusal as text, so the model reads it; the audit detail stays in
// the chain's auditor.
//
// The chain judges the text a model reads in a result: text contents, embedded
// text resources and the structured content's JSON. A result goes back whole
// only when the chain left that text unchanged and no other part (an image's
// metadata, a resource URI) holds a secret resolved for the call; otherwise only
// the chain's text goes back.
//
// mcp-go calls task tools registered with AddTaskTool without any tool-handler
// middleware: do not register those on a guarded server (a regular tool with
// Execution.TaskSupport set runs as a task and does pass the middleware).
//
// It is its own Go module so that users of the core module do not pull in mcp-go.
package mcpgo

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/agentguard/agentguard/guard"
)

// Config configures the adapter.
type Config struct {
	// Chain guards every tools/call. Required.
	Chain guard.Middleware
	// Principal returns who the request is made for, from the context (for
	// example a principal a server.WithHTTPContextFunc put there after verifying a
	// bearer token). Required. An error denies.
	Principal func(ctx context.Context) (guard.Principal, error)
	// Visible reports whether principal p may see and call tool. Required: a tool
	// list is an access-control boundary, not a hint.
	Visible func(ctx context.Context, p guard.Principal, tool string) bool
	// SessionID names the session for budgets and flow rules; defaults to the
	// mcp-go client session id.
	SessionID func(ctx context.Context) string
}

func (c Config) validate() error {
	switch {
	case c.Chain == nil:
		return fmt.Errorf("mcpgo: Config.Chain is nil: %w", guard.ErrNilPolicy)
	case c.Principal == nil:
		return errors.New("mcpgo: Config.Principal is required")
	case c.Visible == nil:
		return errors.New("mcpgo: Config.Visible is required")
	}
	return nil
}

// ServerOptions returns the middleware and the tool filter as mcp-go options.
func ServerOptions(cfg Config) ([]server.ServerOption, error) {
	mw, err := Middleware(cfg)
	if err != nil {
		return nil, err
	}
	filter, err := ToolFilter(cfg)
	if err != nil {
		return nil, err
	}
	return []server.ServerOption{server.WithToolHandlerMiddleware(mw), server.WithToolFilter(filter)}, nil
}

// ToolFilter returns a server.ToolFilterFunc that keeps only the tools the
// request's principal may see. A principal that cannot be determined sees none.
func ToolFilter(cfg Config) (server.ToolFilterFunc, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return func(ctx context.Context, tools []mcp.Tool) []mcp.Tool {
		p, err := cfg.Principal(ctx)
		if err != nil {
			return nil
		}
		var out []mcp.Tool
		for _, t := range tools {
			if cfg.Visible(ctx, p, t.Name) {
				out = append(out, t)
			}
		}
		return out
	}, nil
}

type resultKey struct{}

// Middleware returns a server.ToolHandlerMiddleware running every call through
// cfg.Chain. The tool receives the arguments as they left the chain (canonical,
// with secrets resolved), and the client receives the result as it came back
// through the chain (scanned, spotlighted, scrubbed).
func Middleware(cfg Config) (server.ToolHandlerMiddleware, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return func(next server.ToolHandlerFunc) server.ToolHandlerFunc {
		inner := guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
			req, _ := ctx.Value(resultKey{}).(*exchange)
			if req == nil {
				return nil, errors.New("mcpgo: missing request")
			}
			r := req.req
			var args any
			if err := json.Unmarshal(c.Args, &args); err != nil {
				return nil, fmt.Errorf("mcpgo: arguments after the chain are not JSON: %w", err)
			}
			r.Params.Arguments = args
			res, err := next(ctx, r)
			if err != nil {
				return nil, err
			}
			if res == nil {
				return nil, errors.New("mcpgo: tool returned no result")
			}
			req.res = res
			// The result stages judge the text; a resolved secret in parts
			// they do not read (an image's metadata, a resource URI) would
			// pass unjudged, so such a result goes back as its text only.
			if sc := guard.ScrubberFromContext(ctx); sc.Len() > 0 {
				b, err := json.Marshal(res)
				req.leak = err != nil || sc.Contains(string(b))
			}
			out := &guard.Result{Content: textOf(res)}
			if res.IsError {
				out.Metadata = map[string]string{"mcp.is_error": "true"}
			}
			return out, nil
		})
		guarded := cfg.Chain(inner)
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			p, err := cfg.Principal(ctx)
			if err != nil {
				return mcp.NewToolResultError("The call was refused: the caller could not be identified."), nil
			}
			if !cfg.Visible(ctx, p, req.Params.Name) {
				return mcp.NewToolResultError(fmt.Sprintf("The call to %q was refused by policy.", req.Params.Name)), nil
			}
			raw, err := json.Marshal(req.GetRawArguments())
			if err != nil {
				return mcp.NewToolResultError("The arguments could not be read."), nil
			}
			if string(raw) == "null" {
				raw = []byte("{}")
			}
			call := &guard.Call{ID: "mcp_" + rand.Text(), Tool: req.Params.Name, Args: raw, Principal: p}
			if cfg.SessionID != nil {
				call.SessionID = cfg.SessionID(ctx)
			} else if s := server.ClientSessionFromContext(ctx); s != nil {
				call.SessionID = s.SessionID()
			}
			ex := &exchange{req: req}
			r, err := guarded.Handle(context.WithValue(ctx, resultKey{}, ex), call)
			if err != nil {
				return mcp.NewToolResultError(guard.ModelMessage(err)), nil
			}
			if r == nil {
				return mcp.NewToolResultError("The tool returned nothing."), nil
			}
			if ex.res != nil && !ex.leak && r.Content == textOf(ex.res) {
				return ex.res, nil
			}
			// The chain rewrote the result (spotlighting, redaction): only its text
			// goes back; non-text content the chain did not see is dropped.
			return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(r.Content)}, IsError: ex.res != nil && ex.res.IsError}, nil
		}
	}, nil
}

type exchange struct {
	req  mcp.CallToolRequest
	res  *mcp.CallToolResult
	leak bool
}

// textOf concatenates the text a model can read in a result, which is what the
// chain judges: text contents, embedded text resources (as values or pointers)
// and the structured content's JSON.
func textOf(r *mcp.CallToolResult) string {
	var parts []string
	resource := func(rc mcp.ResourceContents) {
		switch t := rc.(type) {
		case mcp.TextResourceContents:
			parts = append(parts, t.Text)
		case *mcp.TextResourceContents:
			if t != nil {
				parts = append(parts, t.Text)
			}
		}
	}
	for _, c := range r.Content {
		switch t := c.(type) {
		case mcp.TextContent:
			parts = append(parts, t.Text)
		case *mcp.TextContent:
			if t != nil {
				parts = append(parts, t.Text)
			}
		case mcp.EmbeddedResource:
			resource(t.Resource)
		case *mcp.EmbeddedResource:
			if t != nil {
				resource(t.Resource)
			}
		}
	}
	switch {
	case len(r.RawStructuredContent) > 0:
		parts = append(parts, string(r.RawStructuredContent))
	case r.StructuredContent != nil:
		b, err := json.Marshal(r.StructuredContent)
		if err != nil {
			b = []byte("(structured content that cannot be encoded)")
		}
		parts = append(parts, string(b))
	}
	return strings.Join(parts, "\n")
}
