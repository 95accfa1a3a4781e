package scope

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodHeader = "version: 1\n"

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string // substrings of the error, including file:line
	}{
		{"unknown top-level field", goodHeader + "rolez: {}\n", []string{"p.yaml:2:", "rolez"}},
		{"unknown role field", goodHeader + "roles:\n  r:\n    inherits: []\n    tools: [t]\n    tool: [t]\ntools:\n  t: {}\n", []string{"p.yaml:6:", "field tool not found"}},
		{"unknown tool field", goodHeader + "roles:\n  r:\n    inherits: []\n    tools: [t]\ntools:\n  t:\n    condition: 'true'\n", []string{"p.yaml:8:", "condition"}},
		{"undeclared tool", goodHeader + "roles:\n  r:\n    inherits: []\n    tools: [t, missing]\ntools:\n  t: {}\n", []string{"p.yaml:5:", `tool "missing" is not declared`}},
		{"invalid condition", goodHeader + "roles:\n  r:\n    inherits: []\n    tools: [t]\ntools:\n  t:\n    when: 'args.a +'\n", []string{"p.yaml:8:", "invalid condition"}},
		{"non-bool condition", goodHeader + "roles:\n  r:\n    inherits: []\n    tools: [t]\ntools:\n  t:\n    when: 'args.a'\n", []string{"p.yaml:8:", "want bool"}},
		{"unknown variable in condition", goodHeader + "roles:\n  r:\n    inherits: []\n    tools: [t]\ntools:\n  t:\n    when: 'argz.a == 1'\n", []string{"p.yaml:8:", "undeclared reference"}},
		{"empty role", goodHeader + "roles:\n  r:\n    inherits: []\n", []string{"p.yaml:3:", "grants nothing"}},
		{"missing inherits", goodHeader + "roles:\n  r:\n    tools: [t]\ntools:\n  t: {}\n", []string{"p.yaml:3:", "inherits explicitly"}},
		{"no roles", goodHeader + "tools: {}\n", []string{"at least one role"}},
		{"wrong version", "version: 2\nroles:\n  r: {inherits: [], tools: [t]}\ntools: {t: {}}\n", []string{"p.yaml:1:", "version must be 1"}},
		{"missing version", "roles:\n  r: {inherits: [], tools: [t]}\ntools: {t: {}}\n", []string{"version must be 1"}},
		{"duplicate key", goodHeader + "roles:\n  r: {inherits: [], tools: [t]}\n  r: {inherits: [], tools: [t]}\ntools: {t: {}}\n", []string{"p.yaml:4:", "already defined"}},
		{"two documents", goodHeader + "roles:\n  r: {inherits: [], tools: [t]}\ntools: {t: {}}\n---\nversion: 1\n", []string{"more than one YAML document"}},
		{"wrong type", goodHeader + "roles:\n  r: {inherits: [], tools: t}\ntools: {t: {}}\n", []string{"p.yaml:3:", "cannot unmarshal"}},
		{"bad access", goodHeader + "roles:\n  r:\n    inherits: []\n    database: {access: write}\n", []string{"p.yaml:5:", "access must be one of"}},
		{"bad method", goodHeader + "roles:\n  r:\n    inherits: []\n    http: {methods: [G-ET]}\n", []string{"p.yaml:5:", "invalid HTTP method"}},
		{"bad host", goodHeader + "roles:\n  r:\n    inherits: []\n    http: {methods: [GET], hosts: [\"http://x\"]}\n", []string{"p.yaml:5:", "host"}},
		{"tld wildcard", goodHeader + "roles:\n  r:\n    inherits: []\n    http: {methods: [GET], hosts: [\"*.com\"]}\n", []string{"p.yaml:5:", "top-level"}},
		{"methods without hosts", goodHeader + "roles:\n  r:\n    inherits: []\n    http: {methods: [GET]}\n", []string{"p.yaml:5:", "both methods and hosts"}},
		{"unicode host", goodHeader + "roles:\n  r:\n    inherits: []\n    http: {methods: [GET], hosts: [\"bücher.example\"]}\n", []string{"p.yaml:5:", "ASCII"}},
		{"unicode tool name", goodHeader + "roles:\n  r: {inherits: [], tools: [\"tооl\"]}\ntools:\n  \"tооl\": {}\n", []string{"p.yaml:5:", "invalid tool name"}},
		{"undeclared inherit", goodHeader + "roles:\n  r:\n    inherits: [boss]\n", []string{"p.yaml:4:", `inherited role "boss"`}},
		{"bad approval", goodHeader + "roles:\n  r: {inherits: [], tools: [t]}\ntools:\n  t: {approval: maybe}\n", []string{"p.yaml:5:", "approval must be"}},
		{"bad duration", goodHeader + "roles:\n  r: {inherits: [], tools: [t]}\ntools: {t: {}}\nbudgets:\n  - {name: b, max_calls: 1, window: 1 day}\n", []string{"p.yaml:6:", "duration"}},
		{"numeric duration", goodHeader + "roles:\n  r: {inherits: [], tools: [t]}\ntools: {t: {}}\nbudgets:\n  - {name: b, max_calls: 1, window: 3600}\n", []string{"p.yaml:6:", "duration must be a string"}},
		{"budget without limit", goodHeader + "roles:\n  r: {inherits: [], tools: [t]}\ntools: {t: {}}\nbudgets:\n  - name: b\n", []string{"p.yaml:6:", "sets no limit"}},
		{"budget sum without arg", goodHeader + "roles:\n  r: {inherits: [], tools: [t]}\ntools: {t: {}}\nbudgets:\n  - name: b\n    sum: {max: 5}\n", []string{"p.yaml:7:", "sum needs an argument"}},
		{"budget unknown tool", goodHeader + "roles:\n  r: {inherits: [], tools: [t]}\ntools: {t: {}}\nbudgets:\n  - name: b\n    max_calls: 3\n    tools: [x]\n", []string{"p.yaml:8:", `tool "x"`}},
		{"duplicate budget name", goodHeader + "roles:\n  r: {inherits: [], tools: [t]}\ntools: {t: {}}\nbudgets:\n  - {name: b, max_calls: 1}\n  - {name: b, max_calls: 2}\n", []string{"p.yaml:7:", "used twice"}},
		{"flow unknown tool", goodHeader + "roles:\n  r: {inherits: [], tools: [t]}\ntools: {t: {}}\nflow:\n  after_untrusted:\n    deny: [nope]\n", []string{"p.yaml:7:", `tool "nope"`}},
		{"no_flow without label", goodHeader + "roles:\n  r: {inherits: [], tools: [t]}\ntools: {t: {}}\nflow:\n  no_flow:\n    - to: [t]\n", []string{"p.yaml:7:", "label"}},
		{"empty file", "", []string{"empty policy"}},
		{"not yaml", "roles: [\n", []string{"p.yaml"}},
		{"tool listed twice", goodHeader + "roles:\n  r: {inherits: [], tools: [t, t]}\ntools: {t: {}}\n", []string{"p.yaml:3:", "listed twice"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			var se *SpecError
			if !errors.As(err, &se) || se.File != "p.yaml" {
				t.Errorf("error is not a *SpecError with the file: %#v", err)
			}
		})
	}
}

func TestLoadReferenceFile(t *testing.T) {
	p, err := Load(filepath.Join("..", "examples", "policies", "support.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Roles(), ","); got != "admin,operator,reader" {
		t.Fatalf("roles = %s", got)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Fatal("missing file loaded")
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, []byte(strings.Repeat("#", maxPolicySize+10)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Fatalf("oversized file: %v", err)
	}
}

func TestParseSpec(t *testing.T) {
	spec, err := ParseSpec("p.yaml", []byte(goodHeader+"roles:\n  r: {inherits: [], tools: [t]}\ntools: {t: {when: 'args.x == 1.0'}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Tools["t"].When != "args.x == 1.0" {
		t.Fatalf("spec = %+v", spec)
	}
	if _, err := ParseSpec("p.yaml", []byte(goodHeader+"roles:\n  r: {tools: [t]}\n")); err == nil {
		t.Fatal("missing inherits accepted")
	}
}

func TestNewErrorsHavePaths(t *testing.T) {
	_, err := New(Spec{})
	if err == nil || !strings.Contains(err.Error(), "version") || !strings.Contains(err.Error(), "roles") {
		t.Fatalf("zero spec: %v", err)
	}
	_, err = New(Spec{Version: 1, Roles: map[string]Role{"r": {Tools: []string{"x"}}}})
	var se *SpecError
	if !errors.As(err, &se) || se.Path != "roles.r.tools[0]" {
		t.Fatalf("path: %#v", err)
	}
}

func TestYAMLAliasBomb(t *testing.T) {
	doc := goodHeader + `a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
`
	if _, err := Parse("bomb.yaml", []byte(doc)); err == nil {
		t.Fatal("alias bomb accepted")
	}
}
