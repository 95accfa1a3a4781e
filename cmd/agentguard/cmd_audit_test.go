package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentguard/agentguard/audit"
	"github.com/agentguard/agentguard/guard"
)

func TestAuditVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	w, _ := audit.NewWriter(&buf)
	for _, id := range []string{"a", "b", "c"} {
		w.Audit(context.Background(), guard.Event{Time: time.Unix(0, 0), Stage: guard.StageScope, CallID: id})
	}
	good := filepath.Join(dir, "good.log")
	os.WriteFile(good, buf.Bytes(), 0o600)
	lines := strings.SplitAfter(buf.String(), "\n")
	bad := filepath.Join(dir, "bad.log")
	os.WriteFile(bad, []byte(lines[0]+lines[2]), 0o600)

	e, out, _ := testEnv("")
	if code := run(context.Background(), e, []string{"audit", "verify", good}); code != exitOK || !strings.Contains(out.String(), "ok: 3 records") {
		t.Fatalf("good: exit %d %s", code, out)
	}
	e, out, _ = testEnv("")
	if code := run(context.Background(), e, []string{"audit", "verify", bad}); code != exitFail || !strings.Contains(out.String(), "removed") {
		t.Fatalf("bad: exit %d %s", code, out)
	}
	e, _, _ = testEnv("")
	if code := run(context.Background(), e, []string{"audit", "verify", filepath.Join(dir, "missing")}); code != exitUsage {
		t.Fatalf("missing: exit %d", code)
	}
	e, out, _ = testEnv("")
	if code := run(context.Background(), e, []string{"audit", "verify", "--head", w.Head(), good}); code != exitOK {
		t.Fatalf("head: exit %d %s", code, out)
	}
}
