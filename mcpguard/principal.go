package mcpguard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// PrincipalFunc returns the principal an MCP request is made for. It is called
// for every tools/call and tools/list; an error denies the call and empties the
// list (fail closed).
type PrincipalFunc func(ctx context.Context, req mcp.Request) (guard.Principal, error)

// ErrNoPrincipal is returned (wrapped) by [PrincipalFromToken] when a request
// carries no verified token or the token names no role.
var ErrNoPrincipal = errors.New("mcpguard: no verified principal")

// tokenPrincipalKey is the [auth.TokenInfo] Extra key under which [NewTokenInfo]
// stores the principal. Extra is filled by the server's own verifier, never by
// the client.
const tokenPrincipalKey = "agentguard.principal"

// NewTokenInfo returns the [auth.TokenInfo] a token verifier should return for a
// token that authenticates p until exp. [PrincipalFromToken] reads p back.
func NewTokenInfo(p guard.Principal, exp time.Time) *auth.TokenInfo {
	return &auth.TokenInfo{
		UserID:     p.Subject,
		Scopes:     slices.Clone(p.Scopes),
		Expiration: exp,
		Extra:      map[string]any{tokenPrincipalKey: p},
	}
}

// PrincipalFromToken is the default [PrincipalFunc]: it takes the principal from
// the verified bearer token the SDK's auth middleware ([auth.RequireBearerToken])
// attached to the request. The token info must come from [NewTokenInfo], or carry
// a non-empty string "role" in its Extra map (Subject is then UserID and Scopes
// its scopes). A request with no verified token is refused: over stdio, where
// there is no token, use [StaticPrincipal].
func PrincipalFromToken(ctx context.Context, req mcp.Request) (guard.Principal, error) {
	var ti *auth.TokenInfo
	if req != nil {
		if ex := req.GetExtra(); ex != nil {
			ti = ex.TokenInfo
		}
	}
	if ti == nil {
		ti = auth.TokenInfoFromContext(ctx)
	}
	if ti == nil {
		return guard.Principal{}, fmt.Errorf("%w: request carries no verified token", ErrNoPrincipal)
	}
	if p, ok := ti.Extra[tokenPrincipalKey].(guard.Principal); ok {
		if p.Role == "" {
			return guard.Principal{}, fmt.Errorf("%w: token names no role", ErrNoPrincipal)
		}
		p.Scopes = slices.Clone(p.Scopes)
		return p, nil
	}
	role, _ := ti.Extra["role"].(string)
	if role == "" {
		return guard.Principal{}, fmt.Errorf("%w: token names no role", ErrNoPrincipal)
	}
	return guard.Principal{Subject: ti.UserID, Role: role, Scopes: slices.Clone(ti.Scopes)}, nil
}

// StaticPrincipal returns a [PrincipalFunc] that gives every request principal p,
// for a transport that carries no credentials (stdio, where whoever started the
// process is the principal). A p without a role is still refused by every policy.
func StaticPrincipal(p guard.Principal) PrincipalFunc {
	return func(context.Context, mcp.Request) (guard.Principal, error) {
		cp := p
		cp.Scopes = slices.Clone(p.Scopes)
		return cp, nil
	}
}

// TokenVerifier verifies a bearer token and returns the principal it
// authenticates and when it expires. r is the HTTP request, for verifiers that
// bind tokens to it. An error refuses the request with 401.
type TokenVerifier func(ctx context.Context, token string, r *http.Request) (guard.Principal, time.Time, error)

// authVerifier adapts v to the SDK's [auth.TokenVerifier].
func (v TokenVerifier) authVerifier() auth.TokenVerifier {
	return func(ctx context.Context, token string, r *http.Request) (*auth.TokenInfo, error) {
		p, exp, err := v(ctx, token, r)
		if err != nil {
			if errors.Is(err, auth.ErrInvalidToken) || errors.Is(err, auth.ErrOAuth) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", auth.ErrInvalidToken, err)
		}
		if p.Role == "" {
			return nil, fmt.Errorf("%w: token names no role", auth.ErrInvalidToken)
		}
		return NewTokenInfo(p, exp), nil
	}
}
