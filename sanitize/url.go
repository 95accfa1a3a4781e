package sanitize

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/agentguard/agentguard/guard"
)

// DefaultMaxURLLen bounds a URL when [URLPolicy.MaxLen] is zero.
const DefaultMaxURLLen = 2048

// URLPolicy says which URLs a tool may be given. The zero URLPolicy is the
// strictest: https only, default port only, and no host at all (every URL is
// refused until hosts are allowed).
type URLPolicy struct {
	// Schemes lists the allowed schemes, lower case. Empty means "https".
	Schemes []string
	// Hosts lists the allowed host names, lower case ASCII: "api.example.com"
	// matches only that host, "*.example.com" any host below example.com (not
	// example.com itself). Matching is exact after lower-casing; there is no
	// normalisation that could make a look-alike match.
	Hosts []string
	// AnyPublicHost allows every host name not in a private or special-use
	// range, for a browsing tool. Names are still checked for IP literals,
	// private names (localhost, *.internal, …) and punycode; resolve-time
	// addresses are checked only when the request goes through
	// [URLChecker.Client] or [URLChecker.DialContext].
	AnyPublicHost bool
	// Ports lists allowed explicit ports. An explicit port equal to the scheme's
	// default (443 for https, 80 for http) is always allowed; any other port is
	// refused unless listed here.
	Ports []int
	// AllowIPLiterals allows hosts written as IP addresses, in canonical form
	// only (dotted-quad IPv4 without leading zeros, or bracketed IPv6). Private
	// and special-use addresses stay refused unless AllowPrivate is set too.
	AllowIPLiterals bool
	// AllowPrivate allows loopback, private, link-local (including cloud
	// metadata addresses), CGNAT, unique-local and other special-use addresses
	// and names such as "localhost". Only for tools meant to reach an internal
	// network.
	AllowPrivate bool
	// AllowPunycode allows "xn--" labels (internationalised names in ASCII form)
	// under AnyPublicHost. Hosts listed exactly in Hosts always match.
	AllowPunycode bool
	// MaxLen bounds the URL's length in bytes (default 2048).
	MaxLen int
}

// URLChecker enforces a [URLPolicy]. It is safe for concurrent use.
type URLChecker struct {
	schemes  []string
	exact    map[string]bool
	suffixes []string // ".example.com" for "*.example.com"
	anyHost  bool
	ports    []int
	ipLits   bool
	private  bool
	punycode bool
	maxLen   int
}

// NewURLChecker validates p and returns its checker.
func NewURLChecker(p URLPolicy) (*URLChecker, error) {
	c := &URLChecker{
		exact:    make(map[string]bool),
		anyHost:  p.AnyPublicHost,
		ipLits:   p.AllowIPLiterals,
		private:  p.AllowPrivate,
		punycode: p.AllowPunycode,
		maxLen:   p.MaxLen,
		ports:    slices.Clone(p.Ports),
	}
	if c.maxLen < 0 {
		return nil, fmt.Errorf("sanitize: url policy: negative MaxLen %d", c.maxLen)
	}
	if c.maxLen == 0 {
		c.maxLen = DefaultMaxURLLen
	}
	c.schemes = slices.Clone(p.Schemes)
	if len(c.schemes) == 0 {
		c.schemes = []string{"https"}
	}
	for _, s := range c.schemes {
		if s == "" || strings.ToLower(s) != s || strings.ContainsAny(s, ":/") {
			return nil, fmt.Errorf("sanitize: url policy: invalid scheme %q (want lower case, without \"://\")", s)
		}
	}
	for _, port := range c.ports {
		if port < 1 || port > 65535 {
			return nil, fmt.Errorf("sanitize: url policy: invalid port %d", port)
		}
	}
	for _, h := range p.Hosts {
		h = strings.ToLower(h)
		name, wild := strings.CutPrefix(h, "*.")
		if !validHostName(name) || strings.Count(name, ".") < 1 && wild {
			return nil, fmt.Errorf("sanitize: url policy: invalid host pattern %q", h)
		}
		if isIPLike(name) {
			return nil, fmt.Errorf("sanitize: url policy: host pattern %q is an IP address; use AllowIPLiterals (and AllowPrivate) instead", h)
		}
		if wild {
			c.suffixes = append(c.suffixes, "."+name)
		} else {
			c.exact[name] = true
		}
	}
	return c, nil
}

// validHostName reports whether h is a lower-case ASCII DNS name of letters,
// digits and hyphens, without empty labels or a trailing dot.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// URLError is a refused URL; Rule is a short machine name ("scheme", "host",
// "private_address", …) and Msg says why in words a model can act on.
type URLError struct {
	Rule string
	Msg  string
}

func (e *URLError) Error() string { return "url " + e.Msg }

func urlErr(rule, msg string) error { return &URLError{Rule: rule, Msg: msg} }

// Check parses raw and returns it if the policy allows it. It refuses, among
// others: user-info ("https://good.com@evil.com"), backslashes and control or
// non-ASCII characters (parsers disagree on them; percent-encode instead),
// percent-encoded host names, hosts not allowed, trailing-dot hosts, IP literals
// (also the decimal, octal, hex and short IPv4 forms such as "2130706433",
// "0x7f.1" or "127.1", and IPv4-mapped IPv6), private and special-use addresses,
// private names such as "localhost", and ports other than the scheme's default.
func (c *URLChecker) Check(raw string) (*url.URL, error) {
	if len(raw) > c.maxLen {
		return nil, urlErr("length", fmt.Sprintf("is too long (the limit is %d characters)", c.maxLen))
	}
	for i := 0; i < len(raw); i++ {
		switch b := raw[i]; {
		case b <= 0x20 || b == 0x7f:
			return nil, urlErr("characters", "must not contain spaces or control characters; percent-encode them")
		case b >= 0x80:
			return nil, urlErr("characters", "must be ASCII; percent-encode non-ASCII characters in the path and use the ASCII (punycode) form of host names")
		case b == '\\':
			return nil, urlErr("characters", "must not contain backslashes")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, urlErr("syntax", "is not a valid URL")
	}
	if u.Scheme == "" || u.Opaque != "" || !strings.HasPrefix(raw[len(u.Scheme)+1:], "//") {
		return nil, urlErr("syntax", "must be absolute, like https://host/path")
	}
	scheme := strings.ToLower(u.Scheme)
	if !slices.Contains(c.schemes, scheme) {
		return nil, urlErr("scheme", fmt.Sprintf("scheme %q is not allowed (allowed: %s)", scheme, strings.Join(c.schemes, ", ")))
	}
	if u.User != nil {
		return nil, urlErr("userinfo", "must not contain a user name or password")
	}
	authority := raw[len(u.Scheme)+3:]
	if i := strings.IndexAny(authority, "/?#"); i >= 0 {
		authority = authority[:i]
	}
	if strings.Contains(authority, "%") {
		return nil, urlErr("host", "host must not be percent-encoded")
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return nil, urlErr("host", "must name a host")
	}
	if port := u.Port(); port != "" {
		if err := c.checkPort(scheme, port); err != nil {
			return nil, err
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, urlErr("port", "has an empty port")
	}
	if err := c.checkHost(host); err != nil {
		return nil, err
	}
	return u, nil
}

func (c *URLChecker) checkPort(scheme, port string) error {
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 || strconv.Itoa(p) != port {
		return urlErr("port", "has an invalid port")
	}
	if (scheme == "https" || scheme == "wss") && p == 443 || (scheme == "http" || scheme == "ws") && p == 80 {
		return nil
	}
	if slices.Contains(c.ports, p) {
		return nil
	}
	return urlErr("port", fmt.Sprintf("port %d is not allowed; use the scheme's default port", p))
}

func (c *URLChecker) checkHost(host string) error {
	if strings.HasSuffix(host, ".") {
		return urlErr("host", "host must not end with a dot")
	}
	if isIPLike(host) {
		if !c.ipLits {
			return urlErr("ip_literal", "must use a host name, not an IP address")
		}
		addr, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
		if err != nil || addr.Zone() != "" {
			return urlErr("ip_literal", "has an IP address in a non-canonical form; write IPv4 as four decimal numbers")
		}
		if !c.private && !PublicAddr(addr) {
			return urlErr("private_address", "points to a private or special-use address")
		}
		return nil
	}
	if !validHostName(host) {
		return urlErr("host", "has an invalid host name")
	}
	if c.exact[host] {
		return nil
	}
	for _, s := range c.suffixes {
		if strings.HasSuffix(host, s) {
			return nil
		}
	}
	if !c.anyHost {
		return urlErr("host", fmt.Sprintf("host %q is not allowed", truncate(host, 80)))
	}
	if !c.private && privateName(host) {
		return urlErr("private_address", "points to a private or local host name")
	}
	if !c.punycode {
		for label := range strings.SplitSeq(host, ".") {
			if strings.HasPrefix(label, "xn--") {
				return urlErr("punycode", "has an internationalised (punycode) host name, which is not allowed")
			}
		}
	}
	return nil
}

// isIPLike reports whether a host would be taken as an IP address by some
// parser: IPv6 literals, and any host whose last label is numeric (decimal,
// octal or 0x-hex), as the WHATWG URL standard and inet_aton read
// "2130706433", "0x7f.1", "0177.0.0.1" or "127.1".
func isIPLike(host string) bool {
	if strings.HasPrefix(host, "[") || strings.Contains(host, ":") {
		return true
	}
	last := host
	if i := strings.LastIndexByte(host, '.'); i >= 0 {
		last = host[i+1:]
	}
	if last == "" {
		return false
	}
	if h, ok := strings.CutPrefix(last, "0x"); ok {
		for i := 0; i < len(h); i++ {
			if !strings.ContainsRune("0123456789abcdef", rune(h[i])) {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(last); i++ {
		if last[i] < '0' || last[i] > '9' {
			return false
		}
	}
	return true
}

// privateName reports whether a host name is local by convention.
func privateName(host string) bool {
	if host == "localhost" || host == "metadata" {
		return true
	}
	for _, s := range []string{".localhost", ".local", ".internal", ".intranet", ".lan", ".home.arpa", ".corp", ".private"} {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

var specialPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),   // CGNAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local NAT64
	netip.MustParsePrefix("100::/64"),        // discard
	netip.MustParsePrefix("2001::/23"),       // IETF protocol assignments (Teredo, …)
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
	netip.MustParsePrefix("::/96"),           // IPv4-compatible
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// PublicAddr reports whether a is a globally routable unicast address: not
// loopback, private, link-local (169.254.0.0/16 holds cloud metadata services),
// multicast, unspecified, CGNAT, documentation or otherwise special. IPv4
// embedded in IPv6 (mapped ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16) is
// judged by the embedded IPv4 address.
func PublicAddr(a netip.Addr) bool {
	if !a.IsValid() || a.Zone() != "" {
		return false
	}
	a = a.Unmap()
	if a.Is6() {
		switch {
		case nat64.Contains(a):
			b := a.As16()
			return PublicAddr(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case sixToFour.Contains(a):
			b := a.As16()
			return PublicAddr(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range specialPrefixes {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// Deny returns the check as a denial for a tool's argument stage: Check's error
// wrapped as a [*guard.DenialError] at [guard.StageArgs], matching
// [guard.ErrDenied].
func (c *URLChecker) Deny(raw string) (*url.URL, error) {
	u, err := c.Check(raw)
	if err != nil {
		rule := "url.invalid"
		var ue *URLError
		if errors.As(err, &ue) {
			rule = "url." + ue.Rule
		}
		return nil, &guard.DenialError{Stage: guard.StageArgs, Rule: rule, Reason: err.Error(), Err: err}
	}
	return u, nil
}

// errDialRefused is returned by the dialer for a refused address.
var errDialRefused = errors.New("sanitize: connection to a private or special-use address refused")

// DialContext connects like net.Dialer.DialContext but refuses, after name
// resolution and for every address tried, any address [PublicAddr] rejects
// (unless the policy allows private addresses). It closes the DNS-rebinding gap
// between [URLChecker.Check] and the connection.
func (c *URLChecker) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 30 * time.Second, Control: c.control}
	return d.DialContext(ctx, network, addr)
}

func (c *URLChecker) control(_, address string, _ syscall.RawConn) error {
	if c.private {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q", errDialRefused, address)
	}
	if !PublicAddr(ap.Addr()) {
		return fmt.Errorf("%w: %s", errDialRefused, ap.Addr())
	}
	return nil
}

// maxRedirects bounds the redirects [URLChecker.Client] follows.
const maxRedirects = 5

// Client returns an HTTP client that enforces the policy on the request URL, on
// every redirect and on every connected address, ignores proxy environment
// variables (a proxy would connect on the client's behalf, unchecked), and
// follows at most five redirects. Check the first URL with [URLChecker.Check]
// to give the model a readable refusal; the client refuses anyway.
func (c *URLChecker) Client(timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           c.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		IdleConnTimeout:       60 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
	return &http.Client{
		Transport: checkingTransport{c: c, next: tr},
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return errors.New("sanitize: too many redirects")
			}
			return nil
		},
	}
}

// checkingTransport checks each request's URL (including redirects) before it is
// sent.
type checkingTransport struct {
	c    *URLChecker
	next http.RoundTripper
}

func (t checkingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if _, err := t.c.Check(req.URL.String()); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, fmt.Errorf("sanitize: request refused: %w", err)
	}
	return t.next.RoundTrip(req)
}
