package main

import (
	"context"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/sandbox"
)

func TestSandboxRunWasm(t *testing.T) {
	mod := func(name string) string { return "../../sandbox/testdata/" + name + ".wasm" }
	tests := []struct {
		name       string
		args       []string
		code       int
		wantOut    string
		wantStderr string
	}{
		{"hello", []string{"--lang", "wasm", mod("hello")}, 0, "hello\n", ""},
		{"exit status passes through", []string{"--lang", "wasm", mod("exit3")}, 3, "", ""},
		{"time limit", []string{"--lang", "wasm", "--timeout", "100ms", mod("loop")}, exitSandboxTime, "", "time limit"},
		{"output limit", []string{"--lang", "wasm", "--max-output", "4K", mod("flood")}, exitSandboxOutput, "", "output limit"},
		{"memory limit", []string{"--lang", "wasm", "--memory", "1M", mod("grow")}, exitSandboxMemory, "", "memory limit"},
		{"module rejected", []string{"--lang", "wasm", mod("table")}, exitSandboxError, "", "no maximum"},
		{"mount", []string{"--lang", "wasm", "--mount", "../../sandbox/testdata:/d", mod("fsprobe"), "r", "hello.wat"}, 0, ";; hello", ""},
		{"read-only by default", []string{"--lang", "wasm", "--mount", "../../sandbox/testdata:/d", mod("fsprobe"), "w", "x", "y"}, 69, "", ""},
		{"no language", []string{mod("hello")}, exitUsage, "", "--lang"},
		{"bad memory", []string{"--lang", "wasm", "--memory", "lots", mod("hello")}, exitUsage, "", "bad size"},
		{"bad mount", []string{"--lang", "wasm", "--mount", "nocolon", mod("hello")}, exitUsage, "", "HOST:GUEST"},
		{"wasm with -c", []string{"--lang", "wasm", "-c", "x"}, exitUsage, "", "module FILE"},
		{"missing file", []string{"--lang", "wasm", "/nonexistent.wasm"}, exitUsage, "", "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, out, errb := testEnv("")
			code := run(context.Background(), e, append([]string{"sandbox", "run"}, tt.args...))
			if code != tt.code || !strings.HasPrefix(out.String(), tt.wantOut) || !strings.Contains(errb.String(), tt.wantStderr) {
				t.Fatalf("exit %d stdout %q stderr %q; want %d %q %q", code, out, errb, tt.code, tt.wantOut, tt.wantStderr)
			}
		})
	}
}

func TestSandboxRunPython(t *testing.T) {
	dir, err := sandbox.DefaultDir()
	if err != nil || !sandbox.PythonCompiled(dir) {
		t.Skip("python.wasm is not installed or not compiled for test binaries; run `go run ./cmd/agentguard sandbox install python` and `go test -run TestPython ./sandbox/`")
	}
	e, out, errb := testEnv("")
	if code := run(context.Background(), e, []string{"sandbox", "run", "--lang", "python", "-c", "print(6*7)"}); code != 0 || out.String() != "42\n" {
		t.Fatalf("exit %d stdout %q stderr %q", code, out, errb)
	}
	e, out, _ = testEnv("data")
	if code := run(context.Background(), e, []string{"sandbox", "run", "--lang", "python", "--stdin", "-c", "import sys; print(sys.stdin.read().upper())"}); code != 0 || out.String() != "DATA\n" {
		t.Fatalf("stdin: exit %d stdout %q", code, out)
	}
}

func TestSandboxUsage(t *testing.T) {
	for _, args := range [][]string{{"sandbox"}, {"sandbox", "frobnicate"}, {"sandbox", "install"}, {"sandbox", "install", "ruby"}} {
		e, _, _ := testEnv("")
		if code := run(context.Background(), e, args); code != exitUsage {
			t.Errorf("%v: exit %d", args, code)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"1", 1}, {"64K", 64 << 10}, {"64M", 64 << 20}, {"64MiB", 64 << 20}, {"64MB", 64 << 20}, {"1g", 1 << 30},
		{"", -1}, {"0", -1}, {"-5M", -1}, {"M", -1}, {"1T", -1}, {"99999999999G", -1}, {"1.5M", -1},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err != nil) != (tt.want < 0) || (err == nil && got != tt.want) {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestParseMount(t *testing.T) {
	tests := []struct {
		in       string
		ok       bool
		writable bool
	}{
		{"/data:/d", true, false}, {"/data:/d:ro", true, false}, {"/data:/d:rw", true, true},
		{"/data", false, false}, {"/data:d", false, false}, {":/d", false, false}, {"/a:/b:rx", false, false}, {"/a:/b:ro:x", false, false},
	}
	for _, tt := range tests {
		m, err := parseMount(tt.in)
		if (err == nil) != tt.ok || (err == nil && m.Writable != tt.writable) {
			t.Errorf("parseMount(%q) = %+v, %v", tt.in, m, err)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"1", "64M", "1GiB", "", "-1", "9223372036854775807", "1K"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err == nil && (n <= 0 || n > 1<<40) {
			t.Fatalf("parseSize(%q) = %d", s, n)
		}
	})
}

func FuzzParseMount(f *testing.F) {
	for _, s := range []string{"/a:/b", "/a:/b:rw", "a:b:c:d", ":", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseMount(s)
		if err == nil && (m.HostDir == "" || !strings.HasPrefix(m.GuestPath, "/")) {
			t.Fatalf("parseMount(%q) = %+v", s, m)
		}
	})
}

// The process backend re-executes this test binary; cmd_sandbox.go's init
// calls sandbox.Main, which confines the child.
func TestSandboxRunProcess(t *testing.T) {
	if sandbox.LandlockABI() < sandbox.DefaultMinLandlockABI {
		t.Skip("kernel without Landlock")
	}
	e, out, errb := testEnv("")
	if code := run(context.Background(), e, []string{"sandbox", "run", "--lang", "process", "/bin/echo", "ok"}); code != 0 || out.String() != "ok\n" {
		t.Fatalf("echo: exit %d %q %q", code, out, errb)
	}
	e, out, errb = testEnv("")
	if code := run(context.Background(), e, []string{"sandbox", "run", "--lang", "process", "/bin/cat", "/etc/passwd"}); code != 1 || strings.Contains(out.String(), "root:") {
		t.Fatalf("cat /etc/passwd: exit %d %q %q", code, out, errb)
	}
	e, _, errb = testEnv("")
	if code := run(context.Background(), e, []string{"sandbox", "run", "--lang", "process", "--timeout", "200ms", "/bin/sh", "-c", "while :; do :; done"}); code != exitSandboxTime {
		t.Fatalf("loop: exit %d %q", code, errb)
	}
}
