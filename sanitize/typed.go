package sanitize

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"unicode"

	"github.com/go-playground/validator/v10"

	"github.com/agentguard/agentguard/guard"
)

// ValidatorConfig configures a [Validator]. The zero value is the strictest:
// default limits, and the "safeurl" tag refuses every URL until URLs is set.
type ValidatorConfig struct {
	// Limits bound the raw arguments before they are decoded.
	Limits Limits
	// URLs is the policy of the "safeurl" tag. Nil refuses every URL.
	URLs *URLChecker
	// NamedURLs are the policies of "safeurl=name" tags. A tag naming a policy
	// that is not here refuses every URL.
	NamedURLs map[string]*URLChecker
}

// Validator decodes tool arguments into Go structs and validates them with
// go-playground/validator/v10 struct tags, with these tags for this domain:
//
//	confined   a relative path that stays inside a root: no "..", no absolute or
//	           drive path, no backslash, NUL or control characters, nothing that
//	           becomes one after percent-decoding or NFKC (see [CheckLocalPath]).
//	           Open the file through a [Root]; the tag is the early message.
//	safeurl    a URL the configured [URLChecker] allows ("safeurl=name" picks a
//	           named policy)
//	ident      an identifier: a letter or '_' then letters, digits, '_' or '-',
//	           at most 64 characters, ASCII only
//	noshell    text free of shell metacharacters ($ ` ; & | < > ( ) { } [ ] * ? ! ~
//	           # ' " \ and control characters such as newline)
//	nooption   text that does not start with '-' (cannot be read as an option)
//
// Fields are named by their json tag in messages, as JSON pointers.
//
// Build one Validator at start-up. Its custom validations are registered in
// [NewValidator]; further registration through [Validator.Engine] must also
// happen before first use, because validator/v10's registration is not safe for
// concurrent use. Validation itself is safe for concurrent use.
type Validator struct {
	v      *validator.Validate
	limits Limits
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,63}$`)

// shellMeta are the characters the "noshell" tag refuses.
const shellMeta = "$`;&|<>(){}[]*?!~#'\"\\"

// NewValidator builds the validator/v10 engine and registers the custom tags.
func NewValidator(cfg ValidatorConfig) (*Validator, error) {
	lim, err := cfg.Limits.withDefaults()
	if err != nil {
		return nil, err
	}
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			return ""
		case "":
			return f.Name
		}
		return name
	})
	urls := cfg.URLs
	named := make(map[string]*URLChecker, len(cfg.NamedURLs))
	for k, c := range cfg.NamedURLs {
		if c == nil {
			return nil, fmt.Errorf("sanitize: validator: URL policy %q: %w", k, guard.ErrNilPolicy)
		}
		named[k] = c
	}
	tags := map[string]validator.Func{
		"confined": func(fl validator.FieldLevel) bool {
			s, ok := stringField(fl)
			return ok && CheckLocalPath(s) == nil
		},
		"safeurl": func(fl validator.FieldLevel) bool {
			s, ok := stringField(fl)
			if !ok {
				return false
			}
			c := urls
			if p := fl.Param(); p != "" {
				c = named[p]
			}
			if c == nil {
				return false
			}
			_, err := c.Check(s)
			return err == nil
		},
		"ident": func(fl validator.FieldLevel) bool {
			s, ok := stringField(fl)
			return ok && identRE.MatchString(s)
		},
		"noshell": func(fl validator.FieldLevel) bool {
			s, ok := stringField(fl)
			return ok && noShell(s)
		},
		"nooption": func(fl validator.FieldLevel) bool {
			s, ok := stringField(fl)
			return ok && !strings.HasPrefix(s, "-")
		},
	}
	for tag, fn := range tags {
		// callValidationEvenIfNull: an empty or nil field is judged too.
		if err := v.RegisterValidation(tag, fn, true); err != nil {
			return nil, fmt.Errorf("sanitize: validator: registering %q: %w", tag, err)
		}
	}
	return &Validator{v: v, limits: lim}, nil
}

func stringField(fl validator.FieldLevel) (string, bool) {
	f := fl.Field()
	if f.Kind() != reflect.String {
		return "", false
	}
	return f.String(), true
}

func noShell(s string) bool {
	return !strings.ContainsAny(s, shellMeta) && !strings.ContainsFunc(s, unicode.IsControl)
}

// Engine returns the underlying validator/v10 engine, to register more tags at
// start-up. Registration is not safe for concurrent use: finish it before the
// first validation.
func (v *Validator) Engine() *validator.Validate { return v.v }

// Struct validates a decoded struct (or pointer to one). A failure is a
// [FieldErrors] value listing each field and rule in plain English.
func (v *Validator) Struct(ctx context.Context, s any) error {
	err := v.v.StructCtx(ctx, s)
	if err == nil {
		return nil
	}
	var ves validator.ValidationErrors
	if errors.As(err, &ves) {
		return newFieldErrors(ves)
	}
	return fmt.Errorf("sanitize: validating %T: %w", s, err)
}

// FieldError is one field that failed one rule.
type FieldError struct {
	// Pointer is the field's JSON pointer, for example "/options/limit".
	Pointer string
	// Tag is the validator tag that failed, for example "max" or "confined".
	Tag string
	// Msg says what is wrong in plain English.
	Msg string
}

// FieldErrors lists the fields that failed validation.
type FieldErrors []FieldError

func (e FieldErrors) Error() string {
	var b strings.Builder
	for i, f := range e {
		if i == maxViolations {
			b.WriteString("; …")
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(fieldName(f.Pointer))
		b.WriteString(": ")
		b.WriteString(f.Msg)
	}
	return b.String()
}

func newFieldErrors(ves validator.ValidationErrors) FieldErrors {
	out := make(FieldErrors, 0, len(ves))
	for _, fe := range ves {
		out = append(out, FieldError{Pointer: namespacePointer(fe.Namespace()), Tag: fe.Tag(), Msg: fieldMessage(fe)})
	}
	return out
}

// namespacePointer turns "Args.options.items[2]" into "/options/items/2".
func namespacePointer(ns string) string {
	_, rest, found := strings.Cut(ns, ".")
	if !found {
		return ""
	}
	rest = strings.NewReplacer("[", ".", "]", "").Replace(rest)
	return "/" + strings.ReplaceAll(rest, ".", "/")
}

func fieldMessage(fe validator.FieldError) string {
	p := fe.Param()
	unit := ""
	switch fe.Kind() {
	case reflect.String:
		unit = " characters"
	case reflect.Slice, reflect.Array, reflect.Map:
		unit = " items"
	}
	switch fe.Tag() {
	case "required":
		return "is required"
	case "confined":
		if s, ok := fe.Value().(string); ok {
			if err := CheckLocalPath(s); err != nil {
				return "is not a path inside the allowed folder: it " + err.Error()
			}
		}
		return "must be a relative path inside the allowed folder"
	case "safeurl":
		return "must be an http(s) URL on an allowed host (no IP addresses, user names or private hosts)"
	case "ident":
		return "must be an identifier: a letter or '_' followed by letters, digits, '_' or '-' (at most 64 characters)"
	case "noshell":
		return "must not contain shell special characters ($ ` ; & | < > ( ) { } [ ] * ? ! ~ # ' \" \\) or line breaks"
	case "nooption":
		return "must not start with '-'"
	case "min":
		if unit == "" {
			return "must be at least " + p
		}
		return "must have at least " + p + unit
	case "max":
		if unit == "" {
			return "must be at most " + p
		}
		return "must have at most " + p + unit
	case "len":
		return "must have exactly " + p + unit
	case "gt":
		return "must be greater than " + p
	case "gte":
		return "must be at least " + p
	case "lt":
		return "must be less than " + p
	case "lte":
		return "must be at most " + p
	case "oneof":
		return "must be one of: " + strings.Join(strings.Fields(p), ", ")
	case "email":
		return "must be an e-mail address"
	case "url", "http_url":
		return "must be a URL"
	case "uuid", "uuid4":
		return "must be a UUID"
	case "alphanum":
		return "must contain only letters and digits"
	case "alpha":
		return "must contain only letters"
	case "numeric", "number":
		return "must be a number"
	case "printascii":
		return "must contain only printable ASCII characters"
	case "excludesall":
		return "must not contain any of the characters " + fmt.Sprintf("%q", p)
	case "startswith":
		return fmt.Sprintf("must start with %q", p)
	case "endswith":
		return fmt.Sprintf("must end with %q", p)
	case "dive":
		return "has an invalid item"
	}
	if p != "" {
		return fmt.Sprintf("failed the %q rule (%s)", fe.Tag(), p)
	}
	return fmt.Sprintf("failed the %q rule", fe.Tag())
}

// Decode parses raw tool arguments into a T and validates it. The raw arguments
// first pass the same structural checks as a [Registry] (one object, limits, no
// duplicate or case-colliding keys, no unpaired surrogates or NULs), then are
// decoded with unknown fields refused, then validated by v's tags. A failure is a
// [*guard.DenialError] at [guard.StageArgs] whose Reason names the field and the
// rule. T must be a struct type.
func Decode[T any](ctx context.Context, v *Validator, raw json.RawMessage) (T, error) {
	var args T
	if v == nil {
		return args, &guard.DenialError{Stage: guard.StageArgs, Rule: "args.config", Reason: "no validator configured",
			Err: guard.ErrNilPolicy}
	}
	if rt := reflect.TypeFor[T](); rt.Kind() != reflect.Struct {
		return args, &guard.DenialError{Stage: guard.StageArgs, Rule: "args.config", Reason: "arguments type is not a struct",
			Err: fmt.Errorf("sanitize: Decode: %v is not a struct type", rt)}
	}
	if _, err := scan(raw, &v.limits); err != nil {
		var se *ScanError
		if !errors.As(err, &se) {
			return args, &guard.DenialError{Stage: guard.StageArgs, Rule: "args.error", Reason: "arguments could not be read", Err: err}
		}
		return args, &guard.DenialError{Stage: guard.StageArgs, Rule: "args." + se.Rule, Reason: se.Error(), Err: err}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&args); err != nil {
		return args, &guard.DenialError{Stage: guard.StageArgs, Rule: "args.decode", Reason: decodeMessage(err), Err: err}
	}
	if err := v.Struct(ctx, &args); err != nil {
		var fes FieldErrors
		if errors.As(err, &fes) && len(fes) > 0 {
			return args, &guard.DenialError{Stage: guard.StageArgs, Rule: "args.tag." + fes[0].Tag, Reason: fes.Error(), Err: fes}
		}
		return args, &guard.DenialError{Stage: guard.StageArgs, Rule: "args.error", Reason: "arguments could not be validated", Err: err}
	}
	return args, nil
}

// decodeMessage describes an encoding/json decoding error without echoing values.
func decodeMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		ptr := ""
		if te.Field != "" {
			ptr = "/" + strings.ReplaceAll(te.Field, ".", "/")
		}
		return fmt.Sprintf("%s: must be %s, not %s", fieldName(ptr), goTypeName(te.Type), article(te.Value))
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "arguments: unknown field " + truncate(f, 80)
	}
	return "arguments are not valid for this tool"
}

func goTypeName(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a value of another type"
}

// Typed adapts a handler that takes decoded, validated arguments to a
// [guard.Handler]. The call's arguments are decoded with [Decode]; a failure is
// returned as the denial (the handler does not run). A [*guard.DenialError] the
// handler returns (for example from a [Root]) gets the call's tool and id filled
// in when empty. With a nil v every call is refused.
func Typed[T any](v *Validator, h func(ctx context.Context, c *guard.Call, args T) (*guard.Result, error)) guard.Handler {
	return guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
		if c == nil {
			return nil, &guard.DenialError{Stage: guard.StageArgs, Rule: "args.nil_call", Reason: "no call"}
		}
		if h == nil {
			return nil, &guard.DenialError{Stage: guard.StageArgs, Rule: "args.config", Tool: c.Tool, CallID: c.ID,
				Reason: "no handler configured", Err: guard.ErrNilPolicy}
		}
		args, err := Decode[T](ctx, v, c.Args)
		if err != nil {
			var d *guard.DenialError
			if errors.As(err, &d) {
				d.Tool, d.CallID = c.Tool, c.ID
			}
			return nil, err
		}
		res, err := h(ctx, c, args)
		var d *guard.DenialError
		if err != nil && errors.As(err, &d) {
			if d.Tool == "" {
				d.Tool = c.Tool
			}
			if d.CallID == "" {
				d.CallID = c.ID
			}
		}
		return res, err
	})
}
