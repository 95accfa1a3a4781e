package scope

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/agentguard/agentguard/examples/policies"
	"github.com/agentguard/agentguard/guard"
)

// FuzzParse: the loader never panics, and a policy it accepts denies unknown
// roles and tools.
func FuzzParse(f *testing.F) {
	f.Add(policies.SupportYAML)
	f.Add([]byte("version: 1\nroles:\n  r: {inherits: [], tools: [t]}\ntools: {t: {when: 'args.a == 1.0'}}\n"))
	f.Add([]byte("version: 1\nroles:\n  r: {inherits: [q], tools: [t]}\n  q: {inherits: [r]}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("version: 1\nroles: {r: {inherits: [], http: {methods: [GET], hosts: ['*.x:1']}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("f.yaml", data)
		if err != nil {
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("error is not a *SpecError: %v", err)
			}
			return
		}
		c := &guard.Call{Tool: "\x00no-such-tool", Principal: guard.Principal{Role: "r"}}
		if p.Authorize(context.Background(), c) == nil {
			t.Fatal("undeclared tool allowed")
		}
		c = &guard.Call{Tool: "t", Principal: guard.Principal{Role: "\x00no-such-role"}}
		if p.Authorize(context.Background(), c) == nil {
			t.Fatal("undeclared role allowed")
		}
		for _, r := range p.Roles() {
			for _, tn := range p.Tools(r) {
				_ = p.Authorize(context.Background(), &guard.Call{Tool: tn, Args: json.RawMessage(`{"a":1}`), Principal: guard.Principal{Role: r}})
			}
		}
	})
}

// FuzzClassify: the classifier never panics; a string it calls a single read
// has no write keyword outside literals and no comment or statement separator.
func FuzzClassify(f *testing.F) {
	for _, sc := range statementClasses {
		f.Add(sc.sql)
	}
	for _, s := range []string{"SELECT 'a;b' FROM t", `SELECT "x""y" FROM t`, "WITH x AS (SELECT 1) SELECT * FROM x",
		"SELECT $1, ?2, :a, @b", "SELECT X'ab'", "SELECT 1 FOR UPDATE", "INSERT OR REPLACE INTO t VALUES (1)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		cl, err := Classify(q)
		if err != nil {
			if !errors.Is(err, ErrUnclassifiable) {
				t.Fatalf("error does not match ErrUnclassifiable: %v", err)
			}
			return
		}
		if cl.Statements < 1 {
			t.Fatalf("no statements but no error: %+v", cl)
		}
		if cl.Class != ClassRead || cl.Statements != 1 {
			return
		}
		toks, err := lexSQL(q)
		if err != nil {
			t.Fatalf("classified but does not lex: %v", err)
		}
		for _, tok := range toks {
			if tok.kind == tokWord && wordClass(tok.text) != ClassRead {
				t.Fatalf("read statement %q contains %s", q, tok.text)
			}
		}
		if strings.Contains(q, "--") && !strings.Contains(q, "'") && !strings.Contains(q, `"`) {
			t.Fatalf("read statement %q contains a comment", q)
		}
		if !utf8.ValidString(q) && !strings.ContainsAny(q, `'"`) {
			t.Fatalf("read statement %q has invalid UTF-8 outside literals", q)
		}
	})
}

// FuzzDecodeArgs: the condition's argument decoder never panics, agrees with
// encoding/json on everything it accepts, and accepts every valid object
// encoding/json accepts unless it has duplicate keys, invalid UTF-8 or deep
// nesting.
func FuzzDecodeArgs(f *testing.F) {
	for _, s := range []string{`{}`, `{"amount": 10}`, `{"a":[1,2,{"b":null}],"c":"\u00e9\n"}`, `{"a":1,"a":2}`,
		`{"a":-0.5e10}`, ``, `[]`, `{"a":"\ud800"}`, `{"a":01}`, `{"a":1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := decodeArgs(raw)
		var want any
		stdErr := json.Unmarshal(raw, &want)
		if err != nil {
			if !errors.Is(err, errArgs) {
				t.Fatalf("error does not match errArgs: %v", err)
			}
			msg := err.Error()
			if stdErr == nil && utf8.Valid(raw) && !strings.Contains(msg, "duplicate") && !strings.Contains(msg, "only in case") && !strings.Contains(msg, "nested") &&
				!strings.Contains(msg, "out of range") && !strings.Contains(msg, "not a JSON object") && strings.TrimSpace(string(raw)) != "" {
				t.Fatalf("rejected valid JSON %q: %v", raw, err)
			}
			return
		}
		if strings.TrimSpace(string(raw)) == "" {
			return
		}
		if stdErr != nil {
			t.Fatalf("accepted %q that encoding/json rejects: %v", raw, stdErr)
		}
		if !reflect.DeepEqual(any(got), want) {
			t.Fatalf("decoded %q as %#v, encoding/json as %#v", raw, got, want)
		}
	})
}
