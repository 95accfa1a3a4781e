package sanitize

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestScan(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		lim     Limits
		rule    string // "" means accepted
		pointer string
	}{
		{name: "simple", in: `{"a":"b","n":1,"t":true,"z":null,"arr":[1,{"x":[]}]}`},
		{name: "whitespace", in: " \t\r\n{ \"a\" : [ ] } \n"},
		{name: "empty object", in: `{}`},
		{name: "escapes", in: `{"a":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}`},
		{name: "array top", in: `[1,2]`, rule: "not_object"},
		{name: "string top", in: `"x"`, rule: "not_object"},
		{name: "null top", in: `null`, rule: "not_object"},
		{name: "empty input", in: ``, rule: "not_object"},
		{name: "trailing data", in: `{"a":1}{"a":2}`, rule: "trailing_data"},
		{name: "trailing garbage", in: `{"a":1} x`, rule: "trailing_data"},
		{name: "duplicate key", in: `{"path":"a","path":"../../etc/passwd"}`, rule: "duplicate_key"},
		{name: "case duplicate", in: `{"path":"a","PATH":"b"}`, rule: "duplicate_key"},
		{name: "kelvin duplicate", in: `{"kind":"a","\u212aind":"b"}`, rule: "duplicate_key"},
		{name: "nested duplicate", in: `{"o":{"a":1,"a":2}}`, rule: "duplicate_key", pointer: "/o"},
		{name: "escaped duplicate", in: `{"a":1,"\u0061":2}`, rule: "duplicate_key"},
		{name: "many keys case duplicate", in: manyKeys(20) + `,"KA0":1}`, rule: "duplicate_key"},
		{name: "many keys exact duplicate", in: manyKeys(20) + `,"K3":1}`, rule: "duplicate_key"},
		{name: "many keys ok", in: manyKeys(40) + `}`},
		{name: "depth ok", in: `{"a":{"b":{"c":1}}}`, lim: Limits{MaxDepth: 3}},
		{name: "too deep", in: `{"a":{"b":{"c":{}}}}`, lim: Limits{MaxDepth: 3}, rule: "max_depth", pointer: "/a/b/c"},
		{name: "too deep arrays", in: `{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, rule: "max_depth"},
		{name: "too big", in: `{"a":"` + strings.Repeat("x", 100) + `"}`, lim: Limits{MaxBytes: 50}, rule: "max_bytes"},
		{name: "long string", in: `{"a":"` + strings.Repeat("x", 11) + `"}`, lim: Limits{MaxStringLen: 10}, rule: "max_string_len", pointer: "/a"},
		{name: "long escaped string", in: `{"a":"` + strings.Repeat(`\n`, 11) + `"}`, lim: Limits{MaxStringLen: 10}, rule: "max_string_len"},
		{name: "long key", in: `{"` + strings.Repeat("k", 9) + `":1}`, lim: Limits{MaxKeyLen: 8}, rule: "max_key_len"},
		{name: "long array", in: `{"a":[1,2,3,4]}`, lim: Limits{MaxArrayLen: 3}, rule: "max_array_len", pointer: "/a"},
		{name: "many properties", in: `{"a":1,"b":2,"c":3}`, lim: Limits{MaxProperties: 2}, rule: "max_properties"},
		{name: "long number", in: `{"a":` + strings.Repeat("9", 70) + `}`, rule: "number"},
		{name: "huge exponent", in: `{"a":1e999999999}`, rule: "number"},
		{name: "negative exponent", in: `{"a":1e-999999999}`, rule: "number"},
		{name: "invalid utf8", in: "{\"a\":\"\xff\"}", rule: "utf8"},
		{name: "lone high surrogate", in: `{"a":"\ud800"}`, rule: "utf16", pointer: "/a"},
		{name: "lone low surrogate", in: `{"a":"\udc00x"}`, rule: "utf16"},
		{name: "reversed surrogates", in: `{"a":"\udc00\ud800"}`, rule: "utf16"},
		{name: "surrogate in key", in: `{"\ud800":1}`, rule: "utf16"},
		{name: "NUL escape", in: `{"path":"a.txt\u0000.png"}`, rule: "nul", pointer: "/path"},
		{name: "NUL in key", in: `{"a\u0000":1}`, rule: "nul"},
		{name: "raw control char", in: "{\"a\":\"x\ny\"}", rule: "json"},
		{name: "single quotes", in: `{'a':1}`, rule: "json"},
		{name: "trailing comma", in: `{"a":1,}`, rule: "json"},
		{name: "array trailing comma", in: `{"a":[1,]}`, rule: "json"},
		{name: "missing colon", in: `{"a" 1}`, rule: "json"},
		{name: "bad literal", in: `{"a":tru}`, rule: "json"},
		{name: "leading zero", in: `{"a":01}`, rule: "json"},
		{name: "plus number", in: `{"a":+1}`, rule: "json"},
		{name: "NaN", in: `{"a":NaN}`, rule: "json"},
		{name: "bad escape", in: `{"a":"\x41"}`, rule: "json"},
		{name: "unterminated", in: `{"a":"b`, rule: "json"},
		{name: "comment", in: `{"a":1 /* c */}`, rule: "json"},
		{name: "BOM", in: "\ufeff{}", rule: "not_object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Scan([]byte(tt.in), tt.lim)
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("Scan: %v", err)
				}
				return
			}
			var se *ScanError
			if !errors.As(err, &se) {
				t.Fatalf("Scan = %v, want ScanError %s", err, tt.rule)
			}
			if se.Rule != tt.rule {
				t.Errorf("rule = %q (%v), want %q", se.Rule, se, tt.rule)
			}
			if tt.pointer != "" && se.Pointer != tt.pointer {
				t.Errorf("pointer = %q, want %q", se.Pointer, tt.pointer)
			}
		})
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + string(rune('a'+i%26)) + string(rune('0'+i/26)) + `":1`)
	}
	// k{letter}{digit}: "K3" below does not collide; add one that does.
	b.WriteString(`,"K3":0`)
	return b.String()
}

func TestLimitsNegative(t *testing.T) {
	if _, err := Scan([]byte(`{}`), Limits{MaxDepth: -1}); err == nil {
		t.Fatal("negative limit accepted")
	}
}

func TestEncodeCanonical(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"sorted keys", `{"b":1,"a":2}`, `{"a":2,"b":1}`},
		{"integral numbers", `{"a":1e2,"b":100.0,"c":-0,"d":1.5,"e":2E+1,"f":-3.000}`, `{"a":100,"b":100,"c":0,"d":1.5,"e":20,"f":-3}`},
		{"no html escaping", `{"a":"<b>&"}`, `{"a":"<b>&"}`},
		{"controls escaped", `{"a":"\u0001\n\t\u2028"}`, `{"a":"\u0001\n\t\u2028"}`},
		{"unicode kept", `{"a":"\u00e9\ud83d\ude00"}`, "{\"a\":\"é😀\"}"},
		{"nested", ` { "z" : [ {"y":true,"x":null} ] } `, `{"z":[{"x":null,"y":true}]}`},
		{"empty containers", `{"a":[],"b":{}}`, `{"a":[],"b":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree, err := Scan([]byte(tt.in), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := encodeCanonical(tree)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// referenceScan is an independent implementation of the structural checks on
// top of encoding/json's Decoder.Token, used as the differential oracle for the
// hand-written parser. It checks duplicates (case-folded) and decodes values;
// limits are not modelled (the fuzz test uses generous limits).
func referenceScan(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not object")
	}
	obj, err := refObject(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	return obj, nil
}

func refObject(dec *json.Decoder) (map[string]any, error) {
	obj := map[string]any{}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if d, ok := tok.(json.Delim); ok && d == '}' {
			return obj, nil
		}
		key := tok.(string)
		for k := range obj {
			if strings.EqualFold(k, key) {
				return nil, errors.New("duplicate")
			}
		}
		v, err := refValue(dec)
		if err != nil {
			return nil, err
		}
		obj[key] = v
	}
}

func refValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return refObject(dec)
		}
		arr := []any{}
		for dec.More() {
			v, err := refValue(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		return arr, nil
	}
	return tok, nil
}

var scanSeeds = []string{
	`{}`, `{"a":1}`, `{"a":"b","c":[1,2,{"d":null}]}`, `{"a":"\ud83d\ude00"}`, `{"a":"\ud800"}`,
	`{"a":1,"A":2}`, `{"a":1e5,"b":-0.5E-3}`, `{"a":"\u0000"}`, `[1]`, `{"a":1}x`, `{"a":01}`,
	"{\"a\":\"\xff\"}", `{"a":{"b":{"c":{"d":{"e":{}}}}}}`, `{"\u212a":1,"k":2}`, ` {"a" : true } `,
	`{"a":"\/\b\f\n\r\t\"\\"}`, `{"a":[[[[]]]]}`, `{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":1e}`,
}

// FuzzScan holds the hand-written parser to encoding/json: both accept the same
// documents (within generous limits, and modulo the extra refusals of surrogate
// escapes and NULs), they decode to the same tree, and the canonical encoding
// re-scans to itself.
func FuzzScan(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	big := Limits{MaxBytes: 1 << 20, MaxDepth: 10000, MaxStringLen: 1 << 20, MaxKeyLen: 1 << 20,
		MaxArrayLen: 1 << 20, MaxProperties: 1 << 20, MaxNumberLen: 1 << 20}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := Scan(raw, big)
		want, werr := referenceScan(raw)
		if err != nil {
			var se *ScanError
			if !errors.As(err, &se) {
				t.Fatalf("non-ScanError %T: %v", err, err)
			}
			if werr == nil && se.Rule != "utf16" && se.Rule != "nul" && se.Rule != "utf8" && se.Rule != "number" {
				t.Fatalf("Scan refused (%v) what encoding/json accepts: %q", err, raw)
			}
			return
		}
		if werr != nil {
			t.Fatalf("Scan accepted what encoding/json refuses (%v): %q", werr, raw)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("trees differ for %q:\n got %#v\nwant %#v", raw, got, want)
		}
		canon, err := encodeCanonical(got)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Scan(canon, big)
		if err != nil {
			t.Fatalf("canonical form %q does not re-scan: %v", canon, err)
		}
		canon2, _ := encodeCanonical(again)
		if !bytes.Equal(canon, canon2) {
			t.Fatalf("canonical form not stable: %q then %q", canon, canon2)
		}
		var std any
		if err := json.Unmarshal(canon, &std); err != nil {
			t.Fatalf("canonical form %q is not JSON: %v", canon, err)
		}
	})
}
