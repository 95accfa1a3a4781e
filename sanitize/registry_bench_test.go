package sanitize

import (
	"encoding/json"
	"testing"
)

const benchSchema = `{
  "type": "object",
  "properties": {
    "path":     {"type": "string", "minLength": 1, "maxLength": 256},
    "mode":     {"enum": ["read", "write", "append"]},
    "limit":    {"type": "integer", "minimum": 1, "maximum": 1000},
    "recursive":{"type": "boolean"},
    "tags":     {"type": "array", "items": {"type": "string", "maxLength": 32}, "maxItems": 8}
  },
  "required": ["path", "mode"]
}`

var benchArgs = json.RawMessage(`{"path":"reports/2026/q3.txt","mode":"read","limit":100,"recursive":false,"tags":["finance","q3"]}`)

func benchRegistry(b *testing.B) *Registry {
	b.Helper()
	r, err := NewRegistry(Config{})
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Register(Tool{Name: "read_document", Schema: json.RawMessage(benchSchema)}); err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkRegistryCheck validates and canonicalises a typical five-field
// arguments object (the target is ≤ 5 µs).
func BenchmarkRegistryCheck(b *testing.B) {
	r := benchRegistry(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Check("read_document", benchArgs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScan measures the streaming pre-scan alone.
func BenchmarkScan(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Scan(benchArgs, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

type benchTypedArgs struct {
	Path      string   `json:"path" validate:"required,confined,max=256"`
	Mode      string   `json:"mode" validate:"required,oneof=read write append"`
	Limit     int      `json:"limit" validate:"gte=1,lte=1000"`
	Recursive bool     `json:"recursive"`
	Tags      []string `json:"tags" validate:"max=8,dive,ident"`
}

// BenchmarkDecodeTyped decodes and validates the same five fields into a struct
// with validator/v10 tags.
func BenchmarkDecodeTyped(b *testing.B) {
	v, err := NewValidator(ValidatorConfig{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode[benchTypedArgs](ctx, v, benchArgs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRegistryCheckFullValidator measures the same check with the fast
// evaluator disabled (a schema outside its subset takes this path).
func BenchmarkRegistryCheckFullValidator(b *testing.B) {
	r := benchRegistry(b)
	r.tools["read_document"].fast = nil
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Check("read_document", benchArgs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseCommandLine(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCommandLine(`grep -n -i "quarterly report" notes/q3.txt`); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkURLCheck(b *testing.B) {
	c, err := NewURLChecker(URLPolicy{Hosts: []string{"api.example.com"}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Check("https://api.example.com/v1/items?q=report&page=2"); err != nil {
			b.Fatal(err)
		}
	}
}
