package audit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentguard/agentguard/audit"
	"github.com/agentguard/agentguard/guard"
)

func event(i int) guard.Event {
	return guard.Event{Time: time.Unix(1700000000+int64(i), 0), Stage: guard.StageScope, Decision: guard.DecisionDeny,
		CallID: fmt.Sprintf("call_%d", i), Tool: "refund_order", Role: "reader", Rule: "role.tools", Reason: "not allowed"}
}

func writeLog(t *testing.T, n int, opts ...audit.Option) ([]string, string) {
	t.Helper()
	var buf bytes.Buffer
	w, err := audit.NewWriter(&buf, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		w.Audit(context.Background(), event(i))
	}
	if w.Err() != nil {
		t.Fatal(w.Err())
	}
	return strings.SplitAfter(strings.TrimSuffix(buf.String(), "\n"), "\n"), w.Head()
}

func join(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(strings.TrimSuffix(l, "\n") + "\n")
	}
	return b.String()
}

func TestVerifyDetectsTampering(t *testing.T) {
	lines, head := writeLog(t, 5)
	other, _ := writeLog(t, 5, audit.WithKey([]byte("other chain")))
	tests := []struct {
		name     string
		mutate   func([]string) []string
		wantKind string
		wantLine int
	}{
		{"intact", func(l []string) []string { return l }, "", 0},
		{"edited reason", func(l []string) []string {
			l[2] = strings.Replace(l[2], "not allowed", "allowed!!!!", 1)
			return l
		}, "edited", 3},
		{"edited decision", func(l []string) []string {
			l[1] = strings.Replace(l[1], `"decision":"deny"`, `"decision":"allow"`, 1)
			return l
		}, "edited", 2},
		{"removed middle", func(l []string) []string { return append(l[:2:2], l[3:]...) }, "removed", 3},
		{"removed first", func(l []string) []string { return l[1:] }, "removed", 1},
		{"swapped", func(l []string) []string { l[1], l[2] = l[2], l[1]; return l }, "reordered", 2},
		{"moved to end", func(l []string) []string { return append(append(l[:1:1], l[2:]...), l[1]) }, "reordered", 2},
		{"duplicated", func(l []string) []string { return append(l[:3:3], append([]string{l[2]}, l[3:]...)...) }, "inserted", 4},
		{"spliced from another chain", func(l []string) []string { l[2] = other[2]; return l }, "edited", 3},
		{"garbage", func(l []string) []string { l[1] = "{not json\n"; return l }, "malformed", 2},
		{"unknown field", func(l []string) []string { l[0] = strings.Replace(l[0], `{"seq"`, `{"x":1,"seq"`, 1); return l }, "malformed", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.mutate(append([]string(nil), lines...))
			res, err := audit.Verify(strings.NewReader(join(l)), audit.VerifyOptions{})
			if tt.wantKind == "" {
				if err != nil || res.Records != 5 || res.Head != head {
					t.Fatalf("intact log: %+v, %v", res, err)
				}
				return
			}
			var te *audit.TamperError
			if !errors.As(err, &te) || !errors.Is(err, audit.ErrTampered) {
				t.Fatalf("err = %v, want a TamperError", err)
			}
			if te.Kind != tt.wantKind || te.Line != tt.wantLine {
				t.Errorf("got %s at line %d, want %s at line %d (%v)", te.Kind, te.Line, tt.wantKind, tt.wantLine, te)
			}
		})
	}
}

func TestTruncationNeedsHead(t *testing.T) {
	lines, head := writeLog(t, 4)
	short := join(lines[:3])
	if _, err := audit.Verify(strings.NewReader(short), audit.VerifyOptions{}); err != nil {
		t.Fatalf("without a head, truncation is invisible by design: %v", err)
	}
	_, err := audit.Verify(strings.NewReader(short), audit.VerifyOptions{Head: head})
	var te *audit.TamperError
	if !errors.As(err, &te) || te.Kind != "truncated" {
		t.Fatalf("err = %v, want truncated", err)
	}
}

// Without the key an attacker who rewrites the whole chain is caught.
func TestKeyedChain(t *testing.T) {
	key := []byte("k3y")
	lines, _ := writeLog(t, 3, audit.WithKey(key))
	if _, err := audit.Verify(strings.NewReader(join(lines)), audit.VerifyOptions{Key: key}); err != nil {
		t.Fatal(err)
	}
	forged, _ := writeLog(t, 3) // a full, self-consistent unkeyed rewrite
	if _, err := audit.Verify(strings.NewReader(join(forged)), audit.VerifyOptions{Key: key}); !errors.Is(err, audit.ErrTampered) {
		t.Fatalf("forged chain verified under the key: %v", err)
	}
}

func TestOpenFileContinuesAndRefusesTampered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w, err := audit.OpenFile(path, audit.WithSync())
	if err != nil {
		t.Fatal(err)
	}
	w.Audit(context.Background(), event(1))
	w.Close()
	w, err = audit.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	w.Audit(context.Background(), event(2))
	w.Close()
	f, _ := os.Open(path)
	res, err := audit.Verify(f, audit.VerifyOptions{})
	f.Close()
	if err != nil || res.Records != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(b, []byte("not allowed"), []byte("is allowed!"), 1), 0o600)
	if _, err := audit.OpenFile(path); !errors.Is(err, audit.ErrTampered) {
		t.Fatalf("appended to a tampered log: %v", err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("log mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestConcurrentWritesStayChained(t *testing.T) {
	var buf bytes.Buffer
	w, _ := audit.NewWriter(&buf)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				w.Audit(context.Background(), event(i*100+j))
			}
		}()
	}
	wg.Wait()
	res, err := audit.Verify(&buf, audit.VerifyOptions{})
	if err != nil || res.Records != 400 {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestRedactorRunsBeforeHashing(t *testing.T) {
	var buf bytes.Buffer
	red := audit.RedactorFunc(func(_ context.Context, s string) string { return strings.ReplaceAll(s, "sk_live_123", "[REDACTED]") })
	w, _ := audit.NewWriter(&buf, audit.WithRedactor(red))
	e := event(1)
	e.Reason = "key sk_live_123 rejected"
	e.Args = []byte(`{"key":"sk_live_123"}`)
	w.Audit(context.Background(), e)
	if strings.Contains(buf.String(), "sk_live_123") {
		t.Fatalf("secret written: %s", buf.String())
	}
	if _, err := audit.Verify(strings.NewReader(buf.String()), audit.VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
}

type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	f.n++
	if f.n > 1 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriteErrorStopsTheChain(t *testing.T) {
	w, _ := audit.NewWriter(&failingWriter{})
	w.Audit(context.Background(), event(1))
	w.Audit(context.Background(), event(2))
	w.Audit(context.Background(), event(3))
	if w.Err() == nil {
		t.Fatal("write error not reported")
	}
}

func FuzzVerify(f *testing.F) {
	var buf bytes.Buffer
	w, _ := audit.NewWriter(&buf)
	for i := range 3 {
		w.Audit(context.Background(), event(i))
	}
	f.Add(buf.String())
	f.Add("")
	f.Add("{}\n")
	f.Add(`{"seq":1,"prev":"` + audit.Genesis + `","hash":"x"}` + "\n")
	f.Fuzz(func(t *testing.T, s string) {
		res, err := audit.Verify(strings.NewReader(s), audit.VerifyOptions{MaxLine: 4096})
		if err == nil && res.Records > 0 && s == "" {
			t.Fatal("empty input produced records")
		}
		if err != nil && !errors.Is(err, audit.ErrTampered) {
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
	})
}
