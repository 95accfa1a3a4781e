package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/agentguard/agentguard/examples/mcpserver/shopserver"
	"github.com/agentguard/agentguard/examples/policies"
	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/inject"
	"github.com/agentguard/agentguard/mcpguard"
	"github.com/agentguard/agentguard/sandbox"
	"github.com/agentguard/agentguard/scope"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// mcpExampleServerEnv makes this binary (or the test binary) run the example
// shop MCP server over stdio instead of its usual work, so that the demo can
// start a real server process without a separate binary. The value is the
// variant of tool definitions to serve.
const mcpExampleServerEnv = "AGENTGUARD_INTERNAL_MCP_EXAMPLE_SERVER"

func init() {
	if v := os.Getenv(mcpExampleServerEnv); v != "" {
		os.Exit(runExampleMCPServer(v))
	}
	registerDemoStep(demoStep{order: 700, name: "mcp", title: "MCP: a guarded proxy in front of a real MCP server process", run: demoMCPProxy})
	registerDemoStep(demoStep{order: 710, name: "mcp-pins", title: "MCP: pinned tool definitions stop rug pulls, poisoning and shadowing", run: demoMCPPins})
}

func runExampleMCPServer(variant string) int {
	s, err := shopserver.New(variant)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitUsage
	}
	if err := s.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		return exitFail
	}
	return exitOK
}

// exampleServerTransport starts this executable as the example server,
// confined by the process sandbox (as "agentguard mcp proxy" confines an
// upstream) when the kernel has Landlock, and reports which. cleanup kills
// whatever the server left in its process group.
func exampleServerTransport(ctx context.Context, variant string) (t *mcp.CommandTransport, confined bool, cleanup func(), err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, false, nil, fmt.Errorf("locate own executable: %w", err)
	}
	env := mcpExampleServerEnv + "=" + variant
	if box, berr := sandbox.NewProcess(sandbox.ProcessConfig{MemoryLimit: mcpDefaultMemory, MaxOpenFiles: mcpDefaultMaxFiles}); berr == nil {
		cmd, err := box.Command(ctx, []string{exe}, sandbox.CommandOptions{Env: []string{env}})
		if err != nil {
			return nil, false, nil, fmt.Errorf("confine the example server: %w", err)
		}
		return &mcp.CommandTransport{Command: cmd, TerminateDuration: 2 * time.Second}, true, func() { sandbox.KillGroup(cmd) }, nil
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), env)
	return &mcp.CommandTransport{Command: cmd, TerminateDuration: 2 * time.Second}, false, func() {}, nil
}

// mcpScene is a proxy over one example-server process and a client connected to
// it, as an MCP-speaking agent would be.
type mcpScene struct {
	proxy  *mcpguard.Proxy
	client *mcp.ClientSession
	report *mcpguard.Report
	// confined reports whether the server process runs in the process sandbox.
	confined bool
	close    func()
}

func (d *demo) startMCPScene(ctx context.Context, server, variant, role string, in *mcpguard.Inspector, det guard.InjectionDetector) (*mcpScene, error) {
	pol, err := scope.Parse("support.yaml", policies.SupportYAML)
	if err != nil {
		return nil, err
	}
	up, confined, cleanup, err := exampleServerTransport(ctx, variant)
	if err != nil {
		return nil, err
	}
	p, err := mcpguard.NewProxy(mcpguard.ProxyConfig{
		Server: server, Upstream: up, Inspector: in,
		Guard: mcpguard.ServerConfig{
			Scoper:    pol,
			Principal: mcpguard.StaticPrincipal(guard.Principal{Subject: "customer-7", Role: role}),
			Detector:  det,
			Options:   []guard.Option{guard.WithAuditor(d.auditor)},
		},
	})
	if err != nil {
		cleanup()
		return nil, err
	}
	rep, err := p.Connect(ctx)
	if err != nil {
		p.Close()
		cleanup()
		return nil, err
	}
	ct, st := mcp.NewInMemoryTransports()
	ss, err := p.Server().Connect(ctx, st, nil)
	if err != nil {
		p.Close()
		cleanup()
		return nil, err
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "support-agent", Version: "v1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		ss.Close()
		p.Close()
		cleanup()
		return nil, err
	}
	return &mcpScene{proxy: p, client: cs, report: rep, confined: confined, close: func() { cs.Close(); ss.Close(); p.Close(); cleanup() }}, nil
}

func (s *mcpScene) tools(ctx context.Context) ([]string, error) {
	res, err := s.client.ListTools(ctx, nil)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, t := range res.Tools {
		names = append(names, t.Name)
	}
	return names, nil
}

// call makes one call and prints it; it returns whether the call was refused.
func (d *demo) mcpCall(ctx context.Context, s *mcpScene, tool string, args map[string]any) (bool, error) {
	d.say("  → agent calls %s %s", tool, clip(argsJSON(args), 120))
	res, err := s.client.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return false, err
	}
	var b strings.Builder
	for _, c := range res.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			b.WriteString(t.Text)
		}
	}
	if res.IsError {
		d.say("    ✗ refused; the agent is told: “%s”", clip(b.String(), 160))
		return true, nil
	}
	d.say("    ✓ allowed; the agent sees: %s", clip(b.String(), 160))
	return false, nil
}

func argsJSON(m map[string]any) string { return args(m) }

func demoMCPProxy(ctx context.Context, d *demo) error {
	det, err := inject.New(inject.Config{})
	if err != nil {
		return err
	}
	in, err := mcpguard.NewInspector(mcpguard.InspectorConfig{Pins: &mcpguard.MemoryPinStore{}, Detector: det})
	if err != nil {
		return err
	}
	d.say("The shop's MCP server runs as a child process and trusts whatever arguments")
	d.say("arrive. agentguard's proxy sits between it and the agent, with the support policy.")
	s, err := d.startMCPScene(ctx, "shop", shopserver.Normal, "reader", in, det)
	if err != nil {
		return err
	}
	defer s.close()
	if s.confined {
		d.say("The server process itself is confined, as agentguard mcp proxy confines it: Landlock,")
		d.say("no network, no files beyond the system's programs and libraries, an empty environment.")
	} else {
		d.say("(This kernel has no Landlock, so the server process runs unconfined here;")
		d.say("agentguard mcp proxy would refuse to start it without --unconfined.)")
	}
	names, err := s.tools(ctx)
	if err != nil {
		return err
	}
	d.say("The server offers read_document, refund_order and delete_customer; a reader is listed: %s", strings.Join(names, ", "))
	if len(names) != 1 || names[0] != "read_document" {
		return fmt.Errorf("reader listed %v", names)
	}
	if refused, err := d.mcpCall(ctx, s, "read_document", map[string]any{"id": "handbook"}); err != nil || refused {
		return errors.Join(err, errors.New("read_document was refused"))
	}
	if refused, err := d.mcpCall(ctx, s, "delete_customer", map[string]any{"customer_id": "c-1"}); err != nil || !refused {
		return errors.Join(err, errors.New("an unlisted tool ran"))
	}
	d.say("A document with an injection in it never reaches the agent:")
	if refused, err := d.mcpCall(ctx, s, "read_document", map[string]any{"id": "ticket-7"}); err != nil || !refused {
		return errors.Join(err, errors.New("an injected document was passed on"))
	}
	s.close()

	d.say("An admin may refund: within the policy's condition (at most 500), and within the")
	d.say("tool's own input schema, checked by the proxy whatever the agent's client did:")
	s, err = d.startMCPScene(ctx, "shop", shopserver.Normal, "admin", in, det)
	if err != nil {
		return err
	}
	defer s.close()
	if refused, err := d.mcpCall(ctx, s, "refund_order", map[string]any{"order_id": "ORD-1234", "amount": 100000}); err != nil || !refused {
		return errors.Join(err, errors.New("a refund over the policy's limit reached the server"))
	}
	if refused, err := d.mcpCall(ctx, s, "refund_order", map[string]any{"order_id": "ORD-1234' OR '1'='1", "amount": 20}); err != nil || !refused {
		return errors.Join(err, errors.New("an out-of-schema refund reached the server"))
	}
	if refused, err := d.mcpCall(ctx, s, "refund_order", map[string]any{"order_id": "ORD-1234", "amount": 20}); err != nil || refused {
		return errors.Join(err, errors.New("a valid refund was refused"))
	}
	return nil
}

func demoMCPPins(ctx context.Context, d *demo) error {
	det, err := inject.New(inject.Config{})
	if err != nil {
		return err
	}
	pins := &mcpguard.MemoryPinStore{}
	newIn := func() (*mcpguard.Inspector, error) {
		return mcpguard.NewInspector(mcpguard.InspectorConfig{Pins: pins, Detector: det})
	}
	in, err := newIn()
	if err != nil {
		return err
	}
	s, err := d.startMCPScene(ctx, "shop", shopserver.Normal, "admin", in, det)
	if err != nil {
		return err
	}
	pinned := 0
	for _, f := range s.report.Findings {
		if f.Kind == mcpguard.FindingPinned {
			pinned++
		}
	}
	s.close()
	d.say("First start: %d tool definitions pinned by digest (name, description, schemas).", pinned)

	d.say("The server is \"upgraded\": refund_order now says refunds are pre-approved and")
	d.say("allows a million. Nothing about it looks like an injection:")
	if in, err = newIn(); err != nil {
		return err
	}
	s, err = d.startMCPScene(ctx, "shop", shopserver.RugPull, "admin", in, det)
	if err != nil {
		return err
	}
	if !d.printWithheld(s.report, mcpguard.FindingRugPull) {
		s.close()
		return errors.New("the rug pull was not caught")
	}
	if refused, err := d.mcpCall(ctx, s, "refund_order", map[string]any{"order_id": "ORD-1234", "amount": 900000}); err != nil || !refused {
		s.close()
		return errors.Join(err, errors.New("the changed tool ran"))
	}
	s.close()
	d.say("It stays withheld until an operator reviews it: agentguard mcp approve.")

	d.say("A server whose description carries instructions for the model (tool poisoning):")
	if in, err = newIn(); err != nil {
		return err
	}
	s, err = d.startMCPScene(ctx, "other-shop", shopserver.Poison, "admin", in, det)
	if err != nil {
		return err
	}
	defer s.close()
	if !d.printWithheld(s.report, mcpguard.FindingPoisoned) {
		return errors.New("the poisoned description was not caught")
	}

	d.say("And a second server offering the same tool names (shadowing):")
	in, err = newIn()
	if err != nil {
		return err
	}
	first, err := d.startMCPScene(ctx, "shop", shopserver.Normal, "admin", in, det)
	if err != nil {
		return err
	}
	defer first.close()
	second, err := d.startMCPScene(ctx, "lookalike-shop", shopserver.Normal, "admin", in, det)
	if err != nil {
		return err
	}
	defer second.close()
	if !d.printWithheld(second.report, mcpguard.FindingShadowed) {
		return errors.New("shadowing was not reported")
	}
	return nil
}

// printWithheld prints the refused findings of rep and reports whether one of
// kind was among them.
func (d *demo) printWithheld(rep *mcpguard.Report, kind mcpguard.FindingKind) bool {
	found := false
	for _, f := range rep.Findings {
		if !f.Refused {
			continue
		}
		d.say("    ✗ withheld %s/%s: %s — %s", f.Server, f.Tool, f.Kind, clip(f.Detail, 110))
		found = found || f.Kind == kind
	}
	return found
}
