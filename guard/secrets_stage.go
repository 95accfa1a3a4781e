package guard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Placeholder syntax.
//
// A placeholder is ${secret:NAME} inside a JSON string value of a call's
// arguments. NAME is 1 to 128 characters from [A-Za-z0-9_.-/#], starting with a
// letter, digit or underscore, without "..", "//" or a trailing "/". The escape
// $${secret: stands for the literal text ${secret: (so a tool can be sent the
// placeholder syntax itself). Placeholders are found in the decoded string, so
// JSON escapes (\u0024{secret:X}) neither hide nor forge one.
//
// Anything that looks like a placeholder but is not exactly one — a different
// case (${SECRET:X}), no closing brace, a bad name — is malformed and denies, as
// does a placeholder in an object key: a model cannot slip a near-miss past the
// stage to a tool that might interpret it.
const (
	placeholderOpen   = "${secret:"
	placeholderEscape = "$${secret:"
	maxSecretName     = 128
	// MaxPlaceholders bounds the placeholders one call may hold.
	MaxPlaceholders = 64
)

// SecretPlaceholder returns the placeholder that refers to the secret name:
// "${secret:NAME}".
func SecretPlaceholder(name string) string { return placeholderOpen + name + "}" }

// ValidSecretName reports whether name may appear in a placeholder.
func ValidSecretName(name string) bool {
	if name == "" || len(name) > maxSecretName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
		case c == '.' || c == '-' || c == '/' || c == '#':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return !strings.Contains(name, "..") && !strings.Contains(name, "//") && !strings.HasSuffix(name, "/")
}

// SecretRefs returns the secret names referred to by placeholders in args (a JSON
// value), in order of first appearance, without resolving them. It is the pure
// check beside [ResolveSecrets]: it returns a [*DenialError] for invalid JSON, a
// malformed placeholder, a placeholder in an object key or more than
// [MaxPlaceholders] placeholders. Empty args have no references.
func SecretRefs(args json.RawMessage) ([]string, error) {
	var names []string
	_, _, err := expandArgs(args, func(name string) (string, error) {
		for _, n := range names {
			if n == name {
				return "", nil
			}
		}
		names = append(names, name)
		return "", nil
	})
	if err != nil {
		return nil, err
	}
	return names, nil
}

// expandArgs rewrites every JSON string value of args, replacing placeholders with
// resolve(name) and escapes with their literal text. It returns args unchanged
// (and changed false) when no string needed rewriting. Object keys, numbers and
// structure are passed through token by token, in order, duplicates included.
func expandArgs(args json.RawMessage, resolve func(name string) (string, error)) (json.RawMessage, bool, error) {
	if len(bytes.TrimSpace(args)) == 0 {
		return args, false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.UseNumber()
	var out bytes.Buffer
	out.Grow(len(args))
	type frame struct {
		obj bool
		n   int
	}
	var stack []frame
	changed := false
	count := 0
	resolveCounted := func(name string) (string, error) {
		count++
		if count > MaxPlaceholders {
			return "", Deny("secrets.placeholder.count", fmt.Sprintf("more than %d secret placeholders", MaxPlaceholders))
		}
		return resolve(name)
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, false, Deny("secrets.args.json", "arguments are not valid JSON")
		}
		isKey := false
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			out.WriteByte(byte(d))
		} else {
			if len(stack) > 0 {
				f := &stack[len(stack)-1]
				switch {
				case f.obj && f.n%2 == 1:
					out.WriteByte(':')
				case f.n > 0:
					out.WriteByte(',')
				}
				isKey = f.obj && f.n%2 == 0
				f.n++
			} else if out.Len() > 0 {
				return nil, false, Deny("secrets.args.json", "arguments hold more than one JSON value")
			}
			switch t := tok.(type) {
			case json.Delim:
				stack = append(stack, frame{obj: t == '{'})
				out.WriteByte(byte(t))
			case string:
				if isKey {
					if looksLikePlaceholder(t) {
						return nil, false, Deny("secrets.placeholder.key", "secret placeholders are not allowed in object keys")
					}
					writeJSONString(&out, t)
					break
				}
				s, did, err := expandString(t, resolveCounted)
				if err != nil {
					return nil, false, err
				}
				changed = changed || did
				writeJSONString(&out, s)
			case json.Number:
				out.WriteString(t.String())
			case bool:
				if t {
					out.WriteString("true")
				} else {
					out.WriteString("false")
				}
			case nil:
				out.WriteString("null")
			}
		}
	}
	if len(stack) != 0 {
		return nil, false, Deny("secrets.args.json", "arguments are not valid JSON")
	}
	if !changed {
		return args, false, nil
	}
	return json.RawMessage(out.Bytes()), true, nil
}

func writeJSONString(w *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // a string always marshals
	w.Write(b)
}

func looksLikePlaceholder(s string) bool {
	return strings.Contains(strings.ToLower(s), "{secret:")
}

// expandString replaces placeholders and escapes in one decoded string.
func expandString(s string, resolve func(string) (string, error)) (string, bool, error) {
	if !strings.Contains(s, "$") || !looksLikePlaceholder(s) {
		return s, false, nil
	}
	var b strings.Builder
	i := 0
	for i < len(s) {
		j := strings.IndexByte(s[i:], '$')
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		j += i
		b.WriteString(s[i:j])
		rest := s[j:]
		switch {
		case hasPrefixFold(rest, placeholderEscape):
			if !strings.HasPrefix(rest, placeholderEscape) {
				return "", false, Deny("secrets.placeholder.malformed", "malformed secret placeholder escape (the syntax is case-sensitive)")
			}
			b.WriteString(placeholderOpen)
			i = j + len(placeholderEscape)
		case hasPrefixFold(rest, placeholderOpen):
			if !strings.HasPrefix(rest, placeholderOpen) {
				return "", false, Deny("secrets.placeholder.malformed", "malformed secret placeholder (the syntax is case-sensitive: ${secret:NAME})")
			}
			body := rest[len(placeholderOpen):]
			end := strings.IndexByte(body, '}')
			if end < 0 {
				return "", false, Deny("secrets.placeholder.malformed", "unterminated secret placeholder")
			}
			name := body[:end]
			if !ValidSecretName(name) {
				return "", false, Deny("secrets.placeholder.malformed", "invalid secret name in placeholder")
			}
			v, err := resolve(name)
			if err != nil {
				return "", false, err
			}
			b.WriteString(v)
			i = j + len(placeholderOpen) + end + 1
		default:
			b.WriteByte('$')
			i = j + 1
		}
	}
	out := b.String()
	// A near-miss left behind (for example "${ secret:X}" is fine, but a
	// "{secret:" that no '$' introduced is only text) is not expanded; the
	// case-insensitive check above already denied look-alikes that start with '$'.
	return out, true, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// ResolveSecrets returns the middleware of the secrets stage, the last before the
// tool ([StageSecrets]). For each call it:
//
//  1. finds the ${secret:NAME} placeholders in the decoded JSON string values of
//     the arguments (see [SecretRefs]); malformed placeholders deny;
//  2. resolves each name with r, under a context carrying the call
//     ([CallFromContext]) so r can refuse a secret to a tool; an unknown name, a
//     refusal, an empty value, a panic (whose value is not kept: it may hold the
//     secret) or any resolver error denies;
//  3. calls the tool with a copy of the call whose arguments hold the values,
//     and a context carrying a [Scrubber] of them ([ScrubberFromContext]);
//  4. scrubs everything on the way back: the result's content, labels and
//     metadata, the error's text (keeping only errors.Is matches for
//     cancellation, deadlines and denials, see [Scrubber.ScrubError]) and a
//     panic's message (a panicking tool, or one whose error panics when read,
//     returns an error matching [ErrToolPanic]).
//
// Calls without placeholders go to the tool unchanged (and are still protected
// from panics). In [Monitor] mode a call whose placeholders cannot be resolved goes
// on with its placeholders unresolved: the tool never sees a value it should not.
// [WithTimeout] bounds resolution. A nil r is an error.
func ResolveSecrets(r SecretResolver, opts ...Option) (Middleware, error) {
	cfg, err := newStage(StageSecrets, r, opts)
	if err != nil {
		return refuseAll(StageSecrets, err), err
	}
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, c *Call) (*Result, error) {
			return resolveAndRun(ctx, cfg, r, next, c)
		})
	}, nil
}

// resolution holds what one resolution produced. It is shared with the check,
// which may be abandoned at a timeout, so it is guarded by a mutex.
type resolution struct {
	mu   sync.Mutex
	done bool
	args json.RawMessage
	sc   *Scrubber
}

func resolveAndRun(ctx context.Context, cfg *stageConfig, r SecretResolver, next Handler, c *Call) (*Result, error) {
	res := &resolution{}
	rctx := ContextWithCall(ctx, c)
	_, err := cfg.run(rctx, c, nil, func(ctx context.Context, c *Call, _ *Result) (*Result, error) {
		sc := NewScrubber()
		resolved := map[string]string{}
		args, changed, err := expandArgs(c.Args, func(name string) (string, error) {
			if v, ok := resolved[name]; ok {
				return v, nil
			}
			sec, err := safeResolve(ctx, r, name)
			if err != nil {
				// A resolver that returns a value with its error may also
				// quote that value in the error: scrub it too.
				sc.Add(sec)
				return "", resolveDenial(sc, name, err)
			}
			if sec.IsZero() || sec.Reveal() == "" {
				return "", Deny("secrets.empty", fmt.Sprintf("secret %q resolved to an empty value", name))
			}
			v := sec.Reveal()
			resolved[name] = v
			sc.Add(NewSecret(name, v))
			return v, nil
		})
		if err != nil {
			return nil, err
		}
		res.mu.Lock()
		defer res.mu.Unlock()
		res.done = true
		res.sc = sc
		if changed {
			res.args = args
		}
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	res.mu.Lock()
	done, args, sc := res.done, res.args, res.sc
	res.mu.Unlock()
	call := c
	if !done || sc == nil { // monitor mode let an unresolvable call through
		sc = NewScrubber()
	} else if args != nil {
		call = c.WithArgs(args)
	}
	tctx := ContextWithScrubber(ContextWithCall(ctx, c), sc)
	out, terr := callTool(tctx, next, call, sc)
	if terr != nil {
		if errors.Is(terr, ErrToolPanic) && cfg.auditor != nil {
			// callTool's error is already scrubbed.
			e := cfg.event(c, DecisionError, time.Time{})
			e.Rule, e.Reason = "secrets.tool_panic", terr.Error()
			cfg.auditor.Audit(ctx, e)
		}
		return nil, terr
	}
	scrubbed, changed := sc.ScrubResult(out)
	if changed && cfg.auditor != nil {
		e := cfg.event(c, DecisionRewrite, time.Time{})
		e.Rule = "secrets.redacted"
		e.Reason = "resolved secret values removed from the tool result"
		e.Attrs = []slog.Attr{slog.Any("secrets", sc.Names())}
		cfg.auditor.Audit(ctx, e)
	}
	return scrubbed, nil
}

// callTool runs the tool and scrubs its error, turning a panic into a scrubbed
// error. The error is scrubbed under the same recover: a typed-nil error or an
// Error method that panics must not crash the agent (or carry a value out in its
// panic message).
func callTool(ctx context.Context, next Handler, c *Call, sc *Scrubber) (res *Result, err error) {
	defer func() {
		if v := recover(); v != nil {
			res, err = nil, sc.panicError(v)
		}
	}()
	res, err = next.Handle(ctx, c)
	if err != nil {
		return nil, sc.ScrubError(err)
	}
	return res, nil
}

// safeResolve calls r, turning a panic into a denial that does not quote the
// panic value: a resolver panics with the value in hand, before the scrubber
// knows it.
func safeResolve(ctx context.Context, r SecretResolver, name string) (sec Secret, err error) {
	defer func() {
		if v := recover(); v != nil {
			sec, err = Secret{}, Deny("secrets.resolve.panic", fmt.Sprintf("resolver panicked resolving %q", name))
		}
	}()
	return r.ResolveSecret(ctx, name)
}

// resolveDenial turns a resolver error into the stage's denial. A resolver's
// denial keeps its rule; its text is scrubbed of the values resolved so far.
func resolveDenial(sc *Scrubber, name string, err error) error {
	var d *DenialError
	if errors.As(err, &d) {
		cp := *d
		cp.Reason = sc.Scrub(cp.Reason)
		if cp.Rule == "" {
			cp.Rule = "secrets.resolve"
		}
		if cp.Err != nil {
			cp.Err = sc.ScrubError(cp.Err)
		}
		return &cp
	}
	return &DenialError{Rule: "secrets.resolve", Reason: fmt.Sprintf("cannot resolve secret %q", name), Err: sc.ScrubError(err)}
}
