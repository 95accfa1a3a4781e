package sanitize

import (
	"encoding/json"
	"testing"
)

var fastSchemas = []string{
	benchSchema,
	`{"properties":{"n":{"type":"integer","minimum":-5,"maximum":9007199254740993},"x":{"type":"number","exclusiveMinimum":0.1,"exclusiveMaximum":1e3}}}`,
	`{"properties":{"s":{"type":"string","minLength":2,"maxLength":3,"pattern":"^[a-zé]+$"},"c":{"const":"k"},"b":{"const":true},"z":{"const":null}}}`,
	`{"properties":{"t":{"type":["string","null","integer"]},"a":{"type":"array","minItems":1,"maxItems":2,"items":{"type":"object","properties":{"k":{"type":"boolean"}},"required":["k"]}}}}`,
	`{"properties":{"o":{"type":"object","minProperties":1,"maxProperties":2,"additionalProperties":true}},"required":["o"]}`,
	`{"properties":{"any":true,"never":false,"e":{"enum":["a","b"]},"m":{"maxLength":2},"num":{"minimum":1}}}`,
	`{"additionalProperties":true,"properties":{"big":{"maximum":12345678901234567890},"neg":{"type":"integer","minimum":-0.5}}}`,
}

func TestFastSchemaCompiles(t *testing.T) {
	for i, s := range fastSchemas {
		doc, err := prepareSchema(json.RawMessage(s), true)
		if err != nil {
			t.Fatal(err)
		}
		if compileFast(doc) == nil {
			t.Errorf("schema %d is outside the fast subset", i)
		}
	}
	// Keywords outside the subset disable the fast path entirely.
	for _, s := range []string{
		`{"properties":{"a":{"format":"uri"}}}`,
		`{"properties":{"a":{"$ref":"#/$defs/x"}},"$defs":{"x":{}}}`,
		`{"properties":{"a":{"enum":[1,2]}}}`,
		`{"properties":{"a":{"anyOf":[{"type":"string"}]}}}`,
		`{"properties":{"a":{"type":"array","uniqueItems":true}}}`,
		`{"patternProperties":{"^x":{}}}`,
	} {
		doc, err := prepareSchema(json.RawMessage(s), true)
		if err != nil {
			t.Fatal(err)
		}
		if compileFast(doc) != nil {
			t.Errorf("schema %s compiled to the fast path", s)
		}
	}
}

// FuzzFastSchema holds the fast evaluator to the full validator: for every
// schema in the fast subset and every scanned document, both give the same
// verdict. (Soundness only needs "fast valid implies valid"; equality keeps
// the fast path honest.)
func FuzzFastSchema(f *testing.F) {
	seeds := []string{
		string(benchArgs), `{"path":"a","mode":"read","limit":1.0}`, `{"path":"a","mode":"read","limit":1000.5}`,
		`{"n":9007199254740993}`, `{"n":9007199254740994}`, `{"n":-5.0}`, `{"n":-6}`, `{"x":0.1}`, `{"x":1e3}`, `{"x":999.999}`,
		`{"s":"éé"}`, `{"s":"ééé"}`, `{"s":"éééé"}`, `{"s":"A"}`, `{"c":"k","b":true,"z":null}`, `{"c":"j"}`, `{"b":1}`,
		`{"t":null}`, `{"t":1.0}`, `{"t":1.5}`, `{"a":[{"k":true}]}`, `{"a":[]}`, `{"a":[{"k":1}]}`, `{"a":[{"k":true,"x":1}]}`,
		`{"o":{}}`, `{"o":{"a":1}}`, `{"o":{"a":1,"b":2,"c":3}}`, `{"any":[1],"e":"a"}`, `{"never":1}`, `{"m":"abc"}`, `{"m":5}`,
		`{"num":"x"}`, `{"num":0.99}`, `{"big":12345678901234567890}`, `{"big":12345678901234567891}`, `{"neg":-0}`, `{"neg":-1}`,
	}
	for _, s := range seeds {
		for i := range fastSchemas {
			f.Add(uint8(i), []byte(s))
		}
	}
	type pair struct {
		fast *fastSchema
		tool *tool
	}
	r, err := NewRegistry(Config{})
	if err != nil {
		f.Fatal(err)
	}
	pairs := make([]pair, len(fastSchemas))
	for i, s := range fastSchemas {
		name := "t" + string(rune('a'+i))
		if err := r.Register(Tool{Name: name, Schema: json.RawMessage(s)}); err != nil {
			f.Fatal(err)
		}
		pairs[i] = pair{fast: r.tools[name].fast, tool: r.tools[name]}
	}
	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		p := pairs[int(which)%len(pairs)]
		tree, err := Scan(raw, Limits{})
		if err != nil {
			return
		}
		fast := p.fast.valid(tree)
		full := p.tool.schema.Validate(any(tree)) == nil
		if fast != full {
			t.Fatalf("schema %d, args %s: fast=%v full=%v", int(which)%len(pairs), raw, fast, full)
		}
	})
}
