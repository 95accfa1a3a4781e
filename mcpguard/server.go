package mcpguard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/agentguard/agentguard/guard"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// MCP method names the guard intercepts.
const (
	methodCallTool  = "tools/call"
	methodListTools = "tools/list"
)

// maxListPages bounds how many tools/list pages a lookup reads.
const maxListPages = 100

// ToolVisibility is an optional interface for a [guard.Scoper] that can say
// whether a principal may see a tool at all, without arguments. When the
// configured Scoper implements it, tools/list is filtered with it; otherwise,
// when it implements [RoleTools], with the role's tool list; otherwise each tool
// is probed with Authorize on a call with empty arguments ("{}") and the
// metadata key [ProbeMetadataKey] set.
type ToolVisibility interface {
	ToolVisible(ctx context.Context, p guard.Principal, tool string) (bool, error)
}

// RoleTools is an optional interface for a [guard.Scoper] that lists the tools a
// role may call (the scope package's Policy implements it). When the configured
// Scoper implements it and not [ToolVisibility], tools/list shows a principal
// exactly the tools its role lists; every call is still authorised in full.
type RoleTools interface {
	Tools(role string) []string
}

type roleToolsVisibility struct{ rt RoleTools }

func (v roleToolsVisibility) ToolVisible(_ context.Context, p guard.Principal, tool string) (bool, error) {
	if p.Role == "" {
		return false, nil
	}
	return slices.Contains(v.rt.Tools(p.Role), tool), nil
}

// ProbeMetadataKey is set (to "tools/list") in the metadata of the argument-free
// calls used to decide whether a tool is listed, for Scopers that want to tell
// them apart from real calls.
const ProbeMetadataKey = "mcpguard.probe"

// ServerConfig configures a [ServerGuard]. Its zero value is not usable: Scoper
// is required. Everything optional defaults to the strict choice.
type ServerConfig struct {
	// Scoper authorises every call and decides which tools each principal sees
	// listed. Required.
	Scoper guard.Scoper
	// Principal returns who a request is made for. Nil means
	// [PrincipalFromToken]: the verified bearer token, and no token, no call.
	Principal PrincipalFunc
	// Validators run after the schema check, on the canonical arguments (for
	// example path confinement or URL rules). Nil entries are an error.
	Validators []guard.ArgValidator
	// Detector, if set, scans every tool result for prompt injection before it
	// is returned.
	Detector guard.InjectionDetector
	// Filter, if set, runs over every tool result after the injection scan.
	Filter guard.OutputFilter
	// Middleware are further guard stages, innermost (after argument checks,
	// just before the tool), for example a secrets stage or an approval stage.
	Middleware []guard.Middleware
	// Tools returns tool definitions for schema validation. Nil means the
	// server's own tools/list, read through the rest of the handler chain.
	Tools ToolLookup
	// KeepUnscannedContent lets content no scanner can read (images, audio,
	// binary resources, resource links) through. By default it is removed from
	// results, since nothing checked it.
	KeepUnscannedContent bool
	// Options apply to every guard stage (for example [guard.WithAuditor]).
	Options []guard.Option
	// Logger receives errors the model is not shown. Nil discards.
	Logger *slog.Logger
}

// ServerGuard puts a guard chain in front of an MCP server built with the go-sdk:
// every tools/call runs through scope, schema validation, any further argument
// validators and stages, and the result scanners; tools/list shows each principal
// only the tools its policy allows. Denials go back as tool errors (IsError) with
// the generic [guard.DenialError.ModelMessage]; the detail goes to the audit trail.
//
// Install it with [ServerGuard.Install] or add [ServerGuard.Middleware] as the
// server's outermost receiving middleware. It is safe for concurrent use.
type ServerGuard struct {
	cfg     ServerConfig
	chain   guard.Middleware
	check   guard.Middleware // scope and argument stages only
	schema  *SchemaValidator
	vis     ToolVisibility
	log     *slog.Logger
	princip PrincipalFunc
}

type listerKey struct{}

// lister reads the whole tool list from the handler chain below the guard.
type lister func(ctx context.Context) ([]*mcp.Tool, error)

// NewServerGuard validates cfg and returns a ServerGuard.
func NewServerGuard(cfg ServerConfig) (*ServerGuard, error) {
	if isNilInterface(cfg.Scoper) {
		return nil, fmt.Errorf("mcpguard: server guard: nil scoper: %w", guard.ErrNilPolicy)
	}
	g := &ServerGuard{cfg: cfg, princip: cfg.Principal, log: cfg.Logger}
	if g.princip == nil {
		g.princip = PrincipalFromToken
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	g.vis, _ = cfg.Scoper.(ToolVisibility)
	if rt, ok := cfg.Scoper.(RoleTools); ok && g.vis == nil {
		g.vis = roleToolsVisibility{rt}
	}
	lookup := cfg.Tools
	if lookup == nil {
		lookup = lookupFromChain
	}
	var err error
	if g.schema, err = NewSchemaValidator(lookup); err != nil {
		return nil, err
	}
	mws := []guard.Middleware{}
	add := func(mw guard.Middleware, err error) error {
		if err != nil {
			return fmt.Errorf("mcpguard: server guard: %w", err)
		}
		mws = append(mws, mw)
		return nil
	}
	// A call without a verified principal is denied first, in enforce mode
	// whatever the options say, and audited like any denial.
	popts := append(slices.Clone(cfg.Options), guard.WithMode(guard.Enforce))
	if err := add(guard.Authorize(guard.ScoperFunc(requirePrincipal), popts...)); err != nil {
		return nil, err
	}
	if err := add(guard.Authorize(cfg.Scoper, cfg.Options...)); err != nil {
		return nil, err
	}
	if err := add(guard.ValidateArgs(g.schema, cfg.Options...)); err != nil {
		return nil, err
	}
	for i, v := range cfg.Validators {
		if isNilInterface(v) {
			return nil, fmt.Errorf("mcpguard: server guard: validator %d: %w", i, guard.ErrNilPolicy)
		}
		if err := add(guard.ValidateArgs(v, cfg.Options...)); err != nil {
			return nil, err
		}
	}
	g.check = guard.Chain(mws[0], mws[1:]...)
	if !isNilInterface(cfg.Filter) {
		if err := add(guard.FilterResults(cfg.Filter, cfg.Options...)); err != nil {
			return nil, err
		}
	}
	if !isNilInterface(cfg.Detector) {
		if err := add(guard.ScanResults(cfg.Detector, cfg.Options...)); err != nil {
			return nil, err
		}
	}
	for i, mw := range cfg.Middleware {
		if mw == nil {
			return nil, fmt.Errorf("mcpguard: server guard: middleware %d: %w", i, guard.ErrNilPolicy)
		}
		mws = append(mws, mw)
	}
	g.chain = guard.Chain(mws[0], mws[1:]...)
	return g, nil
}

type principalErrKey struct{}

// requirePrincipal denies a call whose principal could not be established
// (see handleCall).
func requirePrincipal(ctx context.Context, _ *guard.Call) error {
	if err, _ := ctx.Value(principalErrKey{}).(error); err != nil {
		return &guard.DenialError{Rule: "principal", Reason: "no verified principal", Err: err}
	}
	return nil
}

func lookupFromChain(ctx context.Context, name string) (*mcp.Tool, error) {
	l, _ := ctx.Value(listerKey{}).(lister)
	if l == nil {
		return nil, errors.New("mcpguard: no tool source")
	}
	tools, err := l(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range tools {
		if t != nil && t.Name == name {
			return t, nil
		}
	}
	return nil, fmt.Errorf("mcpguard: unknown tool %q", truncate(name, 64))
}

// Install adds the guard to s as its outermost receiving middleware. Install it
// after any other receiving middleware, so that nothing runs before it.
func (g *ServerGuard) Install(s *mcp.Server) { s.AddReceivingMiddleware(g.Middleware()) }

// Middleware returns the guard as go-sdk receiving middleware.
func (g *ServerGuard) Middleware() mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			switch method {
			case methodCallTool:
				r, ok := req.(*mcp.CallToolRequest)
				if !ok || r.Params == nil {
					return nil, fmt.Errorf("mcpguard: malformed %s request", method)
				}
				return g.handleCall(ctx, next, r)
			case methodListTools:
				return g.handleList(ctx, next, req)
			}
			return next(ctx, method, req)
		}
	}
}

// Authorize is the pure check of a call, without running the tool or any
// further stage ([ServerConfig.Middleware]): the scope check and the argument
// checks (schema and validators), as the middleware runs them. It needs a
// [ServerConfig.Tools] lookup to find schemas.
func (g *ServerGuard) Authorize(ctx context.Context, c *guard.Call) error {
	_, err := g.check(guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) {
		return &guard.Result{}, nil
	})).Handle(ctx, c)
	return err
}

func (g *ServerGuard) handleCall(ctx context.Context, next mcp.MethodHandler, req *mcp.CallToolRequest) (mcp.Result, error) {
	p, perr := g.princip(ctx, req)
	c := &guard.Call{
		ID:        newCallID(),
		Tool:      req.Params.Name,
		Args:      req.Params.Arguments,
		Principal: p,
	}
	if req.Session != nil {
		c.SessionID = req.Session.ID()
	}
	if perr != nil {
		// The first stage denies it, before the policy is consulted.
		c.Principal = guard.Principal{}
		ctx = context.WithValue(ctx, principalErrKey{}, perr)
	}
	if g.cfg.Tools == nil {
		ctx = context.WithValue(ctx, listerKey{}, g.chainLister(next, req))
	}
	ctx = guard.ContextWithCall(ctx, c)

	var orig *mcp.CallToolResult
	var origRes *guard.Result
	terminal := guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
		params := *req.Params
		params.Arguments = c.Args
		fwd := &mcp.CallToolRequest{Session: req.Session, Params: &params, Extra: req.Extra}
		res, err := next(ctx, methodCallTool, fwd)
		if err != nil {
			return nil, err
		}
		ctr, ok := res.(*mcp.CallToolResult)
		if !ok || ctr == nil {
			return nil, fmt.Errorf("mcpguard: tool returned %T", res)
		}
		orig = ctr
		origRes = &guard.Result{Content: ResultText(ctr)}
		return origRes, nil
	})
	out, err := g.chain(terminal).Handle(ctx, c)
	if err != nil {
		var d *guard.DenialError
		if errors.As(err, &d) {
			return denialResult(d), nil
		}
		g.log.WarnContext(ctx, "mcpguard: tool call failed", "tool", truncate(c.Tool, 64), "call_id", c.ID, "err", err)
		return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: guard.ModelMessage(err)}}}, nil
	}
	if out == nil || orig == nil {
		return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: guard.ModelMessage(errors.New("no result"))}}}, nil
	}
	if out != origRes || out.Content != origRes.Content {
		// A stage rewrote the result (for example redacted it): send the
		// rewritten text only.
		return &mcp.CallToolResult{IsError: orig.IsError, Content: []mcp.Content{&mcp.TextContent{Text: out.Content}}}, nil
	}
	if g.cfg.KeepUnscannedContent {
		return orig, nil
	}
	return stripUnscanned(orig), nil
}

// chainLister returns a lister that reads every page of tools/list from next.
func (g *ServerGuard) chainLister(next mcp.MethodHandler, req *mcp.CallToolRequest) lister {
	return func(ctx context.Context) ([]*mcp.Tool, error) {
		return listAll(ctx, next, req.Session, req.Extra)
	}
}

func listAll(ctx context.Context, next mcp.MethodHandler, ss *mcp.ServerSession, extra *mcp.RequestExtra) ([]*mcp.Tool, error) {
	var all []*mcp.Tool
	cursor := ""
	for range maxListPages {
		res, err := next(ctx, methodListTools, &mcp.ListToolsRequest{Session: ss, Params: &mcp.ListToolsParams{Cursor: cursor}, Extra: extra})
		if err != nil {
			return nil, fmt.Errorf("mcpguard: list tools: %w", err)
		}
		lr, ok := res.(*mcp.ListToolsResult)
		if !ok || lr == nil {
			return nil, fmt.Errorf("mcpguard: list tools returned %T", res)
		}
		all = append(all, lr.Tools...)
		if lr.NextCursor == "" {
			return all, nil
		}
		cursor = lr.NextCursor
	}
	return nil, fmt.Errorf("mcpguard: list tools: more than %d pages", maxListPages)
}

func (g *ServerGuard) handleList(ctx context.Context, next mcp.MethodHandler, req mcp.Request) (mcp.Result, error) {
	res, err := next(ctx, methodListTools, req)
	if err != nil {
		return nil, err
	}
	lr, ok := res.(*mcp.ListToolsResult)
	if !ok || lr == nil {
		return nil, fmt.Errorf("mcpguard: list tools returned %T", res)
	}
	out := *lr
	out.Tools = []*mcp.Tool{}
	p, err := g.princip(ctx, req)
	if err != nil {
		g.log.WarnContext(ctx, "mcpguard: tool list without principal", "err", err)
		return &out, nil
	}
	for _, t := range lr.Tools {
		if t != nil && g.Visible(ctx, p, t.Name) {
			out.Tools = append(out.Tools, t)
		}
	}
	return &out, nil
}

// Visible reports whether p may see tool listed. Errors hide the tool.
func (g *ServerGuard) Visible(ctx context.Context, p guard.Principal, tool string) bool {
	if g.vis != nil {
		ok, err := g.vis.ToolVisible(ctx, p, tool)
		return err == nil && ok
	}
	probe := &guard.Call{ID: "probe", Tool: tool, Args: json.RawMessage("{}"), Principal: p,
		Metadata: map[string]string{ProbeMetadataKey: methodListTools}}
	return safeAuthorize(ctx, g.cfg.Scoper, probe) == nil
}

func safeAuthorize(ctx context.Context, s guard.Scoper, c *guard.Call) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("scoper panicked: %v", r)
		}
	}()
	return s.Authorize(ctx, c)
}

// denialResult is the tool error the client sees for a denial.
func denialResult(d *guard.DenialError) *mcp.CallToolResult {
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: d.ModelMessage()}}}
}

// ResultText is the text of a tool result that scanners and filters judge: every
// text content, the text of embedded resources and the structured content as
// JSON, one per line.
func ResultText(r *mcp.CallToolResult) string {
	var parts []string
	for _, c := range r.Content {
		switch x := c.(type) {
		case *mcp.TextContent:
			parts = append(parts, x.Text)
		case *mcp.EmbeddedResource:
			if x.Resource != nil && x.Resource.Text != "" {
				parts = append(parts, x.Resource.Text)
			}
		case *mcp.ResourceLink:
			parts = append(parts, x.Name, x.Title, x.Description, x.URI)
		}
	}
	if r.StructuredContent != nil {
		if b, err := json.Marshal(r.StructuredContent); err == nil {
			parts = append(parts, string(b))
		}
	}
	return strings.Join(parts, "\n")
}

// stripUnscanned returns r without the content no scanner read.
func stripUnscanned(r *mcp.CallToolResult) *mcp.CallToolResult {
	keep := make([]mcp.Content, 0, len(r.Content))
	dropped := 0
	for _, c := range r.Content {
		switch x := c.(type) {
		case *mcp.TextContent:
			keep = append(keep, c)
		case *mcp.EmbeddedResource:
			if x.Resource != nil && len(x.Resource.Blob) == 0 {
				keep = append(keep, c)
			} else {
				dropped++
			}
		default:
			dropped++
		}
	}
	if dropped == 0 {
		return r
	}
	cp := *r
	keep = append(keep, &mcp.TextContent{Text: fmt.Sprintf("[%d non-text content item(s) removed by policy]", dropped)})
	cp.Content = keep
	return &cp
}

func newCallID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "mcp-" + hex.EncodeToString(b[:])
}
