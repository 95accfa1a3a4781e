package state_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/scope/state"
)

func TestCanonicalJSON(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		err            error
	}{
		{name: "sorted keys", in: `{"b":1,"a":2}`, want: `{"a":2,"b":1}`},
		{name: "white space", in: " {\n\"a\" : [ 1 , 2 ] } ", want: `{"a":[1,2]}`},
		{name: "escapes unified", in: `{"\u0061":"\u0041\/"}`, want: `{"a":"A/"}`},
		{name: "nested", in: `{"z":{"y":null,"x":true},"a":false}`, want: `{"a":false,"z":{"x":true,"y":null}}`},
		{name: "numbers as written", in: `[1.0,1,1e2]`, want: `[1.0,1,1e2]`},
		{name: "scalar", in: `"s"`, want: `"s"`},
		{name: "duplicate key", in: `{"a":1,"a":2}`, err: state.ErrDuplicateKey},
		{name: "duplicate key differing in case", in: `{"amount":1,"Amount":2}`, err: state.ErrDuplicateKey},
		{name: "duplicate key via Kelvin sign", in: `{"k":1,"\u212a":2}`, err: state.ErrDuplicateKey},
		{name: "duplicate key escaped", in: `{"a":1,"\u0061":2}`, err: state.ErrDuplicateKey},
		{name: "duplicate nested", in: `{"o":{"x":1,"X":2}}`, err: state.ErrDuplicateKey},
		{name: "same key in sibling objects is fine", in: `[{"a":1},{"a":2}]`, want: `[{"a":1},{"a":2}]`},
		{name: "invalid UTF-8", in: "{\"o\":\"A\xff\"}", err: state.ErrInvalidText},
		{name: "lone surrogate", in: `{"o":"A\ud800"}`, err: state.ErrInvalidText},
		{name: "lone surrogate in key", in: `{"\udc00":1}`, err: state.ErrInvalidText},
		{name: "literal replacement character", in: `{"o":"\ufffd"}`, err: state.ErrInvalidText},
		{name: "surrogate pair is fine", in: `{"o":"\ud83d\ude00"}`, want: `{"o":"😀"}`},
		{name: "trailing data", in: `{"a":1} {"a":2}`, err: errAny},
		{name: "truncated", in: `{"a":`, err: errAny},
		{name: "empty", in: ``, err: errAny},
		{name: "too deep", in: strings.Repeat("[", 100) + strings.Repeat("]", 100), err: errAny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := state.CanonicalJSON([]byte(tc.in))
			if tc.err != nil {
				if err == nil {
					t.Fatalf("CanonicalJSON(%s) = %s; want an error", tc.in, got)
				}
				if tc.err != errAny && !errors.Is(err, tc.err) {
					t.Fatalf("error %v; want %v", err, tc.err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("CanonicalJSON(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestKeyIsUnambiguous(t *testing.T) {
	for _, pair := range [][2][]string{
		{{"a:b", "c"}, {"a", "b:c"}},
		{{"a|b"}, {"a", "b"}},
		{{"1:a"}, {"a"}},
		{{""}, {}},
		{{"", ""}, {""}},
	} {
		if state.Key(pair[0]...) == state.Key(pair[1]...) {
			t.Errorf("Key(%q) == Key(%q)", pair[0], pair[1])
		}
	}
}

func FuzzCanonicalJSON(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[true,null,"x"]}`, `{"a":1,"A":2}`, `[]`, `"\ud800"`, `1e999`, `{"k":{"\u212a":1}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := state.CanonicalJSON(in)
		if err != nil {
			return
		}
		if !json.Valid(c) {
			t.Fatalf("canonical form %q of %q is not valid JSON", c, in)
		}
		c2, err := state.CanonicalJSON(c)
		if err != nil || string(c2) != string(c) {
			t.Fatalf("canonical form not stable: %q -> %q (%v)", c, c2, err)
		}
		if json.Valid(in) {
			var a, b any
			if json.Unmarshal(in, &a) == nil && json.Unmarshal(c, &b) == nil {
				ja, _ := json.Marshal(a)
				jb, _ := json.Marshal(b)
				if string(ja) != string(jb) {
					t.Fatalf("canonical form changes the value: %s vs %s", ja, jb)
				}
			}
		}
	})
}

func FuzzKey(f *testing.F) {
	f.Add("a:b", "c", "a", "b:c")
	f.Add("1:", "x", "", "1:x")
	f.Fuzz(func(t *testing.T, a1, a2, b1, b2 string) {
		if (a1 != b1 || a2 != b2) && state.Key(a1, a2) == state.Key(b1, b2) {
			t.Fatalf("Key(%q,%q) == Key(%q,%q)", a1, a2, b1, b2)
		}
	})
}
