package scope

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// SpecVersion is the only policy file version this package reads.
const SpecVersion = 1

// Spec is the declarative form of a policy: the Go API and the YAML file
// (see [Load]) describe the same structure. A Spec is validated and compiled
// once by [New]; the zero Spec is invalid (no version, no roles).
//
// Roles do not inherit from one another implicitly: a role may call exactly the
// tools it lists, plus the tools of the roles it names in [Role.Inherits]. In a
// YAML file every role must state inherits (use "inherits: []" for none), so the
// decision is written in the file rather than left to a default.
type Spec struct {
	// Version must be [SpecVersion].
	Version int `yaml:"version"`
	// Roles maps a role name to what the role may do. At least one role is required.
	Roles map[string]Role `yaml:"roles"`
	// Tools declares every tool a role may reference, with its conditions and the
	// metadata other stages enforce (approval, labels).
	Tools map[string]Tool `yaml:"tools"`
	// Budgets are limits across every role. They are parsed and validated here and
	// enforced by the budget stage, not by [Policy.Authorize].
	Budgets []Budget `yaml:"budgets,omitempty"`
	// Flow holds the session flow (taint) rules. Parsed and validated here,
	// enforced by the flow stage, not by [Policy.Authorize].
	Flow Flow `yaml:"flow,omitempty"`
}

// Role is what one role may do. Every list is an allow-list: empty means nothing.
type Role struct {
	// Inherits names roles whose tools this role may also call. Only tools are
	// inherited; HTTP and database rules are always the role's own.
	Inherits []string `yaml:"inherits"`
	// Tools lists the tools this role may call. Each must be declared in
	// [Spec.Tools].
	Tools []string `yaml:"tools"`
	// HTTP bounds the role's outbound HTTP through [Transport].
	HTTP HTTPRule `yaml:"http,omitempty"`
	// Database bounds the role's SQL through [DB].
	Database DatabaseRule `yaml:"database,omitempty"`
	// Budgets are limits that apply to this role only (enforced by the budget stage).
	Budgets []Budget `yaml:"budgets,omitempty"`
}

// HTTPRule is a role's outbound HTTP allow-list.
type HTTPRule struct {
	// Methods lists the allowed request methods, for example GET and POST. They
	// are matched exactly after upper-casing the policy entry; a request method
	// in lower case is refused.
	Methods []string `yaml:"methods,omitempty"`
	// Hosts lists the allowed hosts: "api.example.com" (exactly that host),
	// "*.example.com" (any subdomain, not the apex), each optionally with a port
	// ("api.example.com:8443"). Without a port only the scheme's default port
	// (80 for http, 443 for https) is allowed.
	Hosts []string `yaml:"hosts,omitempty"`
}

// DatabaseRule is a role's database access.
type DatabaseRule struct {
	// Access is the class of statements the role may run. The zero value
	// ([AccessNone]) allows none.
	Access Access `yaml:"access,omitempty"`
}

// Access is a database access level.
type Access string

// The database access levels, strictest first.
const (
	// AccessNone refuses every statement. The zero value; "none" in a file.
	AccessNone Access = ""
	// AccessReadOnly allows plain reads, run in a transaction the database itself
	// keeps read-only (PostgreSQL READ ONLY, SQLite query_only).
	AccessReadOnly Access = "read-only"
	// AccessReadWrite allows reads, INSERT and UPDATE: no DELETE, DDL, GRANT or
	// multi-statement strings.
	AccessReadWrite Access = "read-write"
	// AccessFull allows every statement, including multi-statement strings.
	AccessFull Access = "full"
)

func (a Access) valid() bool {
	switch a {
	case AccessNone, AccessReadOnly, AccessReadWrite, AccessFull:
		return true
	}
	return a == "none"
}

// level maps the access to an ordering; "none" spelled out equals the zero value.
func (a Access) level() int {
	switch a {
	case AccessReadOnly:
		return 1
	case AccessReadWrite:
		return 2
	case AccessFull:
		return 3
	}
	return 0
}

// Tool declares a tool and the rules attached to it.
type Tool struct {
	// Description is free text for people reading the policy.
	Description string `yaml:"description,omitempty"`
	// When is an optional CEL condition over the call's arguments, decoded from
	// the call's JSON as the map variable args (numbers are doubles), for example
	// "args.amount <= 100.0". It must have type bool. It is compiled when the
	// policy is loaded; a call whose condition is false, or whose evaluation
	// fails, is denied. The variables principal.subject, principal.role,
	// principal.scopes and tool are also available.
	When string `yaml:"when,omitempty"`
	// Scopes lists credential scopes the principal must all carry to call the tool
	// (see [guard.Principal.Scopes]).
	Scopes []string `yaml:"scopes,omitempty"`
	// Approval says whether a call needs human approval. Parsed and validated here;
	// enforced by the approval stage.
	Approval Approval `yaml:"approval,omitempty"`
	// Labels are the flow labels of the tool's results, for example
	// [guard.LabelUntrusted] for a tool that reads documents from outside.
	// Parsed and validated here; applied by the flow stage.
	Labels []string `yaml:"labels,omitempty"`
}

// Approval says whether a tool needs human approval.
type Approval string

// The approval settings.
const (
	// ApprovalNone: no approval. The zero value; "none" in a file.
	ApprovalNone Approval = ""
	// ApprovalRequired: every call waits for a human decision.
	ApprovalRequired Approval = "required"
)

// Budget is a usage limit. It is parsed and validated by this package and
// enforced by the budget stage.
type Budget struct {
	// Name identifies the budget in denials and in the state store. Required,
	// unique across the policy.
	Name string `yaml:"name"`
	// Tools limits the budget to these tools; empty means every tool.
	Tools []string `yaml:"tools,omitempty"`
	// Per says whose usage is counted: [PerSession] (the zero value),
	// [PerPrincipal] or [PerGlobal].
	Per BudgetKey `yaml:"per,omitempty"`
	// MaxCalls, when positive, limits the number of calls per Window.
	MaxCalls int `yaml:"max_calls,omitempty"`
	// Window is the period MaxCalls counts over; zero means for the whole
	// lifetime of the key (for example the session).
	Window Duration `yaml:"window,omitempty"`
	// Sum, when set, limits the sum of one numeric argument.
	Sum *SumLimit `yaml:"sum,omitempty"`
	// MaxRepeats, when positive, limits how many times the same tool may be called
	// with identical arguments (loop detection) per key.
	MaxRepeats int `yaml:"max_repeats,omitempty"`
}

// BudgetKey says whose usage a [Budget] counts.
type BudgetKey string

// The budget keys.
const (
	// PerSession counts per session: the zero value; "session" in a file.
	PerSession BudgetKey = ""
	// PerPrincipal counts per principal subject, across sessions.
	PerPrincipal BudgetKey = "principal"
	// PerGlobal counts across everyone.
	PerGlobal BudgetKey = "global"
)

// SumLimit limits the sum of a numeric argument over a window, for example the
// total refunded per day: {arg: amount, max: 500, window: 24h}.
type SumLimit struct {
	// Arg is the name of a top-level numeric argument.
	Arg string `yaml:"arg"`
	// Max is the largest allowed sum, > 0.
	Max float64 `yaml:"max"`
	// Window is the period summed over; zero means the key's lifetime.
	Window Duration `yaml:"window,omitempty"`
}

// Flow holds the session flow (taint) rules, enforced by the flow stage.
type Flow struct {
	// AfterUntrusted applies once the session has taken in a result labelled
	// [guard.LabelUntrusted].
	AfterUntrusted AfterUntrusted `yaml:"after_untrusted,omitempty"`
	// NoFlow forbids data with a label reaching tools.
	NoFlow []NoFlow `yaml:"no_flow,omitempty"`
}

// AfterUntrusted lists the tools denied, or needing approval, once a session is
// tainted by untrusted content.
type AfterUntrusted struct {
	Deny    []string `yaml:"deny,omitempty"`
	Approve []string `yaml:"approve,omitempty"`
}

// NoFlow forbids content labelled FromLabel from flowing into the To tools.
type NoFlow struct {
	FromLabel string   `yaml:"from_label"`
	To        []string `yaml:"to"`
}

// Duration is a time.Duration written in policy files as a Go duration string
// ("90s", "24h"). Bare numbers are refused: they are ambiguous.
type Duration time.Duration

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return fmt.Errorf("line %d: duration must be a string such as \"24h\"", n.Line)
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	if v < 0 {
		return fmt.Errorf("line %d: negative duration %q", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Clone returns a deep copy of s.
func (s Spec) Clone() Spec {
	cp := s
	cp.Roles = make(map[string]Role, len(s.Roles))
	for k, r := range s.Roles {
		r.Inherits = slices.Clone(r.Inherits)
		r.Tools = slices.Clone(r.Tools)
		r.HTTP.Methods = slices.Clone(r.HTTP.Methods)
		r.HTTP.Hosts = slices.Clone(r.HTTP.Hosts)
		r.Budgets = cloneBudgets(r.Budgets)
		cp.Roles[k] = r
	}
	cp.Tools = make(map[string]Tool, len(s.Tools))
	for k, t := range s.Tools {
		t.Scopes = slices.Clone(t.Scopes)
		t.Labels = slices.Clone(t.Labels)
		cp.Tools[k] = t
	}
	cp.Budgets = cloneBudgets(s.Budgets)
	cp.Flow.AfterUntrusted.Deny = slices.Clone(s.Flow.AfterUntrusted.Deny)
	cp.Flow.AfterUntrusted.Approve = slices.Clone(s.Flow.AfterUntrusted.Approve)
	cp.Flow.NoFlow = slices.Clone(s.Flow.NoFlow)
	for i := range cp.Flow.NoFlow {
		cp.Flow.NoFlow[i].To = slices.Clone(cp.Flow.NoFlow[i].To)
	}
	return cp
}

func cloneBudgets(b []Budget) []Budget {
	if b == nil {
		return nil
	}
	out := slices.Clone(b)
	for i := range out {
		out[i].Tools = slices.Clone(out[i].Tools)
		if out[i].Sum != nil {
			s := *out[i].Sum
			out[i].Sum = &s
		}
	}
	return out
}

// sortedKeys returns the keys of m in order, for deterministic errors.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// validName reports whether s is an acceptable role, tool, label or scope name:
// 1 to 128 characters of ASCII letters, digits and "_-.:/". Names are matched
// exactly, so restricting them to ASCII means no Unicode look-alike of a
// declared name can exist in a policy.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '_' || c == '-' || c == '.' || c == ':' || c == '/':
		default:
			return false
		}
	}
	return true
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}
