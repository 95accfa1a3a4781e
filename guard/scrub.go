package guard

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// MinEncodedLen is the shortest encoded form of a secret a [Scrubber] replaces.
// The raw value is always replaced, whatever its length; an encoding shorter than
// this (the base64 of a three-byte PIN, say) would match ordinary text too often
// to be worth replacing.
const MinEncodedLen = 6

// Scrubber replaces a set of secret values, and their common encodings, with
// [RedactionMarker] of the secret's name. The secrets stage ([ResolveSecrets])
// builds one per call from the values it resolved and runs every result, error and
// panic message through it; tools and log handlers reach it with
// [ScrubberFromContext].
//
// For each value it replaces:
//   - the raw value;
//   - JSON string escaping (with and without HTML escaping);
//   - URL query and path escaping, with upper- and lower-case hex digits;
//   - hex, lower- and upper-case;
//   - base64 in the standard and URL alphabets, padded and unpadded, and the
//     three alignment-dependent fragments that appear when the value sits at any
//     byte offset inside a larger base64-encoded blob.
//
// Longer patterns win over shorter ones where they overlap. A Scrubber is safe for
// concurrent use; the zero Scrubber scrubs nothing.
type Scrubber struct {
	mu      sync.Mutex
	secrets []Secret
	pairs   []scrubPair
	rep     *strings.Replacer // nil when stale
}

type scrubPair struct{ old, new string }

// NewScrubber returns a Scrubber for secrets. Zero and empty secrets are ignored.
func NewScrubber(secrets ...Secret) *Scrubber {
	s := &Scrubber{}
	for _, sec := range secrets {
		s.Add(sec)
	}
	return s
}

// Add remembers sec: from now on its value and encodings are scrubbed. A zero or
// empty secret is ignored (there is nothing to find).
func (s *Scrubber) Add(sec Secret) {
	if sec.IsZero() || sec.Reveal() == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, have := range s.secrets {
		if have.Name() == sec.Name() && have.Equal(sec.Reveal()) {
			return
		}
	}
	s.secrets = append(s.secrets, sec)
	marker := RedactionMarker(sec.Name())
	for _, f := range encodedForms(sec.Reveal()) {
		s.pairs = append(s.pairs, scrubPair{f, marker})
	}
	s.rep = nil
}

// Len returns the number of secrets remembered.
func (s *Scrubber) Len() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.secrets)
}

// Names returns the names of the secrets remembered, in the order added.
func (s *Scrubber) Names() []string {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, len(s.secrets))
	for i, sec := range s.secrets {
		names[i] = sec.Name()
	}
	return names
}

func (s *Scrubber) replacer() *strings.Replacer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pairs) == 0 {
		return nil
	}
	if s.rep == nil {
		// Longest first: strings.Replacer tries candidates in argument order at
		// each position, so a longer encoding is never cut short by a shorter one
		// that is its prefix.
		pairs := slices.Clone(s.pairs)
		slices.SortStableFunc(pairs, func(a, b scrubPair) int { return cmp.Compare(len(b.old), len(a.old)) })
		args := make([]string, 0, 2*len(pairs))
		for _, p := range pairs {
			args = append(args, p.old, p.new)
		}
		s.rep = strings.NewReplacer(args...)
	}
	return s.rep
}

// Scrub returns text with every remembered value and encoding replaced.
func (s *Scrubber) Scrub(text string) string {
	if s == nil || text == "" {
		return text
	}
	r := s.replacer()
	if r == nil {
		return text
	}
	return r.Replace(text)
}

// Contains reports whether text holds a remembered value or encoding.
func (s *Scrubber) Contains(text string) bool { return s.Scrub(text) != text }

// ScrubResult returns a copy of r with its content, labels and metadata (keys and
// values) scrubbed, and whether anything was replaced. A nil r is returned as is.
func (s *Scrubber) ScrubResult(r *Result) (*Result, bool) {
	if r == nil || s.Len() == 0 {
		return r, false
	}
	cp := *r
	changed := false
	sc := func(v string) string {
		out := s.Scrub(v)
		if out != v {
			changed = true
		}
		return out
	}
	cp.Content = sc(r.Content)
	if r.Labels != nil {
		cp.Labels = make([]string, len(r.Labels))
		for i, l := range r.Labels {
			cp.Labels[i] = sc(l)
		}
	}
	if r.Metadata != nil {
		cp.Metadata = make(map[string]string, len(r.Metadata))
		for k, v := range r.Metadata {
			cp.Metadata[sc(k)] = sc(v)
		}
	}
	return &cp, changed
}

// ErrToolPanic is matched by the error the secrets stage returns when the tool
// panicked. The panic value is scrubbed into the error's text.
var ErrToolPanic = errors.New("agentguard: tool panicked")

// preservedErrors are the sentinels a scrubbed error still matches with errors.Is.
// Every other link of the original chain is dropped: a wrapped error's fields (an
// HTTP response body, a request URL) could carry a secret value that its Error
// text does not show.
var preservedErrors = [...]error{context.Canceled, context.DeadlineExceeded, ErrDenied, ErrPending, ErrToolPanic}

// ScrubError returns an error whose text is err's text scrubbed. The original
// chain is not kept: the result matches (with errors.Is) only those of
// context.Canceled, context.DeadlineExceeded, [ErrDenied], [ErrPending] and
// [ErrToolPanic] that err matched, and if err holds a [*DenialError], errors.As
// finds a scrubbed copy of it. A nil err returns nil.
func (s *Scrubber) ScrubError(err error) error {
	if err == nil {
		return nil
	}
	se := &scrubbedError{msg: s.Scrub(err.Error())}
	for _, target := range preservedErrors {
		if errors.Is(err, target) {
			se.is = append(se.is, target)
		}
	}
	var d *DenialError
	if errors.As(err, &d) && d != nil {
		cp := *d
		cp.Rule = s.Scrub(d.Rule)
		cp.Reason = s.Scrub(d.Reason)
		cp.Tool = s.Scrub(d.Tool)
		cp.CallID = s.Scrub(d.CallID)
		cp.ApprovalID = s.Scrub(d.ApprovalID)
		if d.Err != nil {
			cp.Err = s.ScrubError(d.Err)
		}
		se.denial = &cp
	}
	return se
}

type scrubbedError struct {
	msg    string
	is     []error
	denial *DenialError
}

func (e *scrubbedError) Error() string { return e.msg }

func (e *scrubbedError) Is(target error) bool { return slices.Contains(e.is, target) }

func (e *scrubbedError) As(target any) bool {
	if p, ok := target.(**DenialError); ok && e.denial != nil {
		*p = e.denial
		return true
	}
	return false
}

// panicError turns a recovered panic value into a scrubbed error matching
// [ErrToolPanic].
func (s *Scrubber) panicError(v any) error {
	msg := s.Scrub(fmt.Sprint(v))
	return &scrubbedError{msg: ErrToolPanic.Error() + ": " + msg, is: []error{ErrToolPanic}}
}

// Auditor returns an [Auditor] that scrubs each event's rule, reason, arguments
// and string attributes with s before passing it to a.
func (s *Scrubber) Auditor(a Auditor) Auditor {
	return AuditorFunc(func(ctx context.Context, e Event) {
		a.Audit(ctx, s.scrubEvent(e))
	})
}

func (s *Scrubber) scrubEvent(e Event) Event {
	if s.Len() == 0 {
		return e
	}
	e.Rule = s.Scrub(e.Rule)
	e.Reason = s.Scrub(e.Reason)
	if e.Args != nil {
		e.Args = json.RawMessage(s.Scrub(string(e.Args)))
	}
	if e.Attrs != nil {
		attrs := make([]slog.Attr, len(e.Attrs))
		for i, a := range e.Attrs {
			attrs[i] = s.scrubAttr(a)
		}
		e.Attrs = attrs
	}
	return e
}

func (s *Scrubber) scrubAttr(a slog.Attr) slog.Attr {
	a.Key = s.Scrub(a.Key)
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(s.Scrub(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i, ga := range g {
			out[i] = s.scrubAttr(ga)
		}
		a.Value = slog.GroupValue(out...)
	case slog.KindAny:
		// Errors, fmt.Stringers and structs print through fmt; scrub what
		// they print rather than trusting their fields.
		a.Value = slog.StringValue(s.Scrub(fmt.Sprint(v.Any())))
	default:
		a.Value = v
	}
	return a
}

// Handler returns a [slog.Handler] that scrubs the message and every attribute
// (including groups and values that print through fmt) with s before passing the
// record to h. See also [ScrubHandler], which finds the scrubber in the context.
func (s *Scrubber) Handler(h slog.Handler) slog.Handler {
	return &scrubHandler{h: h, static: s}
}

type scrubberKey struct{}

// ContextWithScrubber returns a context carrying s. The secrets stage passes the
// tool a context carrying the call's scrubber.
func ContextWithScrubber(ctx context.Context, s *Scrubber) context.Context {
	return context.WithValue(ctx, scrubberKey{}, s)
}

// ScrubberFromContext returns the scrubber stored by [ContextWithScrubber], or nil
// (a nil *Scrubber scrubs nothing).
func ScrubberFromContext(ctx context.Context) *Scrubber {
	s, _ := ctx.Value(scrubberKey{}).(*Scrubber)
	return s
}

// ScrubHandler returns a [slog.Handler] that scrubs each record with the scrubber
// carried by the context passed to the logger (logger.InfoContext(ctx, ...)), so a
// tool's logs never hold the secret values resolved for its call. Records logged
// without that context pass through unchanged.
func ScrubHandler(h slog.Handler) slog.Handler { return &scrubHandler{h: h} }

type scrubHandler struct {
	h      slog.Handler
	static *Scrubber
	// attrs added with WithAttrs are kept here, unscrubbed, and scrubbed with the
	// record's scrubber when a record is handled.
	pre []preOp
}

type preOp struct {
	group string
	attrs []slog.Attr
}

func (h *scrubHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.h.Enabled(ctx, l) }

func (h *scrubHandler) scrubber(ctx context.Context) *Scrubber {
	if h.static != nil {
		return h.static
	}
	return ScrubberFromContext(ctx)
}

func (h *scrubHandler) Handle(ctx context.Context, r slog.Record) error {
	s := h.scrubber(ctx)
	inner := h.h
	for _, op := range h.pre {
		if op.group != "" {
			inner = inner.WithGroup(s.Scrub(op.group))
			continue
		}
		attrs := make([]slog.Attr, len(op.attrs))
		for i, a := range op.attrs {
			attrs[i] = s.scrubAttr(a)
		}
		inner = inner.WithAttrs(attrs)
	}
	nr := slog.NewRecord(r.Time, r.Level, s.Scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		nr.AddAttrs(s.scrubAttr(a))
		return true
	})
	return inner.Handle(ctx, nr)
}

func (h *scrubHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	cp := *h
	cp.pre = append(slices.Clip(h.pre), preOp{attrs: slices.Clone(attrs)})
	return &cp
}

func (h *scrubHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	cp := *h
	cp.pre = append(slices.Clip(h.pre), preOp{group: name})
	return &cp
}

// encodedForms returns the raw value and its encodings, deduplicated.
func encodedForms(v string) []string {
	forms := []string{v}
	add := func(f string) {
		if len(f) >= MinEncodedLen && !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	// JSON string escaping, with and without HTML escaping.
	if b, err := json.Marshal(v); err == nil {
		add(string(b[1 : len(b)-1]))
	}
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) == nil {
		js := strings.TrimSuffix(sb.String(), "\n")
		add(js[1 : len(js)-1])
	}
	// URL escaping, as written by net/url (upper-case hex) and by encoders
	// that emit lower-case hex.
	for _, u := range []string{url.QueryEscape(v), url.PathEscape(v)} {
		add(u)
		add(lowerPercentHex(u))
	}
	// Hex.
	h := hex.EncodeToString([]byte(v))
	add(h)
	add(strings.ToUpper(h))
	// Base64, whole and as fragments at the three byte alignments.
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		add(e.EncodeToString([]byte(v)))
	}
	for k := range 3 {
		frag := base64Fragment([]byte(v), k)
		add(frag)
		add(strings.NewReplacer("+", "-", "/", "_").Replace(frag))
	}
	return forms
}

// base64Fragment returns the base64 characters that depend only on v when v is
// encoded starting k bytes (mod 3) into a larger blob: the characters whose six
// bits all come from v. Any base64 encoding of a buffer holding v at an offset ≡ k
// (mod 3) contains it.
func base64Fragment(v []byte, k int) string {
	buf := make([]byte, k+len(v)+2)
	copy(buf[k:], v)
	enc := base64.StdEncoding.EncodeToString(buf)
	startBit, endBit := 8*k, 8*(k+len(v))
	first := (startBit + 5) / 6 // first character fully inside v
	last := endBit / 6          // one past the last character fully inside v
	if last <= first {
		return ""
	}
	return enc[first:last]
}

func lowerPercentHex(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1] = toLowerHex(b[i+1])
			b[i+2] = toLowerHex(b[i+2])
			i += 2
		}
	}
	return string(b)
}

func toLowerHex(c byte) byte {
	if c >= 'A' && c <= 'F' {
		return c + ('a' - 'A')
	}
	return c
}
