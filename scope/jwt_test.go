package scope

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/agentguard/agentguard/guard"
)

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func claims(mod func(jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss": "https://idp.example", "aud": "agentguard", "sub": "user-1", "role": "operator",
		"scope": "orders:read orders:write", "exp": testNow.Add(time.Hour).Unix(), "iat": testNow.Add(-time.Minute).Unix(),
	}
	if mod != nil {
		mod(c)
	}
	return c
}

func sign(t *testing.T, m jwt.SigningMethod, key any, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func edVerifier(t *testing.T, pub ed25519.PublicKey, p *Policy) *JWTVerifier {
	t.Helper()
	v, err := NewJWTVerifier(JWTConfig{Algorithms: []string{"EdDSA"}, Key: pub, Issuer: "https://idp.example",
		Audience: "agentguard", Policy: p, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestJWTVerify(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	v := edVerifier(t, pub, supportPolicy(t))
	hmacKey := []byte(strings.Repeat("k", 32))
	b64 := base64.RawURLEncoding.EncodeToString

	good := sign(t, jwt.SigningMethodEdDSA, priv, claims(nil))
	p, err := v.Verify(good)
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "user-1" || p.Role != "operator" || strings.Join(p.Scopes, ",") != "orders:read,orders:write" {
		t.Fatalf("principal = %+v", p)
	}
	arr, err := v.Verify(sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { c["scope"] = []any{"a", "b"} })))
	if err != nil || strings.Join(arr.Scopes, ",") != "a,b" {
		t.Fatalf("array scopes: %+v %v", arr, err)
	}

	parts := strings.Split(good, ".")
	cases := map[string]string{
		"alg none":             b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".",
		"alg none no dot":      b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1],
		"alg NONE":             b64([]byte(`{"alg":"NONE","typ":"JWT"}`)) + "." + parts[1] + ".",
		"hmac with public key": sign(t, jwt.SigningMethodHS256, []byte(pub), claims(nil)),
		"hmac other key":       sign(t, jwt.SigningMethodHS256, hmacKey, claims(nil)),
		"wrong key":            sign(t, jwt.SigningMethodEdDSA, otherPriv, claims(nil)),
		"expired":              sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { c["exp"] = testNow.Add(-time.Second).Unix() })),
		"no exp":               sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { delete(c, "exp") })),
		"not yet valid":        sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { c["nbf"] = testNow.Add(time.Hour).Unix() })),
		"issued in future":     sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { c["iat"] = testNow.Add(time.Hour).Unix() })),
		"wrong issuer":         sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })),
		"no issuer":            sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { delete(c, "iss") })),
		"wrong audience":       sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { c["aud"] = "other" })),
		"no audience":          sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { delete(c, "aud") })),
		"no role":              sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { delete(c, "role") })),
		"role not string":      sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { c["role"] = []string{"admin"} })),
		"undeclared role":      sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { c["role"] = "root" })),
		"unicode role":         sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { c["role"] = "аdmin" })),
		"scope not strings":    sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { c["scope"] = []any{1} })),
		"scope number":         sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { c["scope"] = 5 })),
		"sub not string":       sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { c["sub"] = 5 })),
		"tampered payload":     parts[0] + "." + b64([]byte(`{"iss":"https://idp.example","aud":"agentguard","role":"admin","exp":9999999999}`)) + "." + parts[2],
		"empty":                "",
		"huge":                 strings.Repeat("a", maxTokenLen+1),
		"garbage":              "a.b.c",
		"padded":               parts[0] + "=." + parts[1] + "." + parts[2],
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			if p, err := v.Verify(tok); err == nil || !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("accepted: %+v, %v", p, err)
			}
		})
	}
}

func TestJWTConfig(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	base := JWTConfig{Algorithms: []string{"EdDSA"}, Key: pub, Issuer: "i", Audience: "a"}
	bad := map[string]func(*JWTConfig){
		"no algorithms":       func(c *JWTConfig) { c.Algorithms = nil },
		"none algorithm":      func(c *JWTConfig) { c.Algorithms = []string{"none"} },
		"unknown algorithm":   func(c *JWTConfig) { c.Algorithms = []string{"XX256"} },
		"mixed hmac and asym": func(c *JWTConfig) { c.Algorithms = []string{"EdDSA", "HS256"} },
		"key type mismatch":   func(c *JWTConfig) { c.Algorithms = []string{"RS256"} },
		"short hmac key":      func(c *JWTConfig) { c.Algorithms = []string{"HS256"}; c.Key = []byte("short") },
		"short rsa key":       func(c *JWTConfig) { c.Algorithms = []string{"RS256"}; c.Key = &rsaKey.PublicKey },
		"no key":              func(c *JWTConfig) { c.Key = nil },
		"key and keyfunc":     func(c *JWTConfig) { c.Keyfunc = func(*jwt.Token) (any, error) { return pub, nil } },
		"no issuer":           func(c *JWTConfig) { c.Issuer = "" },
		"no audience":         func(c *JWTConfig) { c.Audience = "" },
		"huge leeway":         func(c *JWTConfig) { c.Leeway = time.Hour },
	}
	for name, mod := range bad {
		t.Run(name, func(t *testing.T) {
			c := base
			mod(&c)
			if _, err := NewJWTVerifier(c); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := NewJWTVerifier(base); err != nil {
		t.Fatal(err)
	}
}

func TestJWTKeyfunc(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	v, err := NewJWTVerifier(JWTConfig{Algorithms: []string{"EdDSA"}, Issuer: "https://idp.example", Audience: "agentguard",
		Now: func() time.Time { return testNow },
		Keyfunc: func(tok *jwt.Token) (any, error) {
			if tok.Header["kid"] != "k1" {
				return nil, errors.New("unknown kid")
			}
			return pub, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims(nil))
	tok.Header["kid"] = "k1"
	s, _ := tok.SignedString(priv)
	if _, err := v.Verify(s); err != nil {
		t.Fatal(err)
	}
	tok.Header["kid"] = "k2"
	s, _ = tok.SignedString(priv)
	if _, err := v.Verify(s); err == nil {
		t.Fatal("unknown kid accepted")
	}
}

func TestJWTHandler(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	v := edVerifier(t, pub, nil)
	var got guard.Principal
	h := v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = PrincipalFromContext(r.Context())
		w.WriteHeader(http.StatusNoContent)
	}))
	good := sign(t, jwt.SigningMethodEdDSA, priv, claims(nil))
	expired := sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { c["exp"] = testNow.Add(-time.Hour).Unix() }))
	cases := []struct {
		name    string
		headers []string
		code    int
	}{
		{"valid", []string{"Bearer " + good}, http.StatusNoContent},
		{"lower-case scheme", []string{"bearer " + good}, http.StatusNoContent},
		{"missing", nil, http.StatusUnauthorized},
		{"expired", []string{"Bearer " + expired}, http.StatusUnauthorized},
		{"basic", []string{"Basic dXNlcjpwdw=="}, http.StatusUnauthorized},
		{"two headers", []string{"Bearer " + good, "Bearer " + good}, http.StatusUnauthorized},
		{"extra field", []string{"Bearer " + good + " x"}, http.StatusUnauthorized},
		{"empty token", []string{"Bearer "}, http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got = guard.Principal{}
			r := httptest.NewRequest("GET", "/", nil)
			for _, h := range tc.headers {
				r.Header.Add("Authorization", h)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.code {
				t.Fatalf("code = %d, want %d", w.Code, tc.code)
			}
			if tc.code == http.StatusNoContent && got.Role != "operator" {
				t.Fatalf("principal = %+v", got)
			}
			if tc.code == http.StatusUnauthorized && (got.Role != "" || w.Header().Get("WWW-Authenticate") == "") {
				t.Fatalf("next called or no challenge: %+v", got)
			}
		})
	}
}

func TestPrincipalContextCopies(t *testing.T) {
	p := guard.Principal{Role: "reader", Scopes: []string{"a"}}
	ctx := ContextWithPrincipal(context.Background(), p)
	p.Scopes[0] = "admin"
	got, ok := PrincipalFromContext(ctx)
	if !ok || got.Scopes[0] != "a" {
		t.Fatalf("context principal aliased: %+v", got)
	}
	got.Scopes[0] = "x"
	again, _ := PrincipalFromContext(ctx)
	if again.Scopes[0] != "a" {
		t.Fatal("returned principal aliases the context")
	}
	if _, ok := PrincipalFromContext(context.Background()); ok {
		t.Fatal("empty context has a principal")
	}
}
