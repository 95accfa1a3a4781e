package mcpguard

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// DefaultSessionTimeout closes idle HTTP sessions.
const DefaultSessionTimeout = 30 * time.Minute

// HTTPConfig configures an [HTTPGuard]. The zero value is strict: Verifier is
// required, only loopback host names are accepted, and any request carrying an
// Origin header is refused.
type HTTPConfig struct {
	// Verifier verifies each request's bearer token and returns its principal.
	// Required: there is no anonymous HTTP access.
	Verifier TokenVerifier
	// AllowedHosts lists the accepted Host header values, as "name" (any port)
	// or "name:port", compared case-insensitively. Nil accepts only
	// "localhost", "127.0.0.1" and "::1" on any port. A Host not listed is
	// refused with 403: that is the defence against DNS rebinding, where a
	// browser is tricked into sending requests for an attacker's name to a
	// local server.
	AllowedHosts []string
	// AllowedOrigins lists accepted Origin header values ("https://app.example").
	// Requests without an Origin header (ordinary MCP clients) are not affected.
	// Nil refuses every request that carries an Origin (browsers send one).
	AllowedOrigins []string
	// RequireClientCert refuses requests that did not present a client
	// certificate verified by the TLS layer (mutual TLS). Serve with a
	// configuration from [MutualTLSConfig].
	RequireClientCert bool
	// Scopes are required on every token.
	Scopes []string
	// SessionTimeout closes idle sessions; zero means [DefaultSessionTimeout].
	SessionTimeout time.Duration
	// Logger receives refusals. Nil discards.
	Logger *slog.Logger
}

// HTTPGuard hardens an MCP streamable-HTTP endpoint: Host and Origin checks
// (DNS rebinding and cross-site requests), an optional mutual-TLS requirement,
// and a verified bearer token whose principal the [ServerGuard] then uses.
type HTTPGuard struct {
	cfg   HTTPConfig
	log   *slog.Logger
	hosts []string
}

// NewHTTPGuard validates cfg and returns an HTTPGuard.
func NewHTTPGuard(cfg HTTPConfig) (*HTTPGuard, error) {
	if cfg.Verifier == nil {
		return nil, errors.New("mcpguard: http: nil token verifier (anonymous access is not supported)")
	}
	h := &HTTPGuard{cfg: cfg, log: cfg.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	hosts := cfg.AllowedHosts
	if hosts == nil {
		hosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	for _, a := range hosts {
		a = strings.ToLower(strings.TrimSpace(a))
		if a == "" || strings.ContainsAny(a, "/ \t") {
			return nil, fmt.Errorf("mcpguard: http: invalid allowed host %q", a)
		}
		if _, _, ok := splitHost(a, true); !ok {
			return nil, fmt.Errorf("mcpguard: http: invalid allowed host %q", a)
		}
		h.hosts = append(h.hosts, a)
	}
	for _, o := range cfg.AllowedOrigins {
		if o == "" || o == "null" || o == "*" || !strings.Contains(o, "://") {
			return nil, fmt.Errorf("mcpguard: http: invalid allowed origin %q", o)
		}
	}
	if cfg.SessionTimeout < 0 {
		return nil, fmt.Errorf("mcpguard: http: negative session timeout")
	}
	return h, nil
}

// Refusal errors of [HTTPGuard.Check].
var (
	ErrHostNotAllowed   = errors.New("mcpguard: host not allowed")
	ErrOriginNotAllowed = errors.New("mcpguard: origin not allowed")
	ErrNoClientCert     = errors.New("mcpguard: verified client certificate required")
)

// Check is the pure transport check of a request (Host, Origin, client
// certificate), before any token is looked at.
func (h *HTTPGuard) Check(r *http.Request) error {
	if !h.hostAllowed(r.Host) {
		return fmt.Errorf("%w: %q", ErrHostNotAllowed, truncate(r.Host, 100))
	}
	if origins, ok := r.Header["Origin"]; ok {
		if len(origins) != 1 || !slices.Contains(h.cfg.AllowedOrigins, origins[0]) {
			return fmt.Errorf("%w: %q", ErrOriginNotAllowed, truncate(strings.Join(origins, ","), 100))
		}
	}
	if h.cfg.RequireClientCert && (r.TLS == nil || len(r.TLS.VerifiedChains) == 0) {
		return ErrNoClientCert
	}
	return nil
}

func (h *HTTPGuard) hostAllowed(hostport string) bool {
	host, port, ok := splitHost(strings.ToLower(hostport), false)
	if !ok {
		return false
	}
	for _, a := range h.hosts {
		ah, ap, _ := splitHost(a, true)
		if ah == host && (ap == "" || ap == port) {
			return true
		}
	}
	return false
}

// splitHost splits "name", "name:port", "[v6]" or "[v6]:port". With bareV6, a
// string of several colons and no brackets is an IPv6 address without port
// (allowed in configuration, never in a Host header).
func splitHost(s string, bareV6 bool) (host, port string, ok bool) {
	if s == "" {
		return "", "", false
	}
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", false
		}
		host, rest := s[1:end], s[end+1:]
		if rest == "" {
			return host, "", host != ""
		}
		if !strings.HasPrefix(rest, ":") || !validPort(rest[1:]) {
			return "", "", false
		}
		return host, rest[1:], host != ""
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, "", true
	case 1:
		i := strings.IndexByte(s, ':')
		if i == 0 || !validPort(s[i+1:]) {
			return "", "", false
		}
		return s[:i], s[i+1:], true
	}
	if bareV6 {
		return s, "", true
	}
	return "", "", false
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

// Handler wraps next: transport checks first (403 on failure), then the bearer
// token (401 on failure, through the SDK's [auth.RequireBearerToken], which puts
// the verified [auth.TokenInfo] where [PrincipalFromToken] finds it).
func (h *HTTPGuard) Handler(next http.Handler) http.Handler {
	bearer := auth.RequireBearerToken(h.cfg.Verifier.authVerifier(), &auth.RequireBearerTokenOptions{Scopes: h.cfg.Scopes})(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.Check(r); err != nil {
			h.log.WarnContext(r.Context(), "mcpguard: http request refused", "remote", r.RemoteAddr, "err", err)
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		bearer.ServeHTTP(w, r)
	})
}

// NewHTTPHandler returns a streamable-HTTP MCP endpoint for server behind an
// [HTTPGuard] built from cfg. Install a [ServerGuard] on server (a [Proxy]'s
// server has one) so that calls are checked with the token's principal.
func NewHTTPHandler(server *mcp.Server, cfg HTTPConfig) (http.Handler, error) {
	if server == nil {
		return nil, errors.New("mcpguard: http: nil server")
	}
	h, err := NewHTTPGuard(cfg)
	if err != nil {
		return nil, err
	}
	timeout := cfg.SessionTimeout
	if timeout == 0 {
		timeout = DefaultSessionTimeout
	}
	mh := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, &mcp.StreamableHTTPOptions{
		Logger:         cfg.Logger,
		SessionTimeout: timeout,
	})
	return h.Handler(mh), nil
}

// MutualTLSConfig returns a server TLS configuration that requires every client
// to present a certificate issued by clientCAs (TLS 1.3 only). A nil clientCAs is
// an error.
func MutualTLSConfig(cert tls.Certificate, clientCAs *x509.CertPool) (*tls.Config, error) {
	if clientCAs == nil {
		return nil, errors.New("mcpguard: mutual TLS: nil client CA pool")
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    clientCAs,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	}, nil
}
