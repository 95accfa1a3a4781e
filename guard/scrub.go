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
	"unicode/utf16"
	"unicode/utf8"
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
//   - the raw value, and its upper- and lower-case forms;
//   - JSON string escaping (with and without HTML escaping, with "/" escaped as
//     "\/", with non-ASCII escaped as \uXXXX, and escaped twice for JSON held in
//     a JSON string);
//   - URL query and path escaping as net/url, Python, JavaScript, Java and PHP
//     write them, with upper- and lower-case hex digits;
//   - hex, lower- and upper-case;
//   - base64 in the standard and URL alphabets, padded and unpadded, and the
//     three alignment-dependent fragments that appear when the value sits at any
//     byte offset inside a larger base64-encoded blob, also when the encoder
//     wraps its lines (MIME, PEM, GNU base64).
//
// Longer patterns win over shorter ones where they overlap. A Scrubber is safe for
// concurrent use; the zero Scrubber scrubs nothing.
type Scrubber struct {
	mu      sync.Mutex
	secrets []Secret
	forms   []scrubForm // sorted longest first
}

type scrubForm struct {
	text   string
	marker string
	// base64 forms are widened by one character on each side when found, and
	// over trailing padding: at a byte offset that is not a multiple of three,
	// the neighbouring base64 characters carry a few bits of the value.
	base64 bool
}

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
	raw, b64 := encodedForms(sec.Reveal())
	forms := slices.Clone(s.forms)
	for _, f := range raw {
		forms = append(forms, scrubForm{text: f, marker: marker})
	}
	for _, f := range b64 {
		forms = append(forms, scrubForm{text: f, marker: marker, base64: true})
	}
	slices.SortStableFunc(forms, func(a, b scrubForm) int { return cmp.Compare(len(b.text), len(a.text)) })
	s.forms = forms // copy on write: Scrub reads a snapshot without the lock
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

func (s *Scrubber) snapshot() []scrubForm {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.forms
}

type scrubSpan struct {
	start, end int
	marker     string
}

// Scrub returns text with every remembered value and encoding replaced. Where
// matches overlap, the longest form wins and the spans are merged. Its cost is
// proportional to the length of text times the number of encoded forms (about
// 30 per secret).
func (s *Scrubber) Scrub(text string) string {
	if s == nil || text == "" {
		return text
	}
	forms := s.snapshot()
	var spans []scrubSpan
	for _, f := range forms {
		for i := 0; i <= len(text)-len(f.text); {
			j := strings.Index(text[i:], f.text)
			if j < 0 {
				break
			}
			st := i + j
			en := st + len(f.text)
			i = en
			if f.base64 {
				if st > 0 && isBase64Char(text[st-1]) {
					st--
				}
				if en < len(text) && isBase64Char(text[en]) {
					en++
				}
				for en < len(text) && text[en] == '=' {
					en++
				}
			}
			spans = append(spans, scrubSpan{st, en, f.marker})
		}
	}
	spans = append(spans, wrappedBase64Spans(text, forms)...)
	if len(spans) == 0 {
		return text
	}
	// Longest first already; a stable sort by start keeps the longest first
	// among spans that start together.
	slices.SortStableFunc(spans, func(a, b scrubSpan) int { return cmp.Compare(a.start, b.start) })
	var b strings.Builder
	b.Grow(len(text))
	pos := 0
	for i := 0; i < len(spans); {
		cur := spans[i]
		i++
		for i < len(spans) && spans[i].start < cur.end {
			cur.end = max(cur.end, spans[i].end)
			i++
		}
		b.WriteString(text[pos:cur.start])
		b.WriteString(cur.marker)
		pos = cur.end
	}
	b.WriteString(text[pos:])
	return b.String()
}

// wrappedBase64Spans finds the base64 forms in text as base64 encoders that
// wrap lines write them (MIME and PEM at 64 or 76 columns, GNU base64 at 76). It
// looks only at runs of base64 characters broken by single line breaks, joins
// each run's lines and maps every match that spans a break back to the original
// positions; text without such runs costs one pass.
func wrappedBase64Spans(text string, forms []scrubForm) []scrubSpan {
	if !hasWrappedBase64(text) {
		return nil
	}
	var spans []scrubSpan
	n := len(text)
	for i := 0; i < n; {
		if !isBase64Char(text[i]) {
			i++
			continue
		}
		start, j, broken := i, i, false
		for j < n {
			c := text[j]
			if isBase64Char(c) || c == '=' {
				j++
				continue
			}
			e := j
			switch {
			case c == '\n':
				e = j + 1
			case c == '\r' && j+1 < n && text[j+1] == '\n':
				e = j + 2
			}
			// A line break continues the run only between base64 characters.
			if e > j && e < n && isBase64Char(text[j-1]) && isBase64Char(text[e]) {
				broken, j = true, e
				continue
			}
			break
		}
		if broken {
			spans = append(spans, joinedBase64Spans(text[start:j], start, forms)...)
		}
		i = j
	}
	return spans
}

// hasWrappedBase64 reports whether some line break of text sits between two
// base64 characters (ignoring a CR before the LF).
func hasWrappedBase64(text string) bool {
	for i := 0; ; {
		k := strings.IndexByte(text[i:], '\n')
		if k < 0 {
			return false
		}
		k += i
		before := k - 1
		if before >= 0 && text[before] == '\r' {
			before--
		}
		if before >= 0 && k+1 < len(text) && isBase64Char(text[before]) && isBase64Char(text[k+1]) {
			return true
		}
		i = k + 1
	}
}

// joinedBase64Spans searches run (at offset off in the text) with its line
// breaks removed for the base64 forms, keeping the matches that span a break.
func joinedBase64Spans(run string, off int, forms []scrubForm) []scrubSpan {
	joined := make([]byte, 0, len(run))
	at := make([]int32, 0, len(run)) // at[i] is the position in run of joined[i]
	for i := 0; i < len(run); i++ {
		if c := run[i]; c != '\n' && c != '\r' {
			joined = append(joined, c)
			at = append(at, int32(i))
		}
	}
	js := string(joined)
	var spans []scrubSpan
	for _, f := range forms {
		if !f.base64 {
			continue
		}
		for i := 0; i <= len(js)-len(f.text); {
			j := strings.Index(js[i:], f.text)
			if j < 0 {
				break
			}
			st := i + j
			en := st + len(f.text)
			i = en
			if int(at[en-1]-at[st]) == en-1-st {
				continue // no line break inside: the main pass found it
			}
			if st > 0 && isBase64Char(js[st-1]) {
				st--
			}
			if en < len(js) && isBase64Char(js[en]) {
				en++
			}
			for en < len(js) && js[en] == '=' {
				en++
			}
			spans = append(spans, scrubSpan{off + int(at[st]), off + int(at[en-1]) + 1, f.marker})
		}
	}
	return spans
}

func isBase64Char(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_'
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

// encodedForms returns the raw value and its byte-aligned encodings, and its
// base64 encodings and fragments, deduplicated.
func encodedForms(v string) (plain, b64 []string) {
	plain = []string{v}
	seen := map[string]bool{v: true}
	add := func(list *[]string, f string) {
		if len(f) >= MinEncodedLen && !seen[f] {
			seen[f] = true
			*list = append(*list, f)
		}
	}
	// Case changes (an upper-cased header, a lower-cased log line).
	add(&plain, strings.ToUpper(v))
	add(&plain, strings.ToLower(v))
	// JSON string escaping, with and without HTML escaping, as other encoders
	// write it too: "/" escaped as "\/" (PHP, some Java encoders), non-ASCII
	// as \uXXXX (Python's ensure_ascii), and JSON inside a JSON string.
	var jsonForms []string
	if b, err := json.Marshal(v); err == nil {
		jsonForms = append(jsonForms, string(b[1:len(b)-1]))
		if bb, err := json.Marshal(string(b)); err == nil {
			jsonForms = append(jsonForms, string(bb[3:len(bb)-3]))
		}
	}
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) == nil {
		js := strings.TrimSuffix(sb.String(), "\n")
		jsonForms = append(jsonForms, js[1:len(js)-1])
	}
	for _, js := range jsonForms {
		for _, f := range []string{js, asciiJSON(js, false), asciiJSON(js, true)} {
			add(&plain, f)
			add(&plain, strings.ReplaceAll(f, "/", `\/`))
		}
	}
	// URL escaping, as written by net/url (upper-case hex) and by encoders
	// that emit lower-case hex.
	// Other encoders keep other characters unescaped: RFC 3986 unreserved only
	// (Python's quote(safe="")), "/" kept too (Python's quote), JavaScript's
	// encodeURIComponent, and form encoders that write a space as "+" (Java's
	// URLEncoder, PHP's urlencode).
	for _, u := range []string{url.QueryEscape(v), url.PathEscape(v),
		percentEncode(v, "-_.~", false), percentEncode(v, "-_.~/", false),
		percentEncode(v, "-_.!~*'()", false), percentEncode(v, "-_.*", true), percentEncode(v, "-_.", true)} {
		add(&plain, u)
		add(&plain, lowerPercentHex(u))
	}
	// Hex.
	h := hex.EncodeToString([]byte(v))
	add(&plain, h)
	add(&plain, strings.ToUpper(h))
	// Base64, whole and as fragments at the three byte alignments.
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		add(&b64, e.EncodeToString([]byte(v)))
	}
	for k := range 3 {
		frag := base64Fragment([]byte(v), k)
		add(&b64, frag)
		add(&b64, strings.Map(toURLAlphabet, frag))
	}
	return plain, b64
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

// asciiJSON rewrites the non-ASCII runes of a JSON string body as \uXXXX
// escapes (surrogate pairs above U+FFFF), with lower- or upper-case hex.
func asciiJSON(s string, upper bool) string {
	var b strings.Builder
	for _, r := range s {
		if r < utf8.RuneSelf {
			b.WriteRune(r)
			continue
		}
		format := `\u%04x`
		if upper {
			format = `\u%04X`
		}
		if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
			fmt.Fprintf(&b, format+format, r1, r2)
			continue
		}
		fmt.Fprintf(&b, format, r)
	}
	return b.String()
}

// percentEncode escapes every byte of v as %XX (upper-case hex) except ASCII
// letters, digits and the bytes in keep; plus writes a space as "+".
func percentEncode(v, keep string, plus bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte(keep, c) >= 0:
			b.WriteByte(c)
		case c == ' ' && plus:
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
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

func toURLAlphabet(r rune) rune {
	switch r {
	case '+':
		return '-'
	case '/':
		return '_'
	}
	return r
}

var _ Redactor = (*Scrubber)(nil)

// Redact implements [Redactor]: it scrubs text with s's secrets and with those of
// the scrubber carried by ctx ([ScrubberFromContext]), if any. A nil *Scrubber
// applies only the context's.
func (s *Scrubber) Redact(ctx context.Context, text string) string {
	text = s.Scrub(text)
	if cs := ScrubberFromContext(ctx); cs != nil && cs != s {
		text = cs.Scrub(text)
	}
	return text
}

// ScrubRedactor returns a [Redactor] that scrubs with the scrubber carried by the
// context: the secret values resolved for the call being handled.
func ScrubRedactor() Redactor { return (*Scrubber)(nil) }
