package mcpguard_test

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/mcpguard"
	"github.com/agentguard/agentguard/sandbox"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func init() {
	// sandbox.Process.Command re-executes this test binary to confine the
	// upstream server before it starts; Main does that and never returns in
	// the child. (Inits run before TestMain.)
	sandbox.Main()
}

// lockedBuffer collects a child's stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestProxyConfinedUpstream runs client → proxy → the example server confined
// by sandbox.Process.Command (Landlock, no network, empty environment).
func TestProxyConfinedUpstream(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts processes")
	}
	// A Go server with cgo starts threads whose glibc malloc arenas reserve
	// 64 MiB of address space each: the default 1 GiB RLIMIT_AS is too tight
	// for a long-running server.
	box, err := sandbox.NewProcess(sandbox.ProcessConfig{MemoryLimit: 4 << 30})
	if errors.Is(err, sandbox.ErrNoLandlock) {
		t.Skip("kernel without Landlock:", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	server := needExample(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd, err := box.Command(ctx, []string{server, "-variant", "normal"}, sandbox.CommandOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	in, err := mcpguard.NewInspector(mcpguard.InspectorConfig{Pins: &mcpguard.MemoryPinStore{}, Detector: keywordDetector})
	if err != nil {
		t.Fatal(err)
	}
	p, err := mcpguard.NewProxy(mcpguard.ProxyConfig{
		Server:    "shop",
		Upstream:  &mcp.CommandTransport{Command: cmd, TerminateDuration: 2 * time.Second},
		Inspector: in,
		Guard: mcpguard.ServerConfig{
			Scoper:    roleScoper{},
			Principal: mcpguard.StaticPrincipal(guard.Principal{Subject: "alice", Role: "support"}),
			Detector:  keywordDetector,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Connect(ctx)
	if err != nil {
		t.Fatalf("connect: %v\nupstream stderr: %s", err, stderr)
	}
	defer func() {
		p.Close()
		<-p.Done()
		if err := sandbox.KillGroup(cmd); err != nil {
			t.Errorf("KillGroup: %v", err)
		}
	}()
	if rep.Refused() {
		t.Fatalf("refused: %+v", rep.Findings)
	}
	ct, st := mcp.NewInMemoryTransports()
	ss, err := p.Server().Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "v1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if got := toolNames(t, cs); !slices.Equal(got, []string{"read_document", "refund_order"}) {
		t.Fatalf("tools/list through the proxy: %v", got)
	}
	// Many calls over the one long-running confined child.
	for i := range 20 {
		res := call(t, cs, "refund_order", map[string]any{"order_id": "ORD-1234", "amount": 20})
		if res.IsError || resultText(res) != "refunded 20.00 EUR on ORD-1234" {
			t.Fatalf("call %d: IsError=%v %q\nupstream stderr: %s", i, res.IsError, resultText(res), stderr)
		}
	}
	if res := call(t, cs, "read_document", map[string]any{"id": "ticket-7"}); !res.IsError || strings.Contains(resultText(res), "IGNORE") {
		t.Fatalf("injected document reached the client: %q", resultText(res))
	}
}

// A server that cannot start under confinement (here: its own binary is
// fine, but a mount it needs is missing) fails before the proxy starts, with
// the reason, instead of running unconfined.
func TestProxyConfinedUpstreamSetupError(t *testing.T) {
	box, err := sandbox.NewProcess(sandbox.ProcessConfig{})
	if errors.Is(err, sandbox.ErrNoLandlock) {
		t.Skip("kernel without Landlock:", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	_, err = box.Command(context.Background(), []string{"/bin/true"}, sandbox.CommandOptions{ReadOnly: []string{"/nonexistent/node_modules"}})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/node_modules") {
		t.Fatalf("err = %v", err)
	}
}

// BenchmarkUpstreamStart measures what confinement adds to starting an MCP
// server: start the example server, initialize, tools/list, close — as a plain
// child and as a sandbox.Process.Command child.
func BenchmarkUpstreamStart(b *testing.B) {
	server := needExample(b)
	box, err := sandbox.NewProcess(sandbox.ProcessConfig{MemoryLimit: 4 << 30})
	if err != nil && !errors.Is(err, sandbox.ErrNoLandlock) {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		cmd  func() (*exec.Cmd, error)
	}{
		{"unconfined", func() (*exec.Cmd, error) { return exec.Command(server), nil }},
		{"confined", func() (*exec.Cmd, error) {
			if box == nil {
				return nil, sandbox.ErrNoLandlock
			}
			return box.Command(context.Background(), []string{server}, sandbox.CommandOptions{})
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				cmd, err := bc.cmd()
				if errors.Is(err, sandbox.ErrNoLandlock) {
					b.Skip("kernel without Landlock")
				}
				if err != nil {
					b.Fatal(err)
				}
				cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "v1"}, nil).Connect(context.Background(),
					&mcp.CommandTransport{Command: cmd, TerminateDuration: 2 * time.Second}, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := cs.ListTools(context.Background(), nil); err != nil {
					b.Fatal(err)
				}
				cs.Close()
				sandbox.KillGroup(cmd)
			}
		})
	}
}
