package sanitize

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/agentguard/agentguard/guard"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// draft202012 is the only "$schema" a tool schema may declare.
const draft202012 = "https://json-schema.org/draft/2020-12/schema"

// maxSchemaBytes bounds a registered schema.
const maxSchemaBytes = 256 << 10

var toolNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Config configures a [Registry]. The zero Config is the strictest: default
// [Limits] for every tool, and the "safe-url" format refuses every URL.
type Config struct {
	// Limits bound every tool's arguments unless the tool sets its own.
	Limits Limits
	// URLs is the policy of the "safe-url" schema format. Nil refuses every URL.
	URLs *URLChecker
}

// Tool is one tool's argument contract, registered once with [Registry.Register].
type Tool struct {
	// Name is the tool name the model calls, 1-64 characters of [A-Za-z0-9_-]
	// (the OpenAI function-name alphabet).
	Name string
	// Description is shown to the model with the schema. Optional.
	Description string
	// Schema is a JSON Schema (draft 2020-12) for the arguments object. It must
	// describe an object; "type": "object" is added when missing. A "$schema"
	// other than draft 2020-12 is refused, and "$ref" can point only inside the
	// schema (nothing is loaded from files or the network). "format",
	// "contentEncoding" and "contentMediaType" are asserted, not mere
	// annotations; besides the standard formats, "confined-path", "ident",
	// "noshell" and "safe-url" are available.
	Schema json.RawMessage
	// AllowAdditionalProperties opts the tool out of the default
	// "additionalProperties": false. By default every object schema that says
	// nothing about additional properties (no additionalProperties,
	// unevaluatedProperties or patternProperties) is closed: fields the schema
	// does not name are refused. (Object schemas that combine subschemas with
	// $ref, allOf, anyOf, oneOf or if are closed with "unevaluatedProperties":
	// false, which sees the members those declare.)
	AllowAdditionalProperties bool
	// Limits overrides the registry's limits for this tool when non-nil. Zero
	// fields take the package defaults, not the registry's.
	Limits *Limits
}

// ToolInfo is what a model is shown for a tool: its name, description and the
// effective parameter schema (with the injected "additionalProperties": false),
// ready for go-openai's FunctionDefinition.Parameters or an MCP tool's
// InputSchema.
type ToolInfo struct {
	Name        string
	Description string
	Parameters  json.RawMessage
}

type tool struct {
	info     ToolInfo
	schema   *jsonschema.Schema
	fast     *fastSchema // nil when the schema is outside the fast subset
	limits   Limits
	topProps []string // property names of the top-level schema, for messages
}

// Registry holds the argument schema of every tool and validates calls against
// them. It implements [guard.ArgValidator] and [guard.ArgNormalizer]: a call to
// an unregistered tool is refused (fail closed). A Registry is safe for
// concurrent use, including registration while calls are validated.
type Registry struct {
	limits  Limits
	formats []*jsonschema.Format
	mu      sync.RWMutex
	tools   map[string]*tool
}

var (
	_ guard.ArgValidator  = (*Registry)(nil)
	_ guard.ArgNormalizer = (*Registry)(nil)
)

// NewRegistry returns an empty registry. It fails on invalid limits.
func NewRegistry(cfg Config) (*Registry, error) {
	lim, err := cfg.Limits.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Registry{limits: lim, tools: make(map[string]*tool), formats: domainFormats(cfg.URLs)}, nil
}

// domainFormats are the schema formats this package adds, asserted like the
// standard ones: "confined-path" ([CheckLocalPath]), "ident", "noshell" and
// "safe-url" (the configured [URLChecker]; without one every URL is refused).
// They apply to strings only, as JSON Schema formats do.
func domainFormats(urls *URLChecker) []*jsonschema.Format {
	str := func(f func(string) error) func(any) error {
		return func(v any) error {
			s, ok := v.(string)
			if !ok {
				return nil
			}
			return f(s)
		}
	}
	return []*jsonschema.Format{
		{Name: "confined-path", Validate: str(CheckLocalPath)},
		{Name: "ident", Validate: str(func(s string) error {
			if !identRE.MatchString(s) {
				return errors.New("not an identifier")
			}
			return nil
		})},
		{Name: "noshell", Validate: str(func(s string) error {
			if !noShell(s) {
				return errors.New("contains shell special characters")
			}
			return nil
		})},
		{Name: "safe-url", Validate: str(func(s string) error {
			if urls == nil {
				return errors.New("no URL policy configured")
			}
			_, err := urls.Check(s)
			return err
		})},
	}
}

// Register compiles t's schema and adds the tool. Registering a name twice is an
// error, as is a schema that does not compile, does not describe an object, or
// refers to anything outside itself.
func (r *Registry) Register(t Tool) error {
	if !toolNameRE.MatchString(t.Name) {
		return fmt.Errorf("sanitize: register: invalid tool name %q (want 1-64 of [A-Za-z0-9_-])", t.Name)
	}
	lim := r.limits
	if t.Limits != nil {
		var err error
		if lim, err = t.Limits.withDefaults(); err != nil {
			return fmt.Errorf("sanitize: register %q: %w", t.Name, err)
		}
	}
	doc, err := prepareSchema(t.Schema, !t.AllowAdditionalProperties)
	if err != nil {
		return fmt.Errorf("sanitize: register %q: %w", t.Name, err)
	}
	params, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("sanitize: register %q: encoding schema: %w", t.Name, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.AssertContent()
	c.UseLoader(noLoader{})
	for _, f := range r.formats {
		c.RegisterFormat(f)
	}
	loc := "urn:agentguard:tool:" + t.Name
	if err := c.AddResource(loc, doc); err != nil {
		return fmt.Errorf("sanitize: register %q: %w", t.Name, err)
	}
	sch, err := c.Compile(loc)
	if err != nil {
		return fmt.Errorf("sanitize: register %q: compiling schema: %w", t.Name, err)
	}
	var props []string
	if p, ok := doc["properties"].(map[string]any); ok {
		props = slices.Sorted(maps.Keys(p))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.tools[t.Name]; dup {
		return fmt.Errorf("sanitize: register: tool %q already registered", t.Name)
	}
	r.tools[t.Name] = &tool{
		info:     ToolInfo{Name: t.Name, Description: t.Description, Parameters: params},
		schema:   sch,
		fast:     compileFast(doc),
		limits:   lim,
		topProps: props,
	}
	return nil
}

// noLoader refuses every external schema: a tool schema is self-contained.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("loading %q refused: tool schemas must be self-contained", url)
}

// prepareSchema parses a schema, checks its draft and top-level type, and closes
// object schemas when closed is set.
func prepareSchema(raw json.RawMessage, closed bool) (map[string]any, error) {
	if len(raw) == 0 {
		return nil, errors.New("empty schema")
	}
	if len(raw) > maxSchemaBytes {
		return nil, fmt.Errorf("schema larger than %d bytes", maxSchemaBytes)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing schema: %w", err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("schema must be a JSON object")
	}
	if s, ok := doc["$schema"]; ok && s != draft202012 && s != draft202012+"#" {
		return nil, fmt.Errorf("schema declares %v; only draft 2020-12 (%s) is supported", s, draft202012)
	}
	switch ty := doc["type"].(type) {
	case nil:
		doc["type"] = "object"
	case string:
		if ty != "object" {
			return nil, fmt.Errorf("schema type is %q; tool arguments must be an object", ty)
		}
	default:
		return nil, errors.New(`schema "type" must be "object"`)
	}
	if closed {
		closeObjects(doc)
	}
	return doc, nil
}

// closeObjects closes every object schema that says nothing about extra members
// (no additionalProperties, unevaluatedProperties or patternProperties). A plain
// object schema gets "additionalProperties": false, the form model providers
// understand. One that also uses $ref, allOf, anyOf, oneOf, if or
// dependentSchemas gets "unevaluatedProperties": false instead, because
// additionalProperties does not see the members those keywords declare and
// would refuse them all. It follows properties, items, prefixItems, contains,
// additionalProperties and $defs, and the alternatives of an anyOf/oneOf that is
// not itself an object schema (so each alternative is closed on its own). It
// does not descend into allOf, not, if/then/else or dependentSchemas, where the
// enclosing unevaluatedProperties does the closing.
func closeObjects(s map[string]any) {
	applicators := false
	for _, k := range []string{"$ref", "$dynamicRef", "allOf", "anyOf", "oneOf", "if", "dependentSchemas"} {
		if _, ok := s[k]; ok {
			applicators = true
			break
		}
	}
	object := isObjectSchema(s)
	if object {
		_, a := s["additionalProperties"]
		_, u := s["unevaluatedProperties"]
		_, p := s["patternProperties"]
		switch {
		case a || u || p:
		case applicators:
			s["unevaluatedProperties"] = false
		default:
			s["additionalProperties"] = false
		}
	}
	for _, k := range []string{"properties", "$defs", "definitions"} {
		if m, ok := s[k].(map[string]any); ok {
			for _, sub := range m {
				if sm, ok := sub.(map[string]any); ok {
					closeObjects(sm)
				}
			}
		}
	}
	for _, k := range []string{"items", "additionalProperties", "contains"} {
		if sm, ok := s[k].(map[string]any); ok {
			closeObjects(sm)
		}
	}
	branches := []string{"prefixItems"}
	if !object {
		branches = append(branches, "anyOf", "oneOf")
	}
	for _, k := range branches {
		if arr, ok := s[k].([]any); ok {
			for _, sub := range arr {
				if sm, ok := sub.(map[string]any); ok {
					closeObjects(sm)
				}
			}
		}
	}
}

func isObjectSchema(s map[string]any) bool {
	switch t := s["type"].(type) {
	case string:
		return t == "object"
	case []any:
		return slices.Contains(t, any("object"))
	}
	_, ok := s["properties"]
	return ok
}

// Parameters returns the effective parameter schema of a registered tool, the one
// the model must be shown, as a fresh copy.
func (r *Registry) Parameters(name string) (json.RawMessage, bool) {
	r.mu.RLock()
	t, ok := r.tools[name]
	r.mu.RUnlock()
	if !ok {
		return nil, false
	}
	return slices.Clone(t.info.Parameters), true
}

// Tools returns every registered tool's model-facing definition, sorted by name.
func (r *Registry) Tools() []ToolInfo {
	r.mu.RLock()
	out := make([]ToolInfo, 0, len(r.tools))
	for _, t := range r.tools {
		ti := t.info
		ti.Parameters = slices.Clone(ti.Parameters)
		out = append(out, ti)
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Check validates raw arguments for the named tool and returns their canonical
// encoding: one JSON object, keys sorted, no duplicates, integral numbers in
// integer form. It is the pure check behind [Registry.ValidateArgs] and
// [Registry.NormalizeArgs]. A refusal is a [*guard.DenialError] at
// [guard.StageArgs] whose Reason names the field (a JSON pointer) and the rule in
// words the model can act on; its Err is a [*ScanError] or a [*SchemaError].
func (r *Registry) Check(name string, raw json.RawMessage) (json.RawMessage, error) {
	r.mu.RLock()
	t, ok := r.tools[name]
	r.mu.RUnlock()
	if !ok {
		return nil, &guard.DenialError{Stage: guard.StageArgs, Rule: "args.unknown_tool", Tool: name,
			Reason: "there is no tool with this name"}
	}
	tree, err := scan(raw, &t.limits)
	if err != nil {
		var se *ScanError
		if errors.As(err, &se) {
			return nil, &guard.DenialError{Stage: guard.StageArgs, Rule: "args." + se.Rule, Tool: name, Reason: se.Error(), Err: se}
		}
		return nil, &guard.DenialError{Stage: guard.StageArgs, Rule: "args.error", Tool: name, Reason: "arguments could not be read", Err: err}
	}
	if t.fast != nil && t.fast.valid(tree) {
		// Valid by the fast evaluator, which accepts only what the full
		// validator accepts.
	} else if err := t.schema.Validate(any(tree)); err != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			return nil, &guard.DenialError{Stage: guard.StageArgs, Rule: "args.error", Tool: name, Reason: "arguments could not be validated", Err: err}
		}
		se := newSchemaError(ve, t.topProps)
		return nil, &guard.DenialError{Stage: guard.StageArgs, Rule: "args.schema." + se.Violations[0].Rule, Tool: name, Reason: se.Error(), Err: se}
	}
	canon, err := encodeCanonical(tree)
	if err != nil {
		return nil, &guard.DenialError{Stage: guard.StageArgs, Rule: "args.error", Tool: name, Reason: "arguments could not be re-encoded", Err: err}
	}
	return canon, nil
}

// ValidateArgs implements [guard.ArgValidator].
func (r *Registry) ValidateArgs(ctx context.Context, c *guard.Call) error {
	_, err := r.NormalizeArgs(ctx, c)
	return err
}

// NormalizeArgs implements [guard.ArgNormalizer]: it validates c's arguments and
// returns their canonical encoding, which [guard.ValidateArgs] passes on to the
// tool in place of the raw arguments.
func (r *Registry) NormalizeArgs(_ context.Context, c *guard.Call) (json.RawMessage, error) {
	if c == nil {
		return nil, &guard.DenialError{Stage: guard.StageArgs, Rule: "args.nil_call", Reason: "no call"}
	}
	canon, err := r.Check(c.Tool, c.Args)
	if err != nil {
		var d *guard.DenialError
		if errors.As(err, &d) {
			d.CallID = c.ID
		}
		return nil, err
	}
	return canon, nil
}

// Middleware returns the argument stage for r: calls whose arguments fail their
// tool's schema are refused, and valid calls go on with the canonical arguments.
func (r *Registry) Middleware(opts ...guard.Option) (guard.Middleware, error) {
	if r == nil {
		return nil, fmt.Errorf("sanitize: registry middleware: %w", guard.ErrNilPolicy)
	}
	return guard.ValidateArgs(r, opts...)
}

// Violation is one schema rule an argument broke.
type Violation struct {
	// Pointer is the JSON pointer of the offending value ("" for the object).
	Pointer string
	// Rule is the JSON Schema keyword, for example "maxLength" or "required".
	Rule string
	// Msg says what is wrong in words the model can act on.
	Msg string
}

// SchemaError lists the schema violations of a call's arguments, most specific
// first. Its Error text is what the model is shown.
type SchemaError struct {
	Violations []Violation
}

// maxViolations bounds how many violations a SchemaError reports.
const maxViolations = 3

func (e *SchemaError) Error() string {
	var b strings.Builder
	for i, v := range e.Violations {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(fieldName(v.Pointer))
		b.WriteString(": ")
		b.WriteString(v.Msg)
	}
	return b.String()
}

func newSchemaError(ve *jsonschema.ValidationError, topProps []string) *SchemaError {
	var vs []Violation
	collectViolations(ve, topProps, &vs)
	if len(vs) == 0 {
		vs = append(vs, Violation{Pointer: pointerOf(ve.InstanceLocation), Rule: "invalid", Msg: "is invalid"})
	}
	// A field that failed its own schema is also "unevaluated" for the
	// enclosing unevaluatedProperties; report only the real failure.
	failed := make(map[string]bool, len(vs))
	for _, v := range vs {
		if v.Rule != "unevaluatedProperties" {
			failed[v.Pointer] = true
		}
	}
	vs = slices.DeleteFunc(vs, func(v Violation) bool { return v.Rule == "unevaluatedProperties" && failed[v.Pointer] })
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].Pointer < vs[j].Pointer })
	vs = slices.CompactFunc(vs, func(a, b Violation) bool { return a == b })
	if len(vs) > maxViolations {
		vs = vs[:maxViolations]
	}
	return &SchemaError{Violations: vs}
}

func pointerOf(loc []string) string {
	if len(loc) == 0 {
		return ""
	}
	var b strings.Builder
	for _, p := range loc {
		b.WriteByte('/')
		b.WriteString(escapePointer(p))
	}
	return b.String()
}
