package scope

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/agentguard/agentguard/guard"
)

// TransportConfig configures a [Transport]. The zero value is invalid: a policy
// is required.
type TransportConfig struct {
	// Policy supplies each role's HTTP methods and hosts. Required.
	Policy *Policy
	// Role, when set, is the role every request is checked against. When empty,
	// the role of the principal in the request's context is used (see
	// [ContextWithPrincipal]), and a request without one is refused.
	Role string
	// Base is cloned to carry the requests. Its proxy and dial functions are
	// replaced: requests never go through a proxy (the proxy's address is not
	// the one the policy checks), and every connection is dialled by the
	// transport's own checking dialer. Default: a clone of http.DefaultTransport.
	Base *http.Transport
	// InsecureAllowPrefixes lets connections reach addresses that are otherwise
	// refused (loopback, private, link-local, ...), for example a test server on
	// 127.0.0.1/32 or an internal service's subnet. Empty by default.
	InsecureAllowPrefixes []netip.Prefix
	// Resolver resolves host names. Default: net.DefaultResolver.
	Resolver *net.Resolver
}

// Transport is an http.RoundTripper for an agent's outbound HTTP. Each request
// must use http or https, a method the role allows, and a host (and port) on the
// role's allow-list. Independently of the host name, every connection is checked
// on the IP address actually dialled, after DNS resolution: loopback, private,
// link-local, unspecified, multicast, shared (CGNAT), reserved and IPv4-embedding
// IPv6 (NAT64, 6to4, Teredo) addresses are refused unless allowed by
// [TransportConfig.InsecureAllowPrefixes]. A name that resolves to a public
// address for the check and to a private one for the connection (DNS rebinding)
// is therefore refused too, because the check runs at connect time. Redirects
// followed by an http.Client come back through RoundTrip and are checked again.
//
// Refusals are [*guard.DenialError] values (matching [guard.ErrDenied]) wrapped
// by net/http's own errors. Transport is safe for concurrent use.
type Transport struct {
	policy *Policy
	role   string
	allow  []netip.Prefix
	rt     *http.Transport
}

var _ http.RoundTripper = (*Transport)(nil)

// NewTransport returns a Transport for cfg.
func NewTransport(cfg TransportConfig) (*Transport, error) {
	if cfg.Policy == nil {
		return nil, fmt.Errorf("scope: transport: %w", guard.ErrNilPolicy)
	}
	if cfg.Role != "" {
		if _, ok := cfg.Policy.roles[cfg.Role]; !ok {
			return nil, fmt.Errorf("scope: transport: role %q is not declared", cfg.Role)
		}
	}
	for _, p := range cfg.InsecureAllowPrefixes {
		if !p.IsValid() {
			return nil, errors.New("scope: transport: invalid prefix in InsecureAllowPrefixes")
		}
	}
	var base *http.Transport
	if cfg.Base != nil {
		base = cfg.Base.Clone()
	} else {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	t := &Transport{policy: cfg.Policy, role: cfg.Role, allow: slices.Clone(cfg.InsecureAllowPrefixes)}
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Resolver: cfg.Resolver, Control: t.control}
	base.Proxy = nil
	base.OnProxyConnectResponse = nil
	base.DialContext = d.DialContext
	base.DialTLSContext = nil
	base.Dial = nil //nolint:staticcheck // cleared so that it cannot bypass DialContext
	base.DialTLS = nil
	t.rt = base
	return t, nil
}

// Client returns an http.Client using t that follows at most 5 redirects (each
// checked by t).
func (t *Transport) Client() *http.Client {
	return &http.Client{
		Transport: t,
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("scope: stopped after 5 redirects")
			}
			return nil
		},
	}
}

// CloseIdleConnections closes the underlying transport's idle connections.
func (t *Transport) CloseIdleConnections() { t.rt.CloseIdleConnections() }

// RoundTrip checks req with [Transport.Check] and sends it.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.Check(req); err != nil {
		if req != nil && req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	return t.rt.RoundTrip(req)
}

// Check reports whether req's method, scheme and host are allowed for the role,
// without sending it. It cannot see where a host name resolves: that is
// checked when the connection is dialled.
func (t *Transport) Check(req *http.Request) error {
	if req == nil || req.URL == nil {
		return httpDeny("http.request", "nil request or URL")
	}
	roleName := t.role
	if roleName == "" {
		p, ok := principalPtrFromContext(req.Context())
		if !ok || p.Role == "" {
			return httpDeny("principal.missing", "request context has no principal role")
		}
		roleName = p.Role
	}
	if req.Host != "" && !strings.EqualFold(req.Host, req.URL.Host) {
		return httpDeny("http.host_header", fmt.Sprintf("Host header %q differs from URL host %q", req.Host, req.URL.Host))
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	return t.policy.checkHTTP(roleName, method, req.URL, t.allow)
}

// CheckHTTP reports whether role may send method to rawURL. Like
// [Transport.Check] it checks the URL's text and IP literals, not DNS.
func (p *Policy) CheckHTTP(roleName, method, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return httpDeny("http.url", fmt.Sprintf("invalid URL: %v", err))
	}
	return p.checkHTTP(roleName, method, u, nil)
}

func httpDeny(rule, reason string) *guard.DenialError {
	return &guard.DenialError{Stage: guard.StageScope, Tool: "http", Rule: rule, Reason: reason}
}

func (p *Policy) checkHTTP(roleName, method string, u *url.URL, allow []netip.Prefix) error {
	r, ok := p.roles[roleName]
	if !ok {
		return httpDeny("role.unknown", fmt.Sprintf("role %q is not declared", roleName))
	}
	if !slices.Contains(r.methods, method) {
		return httpDeny("http.method", fmt.Sprintf("role %q may not send %s requests", roleName, method))
	}
	var defPort string
	switch u.Scheme {
	case "http":
		defPort = "80"
	case "https":
		defPort = "443"
	default:
		return httpDeny("http.scheme", fmt.Sprintf("scheme %q is not allowed", u.Scheme))
	}
	if u.User != nil {
		return httpDeny("http.userinfo", "URLs with user information are refused")
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return httpDeny("http.host", "URL has no host")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return httpDeny("http.host", "IPv6 zones are refused")
		}
		if why := blockedAddr(a); why != "" && !allowed(allow, a) {
			return httpDeny("http.addr", fmt.Sprintf("address %s is %s", a, why))
		}
	} else if !validHostName(host) {
		return httpDeny("http.host", fmt.Sprintf("host %q is not a valid ASCII host name", host))
	}
	port := u.Port()
	if port == defPort {
		port = ""
	}
	for _, hp := range r.hosts {
		if hp.match(host, port) {
			return nil
		}
	}
	return httpDeny("http.host", fmt.Sprintf("role %q may not reach host %q", roleName, u.Host))
}

func validHostName(h string) bool {
	if len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// control runs on the socket before connect, with the resolved address.
func (t *Transport) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return httpDeny("http.addr", fmt.Sprintf("cannot parse dialled address %q (fail closed)", address))
	}
	a := ap.Addr().Unmap()
	if allowed(t.allow, a) {
		return nil
	}
	if why := blockedAddr(a); why != "" {
		return httpDeny("http.addr", fmt.Sprintf("dialled address %s is %s", a, why))
	}
	return nil
}

func allowed(allow []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

var blockedPrefixes = []struct {
	p   netip.Prefix
	why string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "in 'this network'"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space (CGNAT)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible IPv6"},
	{netip.MustParsePrefix("64:ff9b::/96"), "NAT64"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "NAT64"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001::/32"), "Teredo"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("2002::/16"), "6to4"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
}

// blockedAddr returns why a is refused by default, or "" when it is public.
func blockedAddr(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case !a.IsValid():
		return "invalid"
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return "link-local"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsMulticast(), a.IsInterfaceLocalMulticast():
		return "multicast"
	case a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	}
	for _, b := range blockedPrefixes {
		if b.p.Contains(a) {
			return b.why
		}
	}
	return ""
}
