package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/outputguard"
)

const outputUsage = `Usage: agentguard output check [flags] [TEXT | -]

Filters text the way an agent's answer is filtered before anyone sees it:
secrets (credential formats), system-prompt leakage (with --system-prompt or
--canary), personal data (e-mail, phone, card numbers with Luhn, IBANs with
mod 97, US SSN, UK NI number, Spanish DNI) and, with --llamaguard-url, a Llama
Guard 3 model behind any OpenAI-compatible endpoint. Reads TEXT, or standard
input when TEXT is "-" or absent, and writes one JSON line per input:
  {"allowed":true,"categories":["pii.card"],"text":"card [REDACTED:pii.card]"}
"text" is the text as it may be shown (redacted or masked); it is empty when
the input is blocked, and "rule" and "reason" then say why.

Flags:
  --jsonl                  one input per line: a JSON string, or an object with a
                           "text" string field
  --llamaguard-url URL     OpenAI-compatible API root, e.g. http://localhost:11434/v1
  --llamaguard-model NAME  the Llama Guard model, e.g. llama-guard3:1b
  --llamaguard-transport T chat (default; the server renders the prompt) or
                           completion (the Llama Guard 3 prompt is rendered here)
  --llamaguard-categories  comma-separated subset of S1..S14 (default all)
  --judge user|agent       which turn Llama Guard judges (default agent)
  --system-prompt FILE     block answers repeating 8+ consecutive words of it
  --canary TOKEN           block answers containing this canary (repeatable)
  --pii ACTION             block, redact (default) or mask personal data
  --secrets ACTION         block (default), redact or mask secrets
  --budget DURATION        time allowed for all filters per input (default 10s)

Environment:
  LLAMAGUARD_API_KEY  bearer token for the Llama Guard endpoint

A Llama Guard reply that is not exactly "safe" or "unsafe" plus known
categories, a timeout or an HTTP error blocks the input (fail closed).

Exit status: 0 every input allowed (possibly rewritten), 1 an input was
blocked, 2 bad usage or unreadable input.
`

func init() {
	register(&command{name: "output", summary: "filter an answer for leaks, PII and harmful content", usage: outputUsage, run: runOutput})
}

type outputLine struct {
	Allowed    bool     `json:"allowed"`
	Categories []string `json:"categories"`
	Text       string   `json:"text"`
	Rule       string   `json:"rule,omitempty"`
	Reason     string   `json:"reason,omitempty"`
	Error      string   `json:"error,omitempty"`
}

type outputCanaries []string

func (c *outputCanaries) String() string     { return strings.Join(*c, ",") }
func (c *outputCanaries) Set(v string) error { *c = append(*c, v); return nil }

func runOutput(ctx context.Context, e *env, args []string) int {
	c := lookup("output")
	_, args, code, ok := subcommand(e, c, args, "check")
	if !ok {
		return code
	}
	fs := newFlags(e, c)
	jsonl := fs.Bool("jsonl", false, "")
	lgURL := fs.String("llamaguard-url", "", "")
	lgModel := fs.String("llamaguard-model", "", "")
	lgTransport := fs.String("llamaguard-transport", "chat", "")
	lgCats := fs.String("llamaguard-categories", "", "")
	judge := fs.String("judge", "agent", "")
	sysPrompt := fs.String("system-prompt", "", "")
	var canaries outputCanaries
	fs.Var(&canaries, "canary", "")
	piiAction := fs.String("pii", "redact", "")
	secAction := fs.String("secrets", "block", "")
	budget := fs.Duration("budget", outputguard.DefaultBudget, "")
	if code, ok := parseFlags(e, c, fs, args); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "agentguard output check: "+format+"\n", a...)
		return exitUsage
	}
	if fs.NArg() > 1 {
		return usageErr("want at most one TEXT (quote it)")
	}
	if *jsonl && fs.NArg() == 1 && fs.Arg(0) != "-" {
		return usageErr("--jsonl reads standard input; drop TEXT")
	}
	filters, err := outputFilters(e, *lgURL, *lgModel, *lgTransport, *lgCats, *judge, *sysPrompt, canaries, *piiAction, *secAction)
	if err != nil {
		return usageErr("%v", err)
	}
	p, err := outputguard.NewPipeline(outputguard.PipelineConfig{Filters: filters, Budget: *budget})
	if err != nil {
		return usageErr("%v", err)
	}
	w := bufio.NewWriter(e.stdout)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	blocked := false
	check := func(text string) {
		v, err := p.Check(ctx, text)
		line := outputLine{Allowed: v.Action != guard.Block, Categories: v.Categories, Rule: v.Rule}
		if line.Categories == nil {
			line.Categories = []string{}
		}
		switch v.Action {
		case guard.Allow:
			line.Text, line.Rule = text, ""
		case guard.Rewrite:
			line.Text = v.Text
		default:
			line.Reason = v.Reason
		}
		if err != nil {
			line.Allowed, line.Text = false, ""
			var d *guard.DenialError
			if errors.As(err, &d) && line.Reason == "" {
				line.Reason = d.Reason
			}
		}
		blocked = blocked || !line.Allowed
		_ = enc.Encode(line)
	}

	if !*jsonl {
		text := ""
		if fs.NArg() == 1 && fs.Arg(0) != "-" {
			text = fs.Arg(0)
		} else {
			data, err := io.ReadAll(e.stdin)
			if err != nil {
				return usageErr("%v", err)
			}
			text = string(data)
		}
		check(text)
	} else {
		r := bufio.NewReaderSize(e.stdin, 1<<16)
		for n := 1; ; n++ {
			if ctx.Err() != nil {
				return exitUsage
			}
			line, rerr := r.ReadString('\n')
			if line == "" && rerr != nil {
				if rerr != io.EOF {
					_ = w.Flush()
					return usageErr("%v", rerr)
				}
				break
			}
			text, perr := jsonlText(strings.TrimRight(line, "\r\n"))
			if perr != "" {
				blocked = true
				_ = enc.Encode(outputLine{Categories: []string{}, Error: fmt.Sprintf("line %d: %s", n, perr)})
			} else {
				check(text)
			}
			if rerr != nil {
				break
			}
		}
	}
	if err := w.Flush(); err != nil {
		return exitUsage
	}
	if blocked {
		return exitFail
	}
	return exitOK
}

// outputFilters builds the filters in their order: secrets, system-prompt leak,
// PII, then Llama Guard (the costly one last, on already-redacted text).
func outputFilters(e *env, lgURL, lgModel, lgTransport, lgCats, judge, sysPromptFile string, canaries []string, piiAction, secAction string) ([]guard.OutputFilter, error) {
	var filters []guard.OutputFilter
	sa, err := outputguard.ParseAction(secAction)
	if err != nil {
		return nil, fmt.Errorf("--secrets: %w", err)
	}
	sec, err := outputguard.NewSecrets(outputguard.SecretsConfig{Action: sa})
	if err != nil {
		return nil, err
	}
	filters = append(filters, sec)
	if sysPromptFile != "" || len(canaries) > 0 {
		cfg := outputguard.PromptLeakConfig{Canaries: canaries}
		if sysPromptFile != "" {
			data, err := os.ReadFile(sysPromptFile)
			if err != nil {
				return nil, fmt.Errorf("--system-prompt: %w", err)
			}
			cfg.SystemPrompt = string(data)
		}
		leak, err := outputguard.NewPromptLeak(cfg)
		if err != nil {
			return nil, err
		}
		filters = append(filters, leak)
	}
	pa, err := outputguard.ParseAction(piiAction)
	if err != nil {
		return nil, fmt.Errorf("--pii: %w", err)
	}
	pii, err := outputguard.NewPII(outputguard.PIIConfig{Action: pa})
	if err != nil {
		return nil, err
	}
	filters = append(filters, pii)
	if lgURL == "" && lgModel == "" {
		return filters, nil
	}
	if lgURL == "" || lgModel == "" {
		return nil, errors.New("--llamaguard-url and --llamaguard-model go together")
	}
	cfg := outputguard.LlamaGuardConfig{BaseURL: lgURL, Model: lgModel, Timeout: 30 * time.Second}
	if key := e.getenv("LLAMAGUARD_API_KEY"); key != "" {
		cfg.APIKey = guard.NewSecret("LLAMAGUARD_API_KEY", key)
	}
	switch lgTransport {
	case "chat":
	case "completion":
		cfg.Transport = outputguard.TransportCompletion
	default:
		return nil, fmt.Errorf("--llamaguard-transport: want chat or completion, not %q", lgTransport)
	}
	switch judge {
	case "agent":
	case "user":
		cfg.Judge = outputguard.RoleUser
	default:
		return nil, fmt.Errorf("--judge: want agent or user, not %q", judge)
	}
	if lgCats != "" {
		for _, c := range strings.Split(lgCats, ",") {
			cfg.Categories = append(cfg.Categories, strings.TrimSpace(c))
		}
	}
	lg, err := outputguard.NewLlamaGuard(cfg)
	if err != nil {
		return nil, err
	}
	return append(filters, lg), nil
}
