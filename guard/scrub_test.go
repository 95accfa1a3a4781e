package guard

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

const testKey = "sk_live_51HxQ7xK9zP4m+/q=&?#Tz8"

// leaks reports which encoded form of value (if any) text still contains.
func leaks(text, value string) (string, bool) {
	plain, b64 := encodedForms(value)
	for _, f := range append(plain, b64...) {
		if strings.Contains(text, f) {
			return f, true
		}
	}
	return "", false
}

func TestScrubberEncodings(t *testing.T) {
	s := NewScrubber(NewSecret("STRIPE", testKey))
	raw := []byte(testKey)
	jsonEsc, _ := json.Marshal(testKey)
	blob := func(prefix int, enc *base64.Encoding) string {
		b := append(bytes.Repeat([]byte("p"), prefix), raw...)
		b = append(b, []byte(" trailing data in the blob")...)
		return enc.EncodeToString(b)
	}
	tests := []struct {
		name string
		in   string
	}{
		{"raw", "the key is " + testKey + "."},
		{"json", "payload: " + string(jsonEsc)},
		{"query", "https://x.test/?k=" + url.QueryEscape(testKey)},
		{"path", "https://x.test/" + url.PathEscape(testKey)},
		{"query lower hex", "k=" + regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(url.QueryEscape(testKey), strings.ToLower)},
		{"hex lower", hex.EncodeToString(raw)},
		{"hex upper", strings.ToUpper(hex.EncodeToString(raw))},
		{"base64 std", base64.StdEncoding.EncodeToString(raw)},
		{"base64 url", base64.URLEncoding.EncodeToString(raw)},
		{"base64 raw std", base64.RawStdEncoding.EncodeToString(raw)},
		{"base64 raw url", base64.RawURLEncoding.EncodeToString(raw)},
		{"base64 blob offset 0", blob(0, base64.StdEncoding)},
		{"base64 blob offset 1", blob(1, base64.StdEncoding)},
		{"base64 blob offset 2", blob(2, base64.StdEncoding)},
		{"base64 blob offset 4", blob(4, base64.StdEncoding)},
		{"base64url blob offset 1", blob(1, base64.URLEncoding)},
		{"base64url blob offset 2", blob(2, base64.RawURLEncoding)},
		{"basic auth header", "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+testKey))},
		{"twice", testKey + testKey},
		{"upper", strings.ToUpper(testKey)},
		{"lower", "key=" + strings.ToLower(testKey)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := s.Scrub(tt.in)
			if !strings.Contains(out, "[REDACTED:STRIPE]") {
				t.Errorf("no marker in %q", out)
			}
			if f, ok := leaks(out, testKey); ok {
				t.Errorf("form %q survives in %q", f, out)
			}
			// The decoded form must not recover the key either.
			if strings.Contains(out, testKey) {
				t.Errorf("raw key in %q", out)
			}
		})
	}
}

func TestScrubberBase64FragmentsAllOffsets(t *testing.T) {
	// Every offset and every surrounding length: the base64 of the blob must
	// lose the key.
	key := "correct-horse-battery-staple-42"
	s := NewScrubber(NewSecret("K", key))
	for pre := range 7 {
		for post := range 4 {
			b := []byte(strings.Repeat("a", pre) + key + strings.Repeat("z", post))
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding} {
				out := s.Scrub(enc.EncodeToString(b))
				if !strings.Contains(out, "[REDACTED:K]") {
					t.Errorf("pre=%d post=%d: not scrubbed: %q", pre, post, out)
				}
			}
		}
	}
}

func TestScrubberLongestWins(t *testing.T) {
	s := NewScrubber(NewSecret("SHORT", "abcdef"), NewSecret("LONG", "abcdefghij"))
	if got := s.Scrub("x abcdefghij y abcdef"); got != "x [REDACTED:LONG] y [REDACTED:SHORT]" {
		t.Errorf("got %q", got)
	}
}

func TestScrubberZeroAndNil(t *testing.T) {
	var nilS *Scrubber
	if nilS.Scrub("abc") != "abc" || nilS.Len() != 0 {
		t.Error("nil scrubber changed text")
	}
	var z Scrubber
	if z.Scrub("abc") != "abc" {
		t.Error("zero scrubber changed text")
	}
	s := NewScrubber(Secret{}, NewSecret("EMPTY", ""))
	if s.Len() != 0 {
		t.Errorf("empty secrets remembered: %d", s.Len())
	}
	s.Add(NewSecret("A", "value-1"))
	s.Add(NewSecret("A", "value-1"))
	if s.Len() != 1 {
		t.Errorf("duplicate remembered: %d", s.Len())
	}
}

func TestScrubberConcurrent(t *testing.T) {
	s := NewScrubber()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			s.Add(NewSecret(fmt.Sprint("S", i), fmt.Sprintf("secret-value-%d", i)))
		}()
		go func() {
			defer wg.Done()
			_ = s.Scrub("secret-value-1 secret-value-2")
		}()
	}
	wg.Wait()
	if got := s.Scrub("secret-value-3"); got != "[REDACTED:S3]" {
		t.Errorf("got %q", got)
	}
}

type leakyError struct{ url string }

func (e *leakyError) Error() string { return "request failed" }

func TestScrubError(t *testing.T) {
	s := NewScrubber(NewSecret("K", testKey))
	inner := &leakyError{url: "https://x.test/?k=" + testKey}
	err := fmt.Errorf("call with %s: %w", testKey, inner)
	got := s.ScrubError(err)
	if strings.Contains(got.Error(), testKey) {
		t.Errorf("value in %q", got)
	}
	var le *leakyError
	if errors.As(got, &le) {
		t.Error("chain kept: a wrapped error's fields could carry the value")
	}
	for _, tc := range []struct {
		name string
		err  error
		is   error
	}{
		{"canceled", fmt.Errorf("fetch %s: %w", testKey, context.Canceled), context.Canceled},
		{"deadline", fmt.Errorf("fetch %s: %w", testKey, context.DeadlineExceeded), context.DeadlineExceeded},
		{"denied", fmt.Errorf("wrapped: %w", &DenialError{Stage: StageScope, Rule: "r", Reason: "key " + testKey}), ErrDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := s.ScrubError(tc.err)
			if !errors.Is(got, tc.is) {
				t.Errorf("errors.Is(%v) lost", tc.is)
			}
			if strings.Contains(got.Error(), testKey) {
				t.Errorf("value in %q", got)
			}
		})
	}
	d := &DenialError{Stage: StageScope, Rule: "r", Reason: "key " + testKey, Err: errors.New(testKey)}
	got = s.ScrubError(fmt.Errorf("outer: %w", d))
	var gd *DenialError
	if !errors.As(got, &gd) {
		t.Fatal("DenialError not found")
	}
	if strings.Contains(gd.Reason, testKey) || strings.Contains(gd.Err.Error(), testKey) || gd.Stage != StageScope {
		t.Errorf("bad denial copy %+v", gd)
	}
	if s.ScrubError(nil) != nil {
		t.Error("nil error not nil")
	}
}

type captureHandler struct {
	mu  sync.Mutex
	buf bytes.Buffer
	h   slog.Handler
}

func newCapture() *captureHandler {
	c := &captureHandler{}
	c.h = slog.NewJSONHandler(&lockedWriter{c: c}, &slog.HandlerOptions{Level: slog.LevelDebug})
	return c
}

type lockedWriter struct{ c *captureHandler }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	return w.c.buf.Write(p)
}

func (c *captureHandler) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

type stringerLeak struct{ v string }

func (s stringerLeak) String() string { return "obj(" + s.v + ")" }

func TestScrubHandler(t *testing.T) {
	s := NewScrubber(NewSecret("K", testKey))
	capt := newCapture()
	ctx := ContextWithScrubber(context.Background(), s)
	log := slog.New(ScrubHandler(capt.h)).With("pre", testKey).WithGroup("g")
	log.InfoContext(ctx, "using "+testKey,
		"raw", testKey,
		"b64", base64.StdEncoding.EncodeToString([]byte(testKey)),
		"err", errors.New("bad key "+testKey),
		"obj", stringerLeak{testKey},
		slog.Group("grp", "inner", testKey),
		testKey, "as key")
	out := capt.String()
	if f, ok := leaks(out, testKey); ok {
		t.Errorf("form %q in log %s", f, out)
	}
	if !strings.Contains(out, "[REDACTED:K]") {
		t.Errorf("no marker in %s", out)
	}
	// Static variant.
	capt2 := newCapture()
	slog.New(s.Handler(capt2.h)).Info("x", "v", testKey)
	if strings.Contains(capt2.String(), testKey) {
		t.Error("static handler leaked")
	}
}

func TestScrubAuditor(t *testing.T) {
	s := NewScrubber(NewSecret("K", testKey))
	var got Event
	a := s.Auditor(AuditorFunc(func(_ context.Context, e Event) { got = e }))
	a.Audit(context.Background(), Event{Reason: testKey, Rule: testKey, Args: json.RawMessage(`{"k":"` + testKey + `"}`),
		Attrs: []slog.Attr{slog.String("a", testKey), slog.Any("e", errors.New(testKey))}})
	all := fmt.Sprintf("%s %s %s %v", got.Reason, got.Rule, got.Args, got.Attrs)
	if strings.Contains(all, testKey) {
		t.Errorf("leak: %s", all)
	}
}

func FuzzScrubber(f *testing.F) {
	f.Add("sk_live_abc", "prefix sk_live_abc suffix", 1)
	f.Add("p@ss w/rd?&=", "x", 2)
	f.Add("\x00\xff\xfe", "", 0)
	f.Add("ünïcødé-sécret", "ünïcødé-sécret", 3)
	f.Fuzz(func(t *testing.T, secret, text string, offset int) {
		if secret == "" {
			return
		}
		s := NewScrubber(NewSecret("F", secret))
		marker := RedactionMarker("F")
		if got := s.Scrub(secret); got != marker {
			t.Fatalf("Scrub(secret) = %q, want the marker", got)
		}
		_ = s.Scrub(text) // must not panic
		if offset < 0 {
			offset = -offset
		}
		offset %= 5
		blob := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", offset) + secret + "tail"))
		frag := base64Fragment([]byte(secret), offset%3)
		if len(frag) >= MinEncodedLen && !strings.Contains(s.Scrub(blob), marker) {
			t.Errorf("base64 blob %q not scrubbed: %q", blob, s.Scrub(blob))
		}
	})
}

// No base64 character left around the marker carries any bit of the value.
func TestScrubberBase64NoPartialBits(t *testing.T) {
	key := "edge-bits-key-0123456789"
	s := NewScrubber(NewSecret("K", key))
	marker := RedactionMarker("K")
	for pre := range 6 {
		for post := range 6 {
			blob := strings.Repeat("a", pre) + key + strings.Repeat("z", post)
			enc := base64.StdEncoding.EncodeToString([]byte(blob))
			out := s.Scrub(enc)
			i := strings.Index(out, marker)
			if i < 0 || strings.Count(out, marker) != 1 {
				t.Fatalf("pre=%d post=%d: %q", pre, post, out)
			}
			prefix, suffix := out[:i], out[i+len(marker):]
			if !strings.HasPrefix(enc, prefix) || !strings.HasSuffix(enc, suffix) {
				t.Fatalf("pre=%d post=%d: surroundings changed: %q", pre, post, out)
			}
			if 6*len(prefix) > 8*pre {
				t.Errorf("pre=%d post=%d: leading %q carries bits of the value", pre, post, prefix)
			}
			if 6*(len(enc)-len(suffix)) < 8*(pre+len(key)) {
				t.Errorf("pre=%d post=%d: trailing %q carries bits of the value", pre, post, suffix)
			}
		}
	}
}

func BenchmarkScrub(b *testing.B) {
	s := NewScrubber(NewSecret("A", testKey), NewSecret("B", "another-secret-value-123"))
	text := strings.Repeat("An ordinary tool result line with some JSON {\"id\": 42, \"ok\": true}.\n", 200) + testKey
	b.SetBytes(int64(len(text)))
	for range b.N {
		_ = s.Scrub(text)
	}
}

func BenchmarkNewScrubber(b *testing.B) {
	for range b.N {
		_ = NewScrubber(NewSecret("A", testKey))
	}
}

func TestScrubRedactor(t *testing.T) {
	call := NewScrubber(NewSecret("CALL", "call-secret-value"))
	static := NewScrubber(NewSecret("STATIC", "static-secret-value"))
	ctx := ContextWithScrubber(context.Background(), call)
	in := "a call-secret-value b static-secret-value"
	if got := ScrubRedactor().Redact(ctx, in); got != "a [REDACTED:CALL] b static-secret-value" {
		t.Errorf("context redactor: %q", got)
	}
	if got := static.Redact(ctx, in); got != "a [REDACTED:CALL] b [REDACTED:STATIC]" {
		t.Errorf("static redactor: %q", got)
	}
	if got := ScrubRedactor().Redact(context.Background(), in); got != in {
		t.Errorf("no scrubber in context: %q", got)
	}
}
