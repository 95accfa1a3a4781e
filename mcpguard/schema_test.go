package mcpguard_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/guardtest"
	"github.com/agentguard/agentguard/mcpguard"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const refundSchema = `{"type":"object","properties":{"order_id":{"type":"string","pattern":"^ORD-[0-9]{4}$"},"amount":{"type":"number","exclusiveMinimum":0,"maximum":500},"tags":{"type":"array","items":{"type":"string"},"maxItems":3}},"required":["order_id","amount"],"additionalProperties":false}`

func newValidator(t testing.TB) *mcpguard.SchemaValidator {
	t.Helper()
	v, err := mcpguard.NewSchemaValidator(func(_ context.Context, name string) (*mcp.Tool, error) {
		if name == "refund_order" {
			return &mcp.Tool{Name: name, InputSchema: json.RawMessage(refundSchema)}, nil
		}
		return nil, errors.New("unknown tool")
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSchemaValidatorCheck(t *testing.T) {
	v := newValidator(t)
	for _, tc := range []struct {
		name, args string
		canon      string // empty: must be refused
		reason     string // substring of the denial reason
	}{
		{"valid", `{"order_id":"ORD-0001","amount":5}`, `{"amount":5,"order_id":"ORD-0001"}`, ""},
		{"valid_whitespace", " {\n\"amount\": 1e2, \"order_id\":\"ORD-0001\"}\t", `{"amount":1e2,"order_id":"ORD-0001"}`, ""},
		{"number_kept_as_written", `{"order_id":"ORD-0001","amount":0.1000000000000000055511151231257827}`, `{"amount":0.1000000000000000055511151231257827,"order_id":"ORD-0001"}`, ""},
		{"html_not_escaped", `{"order_id":"ORD-0001","amount":1,"tags":["<a>&"]}`, `{"amount":1,"order_id":"ORD-0001","tags":["<a>&"]}`, ""},
		{"over_max", `{"order_id":"ORD-0001","amount":500.01}`, "", "/amount"},
		{"zero", `{"order_id":"ORD-0001","amount":0}`, "", "/amount"},
		{"pattern", `{"order_id":"ORD-1","amount":1}`, "", "/order_id"},
		{"pattern_newline", `{"order_id":"ORD-0001\n","amount":1}`, "", "/order_id"},
		{"extra", `{"order_id":"ORD-0001","amount":1,"x":1}`, "", "additional"},
		{"missing", `{"amount":1}`, "", "order_id"},
		{"too_many_items", `{"order_id":"ORD-0001","amount":1,"tags":["a","b","c","d"]}`, "", "/tags"},
		{"duplicate_key", `{"order_id":"ORD-0001","amount":1,"amount":1000}`, "", "duplicate"},
		{"duplicate_nested_key", `{"order_id":"ORD-0001","amount":1,"tags":[],"x":{"a":1,"a":2}}`, "", "duplicate"},
		{"escaped_duplicate_key", `{"order_id":"ORD-0001","amount":1,"amo\u0075nt":1000}`, "", "duplicate"},
		{"array", `[]`, "", "object"},
		{"string", `"x"`, "", "object"},
		{"trailing_data", `{"order_id":"ORD-0001","amount":1} {"amount":1000}`, "", "trailing"},
		{"truncated", `{"order_id":"ORD-0001","amount":1`, "", "JSON"},
		{"invalid_utf8", "{\"order_id\":\"ORD-0001\xff\",\"amount\":1}", "", "UTF-8"},
		{"deep", strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100), "", "nesting"},
		{"empty_is_object", ``, "", "order_id"},
		{"null_is_object", `null`, "", "order_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &guard.Call{Tool: "refund_order", Args: json.RawMessage(tc.args)}
			got, err := v.NormalizeArgs(context.Background(), c)
			if tc.canon != "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if string(got) != tc.canon {
					t.Fatalf("canonical %s, want %s", got, tc.canon)
				}
				return
			}
			var d *guard.DenialError
			if !errors.As(err, &d) || !errors.Is(err, guard.ErrDenied) {
				t.Fatalf("err %v, want a denial", err)
			}
			if !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("reason %q does not mention %q", d.Reason, tc.reason)
			}
		})
	}
}

func TestSchemaValidatorUnknownTool(t *testing.T) {
	err := newValidator(t).ValidateArgs(context.Background(), &guard.Call{Tool: "x", Args: json.RawMessage(`{}`)})
	if !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("unknown tool: %v", err)
	}
}

func TestSchemaValidatorTooLarge(t *testing.T) {
	args := `{"order_id":"ORD-0001","amount":1,"pad":"` + strings.Repeat("a", mcpguard.MaxArgBytes) + `"}`
	if _, err := newValidator(t).Check(json.RawMessage(refundSchema), json.RawMessage(args)); !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("oversized arguments: %v", err)
	}
}

func TestCheckSchemaRefusals(t *testing.T) {
	for _, tc := range []struct{ name, schema string }{
		{"remote_ref", `{"type":"object","properties":{"a":{"$ref":"https://attacker.example/s.json"}}}`},
		{"file_ref", `{"type":"object","properties":{"a":{"$ref":"file:///etc/passwd"}}}`},
		{"remote_metaschema", `{"$schema":"https://attacker.example/meta","type":"object"}`},
		{"not_object_type", `{"type":"string"}`},
		{"no_type", `{"properties":{}}`},
		{"array", `[]`},
		{"bad_regex", `{"type":"object","properties":{"a":{"type":"string","pattern":"("}}}`},
		{"duplicate_key", `{"type":"object","type":"object"}`},
		{"not_json", `{`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := mcpguard.CheckSchema([]byte(tc.schema)); err == nil {
				t.Fatal("compiled")
			}
		})
	}
	// A local $ref and older drafts are fine.
	for _, s := range []string{
		`{"type":"object","$defs":{"id":{"type":"string"}},"properties":{"a":{"$ref":"#/$defs/id"}}}`,
		`{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","definitions":{"id":{"type":"string"}},"properties":{"a":{"$ref":"#/definitions/id"}}}`,
	} {
		if err := mcpguard.CheckSchema([]byte(s)); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestSchemaValidatorBadSchemaDenies(t *testing.T) {
	v := newValidator(t)
	_, err := v.Check(json.RawMessage(`{"type":"object","properties":{"a":{"$ref":"http://127.0.0.1:1/x"}}}`), json.RawMessage(`{}`))
	if !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("unusable schema: %v", err)
	}
	if _, err := v.Check(nil, json.RawMessage(`{}`)); !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("nil schema: %v", err)
	}
}

func TestNewSchemaValidatorNil(t *testing.T) {
	if _, err := mcpguard.NewSchemaValidator(nil); !errors.Is(err, guard.ErrNilPolicy) {
		t.Fatalf("nil lookup: %v", err)
	}
}

// FuzzSchemaCheck: the validator never panics, and what it accepts it accepts
// again in canonical form, unchanged (canonicalisation is idempotent and the
// canonical form is what was validated).
func FuzzSchemaCheck(f *testing.F) {
	for _, s := range []string{
		`{"order_id":"ORD-0001","amount":5}`, `{"order_id":"ORD-0001","amount":5,"amount":6}`,
		`{"order_id":"ORD-0001","amount":1e308,"tags":["x"]}`, `[]`, `null`, ``, `{"a":{"b":[1,2,{"c":null}]}}`,
		"{\"order_id\":\"ORD-0001\",\"amount\":1,\"tags\":[\"\\u0000\"]}", `{"order_id":"ORD-0001","amount":-0}`,
	} {
		f.Add(s)
	}
	v := newValidator(f)
	schema := json.RawMessage(refundSchema)
	f.Fuzz(func(t *testing.T, args string) {
		canon, err := v.Check(schema, json.RawMessage(args))
		if err != nil {
			if !errors.Is(err, guard.ErrDenied) {
				t.Fatalf("non-denial error %v", err)
			}
			return
		}
		again, err := v.Check(schema, canon)
		if err != nil {
			t.Fatalf("canonical form %s refused: %v", canon, err)
		}
		if string(again) != string(canon) {
			t.Fatalf("not idempotent: %s -> %s", canon, again)
		}
		if !json.Valid(canon) {
			t.Fatalf("invalid canonical JSON %s", canon)
		}
	})
}

func TestSchemaValidatorConformance(t *testing.T) {
	mk := func(args string) *guard.Call {
		return &guard.Call{ID: "c1", Tool: "refund_order", Args: json.RawMessage(args), Principal: guard.Principal{Role: "support"}}
	}
	guardtest.TestArgValidator(t, newValidator(t), guardtest.ArgValidatorCases{
		Valid: []*guard.Call{mk(`{"order_id":"ORD-0001","amount":5}`), mk(`{"order_id":"ORD-9999","amount":500,"tags":["a"]}`)},
		Invalid: []*guard.Call{
			mk(`{"order_id":"ORD-0001","amount":501}`), mk(`{"order_id":"ORD-0001","amount":1,"amount":1}`),
			mk(`{"order_id":"ORD-0001"}`), mk(`[]`), mk(`{"order_id":"ORD-0001","amount":1,"x":0}`),
			{ID: "c2", Tool: "unknown_tool", Args: json.RawMessage(`{}`)},
		},
	})
}

// FuzzCheckSchema: schemas come from untrusted servers; checking one never
// panics and never loads anything, and a usable schema validates "{}" without
// panicking.
func FuzzCheckSchema(f *testing.F) {
	for _, s := range []string{
		refundSchema, `{"type":"object"}`, `{"type":"object","$ref":"#/$defs/a","$defs":{"a":{"$ref":"#/$defs/a"}}}`,
		`{"type":"object","properties":{"a":{"pattern":"(a+)+$"}}}`, `{"$schema":"http://json-schema.org/draft-04/schema#","type":"object"}`,
		`{"type":"object","$id":"http://x.example/s","properties":{"a":{"$ref":"other.json"}}}`, `{"type":"object","format":"email"}`,
	} {
		f.Add(s)
	}
	v := newValidator(f)
	f.Fuzz(func(t *testing.T, schema string) {
		if mcpguard.CheckSchema([]byte(schema)) != nil {
			return
		}
		if _, err := v.Check(json.RawMessage(schema), json.RawMessage(`{}`)); err != nil && !errors.Is(err, guard.ErrDenied) {
			t.Fatalf("non-denial error %v", err)
		}
		_ = mcpguard.DefinitionText(&mcp.Tool{Name: "t", InputSchema: json.RawMessage(schema)})
	})
}
