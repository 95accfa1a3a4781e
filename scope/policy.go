package scope

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"cel.dev/cel-go/cel"

	"github.com/agentguard/agentguard/guard"
)

// Policy is a compiled, immutable [Spec]. It is safe for concurrent use.
//
// Policy implements [guard.Scoper]: [Policy.Authorize] allows a call only when
// the principal's role is declared, lists the tool (exactly, byte for byte),
// the principal carries the tool's scopes, and the tool's CEL condition, if any,
// evaluates to true. Everything else is denied.
type Policy struct {
	spec  Spec
	roles map[string]*role
	tools map[string]*tool
}

var _ guard.Scoper = (*Policy)(nil)

type role struct {
	name    string
	tools   map[string]*tool
	methods []string
	hosts   []hostPattern
	access  Access
}

type tool struct {
	name   string
	when   string
	prog   cel.Program
	scopes []string
}

// SpecError is one problem found in a policy. Errors from [New] carry a Path;
// errors from [Load] and [Parse] also carry the File and Line.
type SpecError struct {
	File string
	Line int
	// Path locates the problem in the spec, for example "roles.reader.tools[1]".
	Path string
	Msg  string
}

func (e *SpecError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteByte(':')
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return "scope: " + b.String()
}

// path is a location in a spec: strings are mapping keys, ints sequence indexes.
type path []any

func (p path) String() string {
	var b strings.Builder
	for _, e := range p {
		switch v := e.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", v)
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(v)
		}
	}
	return b.String()
}

type problem struct {
	path path
	msg  string
}

type validator struct{ problems []problem }

func (v *validator) addf(p path, format string, args ...any) {
	v.problems = append(v.problems, problem{path: slices.Clone(p), msg: fmt.Sprintf(format, args...)})
}

// New validates and compiles spec. Every problem is reported (joined with
// [errors.Join], each a [*SpecError]); a policy with any problem is not built.
func New(spec Spec) (*Policy, error) {
	p, probs := compile(spec)
	if len(probs) > 0 {
		errs := make([]error, len(probs))
		for i, pr := range probs {
			errs[i] = &SpecError{Path: pr.path.String(), Msg: pr.msg}
		}
		return nil, errors.Join(errs...)
	}
	return p, nil
}

func compile(spec Spec) (*Policy, []problem) {
	var v validator
	spec = spec.Clone()
	normalize(&spec)
	if spec.Version != SpecVersion {
		v.addf(path{"version"}, "version must be %d, got %d", SpecVersion, spec.Version)
	}
	if len(spec.Roles) == 0 {
		v.addf(path{"roles"}, "at least one role is required")
	}
	p := &Policy{spec: spec, roles: make(map[string]*role, len(spec.Roles)), tools: make(map[string]*tool, len(spec.Tools))}

	env, err := newCELEnv()
	if err != nil {
		v.addf(nil, "building CEL environment: %v", err)
	}
	for _, name := range sortedKeys(spec.Tools) {
		t := spec.Tools[name]
		at := path{"tools", name}
		if !validName(name) {
			v.addf(at, "invalid tool name %q (ASCII letters, digits and _-.:/ only, at most 128)", name)
		}
		ct := &tool{name: name, when: t.When, scopes: t.Scopes}
		if strings.TrimSpace(t.When) != "" && env != nil {
			prog, err := compileCondition(env, t.When)
			if err != nil {
				v.addf(append(at, "when"), "invalid condition: %s", oneLine(err.Error()))
			}
			ct.prog = prog
		}
		for i, s := range t.Scopes {
			if !validName(s) {
				v.addf(append(at, "scopes", i), "invalid scope %q", s)
			}
		}
		switch t.Approval {
		case ApprovalNone, ApprovalRequired, "none":
		default:
			v.addf(append(at, "approval"), "approval must be %q or %q, got %q", "required", "none", t.Approval)
		}
		for i, l := range t.Labels {
			if !validName(l) {
				v.addf(append(at, "labels", i), "invalid label %q", l)
			}
		}
		p.tools[name] = ct
	}

	for _, name := range sortedKeys(spec.Roles) {
		r := spec.Roles[name]
		at := path{"roles", name}
		if !validName(name) {
			v.addf(at, "invalid role name %q (ASCII letters, digits and _-.:/ only, at most 128)", name)
		}
		cr := &role{name: name, tools: make(map[string]*tool), access: r.Database.Access}
		if len(r.Tools) == 0 && len(r.Inherits) == 0 && len(r.HTTP.Methods) == 0 && r.Database.Access.level() == 0 {
			v.addf(at, "role grants nothing (no tools, inherits, http methods or database access)")
		}
		for i, tn := range r.Tools {
			t, ok := p.tools[tn]
			if !ok {
				v.addf(append(at, "tools", i), "tool %q is not declared under tools", tn)
				continue
			}
			if _, dup := cr.tools[tn]; dup {
				v.addf(append(at, "tools", i), "tool %q listed twice", tn)
			}
			cr.tools[tn] = t
		}
		for i, in := range r.Inherits {
			if _, ok := spec.Roles[in]; !ok {
				v.addf(append(at, "inherits", i), "inherited role %q is not declared", in)
			} else if in == name {
				v.addf(append(at, "inherits", i), "role inherits itself")
			}
		}
		for i, m := range r.HTTP.Methods {
			if !validMethod(m) {
				v.addf(append(at, "http", "methods", i), "invalid HTTP method %q", m)
				continue
			}
			um := strings.ToUpper(m)
			if slices.Contains(cr.methods, um) {
				v.addf(append(at, "http", "methods", i), "method %q listed twice", m)
			}
			cr.methods = append(cr.methods, um)
		}
		for i, h := range r.HTTP.Hosts {
			hp, err := parseHostPattern(h)
			if err != nil {
				v.addf(append(at, "http", "hosts", i), "%v", err)
				continue
			}
			cr.hosts = append(cr.hosts, hp)
		}
		if (len(r.HTTP.Methods) == 0) != (len(r.HTTP.Hosts) == 0) {
			v.addf(append(at, "http"), "http needs both methods and hosts (a role with one and not the other can send nothing)")
		}
		if !r.Database.Access.valid() {
			v.addf(append(at, "database", "access"), "access must be one of none, read-only, read-write, full; got %q", r.Database.Access)
		}
		validateBudgets(&v, append(at, "budgets"), r.Budgets, spec.Tools)
		p.roles[name] = cr
	}
	// Inherited tools, transitively; a cycle is an error.
	for _, name := range sortedKeys(spec.Roles) {
		seen := map[string]bool{name: true}
		var walk func(string, []string) bool
		walk = func(rn string, trail []string) bool {
			for _, in := range spec.Roles[rn].Inherits {
				if _, ok := spec.Roles[in]; !ok || in == rn {
					continue // reported above
				}
				if slices.Contains(trail, in) {
					v.addf(path{"roles", name, "inherits"}, "inheritance cycle: %s", strings.Join(append(trail, in), " -> "))
					return false
				}
				if !seen[in] {
					seen[in] = true
					for tn, t := range p.roles[in].tools {
						p.roles[name].tools[tn] = t
					}
				}
				if !walk(in, append(trail, in)) {
					return false
				}
			}
			return true
		}
		walk(name, []string{name})
	}
	validateBudgets(&v, path{"budgets"}, spec.Budgets, spec.Tools)
	names := map[string]bool{}
	checkBudgetNames := func(at path, bs []Budget) {
		for i, b := range bs {
			if names[b.Name] && b.Name != "" {
				v.addf(append(at, i, "name"), "budget name %q used twice", b.Name)
			}
			names[b.Name] = true
		}
	}
	checkBudgetNames(path{"budgets"}, spec.Budgets)
	for _, name := range sortedKeys(spec.Roles) {
		checkBudgetNames(path{"roles", name, "budgets"}, spec.Roles[name].Budgets)
	}
	checkTools := func(at path, ts []string) {
		for i, tn := range ts {
			if _, ok := spec.Tools[tn]; !ok {
				v.addf(append(at, i), "tool %q is not declared under tools", tn)
			}
		}
	}
	checkTools(path{"flow", "after_untrusted", "deny"}, spec.Flow.AfterUntrusted.Deny)
	checkTools(path{"flow", "after_untrusted", "approve"}, spec.Flow.AfterUntrusted.Approve)
	for i, nf := range spec.Flow.NoFlow {
		at := path{"flow", "no_flow", i}
		if !validName(nf.FromLabel) {
			v.addf(append(at, "from_label"), "invalid or missing label %q", nf.FromLabel)
		}
		if len(nf.To) == 0 {
			v.addf(append(at, "to"), "no_flow rule lists no tools")
		}
		checkTools(append(at, "to"), nf.To)
	}
	return p, v.problems
}

// normalize spells the zero values one way, so that the stages reading
// [Policy.Spec] see "" for "none" and "session".
func normalize(spec *Spec) {
	for name, t := range spec.Tools {
		if t.Approval == "none" {
			t.Approval = ApprovalNone
			spec.Tools[name] = t
		}
	}
	fixBudgets := func(bs []Budget) {
		for i := range bs {
			if bs[i].Per == "session" {
				bs[i].Per = PerSession
			}
		}
	}
	fixBudgets(spec.Budgets)
	for name, r := range spec.Roles {
		if r.Database.Access == "none" {
			r.Database.Access = AccessNone
		}
		fixBudgets(r.Budgets)
		spec.Roles[name] = r
	}
}

func validateBudgets(v *validator, at path, bs []Budget, tools map[string]Tool) {
	for i, b := range bs {
		bp := append(slices.Clone(at), i)
		if !validName(b.Name) {
			v.addf(append(bp, "name"), "budget needs a name (ASCII letters, digits and _-.:/)")
		}
		for j, tn := range b.Tools {
			if _, ok := tools[tn]; !ok {
				v.addf(append(bp, "tools", j), "tool %q is not declared under tools", tn)
			}
		}
		switch b.Per {
		case PerSession, PerPrincipal, PerGlobal, "session":
		default:
			v.addf(append(bp, "per"), "per must be session, principal or global; got %q", b.Per)
		}
		if b.MaxCalls < 0 || b.MaxRepeats < 0 {
			v.addf(bp, "max_calls and max_repeats must not be negative")
		}
		if b.Sum != nil {
			if !validName(b.Sum.Arg) {
				v.addf(append(bp, "sum", "arg"), "sum needs an argument name")
			}
			if !(b.Sum.Max > 0) {
				v.addf(append(bp, "sum", "max"), "sum max must be > 0")
			}
		}
		if b.MaxCalls == 0 && b.Sum == nil && b.MaxRepeats == 0 {
			v.addf(bp, "budget %q sets no limit (max_calls, sum or max_repeats)", b.Name)
		}
	}
}

func validMethod(m string) bool {
	if m == "" || len(m) > 32 {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// Spec returns a deep copy of the policy's specification, for the stages that
// enforce what this package only parses (approval, budgets, flow, labels).
func (p *Policy) Spec() Spec { return p.spec.Clone() }

// Roles returns the declared role names in order.
func (p *Policy) Roles() []string { return sortedKeys(p.roles) }

// Tools returns the tools role may call (its own and inherited), in order, or
// nil for an unknown role.
func (p *Policy) Tools(roleName string) []string {
	r, ok := p.roles[roleName]
	if !ok {
		return nil
	}
	return sortedKeys(r.tools)
}

// CanCall reports whether role may call tool at all (its own and inherited
// tools), before scopes and conditions. It does not allocate.
func (p *Policy) CanCall(roleName, toolName string) bool {
	r, ok := p.roles[roleName]
	if !ok {
		return false
	}
	_, ok = r.tools[toolName]
	return ok
}

// Access returns the database access of role ([AccessNone] for an unknown role).
func (p *Policy) Access(roleName string) Access {
	if r, ok := p.roles[roleName]; ok {
		return r.access
	}
	return AccessNone
}

// Middleware returns the chain stage that runs [Policy.Authorize] before the
// tool, via [guard.Authorize] (at [guard.StageScope] unless renamed).
func (p *Policy) Middleware(opts ...guard.Option) (guard.Middleware, error) {
	if p == nil {
		return nil, fmt.Errorf("scope: middleware: %w", guard.ErrNilPolicy)
	}
	return guard.Authorize(p, opts...)
}

// Authorize allows c when its principal's role may call the tool with these
// arguments, and returns a [*guard.DenialError] otherwise. The principal is
// c.Principal; when that has no role, the principal in ctx (see
// [ContextWithPrincipal]) is used. It does not allocate when it allows a call
// to a tool without a condition.
func (p *Policy) Authorize(ctx context.Context, c *guard.Call) error {
	if p == nil {
		return deny(nil, "policy.nil", "no policy (fail closed)")
	}
	if c == nil {
		return deny(nil, "call.nil", "nil call")
	}
	pr := &c.Principal
	if pr.Role == "" {
		if cp, ok := principalPtrFromContext(ctx); ok {
			pr = cp
		}
	}
	if pr.Role == "" {
		return deny(c, "principal.missing", "call has no principal role")
	}
	r, ok := p.roles[pr.Role]
	if !ok {
		return deny(c, "role.unknown", fmt.Sprintf("role %q is not declared", pr.Role))
	}
	t, ok := r.tools[c.Tool]
	if !ok {
		return deny(c, "role.tools", fmt.Sprintf("role %q may not call tool %q", pr.Role, c.Tool))
	}
	for _, s := range t.scopes {
		if !pr.HasScope(s) {
			return deny(c, "tool.scopes", fmt.Sprintf("tool %q needs scope %q", c.Tool, s))
		}
	}
	if t.prog != nil {
		return t.eval(ctx, c, pr)
	}
	return nil
}

func deny(c *guard.Call, rule, reason string) *guard.DenialError {
	d := &guard.DenialError{Stage: guard.StageScope, Rule: rule, Reason: reason}
	if c != nil {
		d.CallID, d.Tool = c.ID, c.Tool
	}
	return d
}

// hostPattern is one entry of a role's HTTP host allow-list.
type hostPattern struct {
	host     string // lower-case, no trailing dot; for a wildcard, the suffix without "*."
	wildcard bool
	port     string // "" means the scheme's default port
}

func parseHostPattern(s string) (hostPattern, error) {
	var hp hostPattern
	h := strings.ToLower(strings.TrimSpace(s))
	if h == "" {
		return hp, errors.New("empty host")
	}
	if host, port, err := net.SplitHostPort(h); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return hp, fmt.Errorf("invalid port in host %q", s)
		}
		h, hp.port = host, port
	} else if strings.Count(h, ":") == 1 {
		return hp, fmt.Errorf("invalid host %q", s)
	}
	if rest, ok := strings.CutPrefix(h, "*."); ok {
		hp.wildcard = true
		h = rest
	}
	h = strings.TrimSuffix(h, ".")
	if hp.wildcard && !strings.Contains(h, ".") {
		return hp, fmt.Errorf("wildcard host %q covers a whole top-level domain", s)
	}
	if h == "" || strings.ContainsAny(h, "*/@?#[] \t") {
		return hp, fmt.Errorf("invalid host %q (use a name, an IP address or *.domain)", s)
	}
	for i := 0; i < len(h); i++ {
		if h[i] >= 0x80 {
			return hp, fmt.Errorf("host %q must be ASCII (write internationalised names in punycode)", s)
		}
	}
	hp.host = h
	return hp, nil
}

func (hp hostPattern) match(host, port string) bool {
	if port != hp.port {
		return false
	}
	if hp.wildcard {
		return len(host) > len(hp.host)+1 && strings.HasSuffix(host, hp.host) && host[len(host)-len(hp.host)-1] == '.'
	}
	return host == hp.host
}

// oneLine folds a multi-line message (CEL's caret diagrams) onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
