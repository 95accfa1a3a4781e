package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPolicyCheckCommand(t *testing.T) {
	pol := "../../examples/policies/support.yaml"
	cases := []struct {
		name string
		args []string
		code int
		rule string
	}{
		{"reader refund", []string{"--role", "reader", "--tool", "refund_order"}, exitFail, "role.tools"},
		{"reader read", []string{"--role", "reader", "--tool", "read_document"}, exitOK, ""},
		{"admin refund in limit", []string{"--role", "admin", "--tool", "refund_order", "--args", `{"amount":50}`}, exitOK, ""},
		{"admin refund over limit", []string{"--role", "admin", "--tool", "refund_order", "--args", `{"amount":5000}`}, exitFail, "tool.condition"},
		{"reader delete", []string{"--role", "reader", "--tool", "read_document", "--method", "DELETE", "--url", "https://api.example.com/x"}, exitFail, "http.method"},
		{"operator put", []string{"--role", "operator", "--tool", "send_email", "--method", "PUT", "--url", "https://api.example.com/x"}, exitOK, ""},
		{"operator multi sql", []string{"--role", "operator", "--sql", "SELECT 1; DROP TABLE t"}, exitFail, "sql.multi"},
		{"reader select", []string{"--role", "reader", "--sql", "SELECT 1"}, exitOK, ""},
		{"unknown role", []string{"--role", "root", "--tool", "read_document"}, exitFail, "role.unknown"},
		{"bad args", []string{"--role", "admin", "--tool", "refund_order", "--args", `[1]`}, exitUsage, ""},
		{"method without url", []string{"--role", "admin", "--method", "GET"}, exitUsage, ""},
		{"nothing to check", []string{"--role", "admin"}, exitUsage, ""},
		{"no role", []string{"--tool", "read_document"}, exitUsage, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, out, errb := testEnv("")
			code := run(context.Background(), e, append([]string{"policy", "check", "--policy", pol}, tc.args...))
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out, errb)
			}
			if code == exitUsage {
				return
			}
			var v struct {
				Allowed bool   `json:"allowed"`
				Reason  string `json:"reason"`
				Rule    string `json:"rule"`
			}
			if err := json.Unmarshal(out.Bytes(), &v); err != nil {
				t.Fatalf("output %q: %v", out, err)
			}
			if v.Allowed != (code == exitOK) || v.Rule != tc.rule || v.Reason == "" {
				t.Fatalf("verdict %+v", v)
			}
		})
	}
	e, _, _ := testEnv("")
	if code := run(context.Background(), e, []string{"policy", "check", "--policy", "/no/such.yaml", "--role", "r", "--tool", "t"}); code != exitUsage {
		t.Fatalf("missing policy: exit %d", code)
	}
}

func TestPolicyLintCommand(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: 1\nroles:\n  r:\n    inherits: []\n    tools: [x]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e, out, _ := testEnv("")
	if code := run(context.Background(), e, []string{"policy", "lint", "../../examples/policies/support.yaml"}); code != exitOK || !strings.Contains(out.String(), "ok") {
		t.Fatalf("lint good: exit %d: %s", code, out)
	}
	e, out, _ = testEnv("")
	if code := run(context.Background(), e, []string{"policy", "lint", bad}); code != exitFail || !strings.Contains(out.String(), "bad.yaml:5:") {
		t.Fatalf("lint bad: exit %d: %s", code, out)
	}
	e, _, _ = testEnv("")
	if code := run(context.Background(), e, []string{"policy", "lint"}); code != exitUsage {
		t.Fatalf("lint without files: exit %d", code)
	}
	e, _, _ = testEnv("")
	if code := run(context.Background(), e, []string{"policy", "frob"}); code != exitUsage {
		t.Fatalf("unknown subcommand: exit %d", code)
	}
}

func TestDemoScope(t *testing.T) {
	e, out, errb := testEnv("")
	if code := run(context.Background(), e, []string{"demo", "--only", "scope"}); code != exitOK || strings.Contains(out.String(), "!!") {
		t.Fatalf("exit %d\n%s%s", code, out, errb)
	}
}
