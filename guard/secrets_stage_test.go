package guard

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	payKey  = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
	mailKey = "SG.mail-password-9f8e7d6c5b4a"
)

// testResolver knows two secrets; the payment key only for the "charge" tool.
var testResolver = SecretResolverFunc(func(ctx context.Context, ref string) (Secret, error) {
	c := CallFromContext(ctx)
	if c == nil {
		return Secret{}, errors.New("no call in context")
	}
	switch ref {
	case "PAY_KEY":
		if c.Tool != "charge" {
			return Secret{}, Deny("secrets.tool", fmt.Sprintf("tool %q may not use %q", c.Tool, ref))
		}
		return NewSecret(ref, payKey), nil
	case "MAIL_KEY":
		return NewSecret(ref, mailKey), nil
	case "EMPTY":
		return NewSecret(ref, ""), nil
	}
	return Secret{}, fmt.Errorf("unknown secret %q", ref)
})

type auditLog struct {
	mu     sync.Mutex
	events []Event
}

func (a *auditLog) Audit(_ context.Context, e Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, e)
}

func (a *auditLog) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, _ := json.Marshal(a.events)
	return string(b) + fmt.Sprintf("%+v", a.events)
}

// rig is a chain audit ▶ secrets ▶ tool with capturing auditor and log handler.
type rig struct {
	audit *auditLog
	logs  *captureHandler
	h     Handler
	seen  []string // arguments the tool saw
	mu    sync.Mutex
}

func newRig(t *testing.T, tool func(ctx context.Context, c *Call, log *slog.Logger) (*Result, error), opts ...Option) *rig {
	t.Helper()
	r := &rig{audit: &auditLog{}, logs: newCapture()}
	log := slog.New(ScrubHandler(r.logs.h))
	opts = append([]Option{WithAuditor(MultiAuditor(r.audit, SlogAuditor(log))), WithAuditArgs()}, opts...)
	mw, err := ResolveSecrets(testResolver, opts...)
	if err != nil {
		t.Fatal(err)
	}
	outer, err := Authorize(ScoperFunc(func(context.Context, *Call) error { return nil }),
		WithAuditor(MultiAuditor(r.audit, SlogAuditor(log))), WithAuditArgs())
	if err != nil {
		t.Fatal(err)
	}
	r.h = Chain(outer, mw)(HandlerFunc(func(ctx context.Context, c *Call) (*Result, error) {
		r.mu.Lock()
		r.seen = append(r.seen, string(c.Args))
		r.mu.Unlock()
		log.InfoContext(ctx, "tool running", "args", string(c.Args), "call", c)
		return tool(ctx, c, log)
	}))
	return r
}

func (r *rig) call(tool, args string) (*Result, error) {
	return r.h.Handle(context.Background(), &Call{ID: "c1", Tool: tool, Args: json.RawMessage(args), Principal: Principal{Role: "r"}})
}

// assertNoLeak fails if any encoded form of any test secret is in s.
func assertNoLeak(t *testing.T, where, s string) {
	t.Helper()
	for _, v := range []string{payKey, mailKey} {
		if f, ok := leaks(s, v); ok {
			t.Errorf("%s leaks %q: %s", where, f, s)
		}
	}
}

func (r *rig) assertClean(t *testing.T, res *Result, err error) {
	t.Helper()
	if res != nil {
		assertNoLeak(t, "result", fmt.Sprintf("%s %v %v", res.Content, res.Labels, res.Metadata))
	}
	if err != nil {
		assertNoLeak(t, "error", err.Error())
		assertNoLeak(t, "model message", ModelMessage(err))
		var d *DenialError
		if errors.As(err, &d) {
			assertNoLeak(t, "denial", fmt.Sprintf("%+v %v", *d, d.Err))
		}
	}
	assertNoLeak(t, "audit", r.audit.String())
	assertNoLeak(t, "logs", r.logs.String())
}

func echoTool(ctx context.Context, c *Call, log *slog.Logger) (*Result, error) {
	var a struct {
		Key string `json:"key"`
	}
	_ = json.Unmarshal(c.Args, &a)
	v := a.Key
	b64 := base64.StdEncoding.EncodeToString([]byte("Authorization: Bearer " + v))
	log.InfoContext(ctx, "echo "+v, "b64", b64)
	return &Result{
		Content: fmt.Sprintf("raw=%s json=%q hex=%s url=%s b64=%s", v, v, hex.EncodeToString([]byte(v)), url.QueryEscape(v), b64),
		Labels:  []string{"k:" + v},
		Metadata: map[string]string{
			"header": "Bearer " + v,
			v:        "as key",
		},
	}, nil
}

func TestResolveSecretsEchoRedacted(t *testing.T) {
	r := newRig(t, echoTool)
	res, err := r.call("charge", `{"key":"${secret:PAY_KEY}"}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.seen) != 1 || !strings.Contains(r.seen[0], payKey) {
		t.Fatalf("tool did not get the value: %v", r.seen)
	}
	if !strings.Contains(res.Content, "raw=[REDACTED:PAY_KEY]") {
		t.Errorf("content %q", res.Content)
	}
	r.assertClean(t, res, err)
	if !strings.Contains(r.audit.String(), "${secret:PAY_KEY}") {
		t.Errorf("audit should show the placeholder: %s", r.audit.String())
	}
	if !strings.Contains(r.audit.String(), "secrets.redacted") {
		t.Errorf("no rewrite event: %s", r.audit.String())
	}
}

func TestResolveSecretsToolFailures(t *testing.T) {
	tests := []struct {
		name string
		tool func(ctx context.Context, c *Call, log *slog.Logger) (*Result, error)
		is   error
	}{
		{"error with value", func(ctx context.Context, c *Call, _ *slog.Logger) (*Result, error) {
			return nil, fmt.Errorf("auth failed for key %s (%x)", argKey(c), argKey(c))
		}, nil},
		{"wrapped leaky error", func(ctx context.Context, c *Call, _ *slog.Logger) (*Result, error) {
			return nil, fmt.Errorf("post: %w", &leakyError{url: "https://api.test/?key=" + argKey(c)})
		}, nil},
		{"canceled", func(ctx context.Context, c *Call, _ *slog.Logger) (*Result, error) {
			return nil, fmt.Errorf("with %s: %w", url.QueryEscape(argKey(c)), context.Canceled)
		}, context.Canceled},
		{"deadline", func(ctx context.Context, c *Call, _ *slog.Logger) (*Result, error) {
			return nil, fmt.Errorf("with %s: %w", argKey(c), context.DeadlineExceeded)
		}, context.DeadlineExceeded},
		{"inner denial", func(ctx context.Context, c *Call, _ *slog.Logger) (*Result, error) {
			return nil, &DenialError{Stage: StageScope, Rule: "net", Reason: "host rejected for " + argKey(c)}
		}, ErrDenied},
		{"panic string", func(ctx context.Context, c *Call, _ *slog.Logger) (*Result, error) {
			panic("boom: " + argKey(c))
		}, ErrToolPanic},
		{"panic error", func(ctx context.Context, c *Call, _ *slog.Logger) (*Result, error) {
			panic(fmt.Errorf("boom %s", base64.URLEncoding.EncodeToString([]byte(argKey(c)))))
		}, ErrToolPanic},
		{"result and error", func(ctx context.Context, c *Call, _ *slog.Logger) (*Result, error) {
			return &Result{Content: argKey(c)}, errors.New(argKey(c))
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.tool)
			res, err := r.call("charge", `{"key":"${secret:PAY_KEY}","other":"${secret:MAIL_KEY}"}`)
			if err == nil {
				t.Fatal("want error")
			}
			if res != nil {
				t.Errorf("result returned with error: %+v", res)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(err, %v) = false for %v", tt.is, err)
			}
			var le *leakyError
			if errors.As(err, &le) {
				t.Error("leaky error chain kept")
			}
			if tt.is == ErrToolPanic && !strings.Contains(r.audit.String(), "secrets.tool_panic") {
				t.Error("panic not audited")
			}
			r.assertClean(t, res, err)
		})
	}
}

func argKey(c *Call) string {
	var a map[string]string
	_ = json.Unmarshal(c.Args, &a)
	return a["key"]
}

func TestResolveSecretsDenials(t *testing.T) {
	tests := []struct {
		name, tool, args, rule string
	}{
		{"unknown name", "charge", `{"k":"${secret:NOPE}"}`, "secrets.resolve"},
		{"tool not allowed", "send_email", `{"k":"${secret:PAY_KEY}"}`, "secrets.tool"},
		{"empty value", "charge", `{"k":"${secret:EMPTY}"}`, "secrets.empty"},
		{"unterminated", "charge", `{"k":"${secret:PAY_KEY"}`, "secrets.placeholder.malformed"},
		{"bad name", "charge", `{"k":"${secret:PAY KEY}"}`, "secrets.placeholder.malformed"},
		{"empty name", "charge", `{"k":"${secret:}"}`, "secrets.placeholder.malformed"},
		{"dotdot name", "charge", `{"k":"${secret:a/../b}"}`, "secrets.placeholder.malformed"},
		{"case variant", "charge", `{"k":"${SECRET:PAY_KEY}"}`, "secrets.placeholder.malformed"},
		{"case variant escaped", "charge", `{"k":"\u0024{Secret:PAY_KEY}"}`, "secrets.placeholder.malformed"},
		{"in key", "charge", `{"${secret:PAY_KEY}":"x"}`, "secrets.placeholder.key"},
		{"escaped in key", "charge", `{"\u0024{secret:PAY_KEY}":"x"}`, "secrets.placeholder.key"},
		{"invalid json", "charge", `{"k":"${secret:PAY_KEY}"`, "secrets.args.json"},
		{"trailing value", "charge", `{"k":"${secret:PAY_KEY}"} {}`, "secrets.args.json"},
		{"too many", "charge", `{"k":"` + strings.Repeat("${secret:MAIL_KEY}", MaxPlaceholders+1) + `"}`, "secrets.placeholder.count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, echoTool)
			res, err := r.call(tt.tool, tt.args)
			var d *DenialError
			if !errors.As(err, &d) || !errors.Is(err, ErrDenied) {
				t.Fatalf("want denial, got %v, %v", res, err)
			}
			if d.Rule != tt.rule || d.Stage != StageSecrets {
				t.Errorf("rule %q stage %q, want %q", d.Rule, d.Stage, tt.rule)
			}
			if len(r.seen) != 0 {
				t.Errorf("tool ran: %v", r.seen)
			}
			if strings.Contains(ModelMessage(err), "PAY_KEY") {
				t.Errorf("model message names the policy: %q", ModelMessage(err))
			}
			r.assertClean(t, res, err)
		})
	}
}

func TestResolveSecretsArgs(t *testing.T) {
	tests := []struct {
		name, args, want string
	}{
		{"no placeholder unchanged", `{ "a" : 1.50, "b":[true,null] }`, `{ "a" : 1.50, "b":[true,null] }`},
		{"empty args", ``, ``},
		{"embedded", `{"h":"Bearer ${secret:MAIL_KEY}!"}`, `{"h":"Bearer ` + mailKey + `!"}`},
		{"json escaped placeholder", `{"h":"\u0024{secret:MAIL_KEY}"}`, `{"h":"` + mailKey + `"}`},
		{"escape", `{"h":"$${secret:MAIL_KEY}"}`, `{"h":"${secret:MAIL_KEY}"}`},
		{"escape then placeholder", `{"h":"$${secret:X} ${secret:MAIL_KEY}"}`, `{"h":"${secret:X} ` + mailKey + `"}`},
		{"dollars kept", `{"h":"$5 $$ ${other} ${secret:MAIL_KEY}"}`, `{"h":"$5 $$ ${other} ` + mailKey + `"}`},
		{"nested and order kept", `{"z":{"a":["${secret:MAIL_KEY}",2]},"a":1,"a":2}`, `{"z":{"a":["` + mailKey + `",2]},"a":1,"a":2}`},
		{"top-level string", `"${secret:MAIL_KEY}"`, `"` + mailKey + `"`},
		{"no recursion", `{"h":"${secret:MAIL_KEY}"}`, `{"h":"` + mailKey + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, func(ctx context.Context, c *Call, _ *slog.Logger) (*Result, error) {
				return &Result{Content: "ok"}, nil
			})
			if _, err := r.call("charge", tt.args); err != nil {
				t.Fatal(err)
			}
			if len(r.seen) != 1 || r.seen[0] != tt.want {
				t.Errorf("tool saw %q, want %q", r.seen, tt.want)
			}
		})
	}
}

func TestResolveSecretsCallNotMutated(t *testing.T) {
	mw, err := ResolveSecrets(testResolver)
	if err != nil {
		t.Fatal(err)
	}
	c := &Call{ID: "1", Tool: "charge", Args: json.RawMessage(`{"k":"${secret:PAY_KEY}"}`)}
	var ctxCall *Call
	_, err = mw(HandlerFunc(func(ctx context.Context, got *Call) (*Result, error) {
		ctxCall = CallFromContext(ctx)
		if ScrubberFromContext(ctx).Len() != 1 {
			t.Error("no scrubber in the tool's context")
		}
		return &Result{}, nil
	})).Handle(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(c.Args), payKey) {
		t.Error("caller's call mutated")
	}
	if ctxCall == nil || strings.Contains(string(ctxCall.Args), payKey) {
		t.Error("the context's call must be the placeholder call")
	}
}

func TestResolveSecretsNil(t *testing.T) {
	if _, err := ResolveSecrets(nil); !errors.Is(err, ErrNilPolicy) {
		t.Errorf("got %v", err)
	}
	var f SecretResolverFunc
	if _, err := ResolveSecrets(f); !errors.Is(err, ErrNilPolicy) {
		t.Errorf("got %v", err)
	}
}

func TestResolveSecretsMonitor(t *testing.T) {
	r := newRig(t, echoTool, WithMode(Monitor))
	res, err := r.call("send_email", `{"key":"${secret:PAY_KEY}"}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.seen) != 1 || r.seen[0] != `{"key":"${secret:PAY_KEY}"}` {
		t.Errorf("tool saw %q", r.seen)
	}
	r.assertClean(t, res, err)
}

func TestResolveSecretsTimeout(t *testing.T) {
	slow := SecretResolverFunc(func(ctx context.Context, ref string) (Secret, error) {
		<-ctx.Done()
		return NewSecret(ref, "late-value"), nil
	})
	mw, err := ResolveSecrets(slow, WithTimeout(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	_, err = mw(HandlerFunc(func(context.Context, *Call) (*Result, error) { ran = true; return &Result{}, nil })).
		Handle(context.Background(), &Call{Tool: "t", Args: json.RawMessage(`{"k":"${secret:X}"}`)})
	if !errors.Is(err, ErrDenied) || ran {
		t.Errorf("err %v ran %v", err, ran)
	}
}

func TestResolveSecretsCanceledBeforeStart(t *testing.T) {
	mw, _ := ResolveSecrets(testResolver)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := mw(HandlerFunc(func(context.Context, *Call) (*Result, error) { t.Error("tool ran"); return nil, nil })).
		Handle(ctx, &Call{Tool: "charge", Args: json.RawMessage(`{}`)})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v", err)
	}
}

func TestSecretRefs(t *testing.T) {
	got, err := SecretRefs(json.RawMessage(`{"a":"${secret:A} ${secret:B}","b":["${secret:A}","$${secret:C}"]}`))
	if err != nil || strings.Join(got, ",") != "A,B" {
		t.Errorf("got %v, %v", got, err)
	}
	if _, err := SecretRefs(json.RawMessage(`{"a":"${secret:"}`)); !errors.Is(err, ErrDenied) {
		t.Errorf("got %v", err)
	}
}

func TestValidSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"A": true, "payments/stripe#api_key": true, "a.b-c_d": true, "_x": true,
		"": false, "/a": false, "a/": false, "a//b": false, "a/../b": false, "a b": false,
		"-a": false, "a}b": false, "ü": false, strings.Repeat("a", 129): false,
	} {
		if got := ValidSecretName(name); got != want {
			t.Errorf("ValidSecretName(%q) = %v", name, got)
		}
	}
}

func FuzzExpandArgs(f *testing.F) {
	for _, s := range []string{
		`{"a":"${secret:A}"}`, `{"a":"$${secret:A}"}`, `{"a":"\u0024{secret:A}"}`, `{"${secret:A}":1}`,
		`["${secret:A", "${SECRET:A}"]`, `"x"`, `{"a":[1,2,{"b":null}],"c":true}`, `{"a":"$$$${secret:a/b#c}}"}`,
		``, `{`, `{"a":1}{"b":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, args []byte) {
		const val = "RESOLVED\"\\<v>"
		out, changed, err := expandArgs(args, func(name string) (string, error) {
			if !ValidSecretName(name) {
				t.Fatalf("resolver got invalid name %q", name)
			}
			return val, nil
		})
		if err != nil {
			if !errors.Is(err, ErrDenied) {
				t.Fatalf("non-denial error %v", err)
			}
			return
		}
		if !changed {
			if string(out) != string(args) {
				t.Fatal("unchanged args rewritten")
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid output %q from %q", out, args)
		}
		// Expanding the output again must not find placeholders made of the
		// resolved value or of escapes (single pass).
		var in, got any
		if json.Unmarshal(args, &in) != nil || json.Unmarshal(out, &got) != nil {
			t.Fatal("round trip failed")
		}
	})
}

func BenchmarkResolveSecrets(b *testing.B) {
	mw, err := ResolveSecrets(testResolver)
	if err != nil {
		b.Fatal(err)
	}
	h := mw(HandlerFunc(func(ctx context.Context, c *Call) (*Result, error) {
		return &Result{Content: "ok: charged order 1001 for 59.90 EUR; receipt sent"}, nil
	}))
	c := &Call{ID: "1", Tool: "charge", Args: json.RawMessage(`{"order":"A-1001","amount":59.9,"key":"${secret:PAY_KEY}"}`)}
	ctx := context.Background()
	b.ReportAllocs()
	for range b.N {
		if _, err := h.Handle(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleResolveSecrets() {
	resolver := SecretResolverFunc(func(ctx context.Context, name string) (Secret, error) {
		if name == "API_KEY" && CallFromContext(ctx).Tool == "fetch" {
			return NewSecret(name, "k-123456789"), nil
		}
		return Secret{}, fmt.Errorf("unknown secret %q", name)
	})
	stage, _ := ResolveSecrets(resolver)
	tool := stage(HandlerFunc(func(ctx context.Context, c *Call) (*Result, error) {
		// The tool sees the value; its result echoes it.
		return &Result{Content: "called with " + string(c.Args)}, nil
	}))
	res, _ := tool.Handle(context.Background(), &Call{Tool: "fetch", Args: json.RawMessage(`{"auth":"Bearer ${secret:API_KEY}"}`)})
	fmt.Println(res.Content)
	_, err := tool.Handle(context.Background(), &Call{Tool: "fetch", Args: json.RawMessage(`{"auth":"${secret:OTHER}"}`)})
	fmt.Println(err)
	// Output:
	// called with {"auth":"Bearer [REDACTED:API_KEY]"}
	// agentguard: secrets denied call "fetch": secrets.resolve: cannot resolve secret "OTHER"
}

func ExampleScrubber() {
	s := NewScrubber(NewSecret("DB_PASSWORD", "hunter2-but-longer"))
	fmt.Println(s.Scrub("dsn=postgres://app:hunter2-but-longer@db/app"))
	fmt.Println(s.Scrub("header: aHVudGVyMi1idXQtbG9uZ2Vy"))                // base64
	fmt.Println(s.Scrub("hex: 68756e746572322d6275742d6c6f6e676572"))       // hex
	fmt.Println(s.Scrub("q=" + "hunter2-but-longer" + "&x=" + "%68unter2")) // raw in a URL
	// Output:
	// dsn=postgres://app:[REDACTED:DB_PASSWORD]@db/app
	// header: [REDACTED:DB_PASSWORD]
	// hex: [REDACTED:DB_PASSWORD]
	// q=[REDACTED:DB_PASSWORD]&x=%68unter2
}
