package scope

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	maxArgsLen   = 1 << 20
	maxArgsDepth = 32
)

// decodeArgs decodes a call's JSON arguments for a condition. It is stricter
// than encoding/json, so that the condition cannot see different values from
// the tool: duplicate object keys, invalid UTF-8, non-finite numbers, nesting
// deeper than 32 and anything but an object at the top are errors. Empty
// arguments decode as an empty object. Numbers are float64, as in JSON.
func decodeArgs(raw []byte) (map[string]any, error) {
	if len(raw) > maxArgsLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", errArgs, maxArgsLen)
	}
	d := argDecoder{data: raw}
	d.skipSpace()
	if d.pos == len(d.data) {
		return map[string]any{}, nil
	}
	if d.data[d.pos] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", errArgs)
	}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return nil, d.errorf("trailing data")
	}
	return v.(map[string]any), nil
}

type argDecoder struct {
	data []byte
	pos  int
}

func (d *argDecoder) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: offset %d: %s", errArgs, d.pos, fmt.Sprintf(format, args...))
}

func (d *argDecoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *argDecoder) value(depth int) (any, error) {
	if depth > maxArgsDepth {
		return nil, d.errorf("nested deeper than %d", maxArgsDepth)
	}
	d.skipSpace()
	if d.pos >= len(d.data) {
		return nil, d.errorf("unexpected end")
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.array(depth)
	case c == '"':
		return d.str()
	case c == '-' || ('0' <= c && c <= '9'):
		return d.number()
	case d.literal("true"):
		return true, nil
	case d.literal("false"):
		return false, nil
	case d.literal("null"):
		return nil, nil
	}
	return nil, d.errorf("unexpected character %q", d.data[d.pos])
}

func (d *argDecoder) literal(s string) bool {
	if len(d.data)-d.pos >= len(s) && string(d.data[d.pos:d.pos+len(s)]) == s {
		d.pos += len(s)
		return true
	}
	return false
}

func (d *argDecoder) object(depth int) (any, error) {
	d.pos++ // {
	m := make(map[string]any, 8)
	// Keys seen so far, for the case-folding check: on the stack for small
	// objects, a map of folded keys beyond that.
	var small [16]string
	seen := small[:0]
	var folded map[string]struct{}
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return m, nil
	}
	for {
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.errorf("expected object key")
		}
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, d.errorf("duplicate key %q", k)
		}
		// encoding/json matches struct fields case-insensitively, so a tool
		// decoding {"amount": 1, "AMOUNT": 1000} into a struct sees 1000
		// while the condition reads args.amount == 1. Keys equal under case
		// folding are refused as ambiguous.
		if folded != nil {
			fk := foldKey(k)
			if _, dup := folded[fk]; dup {
				return nil, d.errorf("key %q differs from another only in case", k)
			}
			folded[fk] = struct{}{}
		} else {
			for _, prev := range seen {
				if strings.EqualFold(prev, k) {
					return nil, d.errorf("keys %q and %q differ only in case", prev, k)
				}
			}
			if len(seen) < cap(small) {
				seen = append(seen, k)
			} else {
				folded = make(map[string]struct{}, 2*len(seen))
				for _, prev := range seen {
					folded[foldKey(prev)] = struct{}{}
				}
				folded[foldKey(k)] = struct{}{}
			}
		}
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.errorf("expected ':'")
		}
		d.pos++
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		m[k] = v
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, d.errorf("unexpected end")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return m, nil
		default:
			return nil, d.errorf("expected ',' or '}'")
		}
	}
}

func (d *argDecoder) array(depth int) (any, error) {
	d.pos++ // [
	a := []any{}
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return a, nil
	}
	for {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, d.errorf("unexpected end")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return a, nil
		default:
			return nil, d.errorf("expected ',' or ']'")
		}
	}
}

func (d *argDecoder) str() (string, error) {
	start := d.pos
	d.pos++ // opening quote
	escaped := false
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			raw := d.data[start:d.pos]
			if !utf8.Valid(raw) {
				return "", d.errorf("invalid UTF-8 in string")
			}
			if !escaped {
				return string(raw[1 : len(raw)-1]), nil
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", d.errorf("bad string escape")
			}
			return s, nil
		case c == '\\':
			escaped = true
			d.pos += 2
			continue
		case c < 0x20:
			return "", d.errorf("control character in string")
		}
		d.pos++
	}
	return "", d.errorf("unterminated string")
}

func (d *argDecoder) number() (any, error) {
	start := d.pos
	if d.data[d.pos] == '-' {
		d.pos++
	}
	digits := func() int {
		n := 0
		for d.pos < len(d.data) && '0' <= d.data[d.pos] && d.data[d.pos] <= '9' {
			d.pos++
			n++
		}
		return n
	}
	intStart := d.pos
	if n := digits(); n == 0 {
		return nil, d.errorf("bad number")
	} else if n > 1 && d.data[intStart] == '0' {
		return nil, d.errorf("leading zero in number")
	}
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		d.pos++
		if digits() == 0 {
			return nil, d.errorf("bad number")
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if digits() == 0 {
			return nil, d.errorf("bad number")
		}
	}
	f, err := strconv.ParseFloat(string(d.data[start:d.pos]), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, d.errorf("number out of range")
	}
	return f, nil
}

// foldKey maps s to a canonical form under which two strings are equal exactly
// when strings.EqualFold says so: each rune becomes the smallest rune of its
// simple case-folding orbit.
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < m {
				m = f
			}
		}
		b.WriteRune(m)
	}
	return b.String()
}
