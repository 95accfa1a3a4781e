package guard

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
)

// Secret is a resolved secret value that does not print. String, GoString, Format
// (every verb), LogValue, MarshalJSON and MarshalText all produce a redaction
// marker naming the secret; the value is reached only through [Secret.Reveal].
// The zero Secret is empty.
type Secret struct {
	p *secretData
}

type secretData struct {
	name  string
	value string
}

// NewSecret returns a Secret named name with the given value.
func NewSecret(name, value string) Secret {
	return Secret{p: &secretData{name: name, value: value}}
}

// Name returns the secret's name (never secret).
func (s Secret) Name() string {
	if s.p == nil {
		return ""
	}
	return s.p.name
}

// IsZero reports whether s holds no value.
func (s Secret) IsZero() bool { return s.p == nil }

// Reveal returns the secret value. Call it only inside the tool runtime, at the
// point of use; never pass the result to a logger, an error or the model.
func (s Secret) Reveal() string {
	if s.p == nil {
		return ""
	}
	return s.p.value
}

// Equal reports, in constant time for values of equal length, whether the secret's
// value is v.
func (s Secret) Equal(v string) bool {
	return subtle.ConstantTimeCompare([]byte(s.Reveal()), []byte(v)) == 1
}

// Redacted returns the marker that replaces the secret in any output:
// "[REDACTED:name]".
func (s Secret) Redacted() string { return RedactionMarker(s.Name()) }

// RedactionMarker returns the marker that replaces the secret name in outputs.
func RedactionMarker(name string) string {
	if name == "" {
		return "[REDACTED]"
	}
	return "[REDACTED:" + name + "]"
}

func (s Secret) String() string   { return s.Redacted() }
func (s Secret) GoString() string { return "guard.Secret(" + s.Redacted() + ")" }

// Format prints the redaction marker for every verb, including %#v, %+v, %x and %q.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(s.Redacted()))
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.Redacted()) }

// MarshalJSON encodes the redaction marker, never the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.Redacted() + `"`), nil }

// MarshalText encodes the redaction marker, never the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.Redacted()), nil }

// SecretResolver resolves a secret reference (a name taken from a placeholder) to
// its value. It is called inside the secrets stage, the last before the tool, with
// a context that carries the call ([CallFromContext]), so a resolver can refuse a
// secret to tools not allowed to use it. An unknown name is an error.
// Implementations must be safe for concurrent use.
type SecretResolver interface {
	ResolveSecret(ctx context.Context, ref string) (Secret, error)
}

// SecretResolverFunc adapts a function to a [SecretResolver].
type SecretResolverFunc func(ctx context.Context, ref string) (Secret, error)

// ResolveSecret calls f(ctx, ref).
func (f SecretResolverFunc) ResolveSecret(ctx context.Context, ref string) (Secret, error) {
	return f(ctx, ref)
}
