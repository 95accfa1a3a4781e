package mcpguard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// syncTimeout bounds a re-list of the upstream's tools started by a
// notification.
const syncTimeout = 30 * time.Second

// ProxyConfig configures a [Proxy].
type ProxyConfig struct {
	// Server is the operator's name for the upstream server, used in pin keys
	// and shadowing reports. Required. It is deliberately not the name the
	// server reports about itself, which the server controls.
	Server string
	// Upstream reaches the upstream server, typically an
	// [mcp.CommandTransport] running it as a child process. Confine a local
	// server by giving the transport a command from the sandbox package's
	// Process.Command (Landlock file and network rules, an empty environment,
	// no network by default) instead of a plain exec.Command; the proxy
	// treats either the same. Required.
	Upstream mcp.Transport
	// Guard configures the checks on every call, as for [NewServerGuard]. Its
	// Tools field must be nil: the proxy validates against the vetted
	// definitions it serves.
	Guard ServerConfig
	// Inspector vets the upstream's tool definitions (pins, poisoning,
	// shadowing). Required; share one Inspector between the proxies of one
	// client to find shadowing across servers.
	Inspector *Inspector
	// Name is the implementation name the proxy reports to clients. Default
	// "agentguard-mcp-proxy".
	Name string
	// Logger receives the proxy's operational logs. Nil discards.
	Logger *slog.Logger
}

// Proxy is a guarded MCP proxy: it serves clients (over stdio or streamable HTTP)
// the tools of one upstream server, and enforces policy on both directions.
//
// Towards the upstream, only calls that pass the guard chain are forwarded, with
// arguments re-encoded exactly as validated against the pinned schema. Towards
// the client, only tool definitions the [Inspector] accepted are listed (and of
// those only the ones the caller's role may see), and every result is scanned
// and filtered before it is returned. The upstream's definitions are re-vetted on
// every client tools/list and on every list-changed notification; a changed
// definition disappears from the proxy until it is re-approved. Resources,
// prompts, sampling and elicitation are not proxied.
type Proxy struct {
	cfg    ProxyConfig
	log    *slog.Logger
	server *mcp.Server
	guard  *ServerGuard

	mu       sync.Mutex
	upstream *mcp.ClientSession
	served   map[string]servedTool // by tool name
	report   *Report
	syncMu   sync.Mutex // serialises Sync
	done     chan struct{}
}

type servedTool struct {
	digest string
	tool   *mcp.Tool
}

// NewProxy validates cfg and returns a Proxy that is not yet connected; call
// [Proxy.Connect].
func NewProxy(cfg ProxyConfig) (*Proxy, error) {
	if cfg.Server == "" {
		return nil, errors.New("mcpguard: proxy: empty server name")
	}
	if cfg.Upstream == nil {
		return nil, errors.New("mcpguard: proxy: nil upstream transport")
	}
	if cfg.Inspector == nil {
		return nil, fmt.Errorf("mcpguard: proxy: nil inspector: %w", guard.ErrNilPolicy)
	}
	if cfg.Guard.Tools != nil {
		return nil, errors.New("mcpguard: proxy: Guard.Tools must be nil")
	}
	if cfg.Name == "" {
		cfg.Name = "agentguard-mcp-proxy"
	}
	p := &Proxy{cfg: cfg, log: cfg.Logger, served: map[string]servedTool{}, done: make(chan struct{})}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	gcfg := cfg.Guard
	gcfg.Tools = p.lookup
	g, err := NewServerGuard(gcfg)
	if err != nil {
		return nil, fmt.Errorf("mcpguard: proxy: %w", err)
	}
	p.guard = g
	p.server = mcp.NewServer(&mcp.Implementation{Name: cfg.Name, Version: "v1"}, &mcp.ServerOptions{
		Logger:       cfg.Logger,
		Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{ListChanged: true}},
	})
	// Innermost: re-vet the upstream's definitions before a client's list is
	// answered. Outermost: the guard.
	p.server.AddReceivingMiddleware(p.resyncOnList)
	g.Install(p.server)
	return p, nil
}

// Connect starts the upstream session and vets its tools. The returned report
// says which tools were refused and why.
func (p *Proxy) Connect(ctx context.Context) (*Report, error) {
	if _, err := p.session(); err == nil {
		return nil, errors.New("mcpguard: proxy: already connected")
	}
	client := mcp.NewClient(&mcp.Implementation{Name: p.cfg.Name, Version: "v1"}, &mcp.ClientOptions{
		Logger:       p.cfg.Logger,
		Capabilities: &mcp.ClientCapabilities{},
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), syncTimeout)
				defer cancel()
				if _, err := p.Sync(ctx); err != nil {
					p.log.Warn("mcpguard: proxy: re-sync after list change failed", "server", p.cfg.Server, "err", err)
				}
			}()
		},
	})
	cs, err := client.Connect(ctx, p.cfg.Upstream, nil)
	if err != nil {
		return nil, fmt.Errorf("mcpguard: proxy: connect to %s: %w", p.cfg.Server, err)
	}
	p.mu.Lock()
	p.upstream = cs
	p.mu.Unlock()
	go func() {
		cs.Wait()
		p.syncMu.Lock()
		p.replace(nil) // nothing is served once the upstream is gone
		p.syncMu.Unlock()
		close(p.done)
	}()
	rep, err := p.Sync(ctx)
	if err != nil {
		p.Close()
		return nil, err
	}
	return rep, nil
}

// Done is closed when the upstream session has ended (the server exited, or
// [Proxy.Close] was called). A command-line proxy should then exit.
func (p *Proxy) Done() <-chan struct{} { return p.done }

// Server returns the MCP server clients talk to. Serve it with [Proxy.Run], over
// HTTP with [NewHTTPHandler], or any go-sdk transport.
func (p *Proxy) Server() *mcp.Server { return p.server }

// Guard returns the proxy's server guard.
func (p *Proxy) Guard() *ServerGuard { return p.guard }

// Run serves one client over t (for example &mcp.StdioTransport{}) until the
// client disconnects or ctx ends.
func (p *Proxy) Run(ctx context.Context, t mcp.Transport) error {
	return p.server.Run(ctx, t)
}

// Close ends the upstream session (which stops a command upstream).
func (p *Proxy) Close() error {
	p.mu.Lock()
	cs := p.upstream
	p.upstream = nil
	p.mu.Unlock()
	if cs == nil {
		return nil
	}
	return cs.Close()
}

// LastReport returns the report of the most recent sync, or nil.
func (p *Proxy) LastReport() *Report {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.report
}

func (p *Proxy) session() (*mcp.ClientSession, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.upstream == nil {
		return nil, errors.New("mcpguard: proxy: not connected")
	}
	return p.upstream, nil
}

// Sync lists the upstream's tools, vets them with the inspector and updates the
// tools the proxy serves: accepted tools are (re)added, everything else is
// removed. On error the served set is left empty (fail closed).
func (p *Proxy) Sync(ctx context.Context) (*Report, error) {
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	cs, err := p.session()
	if err != nil {
		p.replace(nil)
		return nil, err
	}
	var tools []*mcp.Tool
	n := 0
	for t, err := range cs.Tools(ctx, nil) {
		if err != nil {
			p.replace(nil)
			return nil, fmt.Errorf("mcpguard: proxy: list %s tools: %w", p.cfg.Server, err)
		}
		if n++; n > 10000 {
			p.replace(nil)
			return nil, fmt.Errorf("mcpguard: proxy: %s lists more than 10000 tools", p.cfg.Server)
		}
		tools = append(tools, t)
	}
	rep, err := p.cfg.Inspector.Inspect(ctx, p.cfg.Server, tools)
	if err != nil {
		p.replace(nil)
		return nil, err
	}
	p.replace(rep.Accepted)
	p.mu.Lock()
	p.report = rep
	p.mu.Unlock()
	return rep, nil
}

// replace makes accepted the served tool set. The caller holds syncMu.
func (p *Proxy) replace(accepted []*mcp.Tool) {
	want := map[string]*mcp.Tool{}
	digests := map[string]string{}
	for _, t := range accepted {
		d, err := ToolDigest(t)
		if err != nil {
			continue
		}
		want[t.Name], digests[t.Name] = t, d
	}
	p.mu.Lock()
	served := maps.Clone(p.served)
	p.mu.Unlock()
	var remove []string
	for name, st := range served {
		if digests[name] != st.digest {
			remove = append(remove, name)
		}
	}
	slices.Sort(remove)
	if len(remove) > 0 {
		p.server.RemoveTools(remove...)
		for _, n := range remove {
			delete(served, n)
		}
	}
	names := slices.Sorted(maps.Keys(want))
	for _, name := range names {
		if _, ok := served[name]; ok {
			continue
		}
		if err := p.addTool(want[name]); err != nil {
			p.log.Warn("mcpguard: proxy: tool not served", "server", p.cfg.Server, "tool", name, "err", err)
			continue
		}
		served[name] = servedTool{digest: digests[name], tool: want[name]}
	}
	p.mu.Lock()
	p.served = served
	p.mu.Unlock()
}

// addTool serves t, forwarding its calls upstream. The SDK panics on some
// malformed definitions; that is turned into an error.
func (p *Proxy) addTool(t *mcp.Tool) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rejected by SDK: %v", r)
		}
	}()
	cp := *t
	p.server.AddTool(&cp, p.forward)
	return nil
}

// lookup returns the served definition of a tool, for schema validation.
func (p *Proxy) lookup(_ context.Context, name string) (*mcp.Tool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, ok := p.served[name]
	if !ok {
		return nil, fmt.Errorf("mcpguard: proxy: tool %q is not served", truncate(name, 64))
	}
	return st.tool, nil
}

// forward sends a call that passed the guard upstream. The arguments are the
// canonical ones the guard validated.
func (p *Proxy) forward(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	cs, err := p.session()
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	_, ok := p.served[req.Params.Name]
	p.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("mcpguard: proxy: tool %q is not served", truncate(req.Params.Name, 64))
	}
	var args any
	if len(req.Params.Arguments) > 0 {
		args = req.Params.Arguments
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: req.Params.Name, Arguments: args})
	if err != nil {
		return nil, fmt.Errorf("mcpguard: proxy: upstream %s: %w", p.cfg.Server, err)
	}
	return res, nil
}

// resyncOnList re-vets the upstream's tools before answering a client's
// tools/list, so that a definition changed without a notification is caught
// the next time a client looks.
func (p *Proxy) resyncOnList(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if method == methodListTools {
			if _, ok := req.(*mcp.ListToolsRequest); ok {
				if lp, _ := req.GetParams().(*mcp.ListToolsParams); lp == nil || lp.Cursor == "" {
					if _, err := p.Sync(ctx); err != nil {
						p.log.Warn("mcpguard: proxy: re-sync failed; serving no tools", "server", p.cfg.Server, "err", err)
					}
				}
			}
		}
		return next(ctx, method, req)
	}
}
