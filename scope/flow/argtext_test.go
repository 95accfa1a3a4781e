package flow

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestArgText(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"flat", `{"a":"x","b":2}`, "a x b 2   x 2 "},
		{"nested object values", `{"o":{"k":"v"},"n":"w"}`, "o k v n w   v w "},
		{"array of strings", `{"l":["p","q"]}`, "l p q   p q "},
		{"objects in array", `[{"k":"v"},{"k2":"v2"}]`, "k v k2 v2   v v2 "},
		{"escapes decoded", `{"\u0061":"\u0062"}`, "a b   b "},
		{"scalar", `"s"`, "s   s "},
		{"empty", ``, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := argText(json.RawMessage(tc.in))
			if err != nil || strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(tc.want), " ") {
				t.Fatalf("argText(%s) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
	for _, in := range []string{`{"a":`, `{"a"`, `[`, `{"a":1`, `{"a":1}}`} {
		if _, err := argText(json.RawMessage(in)); err == nil {
			t.Errorf("invalid JSON %s accepted", in)
		}
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"SSN: 123-45-6789": "ssn123456789",
		"Ｆｕｌｌ－ｗｉｄｔｈ　１２":    "fullwidth12",
		"a\u200bb c\td":    "abcd",
		"Straße":           "straße",
	} {
		if got := string(normalize(in)); got != want {
			t.Errorf("normalize(%q) = %q; want %q", in, got, want)
		}
	}
}

// FuzzArgText: no panic, and every string value of valid JSON appears in the
// values part.
func FuzzArgText(f *testing.F) {
	for _, s := range []string{`{"a":"x"}`, `[1,{"b":[true,null,"y"]}]`, `{"a":{"b":{"c":"d"}}}`, `"x"`, `{`, `]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := argText(json.RawMessage(in))
		if err != nil || !json.Valid([]byte(in)) {
			return
		}
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case string:
				if !strings.Contains(out, v) {
					t.Fatalf("value %q missing from %q", v, out)
				}
			case []any:
				for _, e := range v {
					walk(e)
				}
			case map[string]any:
				for _, e := range v {
					walk(e)
				}
			}
		}
		var v any
		if json.Unmarshal([]byte(in), &v) == nil {
			walk(v)
		}
	})
}
