package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/agentguard/agentguard/secrets"
)

const secretsUsage = `Usage: agentguard secrets scan [--jsonl] [FILE | -]

Scans text for secrets: provider keys and tokens (AWS, GCP, Azure, GitHub,
GitLab, Slack, Stripe, Twilio, SendGrid, OpenAI, Anthropic, npm, PyPI, Docker
and about a hundred more), private keys, JWTs, credentials in URLs and
connection strings, and high-entropy values assigned to secret-looking names.
Reads FILE, or standard input when FILE is "-" or absent. Secret values are
never printed: only the rule and where it matched.

FILE's name (or --filename for standard input) sets the language the
keyword rules read: in configuration files (.yaml, .ini, .conf, .properties,
.env…) a bare value after "password =" counts; in source code (.py, .js,
.java, .c, .m, .cls…) only a string literal does, except in comments and
inside other string literals; other names, Go and shell scripts included,
are read as plain text.

Without --jsonl, prints one line per finding:
  NAME:LINE:COLUMN: RULE

Flags:
  --jsonl   treat each input line as one JSON text (a JSON string, or an object
            with a "text" string field) and write one JSON line per input line:
              {"secret":true,"findings":[{"rule":"github-pat","start":4,"end":44}]}
            start and end are byte offsets in the decoded text. An input line
            that is not such JSON yields {"error":"..."}. An object may name
            its file with "file", "filename" or "path" (a name or path) or
            "file_extension" (such as "py"), which sets its language.
  --filename NAME
            read standard input as a file named NAME (its language)
  --rules   list the rule names and exit

Exit status: 0 no secret found, 1 a secret was found, 2 bad usage or unreadable
input.
`

func init() {
	register(&command{name: "secrets", summary: "scan text for leaked secrets (keys, tokens, passwords)", usage: secretsUsage, run: runSecrets})
}

func runSecrets(ctx context.Context, e *env, args []string) int {
	c := lookup("secrets")
	_, args, code, ok := subcommand(e, c, args, "scan")
	if !ok {
		return code
	}
	fs := newFlags(e, c)
	jsonl := fs.Bool("jsonl", false, "")
	rules := fs.Bool("rules", false, "")
	filename := fs.String("filename", "", "")
	if code, ok := parseFlags(e, c, fs, args); !ok {
		return code
	}
	if *rules {
		for _, id := range secrets.RuleIDs() {
			fmt.Fprintln(e.stdout, id)
		}
		return exitOK
	}
	if fs.NArg() > 1 {
		fmt.Fprintln(e.stderr, "agentguard secrets scan: want at most one FILE")
		return exitUsage
	}
	name, in := "-", e.stdin
	lang := *filename // the name whose language the text is read in
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		if lang != "" {
			fmt.Fprintln(e.stderr, "agentguard secrets scan: --filename names standard input; FILE has its own name")
			return exitUsage
		}
		lang = fs.Arg(0)
		name = fs.Arg(0)
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(e.stderr, "agentguard secrets scan: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		in = f
	}
	sc, err := secrets.NewScanner(secrets.ScannerConfig{})
	if err != nil {
		fmt.Fprintf(e.stderr, "agentguard secrets scan: %v\n", err)
		return exitUsage
	}
	if *jsonl {
		return scanJSONL(ctx, e, sc, in, lang)
	}
	data, err := io.ReadAll(in)
	if err != nil {
		fmt.Fprintf(e.stderr, "agentguard secrets scan: %v\n", err)
		return exitUsage
	}
	text := string(data)
	found := sc.ScanFile(lang, text)
	w := bufio.NewWriter(e.stdout)
	for _, f := range found {
		line := strings.Count(text[:f.Start], "\n") + 1
		col := f.Start - (strings.LastIndexByte(text[:f.Start], '\n') + 1) + 1
		fmt.Fprintf(w, "%s:%d:%d: %s\n", name, line, col, f.Rule)
	}
	if err := w.Flush(); err != nil {
		return exitUsage
	}
	if len(found) > 0 {
		return exitFail
	}
	return exitOK
}

type jsonlResult struct {
	Secret   bool              `json:"secret"`
	Findings []secrets.Finding `json:"findings"`
}

type jsonlError struct {
	Error string `json:"error"`
}

// scanJSONL scans one JSON text per line; lang names the language of lines
// that do not name their own file.
func scanJSONL(ctx context.Context, e *env, sc *secrets.Scanner, in io.Reader, lang string) int {
	r := bufio.NewReaderSize(in, 1<<16)
	w := bufio.NewWriter(e.stdout)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	found := false
	lineNo := 0
	for {
		if ctx.Err() != nil {
			return exitUsage
		}
		line, err := r.ReadString('\n')
		if line == "" && err != nil {
			if err != io.EOF {
				fmt.Fprintf(e.stderr, "agentguard secrets scan: %v\n", err)
				_ = w.Flush()
				return exitUsage
			}
			break
		}
		lineNo++
		text, file, perr := jsonlInput(strings.TrimRight(line, "\r\n"))
		if perr != "" {
			_ = enc.Encode(jsonlError{Error: fmt.Sprintf("line %d: %s", lineNo, perr)})
			continue
		}
		if file == "" {
			file = lang
		}
		fs := sc.ScanFile(file, text)
		if fs == nil {
			fs = []secrets.Finding{}
		}
		found = found || len(fs) > 0
		_ = enc.Encode(jsonlResult{Secret: len(fs) > 0, Findings: fs})
		if err != nil {
			break
		}
	}
	if err := w.Flush(); err != nil {
		return exitUsage
	}
	if found {
		return exitFail
	}
	return exitOK
}

// jsonlText decodes one input line: a JSON string, or an object with a "text"
// string field. It returns a reason when the line is neither.
func jsonlText(line string) (text, reason string) {
	text, _, reason = jsonlInput(line)
	return text, reason
}

// jsonlInput is jsonlText that also returns the name of the file the text
// comes from, when an object gives one ("file", "filename" or "path") or its
// extension ("file_extension").
func jsonlInput(line string) (text, file, reason string) {
	if strings.TrimSpace(line) == "" {
		return "", "", "empty line"
	}
	var s string
	if err := json.Unmarshal([]byte(line), &s); err == nil {
		return s, "", ""
	}
	var obj struct {
		Text     *string `json:"text"`
		File     string  `json:"file"`
		Filename string  `json:"filename"`
		Path     string  `json:"path"`
		Ext      string  `json:"file_extension"`
	}
	if err := json.Unmarshal([]byte(line), &obj); err != nil {
		return "", "", "not valid JSON"
	}
	if obj.Text == nil {
		return "", "", `want a JSON string or an object with a "text" string field`
	}
	file = cmp.Or(obj.File, obj.Filename, obj.Path)
	if file == "" && obj.Ext != "" {
		file = "input." + strings.TrimPrefix(obj.Ext, ".")
	}
	return *obj.Text, file, ""
}
