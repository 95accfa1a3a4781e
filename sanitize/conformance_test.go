package sanitize_test

import (
	"encoding/json"
	"testing"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/guardtest"
	"github.com/agentguard/agentguard/sanitize"
)

func TestRegistryConformance(t *testing.T) {
	reg, err := sanitize.NewRegistry(sanitize.Config{})
	if err != nil {
		t.Fatal(err)
	}
	err = reg.Register(sanitize.Tool{Name: "read_document", Schema: json.RawMessage(
		`{"properties":{"path":{"type":"string","maxLength":256},"limit":{"type":"integer","minimum":1}},"required":["path"]}`)})
	if err != nil {
		t.Fatal(err)
	}
	call := func(id, args string) *guard.Call {
		return &guard.Call{ID: id, Tool: "read_document", Args: json.RawMessage(args), Principal: guard.Principal{Role: "reader"}}
	}
	guardtest.TestArgValidator(t, reg, guardtest.ArgValidatorCases{
		Valid: []*guard.Call{
			call("plain", `{"path":"a.txt"}`),
			call("spaces and order", ` { "limit" : 2.0 , "path" : "b.txt" } `),
			call("unicode", `{"path":"caf\u00e9.txt"}`),
		},
		Invalid: []*guard.Call{
			call("duplicate", `{"path":"a.txt","path":"../../etc/passwd"}`),
			call("case duplicate", `{"path":"a.txt","PATH":"x"}`),
			call("extra field", `{"path":"a.txt","mode":"rw"}`),
			call("missing", `{}`),
			call("array", `["a.txt"]`),
			call("null", `null`),
			call("empty", ``),
			call("surrogate", `{"path":"\ud800"}`),
			call("bad limit", `{"path":"a","limit":0}`),
			{ID: "unknown tool", Tool: "rm", Args: json.RawMessage(`{}`)},
		},
	})
}
