package sanitize

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Default limits applied when a [Limits] field is zero. They suit tool arguments a
// model writes (a few fields of text), not documents.
const (
	DefaultMaxBytes      = 64 << 10
	DefaultMaxDepth      = 8
	DefaultMaxStringLen  = 16 << 10
	DefaultMaxKeyLen     = 128
	DefaultMaxArrayLen   = 256
	DefaultMaxProperties = 64
	DefaultMaxNumberLen  = 64
)

// maxExponent bounds the decimal exponent of a number literal. math/big turns
// "1e999999999" into a huge integer when a schema compares it with a bound, so
// such literals are refused before any arithmetic.
const maxExponent = 400

// Limits bound the size and shape of a JSON arguments object. A zero field takes
// the matching Default… constant; a negative field is a configuration error. There
// is deliberately no way to switch a limit off.
type Limits struct {
	// MaxBytes bounds the raw arguments (default 64 KiB).
	MaxBytes int
	// MaxDepth bounds nesting; the arguments object itself is depth 1 (default 8).
	MaxDepth int
	// MaxStringLen bounds each string value, in bytes (default 16 KiB).
	MaxStringLen int
	// MaxKeyLen bounds each object key, in bytes (default 128).
	MaxKeyLen int
	// MaxArrayLen bounds the elements of each array (default 256).
	MaxArrayLen int
	// MaxProperties bounds the members of each object (default 64).
	MaxProperties int
	// MaxNumberLen bounds the characters of each number literal (default 64).
	MaxNumberLen int
}

func (l Limits) withDefaults() (Limits, error) {
	fields := []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxBytes", &l.MaxBytes, DefaultMaxBytes},
		{"MaxDepth", &l.MaxDepth, DefaultMaxDepth},
		{"MaxStringLen", &l.MaxStringLen, DefaultMaxStringLen},
		{"MaxKeyLen", &l.MaxKeyLen, DefaultMaxKeyLen},
		{"MaxArrayLen", &l.MaxArrayLen, DefaultMaxArrayLen},
		{"MaxProperties", &l.MaxProperties, DefaultMaxProperties},
		{"MaxNumberLen", &l.MaxNumberLen, DefaultMaxNumberLen},
	}
	for _, f := range fields {
		switch {
		case *f.v < 0:
			return l, fmt.Errorf("sanitize: limits: negative %s %d", f.name, *f.v)
		case *f.v == 0:
			*f.v = f.def
		}
	}
	return l, nil
}

// ScanError is a structural problem found by [Scan]: malformed JSON, a limit
// exceeded, a duplicate key. Pointer is the JSON pointer (RFC 6901) of the value
// at fault ("" for the whole document) and Rule a short machine name such as
// "duplicate_key" or "max_depth".
type ScanError struct {
	Pointer string
	Rule    string
	Msg     string
}

func (e *ScanError) Error() string {
	return fieldName(e.Pointer) + ": " + e.Msg
}

// fieldName renders a JSON pointer for a message the model reads.
func fieldName(ptr string) string {
	if ptr == "" {
		return "arguments"
	}
	return "argument " + strconv.Quote(truncate(ptr, 96))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Scan parses raw as a JSON arguments object under lim and returns its value tree:
// map[string]any, []any, string, json.Number, bool and nil, the form the JSON
// Schema validator expects. It is a strict single-pass parser that enforces the
// limits while it reads, so nothing over a limit is built, and it refuses:
//
//   - anything but a single JSON object (arrays, strings, null, trailing data);
//   - invalid UTF-8 and unpaired UTF-16 surrogate escapes (which encoding/json
//     would silently turn into U+FFFD, so that two parsers disagree);
//   - NUL characters in strings and keys;
//   - duplicate keys, including keys equal under case folding ("path" and
//     "PATH"; encoding/json matches struct fields case-insensitively, so a tool
//     decoding the arguments could pick the unvalidated copy);
//   - documents, strings, keys, arrays, objects, nesting and numbers over lim
//     (numbers also by exponent, so "1e999999999" never reaches math/big).
//
// The error is a [*ScanError] naming the JSON pointer and the rule.
func Scan(raw []byte, lim Limits) (map[string]any, error) {
	lim, err := lim.withDefaults()
	if err != nil {
		return nil, err
	}
	return scan(raw, &lim)
}

func scan(raw []byte, lim *Limits) (map[string]any, error) {
	if len(raw) > lim.MaxBytes {
		return nil, &ScanError{Rule: "max_bytes", Msg: fmt.Sprintf("are too large (%d bytes, the limit is %d)", len(raw), lim.MaxBytes)}
	}
	if !utf8.Valid(raw) {
		return nil, &ScanError{Rule: "utf8", Msg: "must be valid UTF-8"}
	}
	// One string copy of the input; unescaped strings and numbers are
	// substrings of it, which saves an allocation per value.
	p := parser{data: raw, str0: string(raw), lim: lim}
	p.ws()
	if p.i >= len(p.data) || p.data[p.i] != '{' {
		if p.i >= len(p.data) {
			return nil, &ScanError{Rule: "not_object", Msg: "are missing: send a JSON object, for example {\"name\": \"value\"}"}
		}
		return nil, &ScanError{Rule: "not_object", Msg: "must be a JSON object, for example {\"name\": \"value\"}"}
	}
	p.i++
	obj, err := p.object()
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.data) {
		return nil, &ScanError{Rule: "trailing_data", Msg: "must be exactly one JSON object with nothing after it"}
	}
	return obj, nil
}

// pathElem is one step of the JSON pointer to the value being parsed; it is
// rendered only when an error is reported.
type pathElem struct {
	key string
	idx int // -1 for an object member
}

// parser is a strict RFC 8259 recursive-descent parser over a byte slice. It
// builds the value tree and enforces the limits as it goes, so that nothing over
// a limit is ever materialised.
type parser struct {
	data  []byte
	str0  string // data as a string
	i     int
	lim   *Limits
	depth int
	path  []pathElem
}

func (p *parser) pointer() string {
	if len(p.path) == 0 {
		return ""
	}
	var b strings.Builder
	for _, e := range p.path {
		b.WriteByte('/')
		if e.idx >= 0 {
			b.WriteString(strconv.Itoa(e.idx))
		} else {
			b.WriteString(escapePointer(e.key))
		}
	}
	return b.String()
}

func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func (p *parser) fail(rule, msg string) error {
	return &ScanError{Pointer: p.pointer(), Rule: rule, Msg: msg}
}

func (p *parser) syntax(what string) error {
	if p.i >= len(p.data) {
		return p.fail("json", "are not valid JSON: unexpected end of input")
	}
	return p.fail("json", fmt.Sprintf("are not valid JSON: %s at byte %d", what, p.i))
}

func (p *parser) ws() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > p.lim.MaxDepth {
		return p.fail("max_depth", fmt.Sprintf("is nested too deeply (the limit is %d levels)", p.lim.MaxDepth))
	}
	return nil
}

// object parses the members of an object whose '{' was consumed.
func (p *parser) object() (map[string]any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	obj := make(map[string]any, 8)
	var folded map[string]struct{}
	p.ws()
	if p.i < len(p.data) && p.data[p.i] == '}' {
		p.i++
		return obj, nil
	}
	for {
		p.ws()
		if p.i >= len(p.data) || p.data[p.i] != '"' {
			return nil, p.syntax("expected a quoted field name")
		}
		p.i++
		key, err := p.str(p.lim.MaxKeyLen, "max_key_len", "has a field name")
		if err != nil {
			return nil, err
		}
		if len(obj) >= p.lim.MaxProperties {
			return nil, p.fail("max_properties", fmt.Sprintf("has too many fields (the limit is %d)", p.lim.MaxProperties))
		}
		if dup, ok := duplicateKey(obj, &folded, key); ok {
			msg := fmt.Sprintf("has the field %q more than once", truncate(key, 64))
			if dup != key {
				msg = fmt.Sprintf("has the fields %q and %q, which differ only in case; use one", truncate(dup, 64), truncate(key, 64))
			}
			return nil, p.fail("duplicate_key", msg)
		}
		p.ws()
		if p.i >= len(p.data) || p.data[p.i] != ':' {
			return nil, p.syntax("expected ':' after a field name")
		}
		p.i++
		p.path = append(p.path, pathElem{key: key, idx: -1})
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		p.path = p.path[:len(p.path)-1]
		obj[key] = v
		p.ws()
		if p.i >= len(p.data) {
			return nil, p.syntax("")
		}
		switch p.data[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return obj, nil
		default:
			return nil, p.syntax("expected ',' or '}'")
		}
	}
}

func (p *parser) array() ([]any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	arr := []any{}
	p.ws()
	if p.i < len(p.data) && p.data[p.i] == ']' {
		p.i++
		return arr, nil
	}
	for n := 0; ; n++ {
		if n >= p.lim.MaxArrayLen {
			return nil, p.fail("max_array_len", fmt.Sprintf("has too many items (the limit is %d)", p.lim.MaxArrayLen))
		}
		p.path = append(p.path, pathElem{idx: n})
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		p.path = p.path[:len(p.path)-1]
		arr = append(arr, v)
		p.ws()
		if p.i >= len(p.data) {
			return nil, p.syntax("")
		}
		switch p.data[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return arr, nil
		default:
			return nil, p.syntax("expected ',' or ']'")
		}
	}
}

func (p *parser) value() (any, error) {
	p.ws()
	if p.i >= len(p.data) {
		return nil, p.syntax("")
	}
	switch c := p.data[p.i]; {
	case c == '{':
		p.i++
		return p.object()
	case c == '[':
		p.i++
		return p.array()
	case c == '"':
		p.i++
		return p.str(p.lim.MaxStringLen, "max_string_len", "is")
	case c == '-' || ('0' <= c && c <= '9'):
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, p.syntax("unexpected character")
}

func (p *parser) literal(lit string) error {
	if len(p.data)-p.i < len(lit) || string(p.data[p.i:p.i+len(lit)]) != lit {
		return p.syntax("invalid literal")
	}
	p.i += len(lit)
	return nil
}

func (p *parser) number() (json.Number, error) {
	start := p.i
	d := p.data
	if p.i < len(d) && d[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(d) && d[p.i] == '0':
		p.i++
	case p.i < len(d) && '1' <= d[p.i] && d[p.i] <= '9':
		for p.i < len(d) && '0' <= d[p.i] && d[p.i] <= '9' {
			p.i++
		}
	default:
		return "", p.syntax("invalid number")
	}
	if p.i < len(d) && d[p.i] == '.' {
		p.i++
		if p.i >= len(d) || d[p.i] < '0' || d[p.i] > '9' {
			return "", p.syntax("invalid number")
		}
		for p.i < len(d) && '0' <= d[p.i] && d[p.i] <= '9' {
			p.i++
		}
	}
	if p.i < len(d) && (d[p.i] == 'e' || d[p.i] == 'E') {
		p.i++
		if p.i < len(d) && (d[p.i] == '+' || d[p.i] == '-') {
			p.i++
		}
		if p.i >= len(d) || d[p.i] < '0' || d[p.i] > '9' {
			return "", p.syntax("invalid number")
		}
		for p.i < len(d) && '0' <= d[p.i] && d[p.i] <= '9' {
			p.i++
		}
	}
	n := p.str0[start:p.i]
	if msg := checkNumber(n, p.lim.MaxNumberLen); msg != "" {
		return "", p.fail("number", msg)
	}
	return json.Number(n), nil
}

// str parses a string whose opening quote was consumed. It refuses raw control
// characters, unknown escapes, unpaired UTF-16 surrogate escapes (which
// encoding/json silently turns into U+FFFD, so that two parsers would disagree)
// and NUL characters, and bounds the decoded length by max bytes.
func (p *parser) str(max int, rule, subject string) (string, error) {
	d := p.data
	start := p.i
	for p.i < len(d) {
		c := d[p.i]
		if c == '"' {
			s := p.str0[start:p.i]
			p.i++
			if len(s) > max {
				return "", p.fail(rule, fmt.Sprintf("%s too long (%d bytes, the limit is %d)", subject, len(s), max))
			}
			return s, nil
		}
		if c == '\\' {
			return p.strSlow(start, max, rule, subject)
		}
		if c < 0x20 {
			return "", p.syntax("control character in a string")
		}
		p.i++
	}
	return "", p.syntax("unterminated string")
}

func (p *parser) strSlow(start, max int, rule, subject string) (string, error) {
	d := p.data
	b := make([]byte, 0, p.i-start+16)
	b = append(b, d[start:p.i]...)
	for p.i < len(d) {
		if len(b) > max {
			return "", p.fail(rule, fmt.Sprintf("%s too long (the limit is %d bytes)", subject, max))
		}
		c := d[p.i]
		switch {
		case c == '"':
			p.i++
			if len(b) > max {
				return "", p.fail(rule, fmt.Sprintf("%s too long (%d bytes, the limit is %d)", subject, len(b), max))
			}
			if bytes.IndexByte(b, 0) >= 0 {
				return "", p.fail("nul", "must not contain a NUL character (\\u0000)")
			}
			return string(b), nil
		case c < 0x20:
			return "", p.syntax("control character in a string")
		case c != '\\':
			b = append(b, c)
			p.i++
			continue
		}
		if p.i+1 >= len(d) {
			return "", p.syntax("unterminated string")
		}
		e := d[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := hex4(d, p.i)
			if !ok {
				return "", p.syntax("invalid \\u escape")
			}
			p.i += 4
			if r >= 0xD800 && r < 0xE000 {
				if r >= 0xDC00 || p.i+6 > len(d) || d[p.i] != '\\' || d[p.i+1] != 'u' {
					return "", p.fail("utf16", "contains an unpaired UTF-16 surrogate escape (\\ud800-\\udfff); send the character itself")
				}
				r2, ok := hex4(d, p.i+2)
				if !ok || r2 < 0xDC00 || r2 >= 0xE000 {
					return "", p.fail("utf16", "contains an unpaired UTF-16 surrogate escape (\\ud800-\\udfff); send the character itself")
				}
				p.i += 6
				r = utf16.DecodeRune(r, r2)
			}
			b = utf8.AppendRune(b, r)
		default:
			p.i -= 2
			return "", p.syntax("invalid escape")
		}
	}
	return "", p.syntax("unterminated string")
}

// duplicateKey reports whether key equals, under case folding, a key already in
// obj, and returns that key. encoding/json matches struct fields
// case-insensitively, so "path" and "PATH" in one object would let a tool decode
// a copy other than the one validated.
func duplicateKey(obj map[string]any, folded *map[string]struct{}, key string) (string, bool) {
	if _, ok := obj[key]; ok {
		return key, true
	}
	if len(obj) < 16 && *folded == nil {
		for k := range obj {
			if strings.EqualFold(k, key) {
				return k, true
			}
		}
		return "", false
	}
	if *folded == nil {
		*folded = make(map[string]struct{}, 2*len(obj))
		for k := range obj {
			(*folded)[foldKey(k)] = struct{}{}
		}
	}
	fk := foldKey(key)
	if _, ok := (*folded)[fk]; ok {
		for k := range obj {
			if strings.EqualFold(k, key) {
				return k, true
			}
		}
		return key, true
	}
	(*folded)[fk] = struct{}{}
	return "", false
}

// foldKey maps every rune to the smallest rune of its simple case-folding orbit,
// so two keys are strings.EqualFold exactly when their foldKeys are equal.
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

func foldRune(r rune) rune {
	low := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		low = min(low, f)
	}
	return low
}

// checkNumber bounds a number literal's length and exponent; it returns a message
// or "".
func checkNumber(n string, maxLen int) string {
	if len(n) > maxLen {
		return fmt.Sprintf("is a number with too many digits (the limit is %d characters)", maxLen)
	}
	i := strings.IndexAny(n, "eE")
	if i < 0 {
		return ""
	}
	e, err := strconv.Atoi(strings.TrimPrefix(n[i+1:], "+"))
	if err != nil || e > maxExponent || e < -maxExponent {
		return fmt.Sprintf("is a number out of range (exponent beyond ±%d)", maxExponent)
	}
	return ""
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r*16 + rune(c)
	}
	return r, true
}

// canonicalNumber writes integral numbers in plain integer form ("1e2", "100.0"
// and "100" all become "100"; "-0" becomes "0"), so a tool decoding into an int
// accepts what the schema accepted as an integer. Other numbers are kept as
// written (they are valid JSON literals with a bounded exponent).
func canonicalNumber(n json.Number) json.Number {
	s := string(n)
	if s == "-0" {
		return "0"
	}
	if !strings.ContainsAny(s, ".eE") {
		return n
	}
	var r big.Rat
	if _, ok := r.SetString(s); !ok || !r.IsInt() {
		return n
	}
	out := r.Num().String()
	if len(out) > 40 {
		return n
	}
	return json.Number(out)
}

// encodeCanonical encodes a scanned tree: keys sorted by their UTF-8 bytes, no
// insignificant white space, no HTML escaping, integral numbers in integer form,
// and strings escaped exactly as encoding/json escapes them (minus the HTML
// escapes), so the result is stable and decodes to the validated tree.
func encodeCanonical(tree map[string]any) (json.RawMessage, error) {
	b := make([]byte, 0, 128)
	b, err := appendValue(b, tree)
	if err != nil {
		return nil, fmt.Errorf("sanitize: re-encoding arguments: %w", err)
	}
	return json.RawMessage(b), nil
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, t), nil
	case string:
		return appendString(b, t), nil
	case json.Number:
		return append(b, canonicalNumber(t)...), nil
	case []any:
		b = append(b, '[')
		for i, x := range t {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, x); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		var small [16]string
		keys := small[:0]
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendValue(b, t[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	return nil, fmt.Errorf("unexpected value of type %T", v)
}

const hexDigits = "0123456789abcdef"

// appendString quotes a valid UTF-8 string the way encoding/json does with HTML
// escaping off: '"' and '\\' escaped, control characters as \n, \r, \t or \u00XX,
// and U+2028/U+2029 escaped for JavaScript.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
