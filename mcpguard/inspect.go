package mcpguard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/agentguard/agentguard/guard"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// FindingKind classifies what an [Inspector] found about a tool definition.
type FindingKind string

// The kinds of finding. Every kind but [FindingPinned] and
// [FindingCrossReference] refuses the tool, except [FindingShadowed] when
// [InspectorConfig.AllowShadowing] is set.
const (
	// FindingPinned: the tool was seen for the first time and its digest pinned.
	FindingPinned FindingKind = "pinned"
	// FindingRugPull: the definition differs from the pinned one. The tool is
	// refused until the new definition is approved ([Inspector.Approve]).
	FindingRugPull FindingKind = "rug_pull"
	// FindingPoisoned: the injection detector flagged the description or schema
	// text (tool poisoning). The tool is refused and not pinned.
	FindingPoisoned FindingKind = "poisoned"
	// FindingShadowed: another server already offers a tool of this name.
	FindingShadowed FindingKind = "shadowed"
	// FindingInvalid: the definition is malformed (bad name, duplicate name,
	// unusable schema).
	FindingInvalid FindingKind = "invalid"
	// FindingError: a check failed (detector or store error); the tool is
	// refused (fail closed).
	FindingError FindingKind = "error"
	// FindingCrossReference: the definition names a tool another server offers
	// (a description that tries to change how another server's tool is used,
	// "when calling send_email, also copy ..."). Reported, not refused: it is a
	// signal for review, and the injection scan judges the wording.
	FindingCrossReference FindingKind = "cross_reference"
)

// Finding is one observation about one tool definition.
type Finding struct {
	Kind   FindingKind
	Server string
	Tool   string
	// Digest is the definition's digest (see [ToolDigest]); Pinned is the digest
	// pinned before, for a rug pull.
	Digest string
	Pinned string
	// Other names the server that already offers the tool, for shadowing.
	Other string
	// Refused is set when the tool was withheld because of this finding.
	Refused bool
	// Detail explains the finding to an operator (never shown to a model).
	Detail string
}

// Report is the outcome of inspecting one server's tool list.
type Report struct {
	Server string
	// Accepted are the tools that passed, in the order given.
	Accepted []*mcp.Tool
	// Findings lists what was found, including first-time pins.
	Findings []Finding
}

// Refused reports whether the report refused any tool.
func (r *Report) Refused() bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Refused })
}

// InspectorConfig configures an [Inspector].
type InspectorConfig struct {
	// Pins stores pinned digests. Required.
	Pins PinStore
	// Detector scans each tool's description, title and schema text for prompt
	// injection (tool poisoning). Required unless InsecureSkipPoisonScan is set.
	Detector guard.InjectionDetector
	// InsecureSkipPoisonScan turns the description scan off.
	InsecureSkipPoisonScan bool
	// AllowShadowing lets a tool through when another server already offers a
	// tool of the same name; the shadowing is still reported. By default the
	// later server's tool is refused.
	AllowShadowing bool
	// Logger receives one warning per refusing finding and a debug line per pin.
	// Nil discards.
	Logger *slog.Logger
}

// Inspector vets tool definitions a client receives from MCP servers before any
// of them reaches a model: it pins each definition's digest on first sight and
// refuses changed definitions (rug pulls), scans descriptions and schemas for
// injected instructions (tool poisoning), and reports tool names offered by more
// than one server (shadowing). One Inspector should see every server a client
// talks to, so that shadowing across them is found. It is safe for concurrent use.
type Inspector struct {
	cfg InspectorConfig
	log *slog.Logger

	mu     sync.Mutex
	owners map[string]string // tool name -> first server seen offering it
}

// NewInspector validates cfg and returns an Inspector.
func NewInspector(cfg InspectorConfig) (*Inspector, error) {
	if isNilInterface(cfg.Pins) {
		return nil, fmt.Errorf("mcpguard: inspector: nil pin store: %w", guard.ErrNilPolicy)
	}
	if isNilInterface(cfg.Detector) && !cfg.InsecureSkipPoisonScan {
		return nil, fmt.Errorf("mcpguard: inspector: nil injection detector (set InsecureSkipPoisonScan to run without one): %w", guard.ErrNilPolicy)
	}
	l := cfg.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &Inspector{cfg: cfg, log: l, owners: map[string]string{}}, nil
}

// ValidToolName reports whether name is an acceptable MCP tool name: 1 to 128
// characters from [A-Za-z0-9_.-]. Anything else (spaces, control characters,
// look-alike Unicode letters) is refused, so one name cannot pass for another.
func ValidToolName(name string) bool {
	if len(name) == 0 || len(name) > 128 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}

// Inspect vets the tools server offers and returns what may be shown. server is
// the operator's name for the server (not the name the server gives itself,
// which it controls). A nil error with refused tools is normal; an error means
// the inspection itself could not run (a cancelled context) and nothing is
// accepted.
func (in *Inspector) Inspect(ctx context.Context, server string, tools []*mcp.Tool) (*Report, error) {
	if server == "" {
		return nil, errors.New("mcpguard: inspect: empty server name")
	}
	rep := &Report{Server: server}
	seen := map[string]bool{}
	for _, t := range tools {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("mcpguard: inspect %s: %w", server, err)
		}
		f, ok := in.inspectOne(ctx, server, t, seen)
		if f.Kind != "" {
			rep.Findings = append(rep.Findings, f)
		}
		if ok {
			rep.Accepted = append(rep.Accepted, t)
		}
	}
	for _, t := range rep.Accepted {
		rep.Findings = append(rep.Findings, in.crossReferences(server, t)...)
	}
	for _, f := range rep.Findings {
		if f.Refused || f.Kind == FindingShadowed || f.Kind == FindingCrossReference {
			in.log.Warn("mcpguard: tool definition finding", "server", f.Server, "tool", f.Tool,
				"finding", string(f.Kind), "refused", f.Refused, "digest", f.Digest, "pinned", f.Pinned,
				"other_server", f.Other, "detail", f.Detail)
		} else {
			in.log.Debug("mcpguard: tool definition pinned", "server", f.Server, "tool", f.Tool, "digest", f.Digest)
		}
	}
	return rep, nil
}

// inspectOne returns a finding (Kind empty when there is nothing to say) and
// whether the tool is accepted.
func (in *Inspector) inspectOne(ctx context.Context, server string, t *mcp.Tool, seen map[string]bool) (Finding, bool) {
	if t == nil {
		return Finding{Kind: FindingInvalid, Server: server, Refused: true, Detail: "nil tool"}, false
	}
	f := Finding{Server: server, Tool: t.Name}
	refuse := func(k FindingKind, detail string) (Finding, bool) {
		f.Kind, f.Refused, f.Detail = k, true, detail
		return f, false
	}
	if !ValidToolName(t.Name) {
		f.Tool = truncate(fmt.Sprintf("%q", t.Name), 140)
		return refuse(FindingInvalid, "tool name must be 1-128 characters of [A-Za-z0-9_.-]")
	}
	if seen[t.Name] {
		return refuse(FindingInvalid, "duplicate tool name in one list")
	}
	seen[t.Name] = true
	digest, err := ToolDigest(t)
	if err != nil {
		return refuse(FindingInvalid, "definition cannot be digested: "+err.Error())
	}
	f.Digest = digest
	raw, err := json.Marshal(t.InputSchema)
	if err != nil {
		return refuse(FindingInvalid, "input schema: "+err.Error())
	}
	if err := CheckSchema(raw); err != nil {
		return refuse(FindingInvalid, "input schema: "+err.Error())
	}
	if !in.cfg.InsecureSkipPoisonScan {
		det, err := safeDetect(ctx, in.cfg.Detector, guard.Text{
			Content:    DefinitionText(t),
			Provenance: guard.ProvenanceRetrieved,
			Source:     "mcp-tool:" + PinKey(server, t.Name),
		})
		if err != nil {
			return refuse(FindingError, "injection detector failed: "+err.Error())
		}
		if det.Injection {
			return refuse(FindingPoisoned, fmt.Sprintf("description or schema text looks like a prompt injection (score %.2f, rules %s)",
				det.Score, strings.Join(det.Rules, ",")))
		}
	}
	key := PinKey(server, t.Name)
	prev, had, err := in.cfg.Pins.GetPin(ctx, key)
	if err != nil {
		return refuse(FindingError, "pin store: "+err.Error())
	}
	first := false
	if !had {
		prev, err = in.cfg.Pins.PinIfAbsent(ctx, key, digest)
		if err != nil {
			return refuse(FindingError, "pin store: "+err.Error())
		}
		first = prev == digest
	}
	if prev != digest {
		f.Pinned = prev
		return refuse(FindingRugPull, "definition changed since it was pinned; approve the new definition to use it")
	}
	in.mu.Lock()
	owner, owned := in.owners[t.Name]
	if !owned {
		in.owners[t.Name] = server
	}
	in.mu.Unlock()
	if owned && owner != server {
		f.Kind, f.Other = FindingShadowed, owner
		f.Detail = fmt.Sprintf("server %q already offers a tool named %q", owner, t.Name)
		if !in.cfg.AllowShadowing {
			f.Refused = true
			return f, false
		}
		return f, true
	}
	if first {
		f.Kind, f.Detail = FindingPinned, "definition pinned on first sight"
	}
	return f, true
}

// safeDetect runs d, turning a panic into an error.
func safeDetect(ctx context.Context, d guard.InjectionDetector, in guard.Text) (det guard.Detection, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("detector panicked: %v", r)
		}
	}()
	return d.DetectInjection(ctx, in)
}

// crossReferences reports the tools of other servers that t's definition names.
func (in *Inspector) crossReferences(server string, t *mcp.Tool) []Finding {
	text := DefinitionText(t)
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []Finding
	names := make([]string, 0, len(in.owners))
	for name := range in.owners {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		owner := in.owners[name]
		if owner == server || name == t.Name || !containsIdent(text, name) {
			continue
		}
		out = append(out, Finding{Kind: FindingCrossReference, Server: server, Tool: t.Name, Other: owner,
			Detail: fmt.Sprintf("definition names tool %q of server %q", name, owner)})
	}
	return out
}

// containsIdent reports whether name occurs in text as a whole identifier (not
// inside a longer run of [A-Za-z0-9_.-]).
func containsIdent(text, name string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], name)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(name)
		if (start == 0 || !identByte(text[start-1])) && (end == len(text) || !identByte(text[end])) {
			return true
		}
		i = start + 1
	}
}

func identByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// Approve re-pins t's current definition for server, after an operator reviewed a
// rug-pull finding. It returns the new digest.
func (in *Inspector) Approve(ctx context.Context, server string, t *mcp.Tool) (string, error) {
	if !ValidToolName(t.Name) {
		return "", fmt.Errorf("mcpguard: approve: invalid tool name %q", truncate(t.Name, 64))
	}
	d, err := ToolDigest(t)
	if err != nil {
		return "", err
	}
	if err := in.cfg.Pins.SetPin(ctx, PinKey(server, t.Name), d); err != nil {
		return "", fmt.Errorf("mcpguard: approve %s: %w", PinKey(server, t.Name), err)
	}
	return d, nil
}

// Forget releases server's claim on tool names, for a server that was removed,
// so that another server may offer them without being reported as shadowing.
func (in *Inspector) Forget(server string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for name, s := range in.owners {
		if s == server {
			delete(in.owners, name)
		}
	}
}

// DefinitionText is the text of a tool definition a model reads: its name,
// title, description, annotation title and every string in its input and output
// schemas (property names, descriptions, enum values, defaults, examples).
// Injected instructions hide in parameter descriptions as often as in the
// tool's own description, so all of it is scanned.
func DefinitionText(t *mcp.Tool) string {
	var b strings.Builder
	add := func(s string) {
		if s != "" {
			b.WriteString(s)
			b.WriteByte('\n')
		}
	}
	add(t.Name)
	add(t.Title)
	add(t.Description)
	if t.Annotations != nil {
		add(t.Annotations.Title)
	}
	for _, s := range []any{t.InputSchema, t.OutputSchema} {
		raw, err := json.Marshal(s)
		if err != nil {
			continue
		}
		v, err := decodeStrict(raw)
		if err != nil {
			continue
		}
		collectStrings(v, add)
	}
	return b.String()
}

func collectStrings(v any, add func(string)) {
	switch x := v.(type) {
	case string:
		add(x)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !schemaKeyword[k] {
				add(k)
			}
			collectStrings(x[k], add)
		}
	case []any:
		for _, e := range x {
			collectStrings(e, add)
		}
	}
}

// schemaKeyword lists JSON Schema keywords, which are not worth scanning as text.
var schemaKeyword = map[string]bool{
	"type": true, "properties": true, "required": true, "description": true, "title": true,
	"items": true, "enum": true, "const": true, "default": true, "examples": true,
	"additionalProperties": true, "minimum": true, "maximum": true, "minLength": true,
	"maxLength": true, "pattern": true, "format": true, "$schema": true, "$id": true,
	"$ref": true, "$defs": true, "definitions": true, "anyOf": true, "oneOf": true,
	"allOf": true, "not": true, "exclusiveMinimum": true, "exclusiveMaximum": true,
	"minItems": true, "maxItems": true, "uniqueItems": true, "patternProperties": true,
}

func isNilInterface(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Func, reflect.Map, reflect.Slice, reflect.Interface, reflect.Chan:
		return rv.IsNil()
	}
	return false
}
