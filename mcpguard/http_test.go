package mcpguard_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/mcpguard"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// testCA is a certificate authority generated for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t testing.TB, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue returns a leaf certificate for cn, for server or client use.
func (ca *testCA) issue(t testing.TB, cn string, server bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tokens is the test verifier's token table.
var tokens = map[string]guard.Principal{
	"tok-support": {Subject: "alice", Role: "support"},
	"tok-admin":   {Subject: "root", Role: "admin"},
	"tok-norole":  {Subject: "bob"},
}

var testVerifier = mcpguard.TokenVerifier(func(_ context.Context, token string, _ *http.Request) (guard.Principal, time.Time, error) {
	p, ok := tokens[token]
	if !ok {
		return guard.Principal{}, time.Time{}, errors.New("unknown token")
	}
	return p, time.Now().Add(time.Hour), nil
})

// bearer adds a token to every request.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if b.token != "" {
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return b.base.RoundTrip(r)
}

// httpProxy serves a proxy over the example server on an HTTPS test server. With
// mtls, clients must present a certificate from the returned client CA.
func httpProxy(t *testing.T, mtls bool) (srv *httptest.Server, serverCA, clientCA *testCA) {
	t.Helper()
	in, err := mcpguard.NewInspector(mcpguard.InspectorConfig{Pins: &mcpguard.MemoryPinStore{}, Detector: keywordDetector})
	if err != nil {
		t.Fatal(err)
	}
	p, err := mcpguard.NewProxy(mcpguard.ProxyConfig{
		Server: "shop", Upstream: exampleCommand(t, "normal"), Inspector: in,
		Guard: mcpguard.ServerConfig{Scoper: roleScoper{}, Detector: keywordDetector}, // principal from the token
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	h, err := mcpguard.NewHTTPHandler(p.Server(), mcpguard.HTTPConfig{Verifier: testVerifier, RequireClientCert: mtls})
	if err != nil {
		t.Fatal(err)
	}
	serverCA, clientCA = newCA(t, "server-ca"), newCA(t, "client-ca")
	srv = httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	if mtls {
		srv.TLS, err = mcpguard.MutualTLSConfig(serverCA.issue(t, "localhost", true), clientCA.pool)
		if err != nil {
			t.Fatal(err)
		}
	} else {
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCA.issue(t, "localhost", true)}, MinVersion: tls.VersionTLS13}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, serverCA, clientCA
}

func httpClient(token string, serverCA *testCA, cert *tls.Certificate) *http.Client {
	tc := &tls.Config{RootCAs: serverCA.pool, MinVersion: tls.VersionTLS12}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Transport: bearer{token: token, base: &http.Transport{TLSClientConfig: tc}}, Timeout: 10 * time.Second}
}

func connectHTTP(ctx context.Context, url string, hc *http.Client) (*mcp.ClientSession, error) {
	return mcp.NewClient(&mcp.Implementation{Name: "http-client", Version: "v1"}, nil).Connect(ctx,
		&mcp.StreamableClientTransport{Endpoint: url, HTTPClient: hc, MaxRetries: -1, DisableStandaloneSSE: true}, nil)
}

func TestHTTPProxyTokens(t *testing.T) {
	srv, serverCA, _ := httpProxy(t, false)
	ctx := context.Background()

	for _, tc := range []struct {
		name, token string
	}{
		{"no_token", ""},
		{"unknown_token", "tok-forged"},
		{"token_without_role", "tok-norole"},
	} {
		t.Run(tc.name+"_refused", func(t *testing.T) {
			cs, err := connectHTTP(ctx, srv.URL, httpClient(tc.token, serverCA, nil))
			if err == nil {
				cs.Close()
				t.Fatal("connected without a valid token")
			}
			resp, err := httpClient(tc.token, serverCA, nil).Post(srv.URL, "application/json", strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", resp.StatusCode)
			}
		})
	}

	t.Run("support_token", func(t *testing.T) {
		cs, err := connectHTTP(ctx, srv.URL, httpClient("tok-support", serverCA, nil))
		if err != nil {
			t.Fatal(err)
		}
		defer cs.Close()
		if got := toolNames(t, cs); !slices.Equal(got, []string{"read_document", "refund_order"}) {
			t.Fatalf("support sees %v", got)
		}
		if res := call(t, cs, "refund_order", map[string]any{"order_id": "ORD-0001", "amount": 3}); res.IsError {
			t.Fatalf("allowed call refused: %q", resultText(res))
		}
		if res := call(t, cs, "delete_customer", map[string]any{"customer_id": "c1"}); !res.IsError {
			t.Fatalf("denied call ran: %q", resultText(res))
		}
	})
	t.Run("admin_token", func(t *testing.T) {
		cs, err := connectHTTP(ctx, srv.URL, httpClient("tok-admin", serverCA, nil))
		if err != nil {
			t.Fatal(err)
		}
		defer cs.Close()
		if res := call(t, cs, "delete_customer", map[string]any{"customer_id": "c1"}); res.IsError {
			t.Fatalf("admin call refused: %q", resultText(res))
		}
	})
}

func TestHTTPProxyRebindingAndOrigin(t *testing.T) {
	srv, serverCA, _ := httpProxy(t, false)
	hc := httpClient("tok-support", serverCA, nil)
	for _, tc := range []struct {
		name   string
		host   string
		origin string
		want   int
	}{
		{"rebound_host", "attacker.example", "", http.StatusForbidden},
		{"rebound_host_with_port", "attacker.example:" + port(srv.URL), "", http.StatusForbidden},
		{"localhost_prefix_trick", "localhost.attacker.example", "", http.StatusForbidden},
		{"cross_origin", "", "https://attacker.example", http.StatusForbidden},
		{"null_origin", "", "null", http.StatusForbidden},
		{"loopback_host_ok", "", "", http.StatusBadRequest}, // reaches the MCP handler; body {} is not a valid message
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(`{}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if tc.host != "" {
				req.Host = tc.host
			}
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if tc.want == http.StatusForbidden && resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d, want 403", resp.StatusCode)
			}
			if tc.want != http.StatusForbidden && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized) {
				t.Fatalf("status %d, want the request to reach the MCP handler", resp.StatusCode)
			}
		})
	}
}

func port(u string) string { return u[strings.LastIndexByte(u, ':')+1:] }

func TestHTTPProxyMutualTLS(t *testing.T) {
	srv, serverCA, clientCA := httpProxy(t, true)
	ctx := context.Background()
	good := clientCA.issue(t, "agent-1", false)
	rogue := newCA(t, "rogue-ca").issue(t, "agent-1", false)

	t.Run("no_client_cert_refused", func(t *testing.T) {
		if cs, err := connectHTTP(ctx, srv.URL, httpClient("tok-support", serverCA, nil)); err == nil {
			cs.Close()
			t.Fatal("connected without a client certificate")
		}
	})
	t.Run("rogue_ca_refused", func(t *testing.T) {
		if cs, err := connectHTTP(ctx, srv.URL, httpClient("tok-support", serverCA, &rogue)); err == nil {
			cs.Close()
			t.Fatal("connected with a certificate from another CA")
		}
	})
	t.Run("cert_without_token_refused", func(t *testing.T) {
		if cs, err := connectHTTP(ctx, srv.URL, httpClient("", serverCA, &good)); err == nil {
			cs.Close()
			t.Fatal("connected with a certificate but no token")
		}
	})
	t.Run("cert_and_token_ok", func(t *testing.T) {
		cs, err := connectHTTP(ctx, srv.URL, httpClient("tok-support", serverCA, &good))
		if err != nil {
			t.Fatal(err)
		}
		defer cs.Close()
		if res := call(t, cs, "read_document", map[string]any{"id": "faq"}); res.IsError {
			t.Fatalf("call refused: %q", resultText(res))
		}
	})
}

func TestHTTPGuardCheck(t *testing.T) {
	g, err := mcpguard.NewHTTPGuard(mcpguard.HTTPConfig{
		Verifier:       testVerifier,
		AllowedHosts:   []string{"mcp.internal:8443", "localhost", "[::1]"},
		AllowedOrigins: []string{"https://app.example"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, host, origin string
		ok                 bool
	}{
		{"listed_host_port", "mcp.internal:8443", "", true},
		{"listed_host_other_port", "mcp.internal:9999", "", false},
		{"listed_host_no_port", "mcp.internal", "", false},
		{"any_port_localhost", "localhost:1234", "", true},
		{"uppercase", "LOCALHOST:1", "", true},
		{"ipv6_loopback", "[::1]:80", "", true},
		{"bare_ipv6", "::1", "", false},
		{"empty_host", "", "", false},
		{"trailing_dot", "localhost.", "", false},
		{"bad_port", "localhost:http", "", false},
		{"allowed_origin", "localhost", "https://app.example", true},
		{"origin_prefix", "localhost", "https://app.example.attacker.example", false},
		{"origin_case", "localhost", "HTTPS://APP.EXAMPLE", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", nil)
			r.Host = tc.host
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			if err := g.Check(r); (err == nil) != tc.ok {
				t.Fatalf("Check(host %q, origin %q) = %v, want ok=%v", tc.host, tc.origin, err, tc.ok)
			}
		})
	}
}

func TestNewHTTPGuardConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  mcpguard.HTTPConfig
	}{
		{"nil_verifier", mcpguard.HTTPConfig{}},
		{"wildcard_origin", mcpguard.HTTPConfig{Verifier: testVerifier, AllowedOrigins: []string{"*"}}},
		{"null_origin", mcpguard.HTTPConfig{Verifier: testVerifier, AllowedOrigins: []string{"null"}}},
		{"bad_host", mcpguard.HTTPConfig{Verifier: testVerifier, AllowedHosts: []string{"a/b"}}},
		{"negative_timeout", mcpguard.HTTPConfig{Verifier: testVerifier, SessionTimeout: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := mcpguard.NewHTTPGuard(tc.cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := mcpguard.MutualTLSConfig(tls.Certificate{}, nil); err == nil {
		t.Fatal("MutualTLSConfig accepted a nil CA pool")
	}
}

// FuzzHTTPGuardCheck: with the default configuration, no Host header other than a
// loopback name (with an optional numeric port) is ever accepted, and no request
// carrying an Origin is.
func FuzzHTTPGuardCheck(f *testing.F) {
	for _, h := range []string{"localhost", "localhost:80", "127.0.0.1:1", "[::1]:8080", "evil.example", "localhost.evil", "[::1", "::1", "LOCALHOST", "127.0.0.1:", ":80", "localhost:99999999"} {
		f.Add(h, "")
	}
	f.Add("localhost", "https://a.example")
	g, err := mcpguard.NewHTTPGuard(mcpguard.HTTPConfig{Verifier: testVerifier})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, host, origin string) {
		r := httptest.NewRequest("POST", "/", nil)
		r.Host = host
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		if g.Check(r) != nil {
			return
		}
		if origin != "" {
			t.Fatalf("origin %q accepted", origin)
		}
		name := strings.ToLower(host)
		if h, p, err := net.SplitHostPort(name); err == nil {
			if p == "" || strings.Trim(p, "0123456789") != "" {
				t.Fatalf("host %q accepted with port %q", host, p)
			}
			name = h
		}
		if name != "localhost" && name != "127.0.0.1" && name != "::1" && name != "[::1]" {
			t.Fatalf("host %q accepted", host)
		}
	})
}
