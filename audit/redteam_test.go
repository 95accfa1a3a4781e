package audit_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentguard/agentguard/audit"
)

// Red-team tests: attacks on the audit log's tamper-evidence and redaction claims.

// A line that decodes to the sealed record but is not the sealed bytes shows one
// thing to a reader whose JSON parser differs from Go's (first duplicate key wins,
// case-sensitive keys, strict UTF-8) and another to Verify. It must not verify.
func TestRedTeamNonCanonicalLinesDoNotVerify(t *testing.T) {
	lines, head := writeLog(t, 3, audit.WithKey([]byte("k")))
	mut := map[string]func(string) string{
		"duplicate key first": func(l string) string {
			return strings.Replace(l, "{", `{"reason":"approved by admin",`, 1)
		},
		"case variant key": func(l string) string {
			return strings.Replace(l, `"reason":"not allowed"`, `"REASON":"approved","reason":"not allowed"`, 1)
		},
		"unicode escape": func(l string) string {
			return strings.Replace(l, `"tool":"refund_order"`, `"tool":"\u0072efund_order"`, 1)
		},
		"inner whitespace": func(l string) string {
			return strings.Replace(l, `"seq":`, `"seq": `, 1)
		},
	}
	for name, m := range mut {
		t.Run(name, func(t *testing.T) {
			cp := append([]string(nil), lines...)
			cp[1] = m(strings.TrimSuffix(cp[1], "\n"))
			changed := cp[1] != strings.TrimSuffix(lines[1], "\n")
			_, err := audit.Verify(strings.NewReader(join(cp)), audit.VerifyOptions{Key: []byte("k"), Head: head})
			if changed && !errors.Is(err, audit.ErrTampered) {
				t.Fatalf("non-canonical line verified: %s", cp[1])
			}
			if !changed && err != nil {
				t.Fatalf("intact log: %v", err)
			}
		})
	}
}

// A redacted value replaced by U+FFFD on write must not let an attacker swap in
// other invalid bytes that decode to the same record.
func TestRedTeamInvalidUTF8Swap(t *testing.T) {
	var buf bytes.Buffer
	w, _ := audit.NewWriter(&buf)
	e := event(1)
	e.Reason = "bad \xff byte"
	w.Audit(context.Background(), e)
	line := buf.String()
	if _, err := audit.Verify(strings.NewReader(line), audit.VerifyOptions{}); err != nil {
		t.Fatalf("intact log with invalid UTF-8 input: %v", err)
	}
	forged := strings.Replace(line, "\ufffd", "\xfe", 1)
	if forged == line {
		t.Fatalf("writer did not escape invalid UTF-8: %q", line)
	}
	if _, err := audit.Verify(strings.NewReader(forged), audit.VerifyOptions{}); !errors.Is(err, audit.ErrTampered) {
		t.Fatalf("swapped bytes verified: %v", err)
	}
}

// Every string field, including attribute keys and the model-chosen tool name,
// passes the redactor.
func TestRedTeamRedactorCoversEveryField(t *testing.T) {
	const secret = "sk_live_redteam_0123456789"
	var buf bytes.Buffer
	red := audit.RedactorFunc(func(_ context.Context, s string) string { return strings.ReplaceAll(s, secret, "[REDACTED]") })
	w, _ := audit.NewWriter(&buf, audit.WithRedactor(red))
	e := event(1)
	e.Tool, e.CallID, e.SessionID, e.Subject, e.Role = secret, secret, secret, secret, secret
	e.Rule, e.Reason, e.Args = secret, secret, []byte(`{"k":"`+secret+`"}`)
	e.Attrs = []slog.Attr{slog.String(secret, secret), slog.Group("g", slog.String("k", secret)), slog.Any("err", errors.New(secret))}
	w.Audit(context.Background(), e)
	if strings.Contains(buf.String(), secret) {
		t.Fatalf("secret reached the log: %s", buf.String())
	}
	if _, err := audit.Verify(&buf, audit.VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
}

// An empty key would silently give an unkeyed (forgeable) chain.
func TestRedTeamEmptyKeyRefused(t *testing.T) {
	if _, err := audit.NewWriter(&bytes.Buffer{}, audit.WithKey(nil)); err == nil {
		t.Error("WithKey(nil) accepted")
	}
	if _, err := audit.NewWriter(&bytes.Buffer{}, audit.WithKey([]byte{})); err == nil {
		t.Error("WithKey(empty) accepted")
	}
}

// A keyed log verified without its key, or with another key, fails.
func TestRedTeamWrongKey(t *testing.T) {
	lines, _ := writeLog(t, 2, audit.WithKey([]byte("right")))
	for _, k := range [][]byte{nil, []byte("wrong"), []byte("righ")} {
		if _, err := audit.Verify(strings.NewReader(join(lines)), audit.VerifyOptions{Key: k}); !errors.Is(err, audit.ErrTampered) {
			t.Errorf("key %q: %v", k, err)
		}
	}
}

// A model that makes one record huge (a long tool name, huge arguments) must not
// make the log unverifiable, which would stop OpenFile from ever appending again.
func TestRedTeamHugeRecordKeepsLogUsable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w, err := audit.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e := event(1)
	e.Tool = strings.Repeat("t", 1<<20+1)
	e.Args = []byte(`"` + strings.Repeat("\x01", 64<<10) + `"`)
	e.Reason = strings.Repeat("<", 64<<10)
	w.Audit(context.Background(), e)
	w.Audit(context.Background(), event(2))
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	w, err = audit.OpenFile(path)
	if err != nil {
		t.Fatalf("log with a huge record cannot be reopened: %v", err)
	}
	w.Close()
	b, _ := os.ReadFile(path)
	if len(b) > 1<<20 {
		t.Fatalf("log grew to %d bytes for two records", len(b))
	}
}

// Concurrent appends and a reader: the chain verifies and has every record.
func TestRedTeamConcurrentAppendsVerify(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	w, _ := audit.NewWriter(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), audit.WithKey([]byte("k")))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 20 {
				w.Audit(context.Background(), event(i*100+j))
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	res, err := audit.Verify(&buf, audit.VerifyOptions{Key: []byte("k"), Head: w.Head()})
	if err != nil || res.Records != 160 {
		t.Fatalf("records %d, err %v", res.Records, err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Times in other zones and with monotonic readings round-trip through Verify.
func TestRedTeamTimeZones(t *testing.T) {
	var buf bytes.Buffer
	w, _ := audit.NewWriter(&buf)
	e := event(1)
	e.Time = time.Now().In(time.FixedZone("X", 3*3600+1800))
	w.Audit(context.Background(), e)
	if _, err := audit.Verify(&buf, audit.VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
}

// Whatever strings an event holds (invalid UTF-8, HTML, control bytes, huge), the
// writer's output verifies: otherwise a model could make the log unverifiable
// and stop OpenFile from ever appending to it again.
func FuzzWriterOutputVerifies(f *testing.F) {
	f.Add("tool", "reason", "key", "value", []byte(`{"a":1}`))
	f.Add("t\xff", "r\xfe\x00<>&\u2028", "k\xc3", "\xed\xa0\x80", []byte("\xff"))
	f.Add(strings.Repeat("x", 300), "\ufffd", "", "", []byte(nil))
	f.Fuzz(func(t *testing.T, tool, reason, key, value string, args []byte) {
		var buf bytes.Buffer
		w, err := audit.NewWriter(&buf, audit.WithKey([]byte("k")))
		if err != nil {
			t.Fatal(err)
		}
		e := event(1)
		e.Tool, e.Reason, e.Args = tool, reason, args
		e.Attrs = []slog.Attr{slog.String(key, value)}
		w.Audit(context.Background(), e)
		w.Audit(context.Background(), event(2))
		if err := w.Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := audit.Verify(&buf, audit.VerifyOptions{Key: []byte("k"), Head: w.Head()}); err != nil {
			t.Fatalf("writer output does not verify: %v", err)
		}
	})
}
