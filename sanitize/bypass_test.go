package sanitize

import (
	"bytes"
	"errors"
	"testing"

	"github.com/agentguard/agentguard/guard"
)

// TestBypassesFailClosed is the adversarial table in one place: each
// classic bypass against the surface it targets, every one refused. The
// per-surface tests (root_test, command_test, url_test, scan_test) hold the
// longer tables.
func TestBypassesFailClosed(t *testing.T) {
	docs, _ := newJail(t)
	root, err := OpenRoot(docs, RootConfig{})
	must(t, err)
	defer root.Close()
	runner := newTestRunner(t, RunnerConfig{})
	urls, err := NewURLChecker(URLPolicy{Schemes: []string{"https", "http"}, Hosts: []string{"docs.example.com"}, AnyPublicHost: true})
	must(t, err)
	reg := newTestRegistry(t)

	paths := map[string]string{
		"dotdot":                "../secret.txt",
		"deep dotdot":           "../../../../../../etc/passwd",
		"absolute":              "/etc/passwd",
		"encoded separators":    "%2e%2e%2fsecret.txt",
		"encoded dotdot only":   "%2e%2e/secret.txt",
		"overlong utf-8 dots":   "%c0%ae%c0%ae/secret.txt",
		"backslashes":           `..\secret.txt`,
		"NUL truncation":        "readme.txt\x00../../secret.txt",
		"division slash U+2215": "..\u2215secret.txt",
		"fullwidth dots":        "\uff0e\uff0e/secret.txt",
		"fullwidth solidus":     "..\uff0fsecret.txt",
		"one dot leaders":       "\u2024\u2024/secret.txt",
		"small full stops":      "\ufe52\ufe52/secret.txt",
		"symlink absolute":      "abs-link",
		"symlink relative":      "rel-link",
		"symlinked dir":         "up/secret.txt",
		"symlink to slash":      "sub/slash/etc/passwd",
		"newline":               "readme.txt\n../secret.txt",
	}
	for name, p := range paths {
		t.Run("path/"+name, func(t *testing.T) {
			data, err := root.ReadFile(p)
			if bytes.Contains(data, []byte("TOP-SECRET")) {
				t.Fatal("read the secret")
			}
			if err == nil {
				t.Fatalf("ReadFile(%q) succeeded", p)
			}
		})
	}
	shell := map[string]string{
		"semicolon":            "ls; cat /etc/passwd",
		"and":                  "ls && cat /etc/passwd",
		"pipe":                 "ls | sh",
		"background":           "ls & sh",
		"newline":              "ls\ncat /etc/passwd",
		"CRLF":                 "ls\r\ncat /etc/passwd",
		"backticks":            "ls `cat /etc/passwd`",
		"dollar paren":         "ls $(cat /etc/passwd)",
		"IFS":                  "cat${IFS}/etc/passwd",
		"IFS bare":             "cat$IFS/etc/passwd",
		"redirect":             "ls > /tmp/x",
		"heredoc":              "cat <<X",
		"process substitution": "cat <(id)",
		"ansi-c":               `ls $'\x3bid'`,
		"glob":                 "cat /etc/pass*",
		"brace":                "cat /etc/{passwd,shadow}",
		"tilde":                "cat ~/.ssh/id_rsa",
		"assignment":           "PATH=/tmp ls",
		"subshell":             "(ls)",
		"option injection":     "ls --hide-control-chars --dired",
		"unknown program":      "sh -c id",
		"program path":         "/bin/ls",
		"NUL":                  "ls\x00id",
	}
	for name, line := range shell {
		t.Run("shell/"+name, func(t *testing.T) {
			if argv, err := runner.ParseLine(line); !errors.Is(err, guard.ErrDenied) {
				t.Fatalf("ParseLine(%q) = %q, %v", line, argv, err)
			}
		})
	}
	t.Run("shell/double dash operand", func(t *testing.T) {
		if _, err := runner.ParseLine("ls -- --dired"); err != nil {
			t.Fatalf("operand after -- refused: %v", err)
		}
	})
	urlCases := map[string]string{
		"userinfo":         "https://docs.example.com@evil.example/",
		"decimal ip":       "http://2130706433/",
		"hex ip":           "http://0x7f.1/",
		"octal ip":         "http://0177.0.0.1/",
		"short ip":         "http://127.1/",
		"ipv6 mapped":      "http://[::ffff:127.0.0.1]/",
		"metadata":         "http://169.254.169.254/latest/meta-data/",
		"trailing dot":     "https://docs.example.com./",
		"localhost":        "http://localhost:80/",
		"fullwidth dot":    "https://docs\uff0eexample.com/",
		"cyrillic a":       "https://\u0430pple.com/",
		"punycode":         "https://xn--pple-43d.com/",
		"backslash":        `https://docs.example.com\@evil.example/`,
		"newline":          "https://docs.example.com/\nHost: evil",
		"NUL":              "https://docs.example.com\x00.evil.example/",
		"encoded host":     "https://docs.example.com%2eevil.example/",
		"file scheme":      "file:///etc/passwd",
		"non default port": "https://docs.example.com:8443/",
	}
	for name, u := range urlCases {
		t.Run("url/"+name, func(t *testing.T) {
			if _, err := urls.Check(u); err == nil {
				t.Fatalf("Check(%q) allowed", u)
			}
		})
	}
	args := map[string]string{
		"duplicate key":      `{"path":"a","mode":"read","path":"../../etc/passwd"}`,
		"case-folded key":    `{"path":"a","mode":"read","PATH":"../../etc/passwd"}`,
		"kelvin-folded key":  `{"path":"a","mode":"read","\u212aind":"x","kind":"y"}`,
		"unpaired surrogate": `{"path":"\ud800","mode":"read"}`,
		"NUL":                `{"path":"a\u0000","mode":"read"}`,
		"extra field":        `{"path":"a","mode":"read","admin":true}`,
		"trailing document":  `{"path":"a","mode":"read"}{"path":"b"}`,
		"array":              `[{"path":"a","mode":"read"}]`,
		"huge exponent":      `{"path":"a","mode":"read","limit":1e999999999}`,
	}
	for name, a := range args {
		t.Run("args/"+name, func(t *testing.T) {
			if _, err := reg.Check("read_document", []byte(a)); !errors.Is(err, guard.ErrDenied) {
				t.Fatalf("Check(%s) = %v", a, err)
			}
		})
	}
}
