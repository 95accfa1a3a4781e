package sanitize

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/agentguard/agentguard/guard"
)

func TestURLCheck(t *testing.T) {
	strict, err := NewURLChecker(URLPolicy{Hosts: []string{"api.example.com", "*.docs.example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	open, err := NewURLChecker(URLPolicy{Schemes: []string{"https", "http"}, AnyPublicHost: true, Ports: []int{8443}})
	if err != nil {
		t.Fatal(err)
	}
	ips, err := NewURLChecker(URLPolicy{AnyPublicHost: true, AllowIPLiterals: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		c    *URLChecker
		url  string
		rule string // "" means allowed
	}{
		{"allowed exact", strict, "https://api.example.com/v1/items?q=1#x", ""},
		{"allowed upper-case host", strict, "https://API.Example.COM/", ""},
		{"allowed wildcard", strict, "https://a.b.docs.example.org/x", ""},
		{"wildcard excludes apex", strict, "https://docs.example.org/", "host"},
		{"suffix trick", strict, "https://evilapi.example.com/", "host"},
		{"suffix trick 2", strict, "https://api.example.com.evil.net/", "host"},
		{"http refused", strict, "http://api.example.com/", "scheme"},
		{"file scheme", strict, "file:///etc/passwd", "scheme"},
		{"gopher", open, "gopher://example.com/", "scheme"},
		{"javascript", open, "javascript:alert(1)", "syntax"},
		{"relative", strict, "/etc/passwd", "syntax"},
		{"scheme-relative", strict, "//api.example.com/", "syntax"},
		{"opaque", open, "http:api.example.com", "syntax"},
		{"userinfo", strict, "https://api.example.com@evil.net/", "userinfo"},
		{"userinfo password", strict, "https://user:pw@api.example.com/", "userinfo"},
		{"encoded at", strict, "https://api.example.com%40evil.net/", "syntax"},
		{"backslash", strict, `https://api.example.com\@evil.net/`, "characters"},
		{"trailing dot", strict, "https://api.example.com./", "host"},
		{"space", strict, "https://api.example.com/a b", "characters"},
		{"newline", strict, "https://api.example.com/\nx", "characters"},
		{"tab in host", strict, "https://api.exa\tmple.com/", "characters"},
		{"NUL", strict, "https://api.example.com/\x00", "characters"},
		{"fullwidth dot", open, "https://example\uff0ecom/", "characters"},
		{"cyrillic lookalike", open, "https://\u0430pple.com/", "characters"},
		{"punycode lookalike", open, "https://xn--pple-43d.com/", "punycode"},
		{"percent host", open, "https://%31%32%37.0.0.1/", "syntax"},
		{"port refused", strict, "https://api.example.com:8080/", "port"},
		{"default port ok", strict, "https://api.example.com:443/", ""},
		{"listed port", open, "https://example.com:8443/", ""},
		{"port leading zero", open, "https://example.com:0443/", "port"},
		{"empty port", strict, "https://api.example.com:/", "port"},
		{"public host", open, "http://example.com/", ""},
		{"localhost", open, "http://localhost/", "private_address"},
		{"sub localhost", open, "http://a.localhost/", "private_address"},
		{"internal", open, "http://metadata.google.internal/", "private_address"},
		{"loopback", open, "http://127.0.0.1/", "ip_literal"},
		{"decimal ip", open, "http://2130706433/", "ip_literal"},
		{"hex ip", open, "http://0x7f.1/", "ip_literal"},
		{"hex ip whole", open, "http://0x7f000001/", "ip_literal"},
		{"octal ip", open, "http://0177.0.0.1/", "ip_literal"},
		{"short ip", open, "http://127.1/", "ip_literal"},
		{"ipv6 loopback", open, "http://[::1]/", "ip_literal"},
		{"ipv6 mapped", open, "http://[::ffff:127.0.0.1]/", "ip_literal"},
		{"metadata ip", open, "http://169.254.169.254/latest/meta-data/", "ip_literal"},
		{"ip allowed public", ips, "https://93.184.215.14/", ""},
		{"ip allowed loopback refused", ips, "https://127.0.0.1/", "private_address"},
		{"ip allowed metadata refused", ips, "https://169.254.169.254/", "private_address"},
		{"ip allowed private refused", ips, "https://10.0.0.1/", "private_address"},
		{"ip allowed cgnat refused", ips, "https://100.64.0.1/", "private_address"},
		{"ip allowed v6 mapped refused", ips, "https://[::ffff:10.0.0.1]/", "private_address"},
		{"ip allowed nat64 refused", ips, "https://[64:ff9b::7f00:1]/", "private_address"},
		{"ip allowed 6to4 refused", ips, "https://[2002:7f00:1::]/", "private_address"},
		{"ip allowed ula refused", ips, "https://[fd00::1]/", "private_address"},
		{"ip allowed v6 zone", ips, "https://[fe80::1%25eth0]/", "host"},
		{"ip allowed octal refused", ips, "https://0177.0.0.1/", "ip_literal"},
		{"ip allowed decimal refused", ips, "https://2130706433/", "ip_literal"},
		{"ip allowed zero", ips, "https://0.0.0.0/", "private_address"},
		{"too long", strict, "https://api.example.com/" + strings.Repeat("a", 3000), "length"},
		{"no host", open, "https:///path", "host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := tt.c.Check(tt.url)
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("Check(%q): %v", tt.url, err)
				}
				if u == nil {
					t.Fatal("nil URL")
				}
				return
			}
			var ue *URLError
			if !errors.As(err, &ue) {
				t.Fatalf("Check(%q) = %v, want URLError %s", tt.url, err, tt.rule)
			}
			if ue.Rule != tt.rule {
				t.Errorf("rule = %s (%v), want %s", ue.Rule, ue, tt.rule)
			}
		})
	}
}

func TestURLPolicyErrors(t *testing.T) {
	for _, p := range []URLPolicy{
		{Schemes: []string{"HTTPS"}},
		{Schemes: []string{"https://"}},
		{Hosts: []string{"exa mple.com"}},
		{Hosts: []string{"*.com"}},
		{Hosts: []string{"example.com."}},
		{Hosts: []string{"bücher.de"}},
		{Hosts: []string{"10.0.0.5"}},
		{Ports: []int{70000}},
		{MaxLen: -1},
	} {
		if _, err := NewURLChecker(p); err == nil {
			t.Errorf("NewURLChecker(%+v) accepted", p)
		}
	}
	zero, err := NewURLChecker(URLPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zero.Check("https://example.com/"); err == nil {
		t.Error("zero policy allowed a host")
	}
	if _, err := zero.Deny("https://example.com/"); !errors.Is(err, guard.ErrDenied) {
		t.Errorf("Deny = %v, want a denial", err)
	}
}

func TestPublicAddr(t *testing.T) {
	for s, want := range map[string]bool{
		"8.8.8.8": true, "2606:4700:4700::1111": true, "127.0.0.1": false, "10.1.2.3": false, "172.16.0.1": false,
		"192.168.1.1": false, "169.254.169.254": false, "100.64.0.1": false, "0.0.0.0": false, "255.255.255.255": false,
		"224.0.0.1": false, "::1": false, "::": false, "fe80::1": false, "fc00::1": false, "::ffff:127.0.0.1": false,
		"::ffff:8.8.8.8": true, "64:ff9b::a00:1": false, "64:ff9b::808:808": true, "2002:c0a8:101::": false,
		"2001:db8::1": false, "198.18.0.1": false, "192.0.2.1": false, "fec0::1": false, "::127.0.0.1": false,
	} {
		if got := PublicAddr(netip.MustParseAddr(s)); got != want {
			t.Errorf("PublicAddr(%s) = %v, want %v", s, got, want)
		}
	}
}

// TestURLClientRefusesPrivate shows the dial-time check: a name that resolves
// to loopback (a DNS-rebinding stand-in) and a redirect to loopback both fail,
// while a policy allowing private addresses reaches the server.
func TestURLClientRefusesPrivate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("secret"))
	}))
	defer srv.Close()
	c, err := NewURLChecker(URLPolicy{Schemes: []string{"http"}, AnyPublicHost: true, AllowPunycode: true, Ports: []int{srv.Listener.Addr().(*net.TCPAddr).Port}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Dial directly: loopback is refused at connect time.
	if _, err := c.DialContext(ctx, "tcp", srv.Listener.Addr().String()); !errors.Is(err, errDialRefused) {
		t.Fatalf("DialContext to loopback = %v, want refusal", err)
	}
	client := c.Client(5 * time.Second)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("client reached a loopback URL")
	}
	private, err := NewURLChecker(URLPolicy{Schemes: []string{"http"}, AllowIPLiterals: true, AllowPrivate: true,
		Ports: []int{srv.Listener.Addr().(*net.TCPAddr).Port}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := private.Client(5 * time.Second).Do(req.Clone(ctx))
	if err != nil {
		t.Fatalf("private policy: %v", err)
	}
	resp.Body.Close()
}

var urlSeeds = []string{
	"https://api.example.com/x", "http://2130706433/", "http://0x7f.1/", "https://a@b.com", "https://[::ffff:127.0.0.1]/",
	"https://xn--pple-43d.com/", "https://example.com./", "https://exa%6dple.com/", "https://example.com:443/", "HTTPS://EXAMPLE.COM",
	"https://1.2.3.4/", "https://[fe80::1%25en0]/", "https://example.com\\@evil/", "https:example.com",
}

// FuzzURLCheck asserts the policy's promises on everything it accepts: allowed
// scheme, no user-info, a host that is not an IP literal and is allow-listed or
// public, an ASCII URL without backslashes or control characters.
func FuzzURLCheck(f *testing.F) {
	for _, s := range urlSeeds {
		f.Add(s)
	}
	c, err := NewURLChecker(URLPolicy{Schemes: []string{"https"}, Hosts: []string{"api.example.com", "*.example.org"}, AnyPublicHost: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := c.Check(raw)
		if err != nil {
			return
		}
		if u.Scheme != "https" || u.User != nil || u.Opaque != "" {
			t.Fatalf("accepted %q: scheme %q user %v opaque %q", raw, u.Scheme, u.User, u.Opaque)
		}
		h := strings.ToLower(u.Hostname())
		if _, err := netip.ParseAddr(h); err == nil || isIPLike(h) {
			t.Fatalf("accepted IP host in %q", raw)
		}
		if !validHostName(h) || privateName(h) || strings.Contains(h, "xn--") && !strings.HasSuffix(h, ".example.org") {
			t.Fatalf("accepted bad host %q in %q", h, raw)
		}
		if p := u.Port(); p != "" && p != "443" {
			t.Fatalf("accepted port %q in %q", p, raw)
		}
		for _, r := range raw {
			if r <= ' ' || r >= 0x7f || r == '\\' {
				t.Fatalf("accepted character %q in %q", r, raw)
			}
		}
	})
}

// TestURLClientRedirects: every redirect is checked against the policy, and
// redirect chains are bounded.
func TestURLClientRedirects(t *testing.T) {
	var srvURL string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-other-port":
			http.Redirect(w, r, "http://127.0.0.1:1/", http.StatusFound)
		case "/to-file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, srvURL+"/loop", http.StatusFound)
		default:
			_, _ = w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	srvURL = srv.URL
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	c, err := NewURLChecker(URLPolicy{Schemes: []string{"http"}, AllowIPLiterals: true, AllowPrivate: true, Ports: []int{port}})
	must(t, err)
	client := c.Client(5 * time.Second)
	get := func(path string) error {
		resp, err := client.Get(srv.URL + path)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get("/ok"); err != nil {
		t.Fatalf("plain request: %v", err)
	}
	for _, p := range []string{"/to-other-port", "/to-file", "/loop"} {
		if err := get(p); err == nil {
			t.Errorf("%s: redirect followed", p)
		}
	}
}
