package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/inject"
	"github.com/agentguard/agentguard/mcpguard"
	"github.com/agentguard/agentguard/sandbox"
	"github.com/agentguard/agentguard/scope"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const mcpUsage = `Usage:
  agentguard mcp proxy --policy FILE --role ROLE [flags] -- COMMAND [ARG...]
  agentguard mcp proxy --policy FILE --http ADDR --jwt-... [flags] -- COMMAND [ARG...]
  agentguard mcp inspect [--pins FILE] [--server NAME] -- COMMAND [ARG...]
  agentguard mcp approve [--pins FILE] [--server NAME] [--tool NAME]... -- COMMAND [ARG...]

proxy starts COMMAND as an MCP server (a child process speaking MCP over
stdio, confined: see Confinement below) and serves its tools to one client over this process's stdin/stdout,
or to many over streamable HTTP with --http. Every message is checked:

  - tool definitions: pinned by digest on first sight (--pins); a changed
    definition (rug pull) is withheld until approved with "mcp approve";
    descriptions and schemas are scanned for prompt injection (tool
    poisoning); a tool name another server already offers is withheld;
  - tools/list: shows only the tools the role may call under the policy;
  - tools/call: checked against the policy for the role, then against the
    tool's pinned input schema; the server receives the canonical arguments;
  - results: scanned for prompt injection and withheld when flagged.

The model sees generic refusals; the reasons are logged to stderr.

inspect lists COMMAND's tools and reports what proxy would do with them
(exit status 1 if any tool would be withheld). approve pins COMMAND's current
definitions (all, or those named with --tool) after you have reviewed them.

Flags:
  --policy FILE       role policy (YAML, see examples/policies/support.yaml)
  --role ROLE         the role of the client (stdio mode)
  --subject NAME      the principal's subject in audit logs (default "local")
  --server NAME       name of the upstream server in pins (default: COMMAND's base name)
  --pins FILE         pin file (default: user config dir/agentguard/mcp-pins.json)
  --allow-shadowing   report but serve tools whose names another server offers
  --insecure-no-scan  do not scan descriptions and results for injection
  --verbose           log every decision, not only refusals

Confinement (Linux with Landlock ABI 4+; proxy, inspect and approve):
COMMAND runs confined by default. It may read and execute only the system's
programs and libraries (/usr, /lib, /lib64, /bin, /sbin, a few /dev nodes) and
the COMMAND file itself, write nowhere, use no network (its own empty network
namespace; TCP connect and bind denied), and gets an empty environment, 256
open files and a 4G address-space limit. A program found through PATH is run
by its absolute path. It starts in the current directory, which it can NOT
read unless you mount it with --ro . or --rw . (so relative paths in COMMAND,
"python -m" and node_modules resolve as usual once mounted). An interpreter
outside /usr (pyenv, nvm) needs its own --ro. Without Landlock the proxy
refuses to start rather than run COMMAND unconfined.

  --ro PATH           COMMAND may also read and execute PATH, a file or a
                      directory tree (repeatable; relative to the current dir)
  --rw PATH           COMMAND may also write PATH (repeatable)
  --env NAME          pass NAME from this environment, if set (repeatable;
                      PATH and HOME are common needs)
  --net               allow outgoing connections: the host network namespace
                      and read access to /etc/resolv.conf, /etc/hosts,
                      /etc/nsswitch.conf, /etc/gai.conf and the CA certificates
                      (/etc/ssl/certs, /etc/ca-certificates, /etc/pki/ca-trust,
                      /etc/pki/tls/certs; not /etc/ssl/private); binding a TCP
                      port stays denied (Landlock does not cover Multipath TCP,
                      nor UDP before its ABI 10)
  --memory SIZE       COMMAND's address-space limit, e.g. 2G (default 4G)
  --unconfined        run COMMAND without the sandbox, with all of your
                      user's access (prints a warning; not with the above)

Examples:
  # a Python server in a virtualenv, started from its project directory
  agentguard mcp proxy --policy p.yaml --role support --ro . -- .venv/bin/python -m shop_mcp
  # a Node server installed with npm in the current directory (Debian's node
  # also reads the OpenSSL configuration); prefer this to "npx -y", which
  # would need --net, --rw ~/.npm and --env HOME to download at every start
  agentguard mcp proxy --policy p.yaml --role support --ro ./node_modules \
      --ro /etc/ssl/openssl.cnf -- /usr/bin/node node_modules/@acme/mcp-server/dist/index.js
  # a server that calls a remote API and keeps a cache
  agentguard mcp inspect --net --env API_TOKEN --rw ~/.cache/weather -- /opt/weather-mcp/bin/server

HTTP flags (with --http ADDR the role comes from each client's bearer JWT):
  --http ADDR         serve streamable HTTP on ADDR (for example 127.0.0.1:8080)
  --jwt-alg ALG       accepted JWT algorithm, e.g. HS256, ES256, EdDSA (required)
  --jwt-key FILE      HMAC secret (HS*) or PEM public key (required)
  --jwt-issuer ISS    required "iss" (required)
  --jwt-audience AUD  required "aud" (required)
  --tls-cert FILE     serve TLS with this certificate (PEM) ...
  --tls-key FILE      ... and key; required unless ADDR is a loopback address
  --client-ca FILE    require client certificates issued by these CAs (mutual TLS)
  --allow-host H      accepted Host header, "name" or "name:port" (repeatable;
                      default: localhost, 127.0.0.1, ::1); needed when clients
                      reach the proxy by any other name
  --allow-origin O    accepted Origin header (repeatable; default: none)

Exit status: 0 on a clean shutdown, 1 when the proxy failed or inspect found
tools to withhold, 2 on bad usage or a bad policy.
`

func init() {
	register(&command{name: "mcp", summary: "guarded MCP proxy, tool-definition pinning and inspection", usage: mcpUsage, run: runMCP})
}

// mcpStrings is a repeatable string flag.
type mcpStrings []string

func (s *mcpStrings) String() string     { return strings.Join(*s, ",") }
func (s *mcpStrings) Set(v string) error { *s = append(*s, v); return nil }

type mcpFlags struct {
	policy, role, subject, server, pins string
	allowShadowing, noScan, verbose     bool
	httpAddr, jwtAlg, jwtKey, jwtIss    string
	jwtAud, tlsCert, tlsKey, clientCA   string
	allowHosts, allowOrigins, tools     mcpStrings
	ro, rw, envNames                    mcpStrings
	net, unconfined                     bool
	memory                              sizeFlag
}

func runMCP(ctx context.Context, e *env, args []string) int {
	c := lookup("mcp")
	sub, args, code, ok := subcommand(e, c, args, "proxy", "inspect", "approve")
	if !ok {
		return code
	}
	// The upstream's stderr is copied into ours by another goroutine.
	le := *e
	le.stderr = &mcpLockedWriter{w: e.stderr}
	e = &le
	fs := newFlags(e, c)
	var f mcpFlags
	fs.StringVar(&f.policy, "policy", "", "")
	fs.StringVar(&f.role, "role", "", "")
	fs.StringVar(&f.subject, "subject", "local", "")
	fs.StringVar(&f.server, "server", "", "")
	fs.StringVar(&f.pins, "pins", "", "")
	fs.BoolVar(&f.allowShadowing, "allow-shadowing", false, "")
	fs.BoolVar(&f.noScan, "insecure-no-scan", false, "")
	fs.BoolVar(&f.verbose, "verbose", false, "")
	fs.StringVar(&f.httpAddr, "http", "", "")
	fs.StringVar(&f.jwtAlg, "jwt-alg", "", "")
	fs.StringVar(&f.jwtKey, "jwt-key", "", "")
	fs.StringVar(&f.jwtIss, "jwt-issuer", "", "")
	fs.StringVar(&f.jwtAud, "jwt-audience", "", "")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "")
	fs.StringVar(&f.tlsKey, "tls-key", "", "")
	fs.StringVar(&f.clientCA, "client-ca", "", "")
	fs.Var(&f.allowHosts, "allow-host", "")
	fs.Var(&f.allowOrigins, "allow-origin", "")
	fs.Var(&f.tools, "tool", "")
	fs.Var(&f.ro, "ro", "")
	fs.Var(&f.rw, "rw", "")
	fs.Var(&f.envNames, "env", "")
	fs.BoolVar(&f.net, "net", false, "")
	fs.BoolVar(&f.unconfined, "unconfined", false, "")
	fs.Var(&f.memory, "memory", "")
	if code, ok := parseFlags(e, c, fs, args); !ok {
		return code
	}
	argv := fs.Args()
	if len(argv) == 0 {
		fmt.Fprintf(e.stderr, "agentguard mcp %s: missing COMMAND after --\n", sub)
		return exitUsage
	}
	if f.server == "" {
		f.server = filepath.Base(argv[0])
	}
	if !mcpguard.ValidToolName(f.server) {
		fmt.Fprintf(e.stderr, "agentguard mcp %s: --server %q: use letters, digits, '_', '.', '-'\n", sub, f.server)
		return exitUsage
	}
	if f.unconfined && (len(f.ro) > 0 || len(f.rw) > 0 || len(f.envNames) > 0 || f.net || f.memory.n != 0) {
		fmt.Fprintf(e.stderr, "agentguard mcp %s: --unconfined cannot be combined with --ro, --rw, --env, --net or --memory\n", sub)
		return exitUsage
	}
	for _, name := range f.envNames {
		if name == "" || strings.ContainsAny(name, "=\x00") {
			// The value after '=' may be a secret: never echo it.
			shown, _, _ := strings.Cut(name, "=")
			fmt.Fprintf(e.stderr, "agentguard mcp %s: --env %q: give a variable name, not NAME=value\n", sub, shown)
			return exitUsage
		}
	}
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	pins, err := openPins(f.pins)
	if err != nil {
		fmt.Fprintf(e.stderr, "agentguard mcp %s: %v\n", sub, err)
		return exitUsage
	}
	switch sub {
	case "inspect":
		return mcpInspect(ctx, e, &f, pins, logger, argv)
	case "approve":
		return mcpApprove(ctx, e, &f, pins, argv)
	}
	return mcpProxy(ctx, e, &f, pins, logger, argv)
}

func openPins(path string) (*mcpguard.FilePinStore, error) {
	if path == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return nil, fmt.Errorf("no --pins and no user config directory: %w", err)
		}
		dir = filepath.Join(dir, "agentguard")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		path = filepath.Join(dir, "mcp-pins.json")
	}
	return mcpguard.NewFilePinStore(path)
}

func newDetector(f *mcpFlags) (guard.InjectionDetector, error) {
	if f.noScan {
		return nil, nil
	}
	d, err := inject.New(inject.Config{})
	if err != nil {
		return nil, fmt.Errorf("injection detector: %w", err)
	}
	return d, nil
}

func newInspector(f *mcpFlags, pins mcpguard.PinStore, logger *slog.Logger) (*mcpguard.Inspector, error) {
	det, err := newDetector(f)
	if err != nil {
		return nil, err
	}
	cfg := mcpguard.InspectorConfig{Pins: pins, InsecureSkipPoisonScan: f.noScan, AllowShadowing: f.allowShadowing, Logger: logger}
	if det != nil {
		cfg.Detector = det
	}
	return mcpguard.NewInspector(cfg)
}

// mcpMinLandlockABI is the Landlock ABI the upstream's confinement needs (a
// variable so that tests can simulate a kernel without it).
var mcpMinLandlockABI = sandbox.DefaultMinLandlockABI

// Confinement defaults for an upstream MCP server: a long-running server needs
// more address space (threads, malloc arenas, JIT reservations) and files
// than a one-shot tool run.
const (
	mcpDefaultMemory   = 4 << 30
	mcpDefaultMaxFiles = 256
)

// mcpNetReadOnly are the files name resolution and TLS need, made readable
// with --net (those that exist).
var mcpNetReadOnly = []string{"/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/gai.conf",
	"/etc/ssl/certs", "/etc/ca-certificates", "/etc/pki/ca-trust", "/etc/pki/tls/certs"}

// upstream is the upstream server's transport and what to do once it is
// closed.
type upstream struct {
	transport *mcp.CommandTransport
	cleanup   func()
}

// upstreamCommand runs argv with this process's stderr (the server's logs),
// confined by the process sandbox unless --unconfined. ctx bounds the
// confined child: when it is done, the child's process group is killed.
func upstreamCommand(ctx context.Context, e *env, f *mcpFlags, sub string, argv []string) (*upstream, error) {
	if f.unconfined {
		fmt.Fprintf(e.stderr, "agentguard mcp %s: WARNING: --unconfined: %s runs with all of your user's access (files, network, environment)\n", sub, argv[0])
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stderr = e.stderr
		return &upstream{transport: &mcp.CommandTransport{Command: cmd, TerminateDuration: 3 * time.Second}, cleanup: func() {}}, nil
	}
	mem := f.memory.n
	if mem == 0 {
		mem = mcpDefaultMemory
	}
	box, err := sandbox.NewProcess(sandbox.ProcessConfig{MemoryLimit: mem, MaxOpenFiles: mcpDefaultMaxFiles, MinLandlockABI: mcpMinLandlockABI})
	if err != nil {
		return nil, fmt.Errorf("cannot confine %s: %w\n(--unconfined runs it without a sandbox, with all of your user's access)", argv[0], err)
	}
	prog, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	argv = append([]string(nil), argv...)
	if argv[0], err = filepath.Abs(prog); err != nil {
		return nil, err
	}
	opts := sandbox.CommandOptions{InsecureNetwork: f.net}
	for _, group := range []struct {
		in  []string
		out *[]string
	}{{f.ro, &opts.ReadOnly}, {f.rw, &opts.ReadWrite}} {
		for _, p := range group.in {
			abs, err := filepath.Abs(p)
			if err != nil {
				return nil, err
			}
			*group.out = append(*group.out, abs)
		}
	}
	if f.net {
		for _, p := range mcpNetReadOnly {
			if _, err := os.Stat(p); err == nil {
				opts.ReadOnly = append(opts.ReadOnly, p)
			}
		}
	}
	for _, name := range f.envNames {
		if v := e.getenv(name); v != "" {
			opts.Env = append(opts.Env, name+"="+v)
		}
	}
	if wd, err := os.Getwd(); err == nil {
		opts.Dir = wd
	}
	cmd, err := box.Command(ctx, argv, opts)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = e.stderr
	// The go-sdk stops only the child it started; take whatever else the
	// server left in its process group with it.
	return &upstream{transport: &mcp.CommandTransport{Command: cmd, TerminateDuration: 3 * time.Second},
		cleanup: func() { sandbox.KillGroup(cmd) }}, nil
}

func listUpstream(ctx context.Context, e *env, f *mcpFlags, sub string, argv []string) ([]*mcp.Tool, func(), error) {
	up, err := upstreamCommand(ctx, e, f, sub, argv)
	if err != nil {
		return nil, nil, err
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "agentguard", Version: "v1"}, &mcp.ClientOptions{Capabilities: &mcp.ClientCapabilities{}}).
		Connect(ctx, up.transport, nil)
	if err != nil {
		up.cleanup()
		return nil, nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	var tools []*mcp.Tool
	for t, err := range cs.Tools(ctx, nil) {
		if err != nil {
			cs.Close()
			up.cleanup()
			return nil, nil, fmt.Errorf("list tools: %w", err)
		}
		tools = append(tools, t)
	}
	return tools, func() { cs.Close(); up.cleanup() }, nil
}

func mcpInspect(ctx context.Context, e *env, f *mcpFlags, pins mcpguard.PinStore, logger *slog.Logger, argv []string) int {
	// Inspect against a copy of the pins, so that inspecting never pins.
	mem := &mcpguard.MemoryPinStore{}
	if fp, ok := pins.(*mcpguard.FilePinStore); ok {
		all, err := fp.Pins()
		if err != nil {
			fmt.Fprintf(e.stderr, "agentguard mcp inspect: %v\n", err)
			return exitFail
		}
		for k, v := range all {
			mem.SetPin(ctx, k, v)
		}
	}
	in, err := newInspector(f, mem, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintf(e.stderr, "agentguard mcp inspect: %v\n", err)
		return exitUsage
	}
	tools, done, err := listUpstream(ctx, e, f, "inspect", argv)
	if err != nil {
		fmt.Fprintf(e.stderr, "agentguard mcp inspect: %v\n", err)
		return exitFail
	}
	defer done()
	rep, err := in.Inspect(ctx, f.server, tools)
	if err != nil {
		fmt.Fprintf(e.stderr, "agentguard mcp inspect: %v\n", err)
		return exitFail
	}
	printReport(e.stdout, rep, len(tools))
	if rep.Refused() {
		return exitFail
	}
	return exitOK
}

func printReport(w io.Writer, rep *mcpguard.Report, total int) {
	fmt.Fprintf(w, "server %s: %d tools, %d accepted\n", rep.Server, total, len(rep.Accepted))
	pinned := map[string]string{}
	for _, f := range rep.Findings {
		if f.Kind == mcpguard.FindingPinned {
			pinned[f.Tool] = f.Digest
		}
	}
	for _, t := range rep.Accepted {
		if d, ok := pinned[t.Name]; ok {
			fmt.Fprintf(w, "  ok        %-24s new, would be pinned %s\n", t.Name, short(d))
		} else {
			fmt.Fprintf(w, "  ok        %-24s matches its pin\n", t.Name)
		}
	}
	for _, f := range rep.Findings {
		switch {
		case f.Refused:
			fmt.Fprintf(w, "  WITHHELD  %-24s %s: %s\n", f.Tool, f.Kind, f.Detail)
		case f.Kind != mcpguard.FindingPinned:
			fmt.Fprintf(w, "  NOTE      %-24s %s: %s\n", f.Tool, f.Kind, f.Detail)
		}
	}
}

func short(d string) string {
	if len(d) > 19 {
		return d[:19] + "…"
	}
	return d
}

func mcpApprove(ctx context.Context, e *env, f *mcpFlags, pins mcpguard.PinStore, argv []string) int {
	in, err := mcpguard.NewInspector(mcpguard.InspectorConfig{Pins: pins, InsecureSkipPoisonScan: true})
	if err != nil {
		fmt.Fprintf(e.stderr, "agentguard mcp approve: %v\n", err)
		return exitUsage
	}
	tools, done, err := listUpstream(ctx, e, f, "approve", argv)
	if err != nil {
		fmt.Fprintf(e.stderr, "agentguard mcp approve: %v\n", err)
		return exitFail
	}
	defer done()
	n := 0
	for _, t := range tools {
		if len(f.tools) > 0 && !slices.Contains(f.tools, t.Name) {
			continue
		}
		d, err := in.Approve(ctx, f.server, t)
		if err != nil {
			fmt.Fprintf(e.stderr, "agentguard mcp approve: %v\n", err)
			return exitFail
		}
		fmt.Fprintf(e.stdout, "pinned %s %s\n", mcpguard.PinKey(f.server, t.Name), d)
		n++
	}
	for _, name := range f.tools {
		if !slices.ContainsFunc(tools, func(t *mcp.Tool) bool { return t.Name == name }) {
			fmt.Fprintf(e.stderr, "agentguard mcp approve: %s offers no tool %q\n", f.server, name)
			return exitFail
		}
	}
	if n == 0 {
		fmt.Fprintln(e.stderr, "agentguard mcp approve: no tools pinned")
		return exitFail
	}
	return exitOK
}

func mcpProxy(ctx context.Context, e *env, f *mcpFlags, pins mcpguard.PinStore, logger *slog.Logger, argv []string) int {
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(e.stderr, "agentguard mcp proxy: "+format+"\n", args...)
		return code
	}
	if f.policy == "" {
		return fail(exitUsage, "--policy is required")
	}
	pol, err := scope.Load(f.policy)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	httpMode := f.httpAddr != ""
	switch {
	case !httpMode && f.role == "":
		return fail(exitUsage, "--role is required (or --http, where the role comes from the token)")
	case httpMode && f.role != "":
		return fail(exitUsage, "--role cannot be used with --http: the role comes from each client's token")
	case !httpMode && !slices.Contains(pol.Roles(), f.role):
		return fail(exitUsage, "role %q is not in %s", f.role, f.policy)
	}
	in, err := newInspector(f, pins, logger)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	det, err := newDetector(f)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	gcfg := mcpguard.ServerConfig{
		Scoper:  pol, // lists each role's tools (mcpguard.RoleTools) and authorises calls
		Logger:  logger,
		Options: []guard.Option{guard.WithAuditor(guard.SlogAuditor(logger))},
	}
	if det != nil {
		gcfg.Detector = det
	}
	if !httpMode {
		gcfg.Principal = mcpguard.StaticPrincipal(guard.Principal{Subject: f.subject, Role: f.role})
	}
	var hcfg mcpguard.HTTPConfig
	var tlsCfg *tls.Config
	if httpMode {
		if hcfg, tlsCfg, err = httpSettings(f, pol, logger); err != nil {
			return fail(exitUsage, "%v", err)
		}
	}
	up, err := upstreamCommand(ctx, e, f, "proxy", argv)
	if err != nil {
		return fail(exitFail, "%v", err)
	}
	defer up.cleanup()
	p, err := mcpguard.NewProxy(mcpguard.ProxyConfig{
		Server: f.server, Upstream: up.transport, Guard: gcfg, Inspector: in, Logger: logger,
	})
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	rep, err := p.Connect(ctx)
	if err != nil {
		return fail(exitFail, "%v", err)
	}
	defer p.Close()
	for _, fd := range rep.Findings {
		if fd.Refused {
			fmt.Fprintf(e.stderr, "agentguard mcp proxy: withholding %s/%s: %s: %s\n", fd.Server, fd.Tool, fd.Kind, fd.Detail)
		}
	}
	// When the upstream exits, so does the proxy.
	serveCtx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	go func() {
		select {
		case <-p.Done():
			stopServing()
		case <-serveCtx.Done():
		}
	}()
	// upstreamGone reports, before the proxy closes it, whether the upstream
	// ended on its own.
	upstreamGone := func() bool {
		select {
		case <-p.Done():
			return ctx.Err() == nil
		default:
			return false
		}
	}
	if !httpMode {
		err := p.Run(serveCtx, &mcp.IOTransport{Reader: io.NopCloser(e.stdin), Writer: nopWriteCloser{e.stdout}})
		gone := upstreamGone()
		stopServing()
		p.Close()
		<-p.Done()
		if gone {
			return fail(exitFail, "upstream %s exited", f.server)
		}
		if err != nil && ctx.Err() == nil && !errors.Is(err, io.EOF) && !errors.Is(err, mcp.ErrConnectionClosed) {
			return fail(exitFail, "%v", err)
		}
		return exitOK
	}
	h, err := mcpguard.NewHTTPHandler(p.Server(), hcfg)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	srv := &http.Server{Addr: f.httpAddr, Handler: h, TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() {
		if tlsCfg != nil {
			errc <- srv.ListenAndServeTLS("", "")
		} else {
			errc <- srv.ListenAndServe()
		}
	}()
	fmt.Fprintf(e.stderr, "agentguard mcp proxy: serving %s on %s\n", f.server, f.httpAddr)
	select {
	case err := <-errc:
		return fail(exitFail, "%v", err)
	case <-serveCtx.Done():
		gone := upstreamGone()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		p.Close()
		<-p.Done()
		if gone {
			return fail(exitFail, "upstream %s exited", f.server)
		}
		return exitOK
	}
}

// mcpLockedWriter serialises writes from several goroutines.
type mcpLockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *mcpLockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// httpSettings builds the HTTP guard configuration and TLS settings from flags.
func httpSettings(f *mcpFlags, pol *scope.Policy, logger *slog.Logger) (mcpguard.HTTPConfig, *tls.Config, error) {
	var zero mcpguard.HTTPConfig
	if f.jwtAlg == "" || f.jwtKey == "" || f.jwtIss == "" || f.jwtAud == "" {
		return zero, nil, errors.New("--http needs --jwt-alg, --jwt-key, --jwt-issuer and --jwt-audience")
	}
	key, err := loadJWTKey(f.jwtAlg, f.jwtKey)
	if err != nil {
		return zero, nil, err
	}
	v, err := scope.NewJWTVerifier(scope.JWTConfig{Algorithms: []string{f.jwtAlg}, Key: key, Issuer: f.jwtIss, Audience: f.jwtAud, Policy: pol})
	if err != nil {
		return zero, nil, err
	}
	host, _, err := net.SplitHostPort(f.httpAddr)
	if err != nil {
		return zero, nil, fmt.Errorf("--http %q: %w", f.httpAddr, err)
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	var tlsCfg *tls.Config
	switch {
	case f.tlsCert != "" || f.tlsKey != "":
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return zero, nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if f.clientCA != "" {
			pemData, err := os.ReadFile(f.clientCA)
			if err != nil {
				return zero, nil, fmt.Errorf("--client-ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pemData) {
				return zero, nil, fmt.Errorf("--client-ca %s: no certificates", f.clientCA)
			}
			if tlsCfg, err = mcpguard.MutualTLSConfig(cert, pool); err != nil {
				return zero, nil, err
			}
		}
	case f.clientCA != "":
		return zero, nil, errors.New("--client-ca needs --tls-cert and --tls-key")
	case !loopback:
		return zero, nil, fmt.Errorf("--http %s is not a loopback address: give --tls-cert and --tls-key", f.httpAddr)
	}
	verifier := mcpguard.TokenVerifier(func(_ context.Context, token string, _ *http.Request) (guard.Principal, time.Time, error) {
		p, err := v.Verify(token)
		if err != nil {
			return guard.Principal{}, time.Time{}, err
		}
		return p, jwtExpiry(token), nil
	})
	return mcpguard.HTTPConfig{
		Verifier: verifier, AllowedHosts: f.allowHosts, AllowedOrigins: f.allowOrigins,
		RequireClientCert: f.clientCA != "", Logger: logger,
	}, tlsCfg, nil
}

func loadJWTKey(alg, path string) (any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--jwt-key: %w", err)
	}
	if strings.HasPrefix(alg, "HS") {
		return []byte(strings.TrimSpace(string(data))), nil
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("--jwt-key %s: no PEM block", path)
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("--jwt-key %s: %w", path, err)
	}
	return key, nil
}

// jwtExpiry reads "exp" from a token the verifier has already accepted (and
// which therefore carries a valid exp).
func jwtExpiry(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return time.Time{}
	}
	sec, err := claims.Exp.Int64()
	if err != nil {
		f, ferr := claims.Exp.Float64()
		if ferr != nil {
			return time.Time{}
		}
		sec = int64(f)
	}
	return time.Unix(sec, 0)
}
