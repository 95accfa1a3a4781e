package sanitize

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var englishPrinter = message.NewPrinter(language.English)

// collectViolations walks a validation error tree and appends one plain-English
// violation per failed rule. Alternatives (anyOf/oneOf) that all failed are
// reported once, at their location, rather than as every branch's failure.
func collectViolations(e *jsonschema.ValidationError, topProps []string, out *[]Violation) {
	if len(*out) >= 2*maxViolations {
		return
	}
	ptr := pointerOf(e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	case *kind.AnyOf:
		*out = append(*out, Violation{ptr, "anyOf", "does not match any of the allowed forms; check the schema for this field"})
		return
	case *kind.Contains, *kind.PropertyNames:
		// Report the rule, not every item or name that failed its subschema.
		rule, msg := describe(e.ErrorKind, ptr, topProps)
		*out = append(*out, Violation{ptr, rule, msg})
		return
	case *kind.OneOf:
		if k.Subschemas == nil {
			*out = append(*out, Violation{ptr, "oneOf", "does not match any of the allowed forms; check the schema for this field"})
		} else {
			*out = append(*out, Violation{ptr, "oneOf", "matches more than one of the allowed forms; make it match exactly one"})
		}
		return
	}
	if len(e.Causes) > 0 {
		for _, c := range e.Causes {
			collectViolations(c, topProps, out)
		}
		return
	}
	if _, ok := e.ErrorKind.(*kind.FalseSchema); ok && strings.HasSuffix(e.SchemaURL, "/unevaluatedProperties") {
		*out = append(*out, Violation{ptr, "unevaluatedProperties", "is not an allowed field"})
		return
	}
	rule, msg := describe(e.ErrorKind, ptr, topProps)
	*out = append(*out, Violation{Pointer: ptr, Rule: rule, Msg: msg})
}

// describe renders one failed rule. It never echoes the offending value (it may
// be long, or personal); it does name unknown fields, quoted and truncated.
func describe(k jsonschema.ErrorKind, ptr string, topProps []string) (rule, msg string) {
	switch k := k.(type) {
	case *kind.Type:
		return "type", fmt.Sprintf("must be %s, not %s", typeList(k.Want), article(k.Got))
	case *kind.Required:
		return "required", fmt.Sprintf("missing required field%s %s", plural(len(k.Missing)), quoteList(k.Missing))
	case *kind.AdditionalProperties:
		msg := fmt.Sprintf("unknown field%s %s", plural(len(k.Properties)), quoteList(k.Properties))
		if ptr == "" && len(topProps) > 0 {
			msg += "; the allowed fields are " + strings.Join(topProps, ", ")
		}
		return "additionalProperties", msg
	case *kind.MinLength:
		return "minLength", fmt.Sprintf("must be at least %d characters long", k.Want)
	case *kind.MaxLength:
		return "maxLength", fmt.Sprintf("must be at most %d characters long (it has %d)", k.Want, k.Got)
	case *kind.Pattern:
		return "pattern", fmt.Sprintf("must match the pattern %s", truncate(k.Want, 120))
	case *kind.Enum:
		return "enum", "must be one of " + valueList(k.Want)
	case *kind.Const:
		return "const", "must be " + jsonValue(k.Want)
	case *kind.Format:
		switch k.Want {
		case "confined-path":
			if err := k.Err; err != nil {
				return "format", "is not a path inside the allowed folder: it " + err.Error()
			}
			return "format", "must be a relative path inside the allowed folder"
		case "ident":
			return "format", "must be an identifier: a letter or '_' followed by letters, digits, '_' or '-' (at most 64 characters)"
		case "noshell":
			return "format", "must not contain shell special characters ($ ` ; & | < > ( ) { } [ ] * ? ! ~ # ' \" \\) or line breaks"
		case "safe-url":
			var ue *URLError
			if errors.As(k.Err, &ue) {
				return "format", ue.Error()
			}
			return "format", "must be a URL on an allowed host"
		}
		return "format", fmt.Sprintf("must be a valid %s", k.Want)
	case *kind.Minimum:
		return "minimum", "must be at least " + ratString(k.Want)
	case *kind.Maximum:
		return "maximum", "must be at most " + ratString(k.Want)
	case *kind.ExclusiveMinimum:
		return "exclusiveMinimum", "must be greater than " + ratString(k.Want)
	case *kind.ExclusiveMaximum:
		return "exclusiveMaximum", "must be less than " + ratString(k.Want)
	case *kind.MultipleOf:
		return "multipleOf", "must be a multiple of " + ratString(k.Want)
	case *kind.MinItems:
		return "minItems", fmt.Sprintf("must have at least %d item%s", k.Want, plural(k.Want))
	case *kind.MaxItems:
		return "maxItems", fmt.Sprintf("must have at most %d item%s (it has %d)", k.Want, plural(k.Want), k.Got)
	case *kind.UniqueItems:
		return "uniqueItems", fmt.Sprintf("must not repeat items (items %d and %d are equal)", k.Duplicates[0], k.Duplicates[1])
	case *kind.MinProperties:
		return "minProperties", fmt.Sprintf("must have at least %d field%s", k.Want, plural(k.Want))
	case *kind.MaxProperties:
		return "maxProperties", fmt.Sprintf("must have at most %d field%s", k.Want, plural(k.Want))
	case *kind.PropertyNames:
		return "propertyNames", fmt.Sprintf("has an invalid field name %q", truncate(k.Property, 64))
	case *kind.DependentRequired:
		return "dependentRequired", fmt.Sprintf("field %q requires %s", truncate(k.Prop, 64), quoteList(k.Missing))
	case *kind.FalseSchema:
		return "false", "is not allowed here"
	case *kind.Not:
		return "not", "has a value this field must not have"
	case *kind.Contains:
		return "contains", "must contain an item that matches the schema"
	case *kind.ContentEncoding:
		return "contentEncoding", fmt.Sprintf("must be %s-encoded", k.Want)
	case *kind.ContentMediaType:
		return "contentMediaType", fmt.Sprintf("must be valid %s", k.Want)
	}
	if k == nil {
		return "invalid", "is invalid"
	}
	kp := k.KeywordPath()
	rule = "invalid"
	if len(kp) > 0 {
		rule = kp[0]
	}
	return rule, truncate(k.LocalizedString(englishPrinter), 200)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func quoteList(ss []string) string {
	const maxItems = 8
	var b strings.Builder
	for i, s := range ss {
		if i == maxItems {
			b.WriteString(", …")
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", truncate(s, 64))
	}
	return b.String()
}

func article(t string) string {
	switch t {
	case "integer", "array", "object":
		return "an " + t
	case "null":
		return "null"
	case "":
		return "a value"
	}
	return "a " + t
}

func typeList(ts []string) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = article(t)
	}
	return strings.Join(parts, " or ")
}

func valueList(vs []any) string {
	const maxItems = 12
	parts := make([]string, 0, min(len(vs), maxItems)+1)
	for i, v := range vs {
		if i == maxItems {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, jsonValue(v))
	}
	return strings.Join(parts, ", ")
}

func jsonValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "the allowed value"
	}
	return truncate(string(b), 80)
}

func ratString(r *big.Rat) string {
	if r == nil {
		return "the bound"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	s := r.FloatString(6)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
