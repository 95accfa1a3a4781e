package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func testEnv(stdin string) (*env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
		getenv: func(string) string { return "" }}, &out, &errb
}

// The demo runs on embedded defaults with no key and no network, and every scene
// behaves as it expects.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("demo is slow in -short mode")
	}
	e, out, errb := testEnv("")
	if code := run(context.Background(), e, []string{"demo"}); code != exitOK {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errb)
	}
	if strings.Contains(out.String(), "!!") {
		t.Fatalf("a demo step misbehaved:\n%s", out)
	}
}

func TestDemoList(t *testing.T) {
	e, out, _ := testEnv("")
	if code := run(context.Background(), e, []string{"demo", "--list"}); code != exitOK || !strings.Contains(out.String(), "chain") {
		t.Fatalf("exit %d: %s", code, out)
	}
	e, _, _ = testEnv("")
	if code := run(context.Background(), e, []string{"demo", "--only", "nope"}); code != exitUsage {
		t.Fatalf("--only nope: exit %d", code)
	}
}

// Every command has complete help, reachable both ways, and rejects unknown flags.
func TestHelp(t *testing.T) {
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			if c.summary == "" || !strings.Contains(c.usage, "Usage:") {
				t.Errorf("command %q lacks a summary or a Usage: line", c.name)
			}
			e, out, _ := testEnv("")
			if code := run(context.Background(), e, []string{"help", c.name}); code != exitOK || out.String() != c.usage {
				t.Errorf("help %s: exit %d", c.name, code)
			}
			e, out, _ = testEnv("")
			if code := run(context.Background(), e, []string{c.name, "--help"}); code != exitOK || !strings.Contains(out.String(), "Usage:") {
				t.Errorf("%s --help: exit %d, out %q", c.name, code, out)
			}
		})
	}
	e, _, _ := testEnv("")
	if code := run(context.Background(), e, []string{"no-such-command"}); code != exitUsage {
		t.Errorf("unknown command: exit %d", code)
	}
	e, out, _ := testEnv("")
	if code := run(context.Background(), e, []string{"help"}); code != exitOK || !strings.Contains(out.String(), "demo") {
		t.Errorf("help: exit %d", code)
	}
	e, _, _ = testEnv("")
	if code := run(context.Background(), e, []string{"demo", "--bogus"}); code != exitUsage {
		t.Errorf("bad flag: exit %d", code)
	}
}
