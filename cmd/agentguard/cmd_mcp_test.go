package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentguard/agentguard/sandbox"
	"github.com/golang-jwt/jwt/v5"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The upstream server in these tests is this test binary re-executed with
// mcpExampleServerEnv set (see demo_mcp.go): a real child process.

func policyFile(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../examples/policies/support.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// syncBuffer is a goroutine-safe buffer for a command's stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startStdioProxy runs "agentguard mcp proxy" in this process, with the client
// talking to it through pipes as it would through stdin/stdout.
func startStdioProxy(t *testing.T, variant string, extra ...string) (*mcp.ClientSession, *syncBuffer) {
	t.Helper()
	t.Setenv(mcpExampleServerEnv, variant) // inherited by the upstream child only
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	stderr := &syncBuffer{}
	e := &env{stdin: inR, stdout: outW, stderr: stderr, getenv: os.Getenv}
	args := append([]string{"mcp", "proxy", "--policy", policyFile(t), "--pins", filepath.Join(t.TempDir(), "pins.json")}, confineArgs(mcpExampleServerEnv)...)
	args = append(args, extra...)
	args = append(args, "--", exe)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, e, args)
		outW.Close()
	}()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "v1"}, nil).Connect(context.Background(),
		&mcp.IOTransport{Reader: outR, Writer: inW}, nil)
	if err != nil {
		cancel()
		t.Fatalf("connect: %v\nstderr:\n%s", err, stderr)
	}
	t.Cleanup(func() {
		cs.Close()
		inW.Close()
		cancel()
		select {
		case code := <-done:
			if code != exitOK {
				t.Errorf("proxy exit %d\nstderr:\n%s", code, stderr)
			}
		case <-time.After(20 * time.Second):
			t.Error("proxy did not exit")
		}
	})
	return cs, stderr
}

// confineArgs are the flags that run the upstream (this test binary) confined,
// passing it the variables it needs, or, on a kernel without Landlock, the
// explicit opt-out (the confinement tests below skip there).
func confineArgs(envNames ...string) []string {
	if sandbox.LandlockABI() < sandbox.DefaultMinLandlockABI {
		return []string{"--unconfined"}
	}
	var args []string
	for _, n := range envNames {
		args = append(args, "--env", n)
	}
	if raceBuild() {
		// The race detector's shadow memory needs far more address space
		// than the default limit.
		args = append(args, "--memory", "1024G")
	}
	return args
}

// raceBuild reports whether this test binary was built with -race.
func raceBuild() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}

func listNames(t *testing.T, cs *mcp.ClientSession) []string {
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

func callText(t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any) (string, bool) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String(), res.IsError
}

func TestMCPProxyStdio(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	cs, stderr := startStdioProxy(t, "normal", "--role", "admin")
	if got := listNames(t, cs); !slices.Equal(got, []string{"refund_order"}) {
		t.Fatalf("admin sees %v (the reference policy gives admin refund_order only)", got)
	}
	if txt, isErr := callText(t, cs, "refund_order", map[string]any{"order_id": "ORD-0001", "amount": 20}); isErr {
		t.Fatalf("allowed call: %q\n%s", txt, stderr)
	}
	if txt, isErr := callText(t, cs, "read_document", map[string]any{"id": "faq"}); !isErr {
		t.Fatalf("admin read a document: %q", txt)
	}
	if txt, isErr := callText(t, cs, "refund_order", map[string]any{"order_id": "ORD-1", "amount": 20}); !isErr || !strings.Contains(txt, "arguments") {
		t.Fatalf("invalid argument: %q", txt)
	}
}

func TestMCPProxyStdioInjectedResult(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	cs, _ := startStdioProxy(t, "normal", "--role", "reader")
	if txt, isErr := callText(t, cs, "read_document", map[string]any{"id": "ticket-7"}); !isErr || strings.Contains(txt, "IGNORE") {
		t.Fatalf("injected document passed: %q", txt)
	}
	if _, isErr := callText(t, cs, "read_document", map[string]any{"id": "handbook"}); isErr {
		t.Fatal("benign document withheld")
	}
}

func TestMCPInspectAndApprove(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pins := filepath.Join(t.TempDir(), "pins.json")
	runMCPCmd := func(variant string, args ...string) (int, string) {
		t.Setenv(mcpExampleServerEnv, variant)
		e, out, errb := testEnv("")
		e.getenv = os.Getenv
		args = append(args, confineArgs(mcpExampleServerEnv)...)
		code := run(context.Background(), e, append(append([]string{"mcp"}, args...), "--", exe))
		return code, out.String() + errb.String()
	}
	if code, out := runMCPCmd("normal", "approve", "--pins", pins, "--server", "shop"); code != exitOK || strings.Count(out, "pinned shop/") != 3 {
		t.Fatalf("approve: exit %d\n%s", code, out)
	}
	if code, out := runMCPCmd("normal", "inspect", "--pins", pins, "--server", "shop"); code != exitOK || !strings.Contains(out, "matches its pin") {
		t.Fatalf("inspect clean: exit %d\n%s", code, out)
	}
	code, out := runMCPCmd("rugpull", "inspect", "--pins", pins, "--server", "shop")
	if code != exitFail || !strings.Contains(out, "WITHHELD") || !strings.Contains(out, "rug_pull") {
		t.Fatalf("inspect rug pull: exit %d\n%s", code, out)
	}
	// inspect never pins: still refused.
	if code, _ := runMCPCmd("rugpull", "inspect", "--pins", pins, "--server", "shop"); code != exitFail {
		t.Fatal("inspect pinned the changed definition")
	}
	if code, out := runMCPCmd("rugpull", "approve", "--pins", pins, "--server", "shop", "--tool", "refund_order"); code != exitOK {
		t.Fatalf("approve one: exit %d\n%s", code, out)
	}
	if code, out := runMCPCmd("rugpull", "inspect", "--pins", pins, "--server", "shop"); code != exitOK {
		t.Fatalf("after approval: exit %d\n%s", code, out)
	}
	if code, out := runMCPCmd("poison", "inspect", "--pins", filepath.Join(t.TempDir(), "p.json"), "--server", "shop"); code != exitFail || !strings.Contains(out, "poisoned") {
		t.Fatalf("inspect poison: exit %d\n%s", code, out)
	}
	if code, _ := runMCPCmd("normal", "approve", "--pins", pins, "--tool", "nope"); code != exitFail {
		t.Fatal("approving an unknown tool succeeded")
	}
}

func TestMCPUsageErrors(t *testing.T) {
	pol := "../../examples/policies/support.yaml"
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no_subcommand", []string{"mcp"}},
		{"unknown_subcommand", []string{"mcp", "frobnicate"}},
		{"no_command", []string{"mcp", "proxy", "--policy", pol, "--role", "admin"}},
		{"no_policy", []string{"mcp", "proxy", "--role", "admin", "--", "x"}},
		{"no_role", []string{"mcp", "proxy", "--policy", pol, "--", "x"}},
		{"unknown_role", []string{"mcp", "proxy", "--policy", pol, "--role", "root", "--", "x"}},
		{"role_with_http", []string{"mcp", "proxy", "--policy", pol, "--role", "admin", "--http", "127.0.0.1:0", "--", "x"}},
		{"http_without_jwt", []string{"mcp", "proxy", "--policy", pol, "--http", "127.0.0.1:0", "--", "x"}},
		{"bad_server_name", []string{"mcp", "inspect", "--server", "a b", "--", "x"}},
		{"bad_flag", []string{"mcp", "proxy", "--bogus", "--", "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _, _ := testEnv("")
			args := tc.args
			if tc.name != "no_subcommand" && tc.name != "unknown_subcommand" {
				args = append(args[:2:2], append([]string{"--pins", filepath.Join(t.TempDir(), "p.json")}, args[2:]...)...)
			}
			if code := run(context.Background(), e, args); code != exitUsage {
				t.Fatalf("exit %d, want %d", code, exitUsage)
			}
		})
	}
	t.Run("non_loopback_without_tls", func(t *testing.T) {
		key := filepath.Join(t.TempDir(), "k")
		os.WriteFile(key, bytes.Repeat([]byte("k"), 32), 0o600)
		e, _, errb := testEnv("")
		code := run(context.Background(), e, []string{"mcp", "proxy", "--pins", filepath.Join(t.TempDir(), "p.json"), "--policy", pol,
			"--http", "0.0.0.0:0", "--jwt-alg", "HS256", "--jwt-key", key, "--jwt-issuer", "i", "--jwt-audience", "a", "--", "x"})
		if code != exitUsage || !strings.Contains(errb.String(), "loopback") {
			t.Fatalf("exit %d: %s", code, errb)
		}
	})
}

// httpProxyCLI runs "agentguard mcp proxy --http" in this process on a free
// loopback port with an HS256 JWT verifier and returns its address and a token
// minter.
func httpProxyCLI(t *testing.T, extra ...string) (addr string, token func(role string, exp time.Time) string, stderr *syncBuffer) {
	t.Helper()
	t.Setenv(mcpExampleServerEnv, "normal")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	secret := bytes.Repeat([]byte("s3cret-"), 6)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "hmac.key")
	if err := os.WriteFile(keyFile, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	l.Close()

	ctx, cancel := context.WithCancel(context.Background())
	stderr = &syncBuffer{}
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: stderr, getenv: os.Getenv}
	done := make(chan int, 1)
	args := []string{"mcp", "proxy", "--policy", policyFile(t), "--pins", filepath.Join(dir, "pins.json"),
		"--http", addr, "--jwt-alg", "HS256", "--jwt-key", keyFile, "--jwt-issuer", "https://idp.test", "--jwt-audience", "mcp-proxy"}
	args = append(args, confineArgs(mcpExampleServerEnv)...)
	args = append(append(args, extra...), "--", exe)
	go func() { done <- run(ctx, e, args) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("proxy did not exit")
		}
	})
	// Wait for the listener.
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i > 400 {
			t.Fatalf("proxy did not start: %v\n%s", err, stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	token = func(role string, exp time.Time) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"iss": "https://idp.test", "aud": "mcp-proxy", "sub": "agent-1", "role": role, "exp": exp.Unix(),
		}).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	return addr, token, stderr
}

func connectHTTPClient(url string, hc *http.Client) (*mcp.ClientSession, error) {
	return mcp.NewClient(&mcp.Implementation{Name: "t", Version: "v1"}, nil).Connect(context.Background(),
		&mcp.StreamableClientTransport{Endpoint: url, HTTPClient: hc, MaxRetries: -1, DisableStandaloneSSE: true}, nil)
}

func TestMCPProxyHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	addr, token, stderr := httpProxyCLI(t)
	url := "http://" + addr
	connectWith := func(tok string) (*mcp.ClientSession, error) {
		return connectHTTPClient(url, &http.Client{Transport: bearerRT{tok, http.DefaultTransport}, Timeout: 10 * time.Second})
	}
	for name, tok := range map[string]string{
		"no_token":      "",
		"expired":       token("reader", time.Now().Add(-time.Hour)),
		"unknown_role":  token("root", time.Now().Add(time.Hour)),
		"wrong_key":     "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYWRtaW4ifQ.c2lnbmF0dXJl",
		"alg_none_trap": "eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2lkcC50ZXN0IiwiYXVkIjoibWNwLXByb3h5Iiwicm9sZSI6ImFkbWluIn0.",
	} {
		t.Run(name+"_refused", func(t *testing.T) {
			if cs, err := connectWith(tok); err == nil {
				cs.Close()
				t.Fatal("connected")
			}
		})
	}
	t.Run("reader_token", func(t *testing.T) {
		cs, err := connectWith(token("reader", time.Now().Add(time.Hour)))
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		defer cs.Close()
		if got := listNames(t, cs); !slices.Equal(got, []string{"read_document"}) {
			t.Fatalf("reader sees %v", got)
		}
		if txt, isErr := callText(t, cs, "refund_order", map[string]any{"order_id": "ORD-0001", "amount": 1}); !isErr {
			t.Fatalf("reader refunded: %q", txt)
		}
	})
	t.Run("rebinding_refused", func(t *testing.T) {
		req, _ := http.NewRequest("POST", url, strings.NewReader("{}"))
		req.Host = "attacker.example"
		req.Header.Set("Authorization", "Bearer "+token("reader", time.Now().Add(time.Hour)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

// writeCert issues a certificate from ca (or self-signs when ca is nil) and
// writes it and its key as PEM files; it returns the certificate and key.
func writeCert(t *testing.T, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, isCA, server bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	switch {
	case isCA:
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign
	case server:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	default:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca, caKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	os.WriteFile(filepath.Join(dir, name+".pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	return cert, key
}

func TestMCPProxyHTTPMutualTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	ca, caKey := writeCert(t, dir, "ca", nil, nil, true, false)
	writeCert(t, dir, "server", ca, caKey, false, true)
	clientCert, clientKey := writeCert(t, dir, "client", ca, caKey, false, false)
	rogueCA, rogueKey := writeCert(t, dir, "rogue-ca", nil, nil, true, false)
	rogueCert, rogueCertKey := writeCert(t, dir, "rogue-client", rogueCA, rogueKey, false, false)

	addr, token, stderr := httpProxyCLI(t, "--tls-cert", filepath.Join(dir, "server.pem"), "--tls-key", filepath.Join(dir, "server.key"),
		"--client-ca", filepath.Join(dir, "ca.pem"))
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	client := func(cert *x509.Certificate, key *ecdsa.PrivateKey) *http.Client {
		tc := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS13}
		if cert != nil {
			tc.Certificates = []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key}}
		}
		return &http.Client{Transport: bearerRT{token("reader", time.Now().Add(time.Hour)), &http.Transport{TLSClientConfig: tc}}, Timeout: 10 * time.Second}
	}
	url := "https://" + addr
	if cs, err := connectHTTPClient(url, client(nil, nil)); err == nil {
		cs.Close()
		t.Fatal("connected without a client certificate")
	}
	if cs, err := connectHTTPClient(url, client(rogueCert, rogueCertKey)); err == nil {
		cs.Close()
		t.Fatal("connected with a certificate from another CA")
	}
	cs, err := connectHTTPClient(url, client(clientCert, clientKey))
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	defer cs.Close()
	if got := listNames(t, cs); !slices.Equal(got, []string{"read_document"}) {
		t.Fatalf("reader sees %v", got)
	}
}

type bearerRT struct {
	token string
	base  http.RoundTripper
}

func (b bearerRT) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if b.token != "" {
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return b.base.RoundTrip(r)
}

// BenchmarkMCPProxyProcess measures the latency the proxy adds to one tools/call
// when everything is a real process: client → examples/mcpserver directly over
// stdio, and client → "agentguard mcp proxy" → examples/mcpserver (both built
// binaries; the proxy runs the reference policy, schema validation and the
// injection detector on the result).
func BenchmarkMCPProxyProcess(b *testing.B) {
	dir := b.TempDir()
	bin, server := filepath.Join(dir, "agentguard"), filepath.Join(dir, "mcpserver")
	for out, pkg := range map[string]string{bin: ".", server: "../../examples/mcpserver"} {
		if msg, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			b.Fatalf("go build %s: %v\n%s", pkg, err, msg)
		}
	}
	pol, err := filepath.Abs("../../examples/policies/support.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cmd  func() *exec.Cmd
	}{
		{"direct", func() *exec.Cmd { return exec.Command(server) }},
		{"proxied", func() *exec.Cmd {
			return exec.Command(bin, "mcp", "proxy", "--policy", pol, "--role", "admin", "--pins", filepath.Join(dir, "pins.json"), "--", server)
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cmd := tc.cmd()
			cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, mcpExampleServerEnv+"=") })
			cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "v1"}, nil).Connect(context.Background(),
				&mcp.CommandTransport{Command: cmd, TerminateDuration: 2 * time.Second}, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer cs.Close()
			params := &mcp.CallToolParams{Name: "refund_order", Arguments: map[string]any{"order_id": "ORD-1234", "amount": 20}}
			if res, err := cs.CallTool(context.Background(), params); err != nil || res.IsError {
				b.Fatalf("warm-up: %v %+v", err, res)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if res, err := cs.CallTool(context.Background(), params); err != nil || res.IsError {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestJWTExpiry(t *testing.T) {
	for tok, want := range map[string]int64{
		"h." + b64(`{"exp":1700000000}`) + ".s":   1700000000,
		"h." + b64(`{"exp":1700000000.5}`) + ".s": 1700000000,
		"h." + b64(`{"exp":"soon"}`) + ".s":       0,
		"h." + b64(`{}`) + ".s":                   0,
		"not-a-jwt":                               0,
		"h.%%%.s":                                 0,
	} {
		got := jwtExpiry(tok)
		if (want == 0) != got.IsZero() || (want != 0 && got.Unix() != want) {
			t.Errorf("jwtExpiry(%q) = %v, want %d", tok, got, want)
		}
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func FuzzJWTExpiry(f *testing.F) {
	f.Add("h." + b64(`{"exp":1700000000}`) + ".s")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) { _ = jwtExpiry(tok) })
}

// mcpProbeEnv makes this test binary an MCP server that, before serving, tries
// what a malicious server would (read a secret, write outside its mounts,
// reach a loopback listener, read the environment) and names its tools after
// the outcomes, which "mcp inspect" prints.
const mcpProbeEnv = "AGENTGUARD_TEST_MCP_PROBE"

func init() {
	if v := os.Getenv(mcpProbeEnv); v != "" {
		os.Exit(runProbeServer(v))
	}
}

func runProbeServer(spec string) int {
	// spec: SECRET_FILE|WRITE_FILE|DIAL_ADDR[|SLEEP_ARG]; with SLEEP_ARG the
	// server also leaves "sleep SLEEP_ARG" running behind it, in its process
	// group, as a helper process would.
	parts := strings.Split(spec, "|")
	if len(parts) != 3 && len(parts) != 4 {
		return 2
	}
	if len(parts) == 4 {
		if err := exec.Command("/bin/sleep", parts[3]).Start(); err != nil {
			fmt.Fprintln(os.Stderr, "probe: start sleep:", err)
			return 1
		}
	}
	outcome := func(err error) string {
		if err != nil {
			return "denied"
		}
		return "ok"
	}
	_, readErr := os.ReadFile(parts[0])
	writeErr := os.WriteFile(parts[1], []byte("x"), 0o600)
	var dialErr error
	if c, err := net.DialTimeout("tcp", parts[2], 3*time.Second); err == nil {
		c.Close()
	} else {
		dialErr = err
	}
	names := []string{"read_" + outcome(readErr), "write_" + outcome(writeErr), "dial_" + outcome(dialErr),
		"env_" + strconv.Itoa(len(os.Environ()))}
	s := mcp.NewServer(&mcp.Implementation{Name: "probe", Version: "v1"}, nil)
	for _, n := range names {
		s.AddTool(&mcp.Tool{Name: n, Description: "probe result", InputSchema: map[string]any{"type": "object"}},
			func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{}, nil
			})
	}
	if err := s.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		return 1
	}
	return 0
}

// TestMCPInspectConfinement runs a probing server under "mcp inspect": by
// default it can read, write and reach nothing and sees only the variable it
// was given; --ro, --rw and --net open exactly those; --unconfined warns.
func TestMCPInspectConfinement(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	if sandbox.LandlockABI() < sandbox.DefaultMinLandlockABI {
		t.Skip("kernel without Landlock")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	secretDir, writeDir := t.TempDir(), t.TempDir()
	secret := filepath.Join(secretDir, "id_ed25519")
	if err := os.WriteFile(secret, []byte("PRIVATE KEY"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	target := filepath.Join(writeDir, "dropped")
	t.Setenv(mcpProbeEnv, secret+"|"+target+"|"+l.Addr().String())
	t.Setenv("AGENTGUARD_TEST_PARENT_SECRET", "hunter2")
	inspect := func(flags ...string) (int, string, string) {
		e, out, errb := testEnv("")
		e.getenv = os.Getenv
		args := append([]string{"mcp", "inspect", "--pins", filepath.Join(t.TempDir(), "p.json"), "--server", "probe"}, flags...)
		code := run(context.Background(), e, append(args, "--", exe))
		return code, out.String(), errb.String()
	}
	for _, tc := range []struct {
		name  string
		flags []string
		want  []string
	}{
		{"default", nil, []string{"read_denied", "write_denied", "dial_denied", "env_1 "}},
		{"mounted", []string{"--ro", secretDir, "--rw", writeDir}, []string{"read_ok", "write_ok", "dial_denied"}},
		{"network", []string{"--net"}, []string{"read_denied", "write_denied", "dial_ok"}},
		{"relative_mount", []string{"--ro", "."}, []string{"read_denied"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(target)
			code, out, errb := inspect(append(confineArgs(mcpProbeEnv), tc.flags...)...)
			if code != exitOK {
				t.Fatalf("exit %d\n%s\n%s", code, out, errb)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("want %q in\n%s", w, out)
				}
			}
		})
	}
	t.Run("helper_process_killed_on_exit", func(t *testing.T) {
		marker := fmt.Sprintf("%d.%d", 4000+os.Getpid()%1000, time.Now().UnixNano()%1000000)
		t.Setenv(mcpProbeEnv, secret+"|"+target+"|"+l.Addr().String()+"|"+marker)
		code, out, errb := inspect(confineArgs(mcpProbeEnv)...)
		if code != exitOK {
			t.Fatalf("exit %d\n%s\n%s", code, out, errb)
		}
		// The server exited when inspect closed its stdin; its helper, left
		// in its process group, must not outlive it.
		deadline := time.Now().Add(10 * time.Second)
		for len(markedPIDs(marker)) > 0 {
			if time.Now().After(deadline) {
				pids := markedPIDs(marker)
				for _, pid := range pids {
					syscall.Kill(pid, syscall.SIGKILL)
				}
				t.Fatalf("helper %v survived the server", pids)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	t.Run("unconfined", func(t *testing.T) {
		code, out, errb := inspect("--unconfined")
		if code != exitOK || !strings.Contains(out, "read_ok") || strings.Contains(out, "env_1 ") || !strings.Contains(errb, "WARNING: --unconfined") {
			t.Fatalf("exit %d\n%s\n%s", code, out, errb)
		}
	})
}

// On a kernel without Landlock (simulated) the commands refuse to start the
// server and name the opt-out.
func TestMCPRefusesWithoutLandlock(t *testing.T) {
	old := mcpMinLandlockABI
	mcpMinLandlockABI = 1 << 10
	defer func() { mcpMinLandlockABI = old }()
	marker := filepath.Join(t.TempDir(), "ran")
	for _, sub := range [][]string{
		{"proxy", "--policy", policyFile(t), "--role", "admin"},
		{"inspect"},
		{"approve"},
	} {
		t.Run(sub[0], func(t *testing.T) {
			e, out, errb := testEnv("")
			args := append(append([]string{"mcp"}, sub...), "--pins", filepath.Join(t.TempDir(), "p.json"), "--", "/bin/sh", "-c", "touch "+marker)
			code := run(context.Background(), e, args)
			if code != exitFail || !strings.Contains(errb.String(), "--unconfined") || !strings.Contains(errb.String(), "landlock") {
				t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errb)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("the server ran")
			}
		})
	}
}

func TestMCPConfinementUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"unconfined_with_ro", []string{"--unconfined", "--ro", "/x"}},
		{"unconfined_with_net", []string{"--unconfined", "--net"}},
		{"unconfined_with_env", []string{"--unconfined", "--env", "HOME"}},
		{"env_with_value", []string{"--env", "TOKEN=abc"}},
		{"env_empty", []string{"--env", ""}},
		{"bad_memory", []string{"--memory", "lots"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _, errb := testEnv("")
			args := append(append([]string{"mcp", "inspect", "--pins", filepath.Join(t.TempDir(), "p.json")}, tc.args...), "--", "/bin/true")
			if code := run(context.Background(), e, args); code != exitUsage {
				t.Fatalf("exit %d, want %d\n%s", code, exitUsage, errb)
			}
			if strings.Contains(errb.String(), "abc") {
				t.Fatal("variable value echoed")
			}
		})
	}
	t.Run("missing_mount", func(t *testing.T) {
		if sandbox.LandlockABI() < sandbox.DefaultMinLandlockABI {
			t.Skip("kernel without Landlock")
		}
		e, _, errb := testEnv("")
		code := run(context.Background(), e, []string{"mcp", "inspect", "--pins", filepath.Join(t.TempDir(), "p.json"),
			"--ro", "/nonexistent/node_modules", "--", "/bin/true"})
		if code != exitFail || !strings.Contains(errb.String(), "/nonexistent/node_modules") {
			t.Fatalf("exit %d: %s", code, errb)
		}
	})
}

// markedPIDs returns the PIDs of processes whose command line contains
// marker.
func markedPIDs(marker string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(marker)) {
			pids = append(pids, pid)
		}
	}
	return pids
}
