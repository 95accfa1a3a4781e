package mcpguard

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ErrToolNotVetted is returned (wrapped) by [Inspector.ClientMiddleware] for a
// call to a tool the inspector has not accepted: never listed, or refused.
var ErrToolNotVetted = errors.New("mcpguard: tool not vetted")

// ClientMiddleware returns go-sdk sending middleware for a client connected to
// server (the operator's name for it), for agents that talk to MCP servers
// directly rather than through a [Proxy]. Install it with
// client.AddSendingMiddleware. Every tools/list result is inspected and only
// accepted definitions are returned; a tools/call is sent only for a tool
// accepted by the latest inspection that listed it, so a client cannot call a
// poisoned, rug-pulled, shadowing or never-listed tool.
//
// It vets definitions only: pair it with result scanning (for example
// [guard.ScanResults] in the agent's own chain) before tool output reaches a
// model. Use one middleware per server connection.
func (in *Inspector) ClientMiddleware(server string) mcp.Middleware {
	var mu sync.Mutex
	accepted := map[string]bool{}
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			switch method {
			case methodListTools:
				res, err := next(ctx, method, req)
				if err != nil {
					return nil, err
				}
				lr, ok := res.(*mcp.ListToolsResult)
				if !ok || lr == nil {
					return nil, fmt.Errorf("mcpguard: list tools returned %T", res)
				}
				rep, err := in.Inspect(ctx, server, lr.Tools)
				if err != nil {
					return nil, err
				}
				mu.Lock()
				for _, t := range lr.Tools {
					if t != nil {
						delete(accepted, t.Name)
					}
				}
				for _, t := range rep.Accepted {
					accepted[t.Name] = true
				}
				mu.Unlock()
				out := *lr
				out.Tools = append([]*mcp.Tool{}, rep.Accepted...)
				return &out, nil
			case methodCallTool:
				params, ok := req.GetParams().(*mcp.CallToolParams)
				if !ok || params == nil {
					return nil, fmt.Errorf("mcpguard: malformed %s request", method)
				}
				mu.Lock()
				ok = accepted[params.Name]
				mu.Unlock()
				if !ok {
					return nil, fmt.Errorf("%w: %s/%s", ErrToolNotVetted, server, truncate(params.Name, 64))
				}
			}
			return next(ctx, method, req)
		}
	}
}
