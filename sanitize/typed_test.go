package sanitize

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/guard"
)

type fetchArgs struct {
	Path    string   `json:"path" validate:"required,confined"`
	URL     string   `json:"url,omitempty" validate:"omitempty,safeurl"`
	Mirror  string   `json:"mirror,omitempty" validate:"omitempty,safeurl=mirrors"`
	Branch  string   `json:"branch,omitempty" validate:"omitempty,ident"`
	Message string   `json:"message,omitempty" validate:"omitempty,noshell,max=40"`
	Pattern string   `json:"pattern,omitempty" validate:"omitempty,nooption"`
	Mode    string   `json:"mode,omitempty" validate:"omitempty,oneof=read write"`
	Limit   int      `json:"limit,omitempty" validate:"gte=0,lte=100"`
	Tags    []string `json:"tags,omitempty" validate:"max=3,dive,ident"`
	Options *struct {
		Depth int `json:"depth" validate:"min=1,max=5"`
	} `json:"options,omitempty"`
}

func newTestValidator(t testing.TB) *Validator {
	t.Helper()
	urls, err := NewURLChecker(URLPolicy{Hosts: []string{"docs.example.com"}})
	must(t, err)
	mirrors, err := NewURLChecker(URLPolicy{Hosts: []string{"mirror.example.net"}})
	must(t, err)
	v, err := NewValidator(ValidatorConfig{URLs: urls, NamedURLs: map[string]*URLChecker{"mirrors": mirrors}})
	must(t, err)
	return v
}

func TestDecode(t *testing.T) {
	v := newTestValidator(t)
	tests := []struct {
		name   string
		args   string
		rule   string // "" means valid
		reason string
	}{
		{name: "valid", args: `{"path":"docs/a.txt","url":"https://docs.example.com/x","mirror":"https://mirror.example.net/","branch":"main","message":"fix typo","pattern":"foo","mode":"read","limit":5,"tags":["a","b_c"],"options":{"depth":2}}`},
		{name: "required", args: `{}`, rule: "args.tag.required", reason: `argument "/path": is required`},
		{name: "dotdot", args: `{"path":"../../etc/passwd"}`, rule: "args.tag.confined", reason: "must not contain '..'"},
		{name: "absolute", args: `{"path":"/etc/passwd"}`, rule: "args.tag.confined", reason: "not absolute"},
		{name: "encoded", args: `{"path":"%2e%2e%2fetc%2fpasswd"}`, rule: "args.tag.confined", reason: "percent-encoded"},
		{name: "fullwidth", args: `{"path":"\uff0e\uff0e/etc/passwd"}`, rule: "args.tag.confined", reason: "look like"},
		{name: "division slash", args: `{"path":"..\u2215etc\u2215passwd"}`, rule: "args.tag.confined", reason: "look like path separators"},
		{name: "backslash", args: `{"path":"..\\..\\x"}`, rule: "args.tag.confined"},
		{name: "NUL", args: `{"path":"a\u0000"}`, rule: "args.nul"},
		{name: "url host", args: `{"path":"a","url":"https://evil.example.com/"}`, rule: "args.tag.safeurl", reason: `argument "/url"`},
		{name: "url userinfo", args: `{"path":"a","url":"https://docs.example.com@evil.net/"}`, rule: "args.tag.safeurl"},
		{name: "url ip", args: `{"path":"a","url":"http://2130706433/"}`, rule: "args.tag.safeurl"},
		{name: "named policy", args: `{"path":"a","mirror":"https://docs.example.com/"}`, rule: "args.tag.safeurl", reason: `argument "/mirror"`},
		{name: "ident", args: `{"path":"a","branch":"main; rm -rf /"}`, rule: "args.tag.ident"},
		{name: "ident option", args: `{"path":"a","branch":"--upload-pack=x"}`, rule: "args.tag.ident"},
		{name: "noshell backticks", args: "{\"path\":\"a\",\"message\":\"`id`\"}", rule: "args.tag.noshell"},
		{name: "noshell IFS", args: `{"path":"a","message":"a${IFS}b"}`, rule: "args.tag.noshell"},
		{name: "noshell newline", args: `{"path":"a","message":"a\nb"}`, rule: "args.tag.noshell"},
		{name: "max length", args: `{"path":"a","message":"` + strings.Repeat("a", 41) + `"}`, rule: "args.tag.max", reason: "at most 40 characters"},
		{name: "nooption", args: `{"path":"a","pattern":"--exec=sh"}`, rule: "args.tag.nooption", reason: "must not start with '-'"},
		{name: "oneof", args: `{"path":"a","mode":"delete"}`, rule: "args.tag.oneof", reason: "must be one of: read, write"},
		{name: "lte", args: `{"path":"a","limit":101}`, rule: "args.tag.lte", reason: "must be at most 100"},
		{name: "dive", args: `{"path":"a","tags":["ok","b d"]}`, rule: "args.tag.ident", reason: `"/tags/1"`},
		{name: "too many tags", args: `{"path":"a","tags":["a","b","c","d"]}`, rule: "args.tag.max", reason: "at most 3 items"},
		{name: "nested", args: `{"path":"a","options":{"depth":9}}`, rule: "args.tag.max", reason: `"/options/depth"`},
		{name: "unknown field", args: `{"path":"a","sudo":true}`, rule: "args.decode", reason: `unknown field "sudo"`},
		{name: "wrong type", args: `{"path":"a","limit":"5"}`, rule: "args.decode", reason: `argument "/limit": must be an integer, not a string`},
		{name: "case duplicate", args: `{"path":"a","Path":"../x"}`, rule: "args.duplicate_key"},
		{name: "not object", args: `"a"`, rule: "args.not_object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode[fetchArgs](context.Background(), v, json.RawMessage(tt.args))
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			var d *guard.DenialError
			if !errors.As(err, &d) {
				t.Fatalf("Decode = %v, want denial %s", err, tt.rule)
			}
			if d.Rule != tt.rule || d.Stage != guard.StageArgs {
				t.Errorf("rule = %s/%s (%s), want %s", d.Stage, d.Rule, d.Reason, tt.rule)
			}
			if !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("reason %q does not contain %q", d.Reason, tt.reason)
			}
		})
	}
}

func TestDecodeConfig(t *testing.T) {
	ctx := context.Background()
	if _, err := Decode[fetchArgs](ctx, nil, json.RawMessage(`{}`)); !errors.Is(err, guard.ErrNilPolicy) {
		t.Errorf("nil validator: %v", err)
	}
	v := newTestValidator(t)
	if _, err := Decode[map[string]any](ctx, v, json.RawMessage(`{}`)); !errors.Is(err, guard.ErrDenied) {
		t.Errorf("non-struct type: %v", err)
	}
	// The zero config refuses every URL.
	zero, err := NewValidator(ValidatorConfig{})
	must(t, err)
	if _, err := Decode[fetchArgs](ctx, zero, json.RawMessage(`{"path":"a","url":"https://docs.example.com/"}`)); err == nil {
		t.Error("zero validator accepted a URL")
	}
	if _, err := NewValidator(ValidatorConfig{NamedURLs: map[string]*URLChecker{"x": nil}}); !errors.Is(err, guard.ErrNilPolicy) {
		t.Errorf("nil named policy: %v", err)
	}
}

func TestTyped(t *testing.T) {
	v := newTestValidator(t)
	var got fetchArgs
	h := Typed(v, func(_ context.Context, c *guard.Call, a fetchArgs) (*guard.Result, error) {
		got = a
		return &guard.Result{Content: "read " + a.Path}, nil
	})
	ctx := context.Background()
	res, err := h.Handle(ctx, &guard.Call{ID: "1", Tool: "fetch", Args: json.RawMessage(`{"path":"docs/a.txt","limit":3}`)})
	if err != nil || res.Content != "read docs/a.txt" || got.Limit != 3 {
		t.Fatalf("Typed: %v %v %+v", res, err, got)
	}
	_, err = h.Handle(ctx, &guard.Call{ID: "2", Tool: "fetch", Args: json.RawMessage(`{"path":"../../etc/passwd"}`)})
	var d *guard.DenialError
	if !errors.As(err, &d) || d.Tool != "fetch" || d.CallID != "2" {
		t.Fatalf("Typed denial: %#v", err)
	}
	if msg := d.ModelMessage(); !strings.Contains(msg, "must not contain '..'") {
		t.Errorf("model message %q", msg)
	}
	if _, err := Typed[fetchArgs](nil, nil).Handle(ctx, &guard.Call{Tool: "x", Args: json.RawMessage(`{}`)}); !errors.Is(err, guard.ErrDenied) {
		t.Errorf("nil handler: %v", err)
	}
	if _, err := h.Handle(ctx, nil); err == nil {
		t.Error("nil call accepted")
	}
}

func TestValidatorEngine(t *testing.T) {
	v := newTestValidator(t)
	type one struct {
		X string `json:"x" validate:"noshell"`
	}
	if err := v.Engine().Var("a;b", "noshell"); err == nil {
		t.Error("engine tag not registered")
	}
	err := v.Struct(context.Background(), &one{X: "$(id)"})
	var fes FieldErrors
	if !errors.As(err, &fes) || fes[0].Pointer != "/x" || fes[0].Tag != "noshell" {
		t.Fatalf("Struct = %#v", err)
	}
}

var tagSeeds = []string{"docs/a.txt", "../x", "/etc", "a\\b", "%2e%2e/", "\uff0e\uff0e/x", "..\u2215x", "a\x00", "main",
	"-x", "a;b", "`id`", "${IFS}", "https://docs.example.com/", "http://0x7f.1/", "https://a@docs.example.com/", "\u2024\u2024/x",
	"%c0%ae%c0%ae/", "a/./b", "\ufe52\ufe52/x"}

// FuzzCustomTags checks each custom tag against its promise on arbitrary input.
func FuzzCustomTags(f *testing.F) {
	for _, s := range tagSeeds {
		f.Add(s)
	}
	v := newTestValidator(f)
	f.Fuzz(func(t *testing.T, s string) {
		if v.Engine().Var(s, "confined") == nil {
			if strings.HasPrefix(s, "/") || strings.ContainsAny(s, "\\\x00") || s == "" {
				t.Fatalf("confined accepted %q", s)
			}
			for _, e := range strings.Split(s, "/") {
				if e == ".." {
					t.Fatalf("confined accepted %q", s)
				}
			}
		}
		if v.Engine().Var(s, "ident") == nil && (len(s) > 64 || strings.ContainsAny(s, " ;$`/.\\") || strings.HasPrefix(s, "-")) {
			t.Fatalf("ident accepted %q", s)
		}
		if v.Engine().Var(s, "noshell") == nil && strings.ContainsAny(s, shellMeta+"\n\r\x00") {
			t.Fatalf("noshell accepted %q", s)
		}
		if v.Engine().Var(s, "nooption") == nil && strings.HasPrefix(s, "-") {
			t.Fatalf("nooption accepted %q", s)
		}
		if v.Engine().Var(s, "safeurl") == nil {
			u, err := newTestURLChecker(t).Check(s)
			if err != nil || u.Hostname() != "docs.example.com" && !strings.EqualFold(u.Hostname(), "docs.example.com") {
				t.Fatalf("safeurl accepted %q", s)
			}
		}
	})
}

func newTestURLChecker(t testing.TB) *URLChecker {
	c, err := NewURLChecker(URLPolicy{Hosts: []string{"docs.example.com"}})
	must(t, err)
	return c
}

func TestTypedFillsHandlerDenial(t *testing.T) {
	docs, _ := newJail(t)
	root, err := OpenRoot(docs, RootConfig{Label: "documents"})
	must(t, err)
	defer root.Close()
	type args struct {
		Path string `json:"path" validate:"required"`
	}
	h := Typed(newTestValidator(t), func(_ context.Context, _ *guard.Call, a args) (*guard.Result, error) {
		data, err := root.ReadFile(a.Path)
		if err != nil {
			return nil, err
		}
		return &guard.Result{Content: string(data)}, nil
	})
	_, err = h.Handle(context.Background(), &guard.Call{ID: "c9", Tool: "read_document", Args: json.RawMessage(`{"path":"abs-link"}`)})
	var d *guard.DenialError
	if !errors.As(err, &d) || d.Tool != "read_document" || d.CallID != "c9" || d.Rule != "path.escape" {
		t.Fatalf("err = %#v", err)
	}
	if !strings.Contains(d.ModelMessage(), `"read_document"`) || !strings.Contains(d.ModelMessage(), "documents folder") {
		t.Errorf("model message %q", d.ModelMessage())
	}
}

// FuzzDecode: arbitrary arguments never panic Decode, every refusal is an args
// denial, and accepted arguments satisfy the tags' promises.
func FuzzDecode(f *testing.F) {
	for _, s := range append(scanSeeds, `{"path":"docs/a.txt","limit":5,"tags":["a"]}`, `{"path":"../x"}`,
		`{"path":"a","options":{"depth":3}}`, `{"path":"a","PATH":"b"}`, `{"path":"a","url":"https://docs.example.com/"}`) {
		f.Add(s)
	}
	v := newTestValidator(f)
	f.Fuzz(func(t *testing.T, raw string) {
		a, err := Decode[fetchArgs](context.Background(), v, json.RawMessage(raw))
		if err != nil {
			var d *guard.DenialError
			if !errors.As(err, &d) || d.Stage != guard.StageArgs || d.Reason == "" {
				t.Fatalf("refusal is not an args denial: %#v", err)
			}
			return
		}
		if CheckLocalPath(a.Path) != nil {
			t.Fatalf("accepted path %q", a.Path)
		}
		if a.Limit < 0 || a.Limit > 100 || len(a.Tags) > 3 || strings.HasPrefix(a.Pattern, "-") || !noShell(a.Message) {
			t.Fatalf("accepted %+v", a)
		}
	})
}
