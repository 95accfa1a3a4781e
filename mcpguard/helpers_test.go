package mcpguard_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/mcpguard"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The examples/mcpserver binary is built once per test process, on first use
// (fuzz workers, which never need it, do not pay for the build).
var (
	exampleOnce   sync.Once
	exampleDir    string
	exampleServer string
	exampleErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if exampleDir != "" {
		os.RemoveAll(exampleDir)
	}
	os.Exit(code)
}

func needExample(t testing.TB) string {
	t.Helper()
	exampleOnce.Do(func() {
		exampleDir, exampleErr = os.MkdirTemp("", "mcpguard-test-")
		if exampleErr != nil {
			return
		}
		bin := filepath.Join(exampleDir, "mcpserver")
		out, err := exec.Command("go", "build", "-o", bin, "github.com/agentguard/agentguard/examples/mcpserver").CombinedOutput()
		if err != nil {
			exampleErr = fmt.Errorf("building examples/mcpserver: %v\n%s", err, out)
			return
		}
		exampleServer = bin
	})
	if exampleErr != nil {
		t.Fatal(exampleErr)
	}
	return exampleServer
}

// roles is the test policy: which tools each role may call.
var roles = map[string][]string{
	"support": {"read_document", "refund_order"},
	"admin":   {"read_document", "refund_order", "delete_customer"},
	"reader":  {"read_document"},
}

// roleScoper is a minimal role policy (the scope package offers the real one).
type roleScoper struct{}

func (roleScoper) Authorize(_ context.Context, c *guard.Call) error {
	tools, ok := roles[c.Principal.Role]
	if !ok {
		return guard.Deny("role.unknown", "unknown role")
	}
	if !slices.Contains(tools, c.Tool) {
		return guard.Deny("role.tools", "tool not allowed for role "+c.Principal.Role)
	}
	return nil
}

// keywordDetector flags a few well-known injection phrases.
var keywordDetector = guard.InjectionDetectorFunc(func(_ context.Context, in guard.Text) (guard.Detection, error) {
	s := strings.ToLower(in.Content)
	for _, k := range []string{"ignore all previous instructions", "<important>", "admin mode"} {
		if strings.Contains(s, k) {
			return guard.Detection{Injection: true, Score: 0.99, Rules: []string{"keyword"}, Detector: "keyword"}, nil
		}
	}
	return guard.Detection{Score: 0.01, Detector: "keyword"}, nil
})

func exampleCommand(t testing.TB, variant string) *mcp.CommandTransport {
	cmd := exec.Command(needExample(t), "-variant", variant)
	cmd.Stderr = os.Stderr
	return &mcp.CommandTransport{Command: cmd, TerminateDuration: 2 * time.Second}
}

type proxyOpts struct {
	variant   string
	server    string
	role      string
	emptyRole bool // use the empty role instead of the default
	pins      mcpguard.PinStore
	inspector *mcpguard.Inspector
}

// startProxy starts a proxy over the example server and connects a client to it
// in memory. It returns the client session and the proxy.
func startProxy(t testing.TB, o proxyOpts) (*mcp.ClientSession, *mcpguard.Proxy, *mcpguard.Report) {
	t.Helper()
	if o.variant == "" {
		o.variant = "normal"
	}
	if o.server == "" {
		o.server = "shop"
	}
	if o.role == "" && !o.emptyRole {
		o.role = "support"
	}
	if o.pins == nil {
		o.pins = &mcpguard.MemoryPinStore{}
	}
	in := o.inspector
	if in == nil {
		var err error
		in, err = mcpguard.NewInspector(mcpguard.InspectorConfig{Pins: o.pins, Detector: keywordDetector})
		if err != nil {
			t.Fatal(err)
		}
	}
	p, err := mcpguard.NewProxy(mcpguard.ProxyConfig{
		Server:    o.server,
		Upstream:  exampleCommand(t, o.variant),
		Inspector: in,
		Guard: mcpguard.ServerConfig{
			Scoper:    roleScoper{},
			Principal: mcpguard.StaticPrincipal(guard.Principal{Subject: "alice", Role: o.role}),
			Detector:  keywordDetector,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rep, err := p.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	ct, st := mcp.NewInMemoryTransports()
	ss, err := p.Server().Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ss.Close() })
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "v1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs, p, rep
}

func toolNames(t testing.TB, cs *mcp.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	return names
}

func resultText(r *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func call(t testing.TB, cs *mcp.ClientSession, tool string, args any) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("CallTool(%s): %v", tool, err)
	}
	return res
}
