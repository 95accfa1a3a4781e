package scope

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/agentguard/agentguard/guard"
)

func TestCheckHTTPRoleMethod(t *testing.T) {
	p := supportPolicy(t)
	table := map[string][]string{
		"reader":   {"GET"},
		"operator": {"GET", "POST", "PUT"},
		"admin":    {"GET", "POST", "PUT", "DELETE"},
		"intern":   nil,
	}
	for role, methods := range table {
		for _, m := range []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE"} {
			want := false
			for _, a := range methods {
				want = want || a == m
			}
			t.Run(role+"/"+m, func(t *testing.T) {
				err := p.CheckHTTP(role, m, "https://api.example.com/orders/1")
				if (err == nil) != want {
					t.Fatalf("allowed = %v, want %v: %v", err == nil, want, err)
				}
				if err != nil && !errors.Is(err, guard.ErrDenied) {
					t.Fatalf("untyped denial: %v", err)
				}
			})
		}
	}
}

func TestCheckHTTPBypass(t *testing.T) {
	p := supportPolicy(t)
	cases := []struct {
		name, method, url string
		allow             bool
	}{
		{"apex", "GET", "https://example.com/", true},
		{"subdomain", "GET", "https://kb.example.com/a?b=c", true},
		{"upper-case host", "GET", "https://KB.EXAMPLE.COM/", true},
		{"trailing dot", "GET", "https://kb.example.com./", true},
		{"explicit default port", "GET", "https://kb.example.com:443/", true},
		{"http default port", "GET", "http://kb.example.com/", true},
		{"lower-case method", "get", "https://example.com/", false},
		{"mixed-case method", "Delete", "https://example.com/", false},
		{"other port", "GET", "https://kb.example.com:8443/", false},
		{"suffix trick", "GET", "https://evilexample.com/", false},
		{"suffix as subdomain", "GET", "https://example.com.evil.net/", false},
		{"userinfo trick", "GET", "https://example.com@evil.net/", false},
		{"userinfo on allowed", "GET", "https://user:pw@example.com/", false},
		{"ftp", "GET", "ftp://example.com/", false},
		{"file", "GET", "file:///etc/passwd", false},
		{"no scheme", "GET", "example.com/", false},
		{"loopback literal", "GET", "http://127.0.0.1/", false},
		{"metadata", "GET", "http://169.254.169.254/latest/meta-data/", false},
		{"ipv6 loopback", "GET", "http://[::1]/", false},
		{"mapped loopback", "GET", "http://[::ffff:127.0.0.1]/", false},
		{"unicode host", "GET", "https://exаmple.com/", false},
		{"fullwidth dot", "GET", "https://kb．example.com/", false},
		{"percent host", "GET", "https://kb%2eexample.com/", false},
		{"bad url", "GET", "http://[::1", false},
		{"empty host", "GET", "http:///path", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := p.CheckHTTP("admin", tc.method, tc.url)
			if (err == nil) != tc.allow {
				t.Fatalf("allowed = %v, want %v: %v", err == nil, tc.allow, err)
			}
		})
	}
}

func TestBlockedAddr(t *testing.T) {
	for _, s := range []string{"127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254",
		"::1", "fe80::1", "fc00::1", "fd00:ec2::254", "0.0.0.0", "::", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::127.0.0.1",
		"100.64.0.1", "64:ff9b::7f00:1", "2002:7f00:1::", "2001:0:4136:e378::1", "224.0.0.1", "ff02::1",
		"255.255.255.255", "240.0.0.1", "0.1.2.3", "198.18.0.1"} {
		if blockedAddr(netip.MustParseAddr(s)) == "" {
			t.Errorf("%s not blocked", s)
		}
	}
	for _, s := range []string{"8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8"} {
		if why := blockedAddr(netip.MustParseAddr(s)); why != "" {
			t.Errorf("%s blocked: %s", s, why)
		}
	}
}

// listen starts an HTTP server on addr (for example "127.0.0.2:0").
func listen(t *testing.T, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	s := httptest.NewUnstartedServer(h)
	s.Listener.Close()
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func hostPort(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }

func liveSpec(hosts ...string) Spec {
	return Spec{Version: 1,
		Roles: map[string]Role{
			"reader": {HTTP: HTTPRule{Methods: []string{"GET"}, Hosts: hosts}},
			"admin":  {HTTP: HTTPRule{Methods: []string{"GET", "POST", "DELETE"}, Hosts: hosts}},
		},
	}
}

func TestTransportLive(t *testing.T) {
	var hitsB atomic.Int32
	b := listen(t, "127.0.0.2:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hitsB.Add(1)
		io.WriteString(w, "internal")
	}))
	a := listen(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-internal":
			http.Redirect(w, r, b.URL+"/secret", http.StatusFound)
		case "/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		case "/to-other-host":
			http.Redirect(w, r, "http://evil.invalid/", http.StatusFound)
		case "/to-self":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			io.WriteString(w, "ok "+r.Method)
		}
	}))
	_, portA, _ := net.SplitHostPort(hostPort(a))
	p, err := New(liveSpec(hostPort(a), hostPort(b), "localhost:"+portA))
	if err != nil {
		t.Fatal(err)
	}
	newT := func(role string, allow ...netip.Prefix) *Transport {
		tr, err := NewTransport(TransportConfig{Policy: p, Role: role, InsecureAllowPrefixes: allow})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tr.CloseIdleConnections)
		return tr
	}
	only127001 := netip.MustParsePrefix("127.0.0.1/32")
	get := func(c *http.Client, method, url string) (string, error) {
		req, _ := http.NewRequest(method, url, strings.NewReader("body"))
		resp, err := c.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body), nil
	}
	wantDenied := func(t *testing.T, err error, rule string) {
		t.Helper()
		var d *guard.DenialError
		if !errors.As(err, &d) || !errors.Is(err, guard.ErrDenied) || d.Rule != rule {
			t.Fatalf("want denial %s, got %v", rule, err)
		}
	}

	t.Run("loopback refused by default", func(t *testing.T) {
		_, err := get(newT("reader").Client(), "GET", a.URL)
		wantDenied(t, err, "http.addr")
	})
	t.Run("name resolving to loopback refused at dial", func(t *testing.T) {
		_, err := get(newT("reader").Client(), "GET", "http://localhost:"+portA+"/")
		wantDenied(t, err, "http.addr")
		if !strings.Contains(err.Error(), "dialled address") {
			t.Fatalf("not refused at dial: %v", err)
		}
	})
	t.Run("allowed prefix", func(t *testing.T) {
		body, err := get(newT("reader", only127001).Client(), "GET", a.URL+"/x")
		if err != nil || body != "ok GET" {
			t.Fatalf("%q, %v", body, err)
		}
	})
	t.Run("method per role", func(t *testing.T) {
		_, err := get(newT("reader", only127001).Client(), "DELETE", a.URL)
		wantDenied(t, err, "http.method")
		body, err := get(newT("admin", only127001).Client(), "DELETE", a.URL)
		if err != nil || body != "ok DELETE" {
			t.Fatalf("admin delete: %q, %v", body, err)
		}
	})
	t.Run("redirect to private address", func(t *testing.T) {
		_, err := get(newT("reader", only127001).Client(), "GET", a.URL+"/to-internal")
		wantDenied(t, err, "http.addr")
		if hitsB.Load() != 0 {
			t.Fatal("redirect reached the internal server")
		}
	})
	t.Run("redirect to metadata", func(t *testing.T) {
		_, err := get(newT("reader", only127001).Client(), "GET", a.URL+"/to-metadata")
		wantDenied(t, err, "http.addr")
	})
	t.Run("redirect to other host", func(t *testing.T) {
		_, err := get(newT("reader", only127001).Client(), "GET", a.URL+"/to-other-host")
		wantDenied(t, err, "http.host")
	})
	t.Run("redirect within allowed host", func(t *testing.T) {
		body, err := get(newT("reader", only127001).Client(), "GET", a.URL+"/to-self")
		if err != nil || body != "ok GET" {
			t.Fatalf("%q, %v", body, err)
		}
	})
	t.Run("plain client follows redirects through the transport", func(t *testing.T) {
		c := &http.Client{Transport: newT("reader", only127001)}
		_, err := get(c, "GET", a.URL+"/to-internal")
		wantDenied(t, err, "http.addr")
	})
	t.Run("host header mismatch", func(t *testing.T) {
		req, _ := http.NewRequest("GET", a.URL, nil)
		req.Host = "internal.admin"
		_, err := newT("reader", only127001).RoundTrip(req)
		wantDenied(t, err, "http.host_header")
	})
	t.Run("role from context", func(t *testing.T) {
		tr := newT("", only127001)
		req, _ := http.NewRequest("GET", a.URL, nil)
		if _, err := tr.RoundTrip(req); !errors.Is(err, guard.ErrDenied) {
			t.Fatalf("no principal: %v", err)
		}
		req = req.WithContext(ContextWithPrincipal(context.Background(), guard.Principal{Role: "admin"}))
		req.Method = "DELETE"
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	})
	t.Run("body closed on denial", func(t *testing.T) {
		body := &closeRecorder{Reader: strings.NewReader("x")}
		req, _ := http.NewRequest("POST", a.URL, body)
		if _, err := newT("reader", only127001).RoundTrip(req); !errors.Is(err, guard.ErrDenied) {
			t.Fatal(err)
		}
		if !body.closed {
			t.Fatal("request body not closed")
		}
	})
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestNewTransportConfig(t *testing.T) {
	if _, err := NewTransport(TransportConfig{}); !errors.Is(err, guard.ErrNilPolicy) {
		t.Fatalf("nil policy: %v", err)
	}
	p := supportPolicy(t)
	if _, err := NewTransport(TransportConfig{Policy: p, Role: "root"}); err == nil {
		t.Fatal("unknown role accepted")
	}
	if _, err := NewTransport(TransportConfig{Policy: p, InsecureAllowPrefixes: []netip.Prefix{{}}}); err == nil {
		t.Fatal("invalid prefix accepted")
	}
	base := &http.Transport{Proxy: http.ProxyFromEnvironment}
	tr, err := NewTransport(TransportConfig{Policy: p, Role: "reader", Base: base})
	if err != nil {
		t.Fatal(err)
	}
	if tr.rt.Proxy != nil || tr.rt.DialContext == nil || base.DialContext != nil {
		t.Fatal("base transport not cloned and hardened")
	}
}
