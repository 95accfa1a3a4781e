package sanitize

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/guard"
)

func newTestRegistry(t testing.TB) *Registry {
	t.Helper()
	r, err := NewRegistry(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Register(Tool{Name: "read_document", Description: "Read a document.", Schema: json.RawMessage(benchSchema)}); err != nil {
		t.Fatal(err)
	}
	nested := `{
	  "type": "object",
	  "properties": {
	    "query": {"type": "string", "pattern": "^[a-z ]+$"},
	    "filter": {"type": "object", "properties": {"since": {"type": "string", "format": "date"}}},
	    "urls": {"type": "array", "items": {"type": "string", "format": "uri"}, "uniqueItems": true},
	    "count": {"type": "number", "exclusiveMaximum": 10, "multipleOf": 0.5},
	    "kind": {"oneOf": [{"const": "a"}, {"const": "b"}]}
	  },
	  "required": ["query"]
	}`
	if err := r.Register(Tool{Name: "search", Schema: json.RawMessage(nested)}); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(Tool{Name: "open", Schema: json.RawMessage(`{"properties":{"a":{"type":"string"}}}`), AllowAdditionalProperties: true}); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRegistryCheck(t *testing.T) {
	r := newTestRegistry(t)
	tests := []struct {
		name   string
		tool   string
		args   string
		rule   string // "" means valid
		reason string // substring of the reason
		canon  string
	}{
		{name: "valid", tool: "read_document", args: string(benchArgs),
			canon: `{"limit":100,"mode":"read","path":"reports/2026/q3.txt","recursive":false,"tags":["finance","q3"]}`},
		{name: "valid integral float", tool: "read_document", args: `{"path":"a","mode":"read","limit":1e2}`, canon: `{"limit":100,"mode":"read","path":"a"}`},
		{name: "unknown tool", tool: "rm_rf", args: `{}`, rule: "args.unknown_tool"},
		{name: "missing required", tool: "read_document", args: `{"path":"a"}`, rule: "args.schema.required", reason: `missing required field "mode"`},
		{name: "unknown field", tool: "read_document", args: `{"path":"a","mode":"read","sudo":true}`, rule: "args.schema.additionalProperties",
			reason: `unknown field "sudo"; the allowed fields are limit, mode, path, recursive, tags`},
		{name: "case-variant field", tool: "read_document", args: `{"path":"a","mode":"read","Path":"../../etc/passwd"}`, rule: "args.duplicate_key"},
		{name: "duplicate field", tool: "read_document", args: `{"path":"a","mode":"read","path":"/etc/passwd"}`, rule: "args.duplicate_key"},
		{name: "wrong type", tool: "read_document", args: `{"path":1,"mode":"read"}`, rule: "args.schema.type", reason: `argument "/path": must be a string, not a number`},
		{name: "enum", tool: "read_document", args: `{"path":"a","mode":"delete"}`, rule: "args.schema.enum", reason: `must be one of "read", "write", "append"`},
		{name: "maximum", tool: "read_document", args: `{"path":"a","mode":"read","limit":1001}`, rule: "args.schema.maximum", reason: "must be at most 1000"},
		{name: "non integer", tool: "read_document", args: `{"path":"a","mode":"read","limit":1.5}`, rule: "args.schema.type"},
		{name: "too long", tool: "read_document", args: `{"path":"` + strings.Repeat("a", 257) + `","mode":"read"}`, rule: "args.schema.maxLength", reason: "at most 256 characters"},
		{name: "array item", tool: "read_document", args: `{"path":"a","mode":"read","tags":["x",5]}`, rule: "args.schema.type", reason: `"/tags/1"`},
		{name: "not object", tool: "read_document", args: `["a"]`, rule: "args.not_object"},
		{name: "empty args", tool: "read_document", args: ``, rule: "args.not_object"},
		{name: "nested closed", tool: "search", args: `{"query":"a","filter":{"since":"2026-01-01","until":"x"}}`, rule: "args.schema.additionalProperties", reason: `argument "/filter": unknown field "until"`},
		{name: "format date", tool: "search", args: `{"query":"a","filter":{"since":"yesterday"}}`, rule: "args.schema.format", reason: "valid date"},
		{name: "pattern", tool: "search", args: `{"query":"a;b"}`, rule: "args.schema.pattern", reason: "must match the pattern ^[a-z ]+$"},
		{name: "unique", tool: "search", args: `{"query":"a","urls":["https://x.example/","https://x.example/"]}`, rule: "args.schema.uniqueItems"},
		{name: "exclusive max", tool: "search", args: `{"query":"a","count":10}`, rule: "args.schema.exclusiveMaximum"},
		{name: "multiple of", tool: "search", args: `{"query":"a","count":0.3}`, rule: "args.schema.multipleOf"},
		{name: "oneOf", tool: "search", args: `{"query":"a","kind":"c"}`, rule: "args.schema.oneOf"},
		{name: "search valid", tool: "search", args: `{"query":"a b","count":9.5,"kind":"b","urls":["https://x.example/"]}`,
			canon: `{"count":9.5,"kind":"b","query":"a b","urls":["https://x.example/"]}`},
		{name: "opt-out allows extra", tool: "open", args: `{"a":"x","b":[1]}`, canon: `{"a":"x","b":[1]}`},
		{name: "opt-out still no duplicates", tool: "open", args: `{"a":"x","A":"y"}`, rule: "args.duplicate_key"},
		{name: "huge number", tool: "read_document", args: `{"path":"a","mode":"read","limit":1e999999}`, rule: "args.number"},
		{name: "NUL in path", tool: "read_document", args: `{"path":"a\u0000b","mode":"read"}`, rule: "args.nul"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			canon, err := r.Check(tt.tool, json.RawMessage(tt.args))
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if tt.canon != "" && string(canon) != tt.canon {
					t.Errorf("canonical = %s, want %s", canon, tt.canon)
				}
				return
			}
			var d *guard.DenialError
			if !errors.As(err, &d) || !errors.Is(err, guard.ErrDenied) {
				t.Fatalf("Check = %v, want a denial", err)
			}
			if d.Stage != guard.StageArgs || d.Rule != tt.rule {
				t.Errorf("stage/rule = %s/%s, want args/%s (reason %q)", d.Stage, d.Rule, tt.rule, d.Reason)
			}
			if !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("reason %q does not contain %q", d.Reason, tt.reason)
			}
			if canon != nil {
				t.Errorf("canonical args returned with a denial")
			}
		})
	}
}

func TestRegisterErrors(t *testing.T) {
	tests := []struct {
		name string
		tool Tool
	}{
		{"bad name", Tool{Name: "read document", Schema: json.RawMessage(`{}`)}},
		{"empty name", Tool{Name: "", Schema: json.RawMessage(`{}`)}},
		{"no schema", Tool{Name: "t"}},
		{"not an object", Tool{Name: "t", Schema: json.RawMessage(`[]`)}},
		{"string type", Tool{Name: "t", Schema: json.RawMessage(`{"type":"string"}`)}},
		{"type list", Tool{Name: "t", Schema: json.RawMessage(`{"type":["object","null"]}`)}},
		{"old draft", Tool{Name: "t", Schema: json.RawMessage(`{"$schema":"http://json-schema.org/draft-07/schema#"}`)}},
		{"file ref", Tool{Name: "t", Schema: json.RawMessage(`{"properties":{"a":{"$ref":"file:///etc/passwd"}}}`)}},
		{"http ref", Tool{Name: "t", Schema: json.RawMessage(`{"properties":{"a":{"$ref":"https://example.com/s.json"}}}`)}},
		{"invalid keyword value", Tool{Name: "t", Schema: json.RawMessage(`{"properties":{"a":{"maxLength":-1}}}`)}},
		{"bad regex", Tool{Name: "t", Schema: json.RawMessage(`{"properties":{"a":{"pattern":"(?<=x)"}}}`)}},
		{"negative limit", Tool{Name: "t", Schema: json.RawMessage(`{}`), Limits: &Limits{MaxBytes: -1}}},
		{"trailing data", Tool{Name: "t", Schema: json.RawMessage(`{} {}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := NewRegistry(Config{})
			if err := r.Register(tt.tool); err == nil {
				t.Fatal("Register accepted it")
			}
		})
	}
	t.Run("duplicate", func(t *testing.T) {
		r := newTestRegistry(t)
		if err := r.Register(Tool{Name: "search", Schema: json.RawMessage(`{}`)}); err == nil {
			t.Fatal("second registration accepted")
		}
	})
	t.Run("internal ref ok", func(t *testing.T) {
		r, _ := NewRegistry(Config{})
		err := r.Register(Tool{Name: "t", Schema: json.RawMessage(`{"$schema":"https://json-schema.org/draft/2020-12/schema",
			"$defs":{"p":{"type":"object","properties":{"x":{"type":"string"}}}},"properties":{"a":{"$ref":"#/$defs/p"}}}`)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Check("t", json.RawMessage(`{"a":{"x":"1","y":2}}`)); err == nil {
			t.Fatal("$defs object was not closed")
		}
		if _, err := r.Check("t", json.RawMessage(`{"a":{"x":"1"}}`)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("negative registry limits", func(t *testing.T) {
		if _, err := NewRegistry(Config{Limits: Limits{MaxDepth: -2}}); err == nil {
			t.Fatal("accepted")
		}
	})
}

func TestRegistryParameters(t *testing.T) {
	r := newTestRegistry(t)
	p, ok := r.Parameters("search")
	if !ok {
		t.Fatal("no parameters")
	}
	var doc map[string]any
	if err := json.Unmarshal(p, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["additionalProperties"] != false || doc["type"] != "object" {
		t.Errorf("top level not closed: %s", p)
	}
	filter := doc["properties"].(map[string]any)["filter"].(map[string]any)
	if filter["additionalProperties"] != false {
		t.Errorf("nested object not closed: %s", p)
	}
	p[0] = 'X' // callers get a copy
	if p2, _ := r.Parameters("search"); p2[0] != '{' {
		t.Error("Parameters returned shared memory")
	}
	if _, ok := r.Parameters("nope"); ok {
		t.Error("unknown tool has parameters")
	}
	op, _ := r.Parameters("open")
	if strings.Contains(string(op), "additionalProperties") {
		t.Errorf("opt-out tool was closed: %s", op)
	}
	// The effective schema registers again to itself (it is a fixed point).
	p2, _ := r.Parameters("search")
	r2, _ := NewRegistry(Config{})
	must(t, r2.Register(Tool{Name: "again", Schema: p2}))
	if p3, _ := r2.Parameters("again"); string(p3) != string(p2) {
		t.Errorf("effective schema is not a fixed point:\n%s\n%s", p2, p3)
	}
	tools := r.Tools()
	if len(tools) != 3 || tools[0].Name != "open" || tools[1].Name != "read_document" || tools[1].Description != "Read a document." {
		t.Errorf("Tools() = %+v", tools)
	}
}

func TestRegistryMiddleware(t *testing.T) {
	r := newTestRegistry(t)
	mw, err := r.Middleware()
	if err != nil {
		t.Fatal(err)
	}
	var seen json.RawMessage
	h := mw(guard.HandlerFunc(func(_ context.Context, c *guard.Call) (*guard.Result, error) {
		seen = c.Args
		return &guard.Result{Content: "ok"}, nil
	}))
	ctx := context.Background()
	call := &guard.Call{ID: "c1", Tool: "read_document", Args: json.RawMessage(` {"mode":"read", "path":"a.txt", "limit": 2.0} `)}
	if _, err := h.Handle(ctx, call); err != nil {
		t.Fatal(err)
	}
	if string(seen) != `{"limit":2,"mode":"read","path":"a.txt"}` {
		t.Errorf("tool saw %s, want canonical args", seen)
	}
	if string(call.Args) != ` {"mode":"read", "path":"a.txt", "limit": 2.0} ` {
		t.Error("middleware mutated the caller's call")
	}
	seen = nil
	_, err = h.Handle(ctx, &guard.Call{ID: "c2", Tool: "read_document", Args: json.RawMessage(`{"mode":"read","path":"a","path":"b"}`)})
	var d *guard.DenialError
	if !errors.As(err, &d) || d.CallID != "c2" || d.Tool != "read_document" || d.Stage != guard.StageArgs {
		t.Fatalf("err = %#v", err)
	}
	if seen != nil {
		t.Error("tool ran on a denied call")
	}
	if !strings.Contains(d.ModelMessage(), `"path" more than once`) {
		t.Errorf("model message %q does not explain the problem", d.ModelMessage())
	}
	var nilReg *Registry
	if _, err := nilReg.Middleware(); !errors.Is(err, guard.ErrNilPolicy) {
		t.Errorf("nil registry middleware: %v", err)
	}
	if err := r.ValidateArgs(ctx, &guard.Call{Tool: "search", Args: json.RawMessage(`{"query":"ok"}`)}); err != nil {
		t.Errorf("ValidateArgs: %v", err)
	}
	if _, err := r.NormalizeArgs(ctx, nil); err == nil {
		t.Error("nil call accepted")
	}
}

// TestRegistryConcurrent registers and validates at the same time (run with -race).
func TestRegistryConcurrent(t *testing.T) {
	r := newTestRegistry(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 20 {
			_ = r.Register(Tool{Name: "t" + string(rune('a'+i)), Schema: json.RawMessage(`{}`)})
		}
	}()
	for range 200 {
		if _, err := r.Check("read_document", benchArgs); err != nil {
			t.Fatal(err)
		}
	}
	<-done
}

func TestCloseObjectsComposition(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		ok     []string
		bad    []string
	}{
		{"top-level ref", `{"$ref":"#/$defs/a","$defs":{"a":{"type":"object","properties":{"x":{"type":"string"}}}}}`,
			[]string{`{"x":"1"}`}, []string{`{"x":"1","y":2}`}},
		{"allOf merge", `{"allOf":[{"properties":{"a":{"type":"string"}}},{"properties":{"b":{"type":"string"}}}]}`,
			[]string{`{"a":"1","b":"2"}`}, []string{`{"a":"1","c":3}`}},
		{"properties plus oneOf", `{"properties":{"kind":{"enum":["x","y"]}},"oneOf":[{"properties":{"kind":{"const":"x"},"x":{"type":"integer"}}},{"properties":{"kind":{"const":"y"},"y":{"type":"integer"}}}]}`,
			[]string{`{"kind":"x","x":1}`, `{"kind":"y","y":2}`}, []string{`{"kind":"x","x":1,"z":0}`}},
		{"alternatives as value", `{"properties":{"v":{"oneOf":[{"type":"object","properties":{"a":{"type":"string"}}},{"type":"string"}]}}}`,
			[]string{`{"v":{"a":"1"}}`, `{"v":"s"}`}, []string{`{"v":{"a":"1","b":2}}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := NewRegistry(Config{})
			if err := r.Register(Tool{Name: "t", Schema: json.RawMessage(tt.schema)}); err != nil {
				t.Fatal(err)
			}
			for _, a := range tt.ok {
				if _, err := r.Check("t", json.RawMessage(a)); err != nil {
					t.Errorf("Check(%s): %v", a, err)
				}
			}
			for _, a := range tt.bad {
				_, err := r.Check("t", json.RawMessage(a))
				var d *guard.DenialError
				if !errors.As(err, &d) {
					t.Errorf("Check(%s) accepted an extra field", a)
					continue
				}
				if !strings.Contains(d.Reason, "not an allowed field") && !strings.Contains(d.Reason, "unknown field") && !strings.Contains(d.Reason, "allowed forms") {
					t.Errorf("Check(%s): reason %q does not name the extra field", a, d.Reason)
				}
			}
		})
	}
}

// FuzzRegistryCheck runs arbitrary arguments through every test tool: no panic,
// every refusal is a denial at the args stage, and accepted arguments come back
// canonical — valid again, byte-identical when re-checked, free of duplicates.
func FuzzRegistryCheck(f *testing.F) {
	for _, s := range append(scanSeeds, string(benchArgs), `{"query":"a","filter":{"since":"2026-01-01"}}`, `{"a":"x","b":{"c":[1,2]}}`) {
		f.Add(uint8(0), s)
		f.Add(uint8(1), s)
		f.Add(uint8(2), s)
	}
	r := newTestRegistry(f)
	names := []string{"read_document", "search", "open"}
	f.Fuzz(func(t *testing.T, which uint8, args string) {
		name := names[int(which)%len(names)]
		canon, err := r.Check(name, json.RawMessage(args))
		if err != nil {
			var d *guard.DenialError
			if !errors.As(err, &d) || d.Stage != guard.StageArgs || d.Reason == "" {
				t.Fatalf("refusal is not an args denial with a reason: %#v", err)
			}
			return
		}
		again, err := r.Check(name, canon)
		if err != nil {
			t.Fatalf("canonical %s of %q does not validate: %v", canon, args, err)
		}
		if string(again) != string(canon) {
			t.Fatalf("not idempotent: %s then %s", canon, again)
		}
	})
}

func TestDomainFormats(t *testing.T) {
	urls, err := NewURLChecker(URLPolicy{Hosts: []string{"docs.example.com"}})
	must(t, err)
	schema := json.RawMessage(`{"properties":{
		"path":{"type":"string","format":"confined-path"},
		"ref":{"type":"string","format":"ident"},
		"msg":{"type":"string","format":"noshell"},
		"url":{"type":"string","format":"safe-url"}}}`)
	withURLs, err := NewRegistry(Config{URLs: urls})
	must(t, err)
	must(t, withURLs.Register(Tool{Name: "t", Schema: schema}))
	noURLs, err := NewRegistry(Config{})
	must(t, err)
	must(t, noURLs.Register(Tool{Name: "t", Schema: schema}))
	tests := []struct {
		name   string
		r      *Registry
		args   string
		reason string // "" means valid
	}{
		{"valid", withURLs, `{"path":"a/b.txt","ref":"main","msg":"hello world","url":"https://docs.example.com/x"}`, ""},
		{"dotdot", withURLs, `{"path":"../../etc/passwd"}`, `argument "/path": is not a path inside the allowed folder: it must not contain '..'`},
		{"look-alike", withURLs, `{"path":"\uff0e\uff0e/x"}`, "look like"},
		{"ident", withURLs, `{"ref":"--upload-pack=x"}`, `argument "/ref": must be an identifier`},
		{"noshell", withURLs, `{"msg":"$(id)"}`, `argument "/msg": must not contain shell special characters`},
		{"url host", withURLs, `{"url":"https://evil.example/"}`, `url host "evil.example" is not allowed`},
		{"url ip", withURLs, `{"url":"https://0x7f.1/"}`, "not an IP address"},
		{"no policy", noURLs, `{"url":"https://docs.example.com/"}`, `argument "/url": must be a URL on an allowed host`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.r.Check("t", json.RawMessage(tt.args))
			if tt.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var d *guard.DenialError
			if !errors.As(err, &d) || d.Rule != "args.schema.format" {
				t.Fatalf("Check = %v, want a format denial", err)
			}
			if !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("reason %q does not contain %q", d.Reason, tt.reason)
			}
		})
	}
}

func TestSchemaMessages(t *testing.T) {
	r, err := NewRegistry(Config{})
	must(t, err)
	must(t, r.Register(Tool{Name: "t", Schema: json.RawMessage(`{
		"properties": {
			"s":   {"type": "string", "minLength": 3},
			"a":   {"type": "array", "minItems": 2, "maxItems": 3, "contains": {"const": "x"}},
			"o":   {"type": "object", "minProperties": 1, "maxProperties": 1, "propertyNames": {"pattern": "^[a-z]+$"}, "additionalProperties": true},
			"c":   {"const": "fixed"},
			"n":   {"type": "number", "minimum": 1.5, "exclusiveMinimum": 1},
			"x":   {"type": "integer", "exclusiveMinimum": 0},
			"no":  {"not": {"const": "bad"}},
			"f":   false,
			"e":   {"enum": [1, "two", null]},
			"b64": {"type": "string", "contentEncoding": "base64"}
		},
		"dependentRequired": {"s": ["c"]}
	}`)}))
	tests := []struct{ args, rule, msg string }{
		{`{"s":"ab","c":"fixed"}`, "minLength", `argument "/s": must be at least 3 characters long`},
		{`{"a":["x"]}`, "minItems", "must have at least 2 items"},
		{`{"a":["x","y","z","w"]}`, "maxItems", "must have at most 3 items (it has 4)"},
		{`{"a":["y","z"]}`, "contains", "must contain an item that matches the schema"},
		{`{"o":{}}`, "minProperties", "must have at least 1 field"},
		{`{"o":{"a":1,"b":2}}`, "maxProperties", "must have at most 1 field"},
		{`{"o":{"A":1}}`, "propertyNames", `has an invalid field name "A"`},
		{`{"c":"other"}`, "const", `must be "fixed"`},
		{`{"n":1.2}`, "minimum", "must be at least 1.5"},
		{`{"x":0}`, "exclusiveMinimum", "must be greater than 0"},
		{`{"no":"bad"}`, "not", "must not have"},
		{`{"f":1}`, "false", "is not allowed here"},
		{`{"e":2}`, "enum", `must be one of 1, "two", null`},
		{`{"s":"abc"}`, "dependentRequired", `field "s" requires "c"`},
		{`{"s":[1]}`, "type", "must be a string, not an array"},
		{`{"b64":"!!not base64!!"}`, "contentEncoding", "must be base64-encoded"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			_, err := r.Check("t", json.RawMessage(tt.args))
			var d *guard.DenialError
			if !errors.As(err, &d) {
				t.Fatalf("Check(%s) = %v", tt.args, err)
			}
			var se *SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("no SchemaError in %#v", err)
			}
			if !strings.Contains(d.Reason, tt.msg) {
				t.Errorf("reason %q does not contain %q", d.Reason, tt.msg)
			}
		})
	}
}
