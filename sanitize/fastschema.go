package sanitize

import (
	"encoding/json"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// fastSchema is a small evaluator for the subset of JSON Schema that tool
// argument schemas use almost always (type, properties, required, closed
// objects, string enums, lengths, patterns, numeric bounds, items). It exists for
// speed only and is never the last word on a refusal:
//
//   - a schema using any keyword outside the subset gets no fastSchema, and every
//     call goes to the full validator;
//   - when the fast path says "invalid", the full validator runs to produce the
//     violations, so messages are the same whichever path ran;
//   - the fast path may say "valid" only when the full validator would (a
//     differential fuzz test holds it to that).
type fastSchema struct {
	never     bool // the boolean schema false
	types     typeSet
	props     map[string]*fastSchema
	required  []string
	closed    bool
	enum      map[string]struct{}
	constVal  any // string, bool or nil when hasConst
	hasConst  bool
	minLen    int
	maxLen    int // -1: none
	pattern   *regexp.Regexp
	min, max  *bound
	xmin      *bound
	xmax      *bound
	items     *fastSchema
	minItems  int
	maxItems  int // -1: none
	minProps  int
	maxProps  int  // -1: none
	anyString bool // only the type keyword is set for strings; a quick exit
}

type typeSet uint8

const (
	tNull typeSet = 1 << iota
	tBool
	tObject
	tArray
	tNumber
	tInteger
	tString
	tAny typeSet = 0
)

var typeNames = map[string]typeSet{
	"null": tNull, "boolean": tBool, "object": tObject, "array": tArray,
	"number": tNumber, "integer": tInteger, "string": tString,
}

// bound is a numeric limit, kept as an exact rational and, when it is a small
// integer, as an int64 for the common comparison.
type bound struct {
	rat   *big.Rat
	small int64
	isInt bool
}

// annotations are keywords that never affect validation.
var annotations = map[string]bool{
	"$schema": true, "$comment": true, "title": true, "description": true,
	"default": true, "examples": true, "deprecated": true, "readOnly": true,
	"writeOnly": true,
}

// compileFast returns the fast evaluator for a prepared schema, or nil when the
// schema uses a keyword outside the subset.
func compileFast(v any) *fastSchema {
	switch s := v.(type) {
	case bool:
		if s {
			return &fastSchema{maxLen: -1, maxItems: -1, maxProps: -1}
		}
		return &fastSchema{never: true}
	case map[string]any:
		return compileFastObject(s)
	}
	return nil
}

func compileFastObject(s map[string]any) *fastSchema {
	f := &fastSchema{maxLen: -1, maxItems: -1, maxProps: -1}
	for k, v := range s {
		if annotations[k] {
			continue
		}
		ok := true
		switch k {
		case "type":
			f.types, ok = compileTypes(v)
		case "properties":
			m, isMap := v.(map[string]any)
			if !isMap {
				return nil
			}
			f.props = make(map[string]*fastSchema, len(m))
			for name, sub := range m {
				fs := compileFast(sub)
				if fs == nil {
					return nil
				}
				f.props[name] = fs
			}
		case "required":
			arr, isArr := v.([]any)
			if !isArr {
				return nil
			}
			for _, x := range arr {
				name, isStr := x.(string)
				if !isStr {
					return nil
				}
				f.required = append(f.required, name)
			}
		case "additionalProperties":
			b, isBool := v.(bool)
			if !isBool {
				return nil
			}
			f.closed = !b
		case "enum":
			arr, isArr := v.([]any)
			if !isArr || len(arr) == 0 {
				return nil
			}
			f.enum = make(map[string]struct{}, len(arr))
			for _, x := range arr {
				str, isStr := x.(string)
				if !isStr {
					return nil
				}
				f.enum[str] = struct{}{}
			}
		case "const":
			switch v.(type) {
			case string, bool, nil:
				f.constVal, f.hasConst = v, true
			default:
				return nil
			}
		case "minLength":
			f.minLen, ok = nonNegInt(v)
		case "maxLength":
			f.maxLen, ok = nonNegInt(v)
		case "pattern":
			str, isStr := v.(string)
			if !isStr {
				return nil
			}
			re, err := regexp.Compile(str)
			if err != nil {
				return nil
			}
			f.pattern = re
		case "minimum":
			f.min, ok = compileBound(v)
		case "maximum":
			f.max, ok = compileBound(v)
		case "exclusiveMinimum":
			f.xmin, ok = compileBound(v)
		case "exclusiveMaximum":
			f.xmax, ok = compileBound(v)
		case "items":
			f.items = compileFast(v)
			ok = f.items != nil
		case "minItems":
			f.minItems, ok = nonNegInt(v)
		case "maxItems":
			f.maxItems, ok = nonNegInt(v)
		case "minProperties":
			f.minProps, ok = nonNegInt(v)
		case "maxProperties":
			f.maxProps, ok = nonNegInt(v)
		default:
			return nil
		}
		if !ok {
			return nil
		}
	}
	f.anyString = f.types == tString && f.enum == nil && !f.hasConst && f.minLen == 0 && f.maxLen < 0 && f.pattern == nil
	return f
}

func compileTypes(v any) (typeSet, bool) {
	switch t := v.(type) {
	case string:
		ts, ok := typeNames[t]
		return ts, ok
	case []any:
		var ts typeSet
		for _, x := range t {
			name, ok := x.(string)
			if !ok {
				return 0, false
			}
			bit, ok := typeNames[name]
			if !ok {
				return 0, false
			}
			ts |= bit
		}
		return ts, len(t) > 0
	}
	return 0, false
}

func nonNegInt(v any) (int, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(string(n))
	if err != nil || i < 0 {
		return 0, false
	}
	return i, true
}

func compileBound(v any) (*bound, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		return nil, false
	}
	b := &bound{rat: r}
	if r.IsInt() && r.Num().IsInt64() {
		if x := r.Num().Int64(); x > -1<<53 && x < 1<<53 {
			b.small, b.isInt = x, true
		}
	}
	return b, true
}

// valid reports whether v satisfies f. It is called only on trees built by scan.
func (f *fastSchema) valid(v any) bool {
	if f.never {
		return false
	}
	switch t := v.(type) {
	case string:
		if f.anyString {
			return true
		}
		if f.types != tAny && f.types&tString == 0 {
			return false
		}
		if f.enum != nil {
			if _, ok := f.enum[t]; !ok {
				return false
			}
		}
		if f.hasConst && f.constVal != any(t) {
			return false
		}
		if f.minLen > 0 || f.maxLen >= 0 {
			n := len(t)
			if !isASCII(t) {
				n = utf8.RuneCountInString(t)
			}
			if n < f.minLen || (f.maxLen >= 0 && n > f.maxLen) {
				return false
			}
		}
		return f.pattern == nil || f.pattern.MatchString(t)
	case json.Number:
		integral, small, isSmall := numberInfo(t)
		if f.types != tAny && f.types&tNumber == 0 && (f.types&tInteger == 0 || !integral) {
			return false
		}
		if f.enum != nil || f.hasConst {
			return false
		}
		return checkBound(f.min, t, small, isSmall, func(c int) bool { return c >= 0 }) &&
			checkBound(f.max, t, small, isSmall, func(c int) bool { return c <= 0 }) &&
			checkBound(f.xmin, t, small, isSmall, func(c int) bool { return c > 0 }) &&
			checkBound(f.xmax, t, small, isSmall, func(c int) bool { return c < 0 })
	case bool:
		if f.types != tAny && f.types&tBool == 0 {
			return false
		}
		if f.enum != nil || (f.hasConst && f.constVal != any(t)) {
			return false
		}
		return true
	case nil:
		if f.types != tAny && f.types&tNull == 0 {
			return false
		}
		if f.enum != nil || (f.hasConst && f.constVal != nil) {
			return false
		}
		return true
	case []any:
		if f.types != tAny && f.types&tArray == 0 {
			return false
		}
		if f.enum != nil || f.hasConst {
			return false
		}
		if len(t) < f.minItems || (f.maxItems >= 0 && len(t) > f.maxItems) {
			return false
		}
		if f.items != nil {
			for _, x := range t {
				if !f.items.valid(x) {
					return false
				}
			}
		}
		return true
	case map[string]any:
		if f.types != tAny && f.types&tObject == 0 {
			return false
		}
		if f.enum != nil || f.hasConst {
			return false
		}
		if len(t) < f.minProps || (f.maxProps >= 0 && len(t) > f.maxProps) {
			return false
		}
		for _, name := range f.required {
			if _, ok := t[name]; !ok {
				return false
			}
		}
		for k, x := range t {
			sub, ok := f.props[k]
			if !ok {
				if f.closed {
					return false
				}
				continue
			}
			if !sub.valid(x) {
				return false
			}
		}
		return true
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// numberInfo reports whether a number literal is integral and, for a short plain
// integer, its value.
func numberInfo(n json.Number) (integral bool, small int64, isSmall bool) {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		if len(s) <= 15 {
			if x, err := strconv.ParseInt(s, 10, 64); err == nil {
				return true, x, true
			}
		}
		return true, 0, false
	}
	r, ok := new(big.Rat).SetString(s)
	return ok && r.IsInt(), 0, false
}

func checkBound(b *bound, n json.Number, small int64, isSmall bool, ok func(cmp int) bool) bool {
	if b == nil {
		return true
	}
	if isSmall && b.isInt {
		switch {
		case small < b.small:
			return ok(-1)
		case small > b.small:
			return ok(1)
		}
		return ok(0)
	}
	r, parsed := new(big.Rat).SetString(string(n))
	if !parsed {
		return false
	}
	return ok(r.Cmp(b.rat))
}
