package mcpguard

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/agentguard/agentguard/guard"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// MaxArgBytes bounds the size of one call's arguments. Larger arguments are refused
// before they are parsed.
const MaxArgBytes = 1 << 20

// maxCachedSchemas bounds the compiled-schema cache of a [SchemaValidator].
const maxCachedSchemas = 1024

// ToolLookup returns the definition of the tool a call names, or an error when the
// tool is unknown. The definition's InputSchema is what arguments are checked
// against.
type ToolLookup func(ctx context.Context, name string) (*mcp.Tool, error)

// SchemaValidator checks a call's arguments against its tool's input schema (any
// JSON Schema draft from 4 to 2020-12; 2020-12 when the schema names none) and
// passes on a canonical re-encoding of the arguments. It is a [guard.ArgValidator]
// and a [guard.ArgNormalizer], so [guard.ValidateArgs] forwards exactly the bytes
// that were validated.
//
// Arguments must be a JSON object; duplicate keys, invalid UTF-8, nesting deeper
// than 64 and arguments over [MaxArgBytes] are refused (parsers disagree on
// them). Schemas may not load anything: a "$ref" to any URL outside the schema
// fails compilation, and a tool whose schema does not compile cannot be called.
// Regular expressions use Go's RE2 engine (linear time). Compiled schemas are
// cached by digest.
type SchemaValidator struct {
	lookup ToolLookup

	mu    sync.Mutex
	cache map[[32]byte]*jsonschema.Schema
}

var (
	_ guard.ArgValidator  = (*SchemaValidator)(nil)
	_ guard.ArgNormalizer = (*SchemaValidator)(nil)
)

// NewSchemaValidator returns a validator that finds each call's tool with lookup.
// A nil lookup is an error.
func NewSchemaValidator(lookup ToolLookup) (*SchemaValidator, error) {
	if lookup == nil {
		return nil, fmt.Errorf("mcpguard: schema validator: nil tool lookup: %w", guard.ErrNilPolicy)
	}
	return &SchemaValidator{lookup: lookup, cache: map[[32]byte]*jsonschema.Schema{}}, nil
}

// ValidateArgs implements [guard.ArgValidator].
func (v *SchemaValidator) ValidateArgs(ctx context.Context, c *guard.Call) error {
	_, err := v.NormalizeArgs(ctx, c)
	return err
}

// NormalizeArgs implements [guard.ArgNormalizer]: it validates c's arguments and
// returns their canonical encoding.
func (v *SchemaValidator) NormalizeArgs(ctx context.Context, c *guard.Call) (json.RawMessage, error) {
	if c == nil {
		return nil, guard.Deny("schema.call", "nil call")
	}
	t, err := v.lookup(ctx, c.Tool)
	if err != nil || t == nil {
		// Reported as a policy refusal: the model is told the call was refused,
		// not that its arguments were wrong.
		return nil, &guard.DenialError{Stage: guard.StageScope, Rule: "schema.unknown_tool", Reason: "no definition for this tool", Err: err}
	}
	return v.Check(t.InputSchema, c.Args)
}

// Check validates args against schema and returns the canonical arguments. It is
// the pure form of [SchemaValidator.NormalizeArgs]. A denial's reason names the
// failing location and rule and is written so the model can fix the call.
func (v *SchemaValidator) Check(schema any, args json.RawMessage) (json.RawMessage, error) {
	sch, err := v.compile(schema)
	if err != nil {
		return nil, &guard.DenialError{Rule: "schema.invalid_schema", Reason: "the tool's input schema is unusable", Err: err}
	}
	if len(args) > MaxArgBytes {
		return nil, guard.Deny("schema.size", fmt.Sprintf("arguments exceed %d bytes", MaxArgBytes))
	}
	trimmed := strings.TrimSpace(string(args))
	if trimmed == "" || trimmed == "null" {
		args = json.RawMessage("{}")
	}
	inst, err := decodeStrict(args)
	if err != nil {
		return nil, guard.Deny("schema.json", "arguments are not valid JSON: "+oneLine(err.Error()))
	}
	if _, ok := inst.(map[string]any); !ok {
		return nil, guard.Deny("schema.type", "arguments must be a JSON object")
	}
	if err := sch.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return nil, guard.Deny("schema.validation", describeValidation(ve))
		}
		return nil, &guard.DenialError{Rule: "schema.validation", Reason: "arguments do not match the schema", Err: err}
	}
	canon, err := canonicalJSON(inst)
	if err != nil {
		return nil, &guard.DenialError{Rule: "schema.json", Reason: "arguments could not be re-encoded", Err: err}
	}
	return canon, nil
}

// compile returns the compiled form of schema, from the cache when it was seen.
func (v *SchemaValidator) compile(schema any) (*jsonschema.Schema, error) {
	if schema == nil {
		return nil, errors.New("no input schema")
	}
	raw, err := json.Marshal(schema)
	if err != nil {
		return nil, fmt.Errorf("marshal schema: %w", err)
	}
	key := sha256.Sum256(raw)
	v.mu.Lock()
	sch, ok := v.cache[key]
	v.mu.Unlock()
	if ok {
		return sch, nil
	}
	sch, err = compileSchema(raw)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	if len(v.cache) >= maxCachedSchemas {
		clear(v.cache)
	}
	v.cache[key] = sch
	v.mu.Unlock()
	return sch, nil
}

// CheckSchema reports whether raw is a usable tool input schema: a JSON object
// whose "type" is "object" (as MCP requires), in a JSON Schema draft from 4 to
// 2020-12, that compiles without loading any other resource. A tool whose schema
// fails this check cannot be called through a [ServerGuard] and is refused by an
// [Inspector].
func CheckSchema(raw []byte) error {
	_, err := compileSchema(raw)
	return err
}

func compileSchema(raw []byte) (*jsonschema.Schema, error) {
	doc, err := decodeStrict(raw)
	if err != nil {
		return nil, fmt.Errorf("schema is not valid JSON: %w", err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, errors.New("schema is not a JSON object")
	}
	if t := obj["type"]; t != "object" {
		return nil, fmt.Errorf("input schema type is %v, want \"object\"", t)
	}
	const loc = "urn:agentguard:mcp:tool-input"
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	if err := c.AddResource(loc, doc); err != nil {
		return nil, fmt.Errorf("add schema: %w", err)
	}
	sch, err := c.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("compile schema: %w", err)
	}
	return sch, nil
}

// noLoader refuses every external schema: a tool's schema is self-contained or
// unusable. Loading would be file or network access chosen by a server.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("mcpguard: schema may not load %q", truncate(url, 100))
}

var printer = message.NewPrinter(language.English)

// describeValidation summarises a validation error for the model: up to three
// leaf failures, each with its instance location.
func describeValidation(ve *jsonschema.ValidationError) string {
	var leaves []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			loc := "/" + strings.Join(e.InstanceLocation, "/")
			leaves = append(leaves, fmt.Sprintf("at %q: %s", loc, truncate(e.ErrorKind.LocalizedString(printer), 200)))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	sort.Strings(leaves)
	leaves = compactStrings(leaves)
	if len(leaves) > 3 {
		leaves = append(leaves[:3], fmt.Sprintf("and %d more", len(leaves)-3))
	}
	return strings.Join(leaves, "; ")
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}
