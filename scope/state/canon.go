package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxCanonicalDepth bounds the nesting of the JSON [CanonicalJSON] accepts.
const MaxCanonicalDepth = 64

// ErrDuplicateKey is returned by [CanonicalJSON] for an object with two keys that
// are equal ignoring case. Parsers disagree about which one wins (Go's
// encoding/json matches struct fields case-insensitively and keeps the last), so a
// guard that judged one and a tool that used the other would disagree.
var ErrDuplicateKey = errors.New("state: duplicate JSON key")

// ErrInvalidText is returned by [CanonicalJSON] for invalid UTF-8 and for strings
// that decode to U+FFFD (lone surrogate escapes such as "\ud800"): parsers
// repair these differently, so two different inputs would share one canonical
// form.
var ErrInvalidText = errors.New("state: invalid or replaced text in JSON")

// CanonicalJSON returns the canonical form of the JSON value raw: objects with
// sorted keys, no insignificant white space, strings re-escaped uniformly, numbers
// as written. Two argument documents a tool would read the same way have the same
// canonical form, and two it could read differently do not, so a budget's loop detection and an approval's identity of a call
// cannot be dodged by reformatting. Invalid JSON, trailing data, nesting deeper
// than [MaxCanonicalDepth], keys that are equal ignoring case
// ([ErrDuplicateKey]) and text that is not clean UTF-8 ([ErrInvalidText]) are
// errors.
func CanonicalJSON(raw []byte) ([]byte, error) {
	if !utf8.Valid(raw) {
		return nil, fmt.Errorf("state: canonical JSON: %w", ErrInvalidText)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out bytes.Buffer
	out.Grow(len(raw))
	if err := canonValue(dec, &out, 0); err != nil {
		return nil, fmt.Errorf("state: canonical JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("state: canonical JSON: trailing data")
	}
	return out.Bytes(), nil
}

func canonValue(dec *json.Decoder, out *bytes.Buffer, depth int) error {
	if depth > MaxCanonicalDepth {
		return errors.New("nesting too deep")
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return canonObject(dec, out, depth)
		case '[':
			out.WriteByte('[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					out.WriteByte(',')
				}
				if err := canonValue(dec, out, depth+1); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil { // ']'
				return err
			}
			out.WriteByte(']')
			return nil
		}
		return fmt.Errorf("unexpected %v", t)
	case string:
		if strings.ContainsRune(t, utf8.RuneError) {
			return ErrInvalidText
		}
		b, _ := json.Marshal(t)
		out.Write(b)
	case json.Number:
		out.WriteString(string(t))
	case bool:
		if t {
			out.WriteString("true")
		} else {
			out.WriteString("false")
		}
	case nil:
		out.WriteString("null")
	}
	return nil
}

// FoldKey returns a form of s that is equal for two strings exactly when
// strings.EqualFold says they are equal: every rune is replaced by the smallest
// rune of its Unicode simple case-folding orbit (so "K", "k" and the Kelvin sign
// all fold alike).
func FoldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		b.WriteRune(m)
	}
	return b.String()
}

type member struct {
	key string
	val []byte
}

func canonObject(dec *json.Decoder, out *bytes.Buffer, depth int) error {
	var members []member
	seen := map[string]struct{}{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		k, ok := tok.(string)
		if !ok {
			return errors.New("object key is not a string")
		}
		if strings.ContainsRune(k, utf8.RuneError) {
			return ErrInvalidText
		}
		fk := FoldKey(k)
		if _, dup := seen[fk]; dup {
			return fmt.Errorf("%w %q", ErrDuplicateKey, k)
		}
		seen[fk] = struct{}{}
		var v bytes.Buffer
		if err := canonValue(dec, &v, depth+1); err != nil {
			return err
		}
		members = append(members, member{k, v.Bytes()})
	}
	if _, err := dec.Token(); err != nil { // '}'
		return err
	}
	slices.SortFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
	out.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			out.WriteByte(',')
		}
		b, _ := json.Marshal(m.key)
		out.Write(b)
		out.WriteByte(':')
		out.Write(m.val)
	}
	out.WriteByte('}')
	return nil
}
