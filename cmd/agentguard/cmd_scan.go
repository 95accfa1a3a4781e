package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/inject"
	"github.com/agentguard/agentguard/inject/evaluate"
)

const injScanUsage = `Usage:
  agentguard scan [--threshold X] [--provenance P] [TEXT | -]
  agentguard scan --jsonl [--threshold X] [--provenance P] < in.jsonl > out.jsonl
  agentguard scan --eval FILE.jsonl [--provenance P]

Scans text for prompt injections and jailbreaks with the in-process detector
(normaliser, rules and the embedded classifier; no network). With TEXT, or "-"
(or no argument) for standard input, it prints one JSON object:
  {"injection": true, "score": 0.97, "rules": ["override.ignore_previous"]}

--jsonl reads one JSON object per line with a "text" field and writes, in the
same order, one object per line with "injection", "score" and "rules". A line
that is not such an object gets {"error": "..."} in its place; no line is
skipped.

--eval reads labelled JSONL ("text" and "label": injection, jailbreak or benign)
and prints precision, recall, false-positive rate, balanced accuracy and
throughput for the rules alone, the classifier alone and the ensemble.

Flags:
  --threshold X    report an injection at scores >= X (default: the detector's
                   threshold for the provenance: 0.5 untrusted, 0.6 user)
  --provenance P   where the text comes from: tool_result (default), retrieved,
                   user, unknown
  --judge-model M  also ask an LLM judge (OpenAI-compatible; OPENAI_API_KEY,
                   OPENAI_BASE_URL) about texts in the grey zone
  --show N         with --eval: print up to N misclassified texts per detector

Exit status: 0 nothing found, 1 an injection was found, 2 bad usage or input.
`

func init() {
	register(&command{name: "scan", summary: "scan text for prompt injection and jailbreaks", usage: injScanUsage, run: runInjectScan})
}

// injMaxLine bounds one JSONL line (and a single text read from stdin).
const injMaxLine = 16 << 20

func runInjectScan(ctx context.Context, e *env, args []string) int {
	c := lookup("scan")
	fs := newFlags(e, c)
	threshold := fs.Float64("threshold", 0, "")
	prov := fs.String("provenance", "tool_result", "")
	jsonl := fs.Bool("jsonl", false, "")
	eval := fs.String("eval", "", "")
	judgeModel := fs.String("judge-model", "", "")
	show := fs.Int("show", 0, "")
	if code, ok := parseFlags(e, c, fs, args); !ok {
		return code
	}
	p, ok := injParseProvenance(*prov)
	if !ok {
		fmt.Fprintf(e.stderr, "agentguard scan: unknown provenance %q\n", *prov)
		return exitUsage
	}
	if *threshold < 0 || *threshold > 1 {
		fmt.Fprintf(e.stderr, "agentguard scan: --threshold %v outside [0, 1]\n", *threshold)
		return exitUsage
	}
	cfg := inject.Config{Thresholds: inject.Thresholds{User: *threshold, System: *threshold,
		ToolResult: *threshold, Retrieved: *threshold, Unknown: *threshold}}
	if *judgeModel != "" {
		key := e.getenv("OPENAI_API_KEY")
		if key == "" {
			fmt.Fprintln(e.stderr, "agentguard scan: --judge-model needs OPENAI_API_KEY")
			return exitUsage
		}
		oc := openai.DefaultConfig(key)
		if u := e.getenv("OPENAI_BASE_URL"); u != "" {
			oc.BaseURL = u
		}
		j, err := inject.NewJudge(inject.JudgeConfig{Client: openai.NewClientWithConfig(oc), Model: *judgeModel})
		if err != nil {
			fmt.Fprintf(e.stderr, "agentguard scan: %v\n", err)
			return exitUsage
		}
		cfg.Judge = j
	}
	det, err := inject.New(cfg)
	if err != nil {
		fmt.Fprintf(e.stderr, "agentguard scan: %v\n", err)
		return exitUsage
	}
	switch {
	case *eval != "":
		if *jsonl || fs.NArg() > 0 {
			fmt.Fprintln(e.stderr, "agentguard scan: --eval takes no other input")
			return exitUsage
		}
		return injScanEval(ctx, e, *eval, p, det, *show)
	case *jsonl:
		if fs.NArg() > 0 {
			fmt.Fprintln(e.stderr, "agentguard scan: --jsonl reads standard input only")
			return exitUsage
		}
		return injScanJSONL(ctx, e, det, p)
	}
	var text string
	switch {
	case fs.NArg() > 1:
		fmt.Fprintln(e.stderr, "agentguard scan: give one TEXT argument (quote it) or - for standard input")
		return exitUsage
	case fs.NArg() == 1 && fs.Arg(0) != "-":
		text = fs.Arg(0)
	default:
		b, err := io.ReadAll(io.LimitReader(e.stdin, injMaxLine+1))
		if err != nil {
			fmt.Fprintf(e.stderr, "agentguard scan: reading standard input: %v\n", err)
			return exitUsage
		}
		if len(b) > injMaxLine {
			fmt.Fprintf(e.stderr, "agentguard scan: input longer than %d bytes\n", injMaxLine)
			return exitUsage
		}
		text = string(b)
	}
	d, err := det.DetectInjection(ctx, guard.Text{Content: text, Provenance: p})
	if err != nil {
		fmt.Fprintf(e.stderr, "agentguard scan: %v\n", err)
		return exitFail // fail closed: an unjudged text is not reported clean
	}
	out, _ := json.Marshal(injScanResult(d))
	fmt.Fprintf(e.stdout, "%s\n", out)
	if d.Injection {
		return exitFail
	}
	return exitOK
}

func injParseProvenance(s string) (guard.Provenance, bool) {
	switch s {
	case "tool_result", "tool":
		return guard.ProvenanceToolResult, true
	case "retrieved", "document":
		return guard.ProvenanceRetrieved, true
	case "user":
		return guard.ProvenanceUser, true
	case "unknown":
		return guard.ProvenanceUnknown, true
	}
	return 0, false
}

type injScanLine struct {
	Injection *bool    `json:"injection,omitempty"`
	Score     *float64 `json:"score,omitempty"`
	Rules     []string `json:"rules,omitempty"`
	Error     string   `json:"error,omitempty"`
}

func injScanResult(d guard.Detection) injScanLine {
	inj, score := d.Injection, float64(int64(d.Score*1e4+0.5))/1e4
	rules := d.Rules
	if rules == nil {
		rules = []string{}
	}
	return injScanLine{Injection: &inj, Score: &score, Rules: rules}
}

func injScanJSONL(ctx context.Context, e *env, det *inject.Detector, p guard.Provenance) int {
	r := bufio.NewReaderSize(e.stdin, 64<<10)
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	found, invalid := false, false
	for n := 1; ; n++ {
		line, tooLong, err := injReadLine(r, injMaxLine)
		if err == io.EOF && len(line) == 0 && !tooLong {
			break
		}
		if err != nil && err != io.EOF {
			fmt.Fprintf(e.stderr, "agentguard scan: reading line %d: %v\n", n, err)
			return exitUsage
		}
		var out injScanLine
		switch text, perr := injParseLine(line, tooLong); {
		case perr != nil:
			out.Error = fmt.Sprintf("line %d: %v", n, perr)
			invalid = true
		default:
			d, derr := det.DetectInjection(ctx, guard.Text{Content: text, Provenance: p})
			if derr != nil {
				out.Error = fmt.Sprintf("line %d: %v", n, derr)
				invalid = true
				break
			}
			out = injScanResult(d)
			found = found || d.Injection
		}
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(e.stderr, "agentguard scan: %v\n", err)
			return exitUsage
		}
		if err == io.EOF {
			break
		}
	}
	switch {
	case invalid:
		return exitUsage
	case found:
		return exitFail
	}
	return exitOK
}

// injReadLine reads one line without its newline. A line longer than max is
// consumed and reported as tooLong.
func injReadLine(r *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > max+1 {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		return line, tooLong, err
	}
}

func injParseLine(line []byte, tooLong bool) (string, error) {
	if tooLong {
		return "", fmt.Errorf("line longer than %d bytes", injMaxLine)
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return "", errors.New("empty line")
	}
	var rec struct {
		Text *string `json:"text"`
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&rec); err != nil {
		return "", fmt.Errorf("invalid JSON object: %v", err)
	}
	if dec.More() {
		return "", errors.New("trailing data after the JSON object")
	}
	if rec.Text == nil {
		return "", errors.New(`no string "text" field`)
	}
	return *rec.Text, nil
}

func injScanEval(ctx context.Context, e *env, path string, p guard.Provenance, ens *inject.Detector, show int) int {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintf(e.stderr, "agentguard scan: %v\n", err)
		return exitUsage
	}
	samples, err := evaluate.Read(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(e.stderr, "agentguard scan: %s: %v\n", path, err)
		return exitUsage
	}
	rules, err := inject.NewRules(0)
	if err != nil {
		fmt.Fprintf(e.stderr, "agentguard scan: %v\n", err)
		return exitUsage
	}
	clf, err := inject.DefaultClassifier()
	if err != nil {
		fmt.Fprintf(e.stderr, "agentguard scan: %v\n", err)
		return exitUsage
	}
	shown := map[string]int{}
	res := evaluate.Run(ctx, samples, []evaluate.Named{{Name: "rules", Detector: rules}, {Name: "classifier", Detector: clf},
		{Name: "ensemble", Detector: ens}}, p, func(det string, s evaluate.Sample, d guard.Detection) {
		if shown[det] < show {
			shown[det]++
			kind := "false negative"
			if d.Injection {
				kind = "false positive"
			}
			fmt.Fprintf(e.stdout, "%s %s (score %.2f): %s\n", det, kind, d.Score, clip(strings.TrimSpace(s.Text), 160))
		}
	})
	fmt.Fprintf(e.stdout, "%s: %d texts, provenance %s\n", path, len(samples), p)
	evaluate.Print(e.stdout, res)
	return exitOK
}
