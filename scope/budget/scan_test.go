package budget

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// refArg is the slow reference for argMicros's scan: encoding/json's tokenizer.
func refArg(raw []byte, arg string) (val string, count int, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return "", 0, false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", 0, false
		}
		k, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return "", 0, false
		}
		if strings.EqualFold(k, arg) {
			count++
			val = string(v)
		}
	}
	return val, count, true
}

// FuzzArgMicros checks the hand-written scanner against encoding/json: the same
// argument is found, duplicates are refused, and it never panics.
func FuzzArgMicros(f *testing.F) {
	for _, s := range []string{
		`{"amount":12.5}`, `{"a":{"amount":1},"amount":2}`, `{"amount":1,"AMOUNT":2}`,
		`{"x":"a\"mount","amount":3}`, `{"\u0061mount":4}`, `{ "amount" : [1,2] }`, `[]`, `{}`, `{"amount":"5"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := argMicros(raw, "amount")
		if !json.Valid(raw) {
			if err == nil {
				t.Fatalf("invalid JSON %q admitted", raw)
			}
			return
		}
		val, count, ok := refArg(raw, "amount")
		if !ok || count != 1 {
			if err == nil {
				t.Fatalf("%q: admitted %d with %d matching keys", raw, got, count)
			}
			return
		}
		want, werr := parseMicros(strings.TrimSpace(val))
		if (err == nil) != (werr == nil) || got != want {
			t.Fatalf("%q: got %d, %v; reference %d, %v", raw, got, err, want, werr)
		}
	})
}

func TestParseMicros(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"-0", 0, true}, {"1", 1e6, true}, {"1.5", 1_500_000, true},
		{"0.000001", 1, true}, {"0.0000001", 1, true}, {"1e-7", 1, true}, {"1.0000001", 1_000_001, true},
		{"1E2", 100e6, true}, {"0.1e1", 1e6, true}, {"100.000000", 100e6, true},
		{"9007199254", 9_007_199_254_000_000, true}, {"9007199255", 0, false},
		{"1e999999999", 0, false}, {"1e-999999999", 1, true}, {"-1", 0, false}, {"-1e-9", 0, false},
		{`"1"`, 0, false}, {"null", 0, false}, {"true", 0, false}, {"{}", 0, false},
	} {
		got, err := parseMicros(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseMicros(%s) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
