package guard_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentguard/agentguard/guard"
)

// Red-team tests: each one is an attack on a documented claim of package guard.

const rtSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

var rtResolver = guard.SecretResolverFunc(func(_ context.Context, ref string) (guard.Secret, error) {
	switch ref {
	case "AWS":
		return guard.NewSecret(ref, rtSecret), nil
	case "UNI":
		return guard.NewSecret(ref, "pässwörd-Ünïcödé-42"), nil
	case "QUOTE":
		return guard.NewSecret(ref, `a"b\c<d>&e-quoted-secret`), nil
	}
	return guard.Secret{}, fmt.Errorf("unknown secret %q", ref)
})

func rtChain(t *testing.T, tool guard.HandlerFunc, opts ...guard.Option) guard.Handler {
	t.Helper()
	mw, err := guard.ResolveSecrets(rtResolver, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return mw(tool)
}

func rtLeak(t *testing.T, where, s string, values ...string) {
	t.Helper()
	for _, v := range values {
		if strings.Contains(s, v) {
			t.Errorf("%s leaks %q: %s", where, v, s)
		}
	}
}

// Placeholders hidden or forged with JSON escapes, case variants and Unicode.
func TestRedTeamPlaceholderForms(t *testing.T) {
	cases := []struct {
		name, args string
		wantDeny   bool
		wantValue  bool
	}{
		{"json escape dollar", `{"a":"\u0024{secret:AWS}"}`, false, true},
		{"json escape all", `{"a":"\u0024\u007b\u0073ecret:AWS\u007d"}`, false, true},
		{"upper case", `{"a":"${SECRET:AWS}"}`, true, false},
		{"mixed case", `{"a":"${Secret:AWS}"}`, true, false},
		{"escaped upper", `{"a":"$${SECRET:AWS}"}`, true, false},
		{"key placeholder", `{"${secret:AWS}":"x"}`, true, false},
		{"key escaped placeholder", `{"\u0024{secret:AWS}":"x"}`, true, false},
		{"key upper", `{"${SECRET:AWS}":"x"}`, true, false},
		{"unterminated", `{"a":"${secret:AWS"}`, true, false},
		{"traversal name", `{"a":"${secret:../AWS}"}`, true, false},
		{"empty name", `{"a":"${secret:}"}`, true, false},
		{"nul in name", `{"a":"${secret:AWS\u0000}"}`, true, false},
		{"escape stays literal", `{"a":"$${secret:AWS}"}`, false, false},
		{"nested array", `{"a":[[{"b":"${secret:AWS}"}]]}`, false, true},
		{"duplicate keys", `{"a":"x","a":"${secret:AWS}"}`, false, true},
		{"top-level string", `"${secret:AWS}"`, false, true},
		{"two values", `{"a":1} {"b":"${secret:AWS}"}`, true, false},
		{"trailing garbage", `{"a":"${secret:AWS}"}]`, true, false},
		{"unicode long s", `{"a":"${ſecret:AWS}"}`, false, false},
		{"fullwidth dollar", `{"a":"＄{secret:AWS}"}`, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var seen string
			called := false
			h := rtChain(t, func(_ context.Context, c *guard.Call) (*guard.Result, error) {
				called = true
				seen = string(c.Args)
				return &guard.Result{Content: "ok"}, nil
			})
			_, err := h.Handle(context.Background(), &guard.Call{ID: "1", Tool: "t", Args: json.RawMessage(tc.args)})
			if tc.wantDeny {
				if err == nil || !errors.Is(err, guard.ErrDenied) {
					t.Fatalf("want denial, got %v", err)
				}
				if called {
					t.Fatal("denied call reached the tool")
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			var tool any
			if err := json.Unmarshal([]byte(seen), &tool); err != nil {
				t.Fatalf("tool got invalid JSON %q", seen)
			}
			if got := strings.Contains(fmt.Sprint(tool), rtSecret); got != tc.wantValue {
				t.Fatalf("tool got value=%v want %v: %s", got, tc.wantValue, seen)
			}
		})
	}
}

// Huge and deeply nested inputs must not crash or blow up.
func TestRedTeamHugeAndNestedArgs(t *testing.T) {
	h := rtChain(t, func(_ context.Context, c *guard.Call) (*guard.Result, error) {
		return &guard.Result{Content: "ok"}, nil
	})
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	if _, err := h.Handle(context.Background(), &guard.Call{Tool: "t", Args: json.RawMessage(deep)}); err != nil {
		t.Logf("deep nesting: %v", err)
	}
	many := `{"a":[` + strings.Repeat(`"${secret:AWS}",`, guard.MaxPlaceholders) + `"${secret:AWS}"]}`
	if _, err := h.Handle(context.Background(), &guard.Call{Tool: "t", Args: json.RawMessage(many)}); !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("more than MaxPlaceholders placeholders: want denial, got %v", err)
	}
	if _, err := guard.SecretRefs(json.RawMessage(`{"a":"` + strings.Repeat("$", 1<<16) + `{secret:AWS}"}`)); err != nil {
		t.Fatalf("run of dollars: %v", err)
	}
}

// A tool echoes the value in encodings a real service would use.
func TestRedTeamScrubEncodings(t *testing.T) {
	for _, ref := range []string{"AWS", "UNI", "QUOTE"} {
		sec, _ := rtResolver(context.Background(), ref)
		v := sec.Reveal()
		sc := guard.NewScrubber(sec)
		forms := map[string]string{
			"raw":            v,
			"json slash":     jsonEscapeSlash(jsonBody(v)),
			"json ascii":     jsonASCII(jsonBody(v)),
			"json ascii+sl":  jsonEscapeSlash(jsonASCII(jsonBody(v))),
			"json in json":   mustJSON(mustJSON(v)),
			"upper":          strings.ToUpper(v),
			"in url query":   "https://x.test/?k=" + strings.ReplaceAll(v, "/", "%2F"),
			"in json object": `{"token":` + mustJSON(v) + `}`,
		}
		for name, text := range forms {
			out := sc.Scrub("prefix " + text + " suffix")
			if strings.Contains(out, v) || (name != "raw" && strings.Contains(out, strings.Trim(text, `"`))) {
				t.Errorf("%s/%s: not scrubbed: %s", ref, name, out)
			}
		}
	}
}

func mustJSON(s string) string { b, _ := json.Marshal(s); return string(b) }

func jsonEscapeSlash(body string) string { return strings.ReplaceAll(body, "/", `\/`) }

func jsonBody(s string) string { return strings.Trim(mustJSON(s), `"`) }

// jsonASCII escapes every non-ASCII rune of a JSON string body as \uXXXX, as
// Python's json.dumps does.
func jsonASCII(body string) string {
	var b strings.Builder
	for _, r := range body {
		if r < 0x80 {
			b.WriteRune(r)
			continue
		}
		if r > 0xFFFF {
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
			continue
		}
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

// Errors that carry the value in their chains: %w, errors.Join, Unwrap() []error,
// fields not shown by Error().
type fieldErr struct{ body string }

func (e *fieldErr) Error() string { return "upstream said no" }

type multiErr struct{ errs []error }

func (e multiErr) Error() string   { return "multi" }
func (e multiErr) Unwrap() []error { return e.errs }

func TestRedTeamErrorChains(t *testing.T) {
	errsFor := func(v string) map[string]error {
		return map[string]error{
			"wrap":       fmt.Errorf("calling api with %s: %w", v, context.Canceled),
			"join":       errors.Join(errors.New("a"), fmt.Errorf("key=%s", v), guard.Deny("r", "reason "+v)),
			"multi":      multiErr{[]error{&fieldErr{v}, fmt.Errorf("b %s", v)}},
			"field":      fmt.Errorf("x: %w", &fieldErr{v}),
			"denial":     &guard.DenialError{Rule: "r" + v, Reason: v, Tool: v, CallID: v, ApprovalID: v, Err: fmt.Errorf("%s", v)},
			"deep":       fmt.Errorf("1: %w", fmt.Errorf("2: %w", fmt.Errorf("3: %w", &fieldErr{v}))),
			"deadline":   fmt.Errorf("%s: %w", v, context.DeadlineExceeded),
			"upper-case": errors.New(strings.ToUpper(v)),
		}
	}
	for name, e := range errsFor(rtSecret) {
		t.Run(name, func(t *testing.T) {
			h := rtChain(t, func(context.Context, *guard.Call) (*guard.Result, error) { return nil, e })
			_, err := h.Handle(context.Background(), &guard.Call{Tool: "t", Args: json.RawMessage(`{"k":"${secret:AWS}"}`)})
			if err == nil {
				t.Fatal("error lost")
			}
			rtLeak(t, "error text", err.Error(), rtSecret, strings.ToUpper(rtSecret))
			rtLeak(t, "error %+v", fmt.Sprintf("%+v %#v", err, err), rtSecret)
			// Walk everything reachable through Unwrap and As.
			var walk func(error, int)
			walk = func(e error, depth int) {
				if e == nil || depth > 20 {
					return
				}
				rtLeak(t, "chain", e.Error(), rtSecret)
				var fe *fieldErr
				if errors.As(e, &fe) {
					rtLeak(t, "field", fe.body, rtSecret)
				}
				var d *guard.DenialError
				if errors.As(e, &d) {
					rtLeak(t, "denial", fmt.Sprint(d.Rule, d.Reason, d.Tool, d.CallID, d.ApprovalID), rtSecret)
					if d.Err != nil {
						walk(d.Err, depth+1)
					}
				}
				switch u := e.(type) {
				case interface{ Unwrap() error }:
					walk(u.Unwrap(), depth+1)
				case interface{ Unwrap() []error }:
					for _, x := range u.Unwrap() {
						walk(x, depth+1)
					}
				}
			}
			walk(err, 0)
		})
	}
}

// A resolver that panics or errors with the value it was about to return.
func TestRedTeamResolverLeaksValue(t *testing.T) {
	resolvers := map[string]guard.SecretResolver{
		"panic": guard.SecretResolverFunc(func(context.Context, string) (guard.Secret, error) {
			panic("cannot parse value " + rtSecret)
		}),
		"panic error": guard.SecretResolverFunc(func(context.Context, string) (guard.Secret, error) {
			panic(fmt.Errorf("bad %s", rtSecret))
		}),
		"error with value": guard.SecretResolverFunc(func(_ context.Context, ref string) (guard.Secret, error) {
			return guard.NewSecret(ref, rtSecret), fmt.Errorf("value %q expired", rtSecret)
		}),
	}
	for name, r := range resolvers {
		for _, timeout := range []time.Duration{0, time.Minute} {
			t.Run(fmt.Sprint(name, timeout), func(t *testing.T) {
				var aud strings.Builder
				var mu sync.Mutex
				mw, err := guard.ResolveSecrets(r, guard.WithTimeout(timeout), guard.WithAuditor(guard.AuditorFunc(func(_ context.Context, e guard.Event) {
					mu.Lock()
					defer mu.Unlock()
					fmt.Fprintf(&aud, "%+v", e)
				})))
				if err != nil {
					t.Fatal(err)
				}
				called := false
				_, err = mw(guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) {
					called = true
					return nil, nil
				})).Handle(context.Background(), &guard.Call{Tool: "t", Args: json.RawMessage(`{"k":"${secret:AWS}"}`)})
				if !errors.Is(err, guard.ErrDenied) || called {
					t.Fatalf("want denial without the tool, got %v (called %v)", err, called)
				}
				for e := err; e != nil; e = errors.Unwrap(e) {
					rtLeak(t, "error chain", fmt.Sprintf("%v %+v", e, e), rtSecret)
				}
				mu.Lock()
				rtLeak(t, "audit", aud.String(), rtSecret)
				mu.Unlock()
			})
		}
	}
}

// A tool that panics with values in forms fmt prints differently.

func TestRedTeamToolPanics(t *testing.T) {
	values := map[string]any{
		"string": rtSecret,
		"error":  fmt.Errorf("boom %s", rtSecret),
		"struct": struct{ Key string }{rtSecret},
		"ptr":    &struct{ Key string }{rtSecret},
		"map":    map[string]string{"k": rtSecret},
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			h := rtChain(t, func(context.Context, *guard.Call) (*guard.Result, error) { panic(v) })
			_, err := h.Handle(context.Background(), &guard.Call{Tool: "t", Args: json.RawMessage(`{"k":"${secret:AWS}"}`)})
			if !errors.Is(err, guard.ErrToolPanic) {
				t.Fatalf("want ErrToolPanic, got %v", err)
			}
			rtLeak(t, "panic error", fmt.Sprintf("%v %+v", err, err), rtSecret)
		})
	}
}

// A tool returning a typed-nil error, or an error whose Error method panics, must
// not crash the agent through the secrets stage.
type nilErr struct{ msg *string }

func (e *nilErr) Error() string { return *e.msg }

type panicErr struct{}

func (panicErr) Error() string { panic("Error() panics with " + rtSecret) }

func TestRedTeamToolBadErrors(t *testing.T) {
	cases := map[string]func() error{
		"typed nil": func() error { var e *nilErr; return e },
		"panicking": func() error { return panicErr{} },
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			h := rtChain(t, func(context.Context, *guard.Call) (*guard.Result, error) { return nil, mk() })
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("secrets stage panicked: %v", p)
					}
				}()
				_, err = h.Handle(context.Background(), &guard.Call{Tool: "t", Args: json.RawMessage(`{"k":"${secret:AWS}"}`)})
			}()
			if err == nil {
				t.Fatal("bad error turned into success")
			}
			rtLeak(t, "error", err.Error(), rtSecret)
		})
	}
}

// Denials never call next, and the caller's call is never mutated, for every
// stage constructor, under concurrency (run with -race).
func TestRedTeamDenialsNeverCallNextConcurrent(t *testing.T) {
	deny := errors.New("no")
	mws := map[string]guard.Middleware{}
	add := func(name string, mw guard.Middleware, err error) {
		if err != nil {
			t.Fatal(err)
		}
		mws[name] = mw
	}
	mw, err := guard.Authorize(guard.ScoperFunc(func(context.Context, *guard.Call) error { return deny }))
	add("scope error", mw, err)
	mw, err = guard.Authorize(guard.ScoperFunc(func(context.Context, *guard.Call) error { panic(rtSecret) }))
	add("scope panic", mw, err)
	mw, err = guard.Authorize(guard.ScoperFunc(func(ctx context.Context, _ *guard.Call) error { <-ctx.Done(); return nil }), guard.WithTimeout(time.Millisecond))
	add("scope slow returns nil after timeout", mw, err)
	mw, err = guard.ValidateArgs(guard.ArgValidatorFunc(func(context.Context, *guard.Call) error { return deny }))
	add("args", mw, err)
	mw, err = guard.ResolveSecrets(rtResolver)
	add("secrets", mw, err)
	for name, mw := range mws {
		t.Run(name, func(t *testing.T) {
			var called sync.Map
			h := mw(guard.HandlerFunc(func(_ context.Context, c *guard.Call) (*guard.Result, error) {
				called.Store(c.ID, true)
				return &guard.Result{}, nil
			}))
			var wg sync.WaitGroup
			for i := range 16 {
				wg.Go(func() {
					args := `{"k":"${secret:NOPE}"}`
					c := &guard.Call{ID: fmt.Sprint(i), Tool: "t", Args: json.RawMessage(args), Metadata: map[string]string{"a": "b"}}
					_, err := h.Handle(context.Background(), c)
					if !errors.Is(err, guard.ErrDenied) {
						t.Errorf("want denial, got %v", err)
					}
					if string(c.Args) != args || c.Metadata["a"] != "b" {
						t.Errorf("call mutated: %+v", c)
					}
					if err != nil {
						rtLeak(t, "denial", fmt.Sprintf("%v %+v", err, errors.Unwrap(err)), "check panicked: "+rtSecret)
					}
				})
			}
			wg.Wait()
			called.Range(func(k, _ any) bool { t.Errorf("denied call %v reached the tool", k); return true })
		})
	}
}

// Cancelled contexts deny even in monitor mode, and never reach the tool.
func TestRedTeamCancelledMonitor(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	mw, err := guard.Authorize(guard.ScoperFunc(func(context.Context, *guard.Call) error { return nil }), guard.WithMode(guard.Monitor))
	if err != nil {
		t.Fatal(err)
	}
	called := false
	_, err = mw(guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) {
		called = true
		return nil, nil
	})).Handle(ctx, &guard.Call{Tool: "t"})
	if err == nil || called {
		t.Fatalf("cancelled call went through: %v", err)
	}
}

// Monitor mode on the secrets stage: an unresolvable call goes on, but with no
// value; a resolvable one in the same call does not leak half-resolved args.
func TestRedTeamSecretsMonitorNoPartialResolution(t *testing.T) {
	var seen string
	h := rtChain(t, func(_ context.Context, c *guard.Call) (*guard.Result, error) {
		seen = string(c.Args)
		return &guard.Result{Content: "ok"}, nil
	}, guard.WithMode(guard.Monitor))
	_, err := h.Handle(context.Background(), &guard.Call{Tool: "t", Args: json.RawMessage(`{"a":"${secret:AWS}","b":"${secret:NOPE}"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(seen, rtSecret) {
		t.Fatalf("partially resolved args reached the tool: %s", seen)
	}
}

// Typed-nil policies are construction errors, not allow-all or a later panic.
type rtNilScoper struct{}

func (*rtNilScoper) Authorize(context.Context, *guard.Call) error { return nil }

func TestRedTeamTypedNilPolicies(t *testing.T) {
	var s *rtNilScoper
	if _, err := guard.Authorize(s); !errors.Is(err, guard.ErrNilPolicy) {
		t.Errorf("typed-nil scoper: %v", err)
	}
	var f guard.SecretResolverFunc
	if _, err := guard.ResolveSecrets(f); !errors.Is(err, guard.ErrNilPolicy) {
		t.Errorf("nil func resolver: %v", err)
	}
	var d guard.InjectionDetectorFunc
	if _, err := guard.ScanResults(d); !errors.Is(err, guard.ErrNilPolicy) {
		t.Errorf("nil detector: %v", err)
	}
	var o guard.OutputFilter
	if _, err := guard.FilterResults(o); !errors.Is(err, guard.ErrNilPolicy) {
		t.Errorf("nil filter: %v", err)
	}
}

// The model message never carries the rule, the reason (outside the args stage)
// or the wrapped error.
func TestRedTeamModelMessage(t *testing.T) {
	d := &guard.DenialError{Stage: guard.StageScope, Rule: "role.admin_only", Reason: "needs admin " + rtSecret, Tool: "t", Err: errors.New(rtSecret)}
	msg := guard.ModelMessage(fmt.Errorf("wrapped: %w", d))
	rtLeak(t, "model message", msg, rtSecret, "role.admin_only", "admin")
	rtLeak(t, "model message of error", guard.ModelMessage(errors.New(rtSecret)), rtSecret)
}

// Secret values never print, in any verb, in slog or JSON.
func TestRedTeamSecretFormatting(t *testing.T) {
	s := guard.NewSecret("AWS", rtSecret)
	type holder struct {
		S   guard.Secret
		Ptr *guard.Secret
	}
	h := holder{s, &s}
	outs := []string{
		fmt.Sprintf("%v %+v %#v %s %q %x %X %d", s, s, s, s, s, s, s, s),
		fmt.Sprintf("%v %+v %#v", h, h, &h),
		fmt.Sprint([]guard.Secret{s}, map[string]guard.Secret{"k": s}),
	}
	b, _ := json.Marshal(h)
	outs = append(outs, string(b))
	for _, o := range outs {
		rtLeak(t, "format", o, rtSecret, fmt.Sprintf("%x", rtSecret))
	}
}

// An argument normalizer abandoned at its timeout in monitor mode must not race
// with the middleware reading its answer, and a normalizer that fails must not
// have its partial answer passed on.
type slowNormalizer struct {
	fail bool
}

func (n *slowNormalizer) ValidateArgs(context.Context, *guard.Call) error { return nil }

func (n *slowNormalizer) NormalizeArgs(ctx context.Context, c *guard.Call) (json.RawMessage, error) {
	if n.fail {
		return json.RawMessage(`{"partial":true}`), errors.New("invalid")
	}
	time.Sleep(20 * time.Millisecond) // ignores ctx, as a badly written check would
	return json.RawMessage(`{"late":true}`), nil
}

func TestRedTeamNormalizerMonitorTimeout(t *testing.T) {
	n := &slowNormalizer{}
	mw, err := guard.ValidateArgs(n, guard.WithMode(guard.Monitor), guard.WithTimeout(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	var seen string
	h := mw(guard.HandlerFunc(func(_ context.Context, c *guard.Call) (*guard.Result, error) {
		seen = string(c.Args)
		time.Sleep(40 * time.Millisecond) // the abandoned check finishes meanwhile
		return &guard.Result{}, nil
	}))
	if _, err := h.Handle(context.Background(), &guard.Call{Tool: "t", Args: json.RawMessage(`{"a":1}`)}); err != nil {
		t.Fatal(err)
	}
	if seen != `{"a":1}` {
		t.Fatalf("tool got %s", seen)
	}

	f := &slowNormalizer{fail: true}
	mw, _ = guard.ValidateArgs(f, guard.WithMode(guard.Monitor))
	h = mw(guard.HandlerFunc(func(_ context.Context, c *guard.Call) (*guard.Result, error) {
		seen = string(c.Args)
		return &guard.Result{}, nil
	}))
	if _, err := h.Handle(context.Background(), &guard.Call{Tool: "t", Args: json.RawMessage(`{"a":1}`)}); err != nil {
		t.Fatal(err)
	}
	if seen != `{"a":1}` {
		t.Fatalf("a failing normalizer's partial answer reached the tool: %s", seen)
	}
}

// URL encoders disagree on which characters to leave alone: each one's form of
// a value holding "/", "!", "*", "~", "'" and a space is scrubbed.
func TestRedTeamScrubURLEncoders(t *testing.T) {
	v := "k3y/with!odd*chars~and'a space(1)"
	sc := guard.NewScrubber(guard.NewSecret("K", v))
	enc := func(keep string, plus, lower bool) string {
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			c := v[i]
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte(keep, c) >= 0:
				b.WriteByte(c)
			case c == ' ' && plus:
				b.WriteByte('+')
			case lower:
				fmt.Fprintf(&b, "%%%02x", c)
			default:
				fmt.Fprintf(&b, "%%%02X", c)
			}
		}
		return b.String()
	}
	forms := map[string]string{
		"python quote":          enc("-_.~/", false, false),
		"python quote safe=''":  enc("-_.~", false, false),
		"js encodeURIComponent": enc("-_.!~*'()", false, false),
		"java URLEncoder":       enc("-_.*", true, false),
		"php urlencode":         enc("-_.", true, false),
		"lower-hex strict":      enc("-_.~", false, true),
	}
	for name, f := range forms {
		if out := sc.Scrub("?token=" + f + "&x=1"); strings.Contains(out, f) {
			t.Errorf("%s form not scrubbed: %s", name, out)
		}
	}
}

// A tool that base64-encodes a file holding the value with a line-wrapping
// encoder (GNU base64 wraps at 76, PEM at 64, MIME at 76 with CRLF): the value's
// encoding is cut by line breaks wherever it sits.
func TestRedTeamScrubWrappedBase64(t *testing.T) {
	v := "sk_live_4eC39HqLyjWDarjtT1zdp7dc-wrapped-secret"
	sc := guard.NewScrubber(guard.NewSecret("K", v))
	fragment := func(k int) string {
		buf := make([]byte, k+len(v)+2)
		copy(buf[k:], v)
		enc := base64.StdEncoding.EncodeToString(buf)
		return enc[(8*k+5)/6 : 8*(k+len(v))/6]
	}
	wrap := func(s string, width int, nl string) string {
		var b strings.Builder
		for len(s) > width {
			b.WriteString(s[:width] + nl)
			s = s[width:]
		}
		b.WriteString(s)
		return b.String()
	}
	for _, w := range []struct {
		width int
		nl    string
	}{{76, "\n"}, {64, "\n"}, {76, "\r\n"}} {
		for k := range 90 {
			file := strings.Repeat("x", k) + v + "\nmore file content after the key\n"
			blob := wrap(base64.StdEncoding.EncodeToString([]byte(file)), w.width, w.nl)
			out := sc.Scrub("-----BEGIN DATA-----\n" + blob + "\n-----END DATA-----")
			joined := strings.NewReplacer("\r", "", "\n", "").Replace(out)
			if f := fragment(k % 3); strings.Contains(joined, f) {
				t.Fatalf("width %d offset %d: wrapped base64 of the value survives:\n%s", w.width, k, out)
			}
		}
	}
	// Ordinary multi-line text is left alone.
	text := "line one\nline two\n"
	if out := sc.Scrub(text); out != text {
		t.Fatalf("clean text changed: %q", out)
	}
}
