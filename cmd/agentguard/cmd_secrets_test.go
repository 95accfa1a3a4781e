package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretsScan(t *testing.T) {
	tok := "ghp_" + strings.Repeat("aB3dE6gH9k", 3) + "xY7zW1"
	tests := []struct {
		name, stdin string
		args        []string
		code        int
		out         string
	}{
		{"stdin found", "line one\ntoken " + tok + "\n", []string{"scan"}, exitFail, "-:2:7: github-pat\n"},
		{"dash", "nothing here\n", []string{"scan", "-"}, exitOK, ""},
		{"no subcommand", "", nil, exitUsage, ""},
		{"bad subcommand", "", []string{"find"}, exitUsage, ""},
		{"two files", "", []string{"scan", "a", "b"}, exitUsage, ""},
		{"missing file", "", []string{"scan", "/nonexistent/file"}, exitUsage, ""},
		{"bad flag", "", []string{"scan", "--nope"}, exitUsage, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, out, errb := testEnv(tt.stdin)
			code := run(context.Background(), e, append([]string{"secrets"}, tt.args...))
			if code != tt.code || (tt.out != "" && out.String() != tt.out) {
				t.Errorf("exit %d (want %d), out %q, err %q", code, tt.code, out, errb)
			}
			if strings.Contains(out.String()+errb.String(), tok) {
				t.Error("the secret value was printed")
			}
		})
	}
}

func TestSecretsScanFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cfg.env")
	if err := os.WriteFile(p, []byte("A=1\nSTRIPE=sk_live_"+strings.Repeat("4eC39HqLyj", 3)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e, out, _ := testEnv("")
	if code := run(context.Background(), e, []string{"secrets", "scan", p}); code != exitFail || !strings.Contains(out.String(), p+":2:8: stripe-secret-key") {
		t.Errorf("exit %d: %s", code, out)
	}
	e, out, _ = testEnv("")
	if code := run(context.Background(), e, []string{"secrets", "scan", "--rules"}); code != exitOK || strings.Count(out.String(), "\n") < 100 {
		t.Errorf("--rules: exit %d, %d lines", code, strings.Count(out.String(), "\n"))
	}
}

func TestSecretsScanJSONL(t *testing.T) {
	tok := "xoxb-" + "12345678901-" + strings.Repeat("aB3dE6gH9k", 2)
	in := strings.Join([]string{
		`{"text":"slack ` + tok + `","label":"secret"}`,
		`"just words"`,
		`not json`,
		`{"other":1}`,
		``,
		`"tab\tand ` + tok + `"`,
	}, "\n")
	e, out, errb := testEnv(in)
	code := run(context.Background(), e, []string{"secrets", "scan", "--jsonl"})
	if code != exitFail {
		t.Fatalf("exit %d: %s", code, errb)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d output lines for 6 input lines:\n%s", len(lines), out)
	}
	type finding struct {
		Rule       string
		Start, End int
	}
	var r struct {
		Secret   *bool
		Findings []finding
		Error    string
	}
	decode := func(i int) {
		r.Secret, r.Findings, r.Error = nil, nil, ""
		if err := json.Unmarshal([]byte(lines[i]), &r); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, lines[i])
		}
	}
	decode(0)
	if r.Secret == nil || !*r.Secret || len(r.Findings) != 1 || r.Findings[0].Rule != "slack-bot-token" || r.Findings[0].Start != 6 || r.Findings[0].End != 6+len(tok) {
		t.Errorf("line 1: %s", lines[0])
	}
	decode(1)
	if r.Secret == nil || *r.Secret || r.Findings == nil {
		t.Errorf("line 2: %s", lines[1])
	}
	for _, i := range []int{2, 3, 4} {
		decode(i)
		if r.Error == "" || r.Secret != nil {
			t.Errorf("line %d: want an error, got %s", i+1, lines[i])
		}
	}
	decode(5)
	if r.Secret == nil || !*r.Secret || r.Findings[0].Start != 8 {
		t.Errorf("line 6: %s", lines[5])
	}
	if strings.Contains(out.String(), tok) {
		t.Error("the secret value was printed")
	}
}

// The file's name sets the language the keyword rules read: in Objective-C a
// single-quoted value is not a string, in plain text it is a value.
func TestSecretsScanLanguage(t *testing.T) {
	const line = "api_key = 'Tr0ub4dor&3x!';\n"
	dir := t.TempDir()
	for _, c := range []struct {
		name  string
		args  func(path string) []string
		stdin string
		code  int
	}{
		{"objective-c file", func(p string) []string { return []string{"scan", p} }, "", exitOK},
		{"text file", func(p string) []string { return []string{"scan", p + ".txt"} }, "", exitFail},
		{"stdin named", func(string) []string { return []string{"scan", "--filename", "Login.m"} }, line, exitOK},
		{"stdin unnamed", func(string) []string { return []string{"scan"} }, line, exitFail},
		{"filename and FILE", func(p string) []string { return []string{"scan", "--filename", "x.m", p} }, "", exitUsage},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, "Login.m")
			for _, f := range []string{p, p + ".txt"} {
				if err := os.WriteFile(f, []byte(line), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			e, out, errb := testEnv(c.stdin)
			if code := run(context.Background(), e, append([]string{"secrets"}, c.args(p)...)); code != c.code {
				t.Errorf("exit %d, want %d: %s %s", code, c.code, out, errb)
			}
		})
	}
}

func TestSecretsScanJSONLFile(t *testing.T) {
	text := `"api_key = 'Tr0ub4dor&3x!';"`
	in := strings.Join([]string{
		`{"text":` + text + `,"file_extension":"m"}`,
		`{"text":` + text + `,"file_extension":".m"}`,
		`{"text":` + text + `,"file":"src/Login.m"}`,
		`{"text":` + text + `,"filename":"Login.m"}`,
		`{"text":` + text + `,"path":"Login.m"}`,
		`{"text":` + text + `}`,
		`{"text":` + text + `,"file":"notes.txt","file_extension":"m"}`,
		text,
	}, "\n")
	want := []bool{false, false, false, false, false, true, true, true}
	e, out, errb := testEnv(in)
	if code := run(context.Background(), e, []string{"secrets", "scan", "--jsonl"}); code != exitFail {
		t.Fatalf("exit %d: %s", code, errb)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d output lines for %d input lines:\n%s", len(lines), len(want), out)
	}
	for i, l := range lines {
		var r struct{ Secret bool }
		if err := json.Unmarshal([]byte(l), &r); err != nil || r.Secret != want[i] {
			t.Errorf("line %d: %s (want secret %v, %v)", i+1, l, want[i], err)
		}
	}
	// --filename names the lines that do not name their file.
	e, out, _ = testEnv(text + "\n" + `{"text":` + text + `,"file":"a.txt"}` + "\n")
	if run(context.Background(), e, []string{"secrets", "scan", "--jsonl", "--filename", "Login.m"}); out.String() != `{"secret":false,"findings":[]}`+"\n"+`{"secret":true,"findings":[{"rule":"generic-password","start":11,"end":24}]}`+"\n" {
		t.Errorf("--filename with --jsonl: %s", out)
	}
}
