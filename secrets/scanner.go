package secrets

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/agentguard/agentguard/guard"
)

// Finding is one secret found in text: the rule that matched and the byte
// offsets of the secret value itself (not of its surrounding key or prefix).
type Finding struct {
	Rule  string `json:"rule"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// ScannerConfig configures [NewScanner]. The zero value enables every rule and
// makes [Scanner.FilterOutput] block text that holds a secret.
type ScannerConfig struct {
	// Disable names rules to leave out (see [RuleIDs]). An unknown name is an
	// error.
	Disable []string
	// Redact makes FilterOutput rewrite the text with each secret replaced by
	// "[REDACTED:rule]" instead of blocking it.
	Redact bool
}

// rule is one detector. Keywords (ASCII case-insensitive) gate it: its regexp
// runs only on the line around a keyword hit. A rule with a custom check instead
// of a regexp handles the window itself.
type rule struct {
	id       string
	keywords []keyword
	re       *regexp.Regexp
	group    int               // submatch holding the secret; 0 = the whole match
	validate func(string) bool // optional extra check on the secret
	check    func(w window) []Finding
	minEnt   float64 // minimum Shannon entropy (bits/char) of the secret
	// leftBoundary requires a non-token byte (or the start) before the secret.
	leftBoundary bool
}

// keyword is a pre-filter literal. exact, when set, is the case-sensitive form
// the text must hold; wordStart requires a non-alphanumeric byte before it.
type keyword struct {
	lit       string
	exact     bool
	wordStart bool
}

// window is the text a rule examines: text[start:end] within the whole input.
type window struct {
	text       string // the whole input
	start, end int
	hit        int // start of the keyword hit
	hitEnd     int
	// cutStart and cutEnd say the window was cut short of its line.
	cutStart, cutEnd bool
	// lang is the language of the file scanned (the zero value when
	// unknown); lex, set for source code, tells code from strings and
	// comments.
	lang lang
	lex  *codeLexer
}

func (w window) s() string { return w.text[w.start:w.end] }

type kwRef struct {
	rule      int
	exact     string
	wordStart bool
}

// Scanner finds secrets in free text: provider-specific token formats (cloud
// keys, VCS and CI tokens, payment and chat keys, private keys, JWTs, credentials
// in URLs and connection strings) and generic assignments to secret-looking names
// (password = "…", api_key: …), judged with heuristics and entropy. A keyword
// pre-filter (one Aho–Corasick pass) means the cost of a scan grows with the input,
// not with the number of rules. A Scanner is immutable and safe for concurrent use.
type Scanner struct {
	rules  []rule
	ac     *acMatcher
	kwRefs [][]kwRef
	redact bool
	// entropyRule enables the keyword-free high-entropy-assignment pass.
	entropyRule bool
	discordRule bool
}

var _ guard.OutputFilter = (*Scanner)(nil)

// NewScanner returns a Scanner with every built-in rule except those disabled.
func NewScanner(cfg ScannerConfig) (*Scanner, error) {
	all := builtinRules()
	known := map[string]bool{"discord-bot-token": true, "high-entropy-assignment": true}
	for _, r := range all {
		known[r.id] = true
	}
	for _, d := range cfg.Disable {
		if !known[d] {
			return nil, fmt.Errorf("secrets: scanner: unknown rule %q", d)
		}
	}
	s := &Scanner{redact: cfg.Redact, entropyRule: !slices.Contains(cfg.Disable, "high-entropy-assignment"),
		discordRule: !slices.Contains(cfg.Disable, "discord-bot-token")}
	var lits []string
	litIndex := map[string]int{}
	for _, r := range all {
		if slices.Contains(cfg.Disable, r.id) {
			continue
		}
		ri := len(s.rules)
		s.rules = append(s.rules, r)
		for _, k := range r.keywords {
			low := strings.ToLower(k.lit)
			id, ok := litIndex[low]
			if !ok {
				id = len(lits)
				litIndex[low] = id
				lits = append(lits, low)
				s.kwRefs = append(s.kwRefs, nil)
			}
			ref := kwRef{rule: ri, wordStart: k.wordStart}
			if k.exact {
				ref.exact = k.lit
			}
			s.kwRefs[id] = append(s.kwRefs[id], ref)
		}
	}
	s.ac = newACMatcher(lits)
	return s, nil
}

// RuleIDs returns the names of the built-in rules, in priority order.
func RuleIDs() []string {
	rs := builtinRules()
	ids := make([]string, 0, len(rs)+2)
	for _, r := range rs {
		ids = append(ids, r.id)
	}
	return append(ids, "discord-bot-token", "high-entropy-assignment")
}

const (
	windowBefore = 256
	windowAfter  = 768
)

// Scan returns the secrets found in text, ordered by position. Overlapping
// findings are reduced to one, the earlier rule in priority order winning.
// Lines holding "pragma: allowlist secret" are skipped. A private key's finding
// spans from its BEGIN line to the end of its END line, or to the end of the
// text when the END line is missing. The cost is linear in the length of text
// whatever its shape (long lines, keywords repeated back to back).
func (s *Scanner) Scan(text string) []Finding { return s.scan(text, true, lang{}) }

// ScanFile is [Scanner.Scan] for the contents of a file: name (a path or a
// base name) tells the file's language, which decides what the keyword rules
// (generic-password, generic-token) take for a value assigned to a
// secret-looking name:
//
//   - configuration files (.yaml, .yml, .ini, .cfg, .conf, .properties,
//     .toml, .env and .env.*, .npmrc, .netrc…): a bare value counts and runs
//     to the next space or quote (password = A,b;c is the value "A,b;c");
//   - C-like languages whose strings are double-quoted (.c, .h, .cpp, .m,
//     .mm, .cs, .java, .kt, .scala, .rs, .swift): only a "…" literal (with
//     its prefixes: @"…", L"…", $"…") is a value; '…' is a character
//     literal and a bare word is an identifier or an expression;
//   - other quoting languages (.py, .js, .ts, .php, .rb, .ps1, .tf, .cls,
//     .groovy, .dart…): a literal in any of their quotes ("…", '…', `…`) is
//     a value, a bare word is not;
//   - in those languages a keyword inside a comment, or inside a longer
//     string literal ("…;password=…"), is judged as text of unknown syntax;
//   - anything else, including Go, shell scripts, Markdown, JSON and names
//     with no extension: as Scan.
//
// Every other rule (provider formats, private keys, credentials in URLs,
// high-entropy tokens) reads every file the same way.
func (s *Scanner) ScanFile(name, text string) []Finding { return s.scan(text, true, langOf(name)) }

// scan is Scan; pragma says whether allow-list pragmas are honoured. They are
// not in text an attacker may write (tool results, model output, arguments):
// there the pragma would let a leak through. l is the file's language.
func (s *Scanner) scan(text string, pragma bool, l lang) []Finding {
	var found []Finding
	var lex *codeLexer
	if l.fam == famCode {
		lex = &codeLexer{text: text, l: l}
	}
	scannedTo := make([]int, len(s.rules)) // per rule: the window end scanned, or the finding end reported, so far
	for i := range scannedTo {
		scannedTo[i] = -1
	}
	s.ac.scan(text, func(id, end int) {
		start := end - s.ac.kwLen[id]
		for _, ref := range s.kwRefs[id] {
			if ref.exact != "" && text[start:end] != ref.exact {
				continue
			}
			if ref.wordStart && start > 0 && isAlnum(text[start-1]) {
				continue
			}
			r := &s.rules[ref.rule]
			if r.check != nil {
				// A hit inside a secret this rule already reported is redacted
				// with it: judging it again costs a value's length per hit, which
				// text made of keywords ("pwd=pwd=pwd=…") turns into the scan's
				// whole cost.
				if start < scannedTo[ref.rule] {
					continue
				}
				fs := r.check(window{text: text, start: start, end: end, hit: start, hitEnd: end, lang: l, lex: lex})
				for _, f := range fs {
					scannedTo[ref.rule] = max(scannedTo[ref.rule], f.End)
				}
				found = append(found, fs...)
				continue
			}
			if end <= scannedTo[ref.rule] {
				continue
			}
			w := lineWindow(text, start, end)
			scannedTo[ref.rule] = w.end
			found = append(found, r.run(w)...)
		}
	})
	if s.entropyRule || s.discordRule {
		found = append(found, tokenPass(text, s.entropyRule, s.discordRule)...)
	}
	if len(found) == 0 {
		return nil
	}
	return s.dedupe(text, found, pragma)
}

func (s *Scanner) dedupe(text string, found []Finding, pragma bool) []Finding {
	prio := make(map[string]int, len(s.rules)+1)
	for i, r := range s.rules {
		prio[r.id] = i
	}
	prio["discord-bot-token"] = len(s.rules)
	prio["high-entropy-assignment"] = len(s.rules) + 1
	// Drop allow-listed lines.
	if pragma {
		if lines := allowlistedLines(text); len(lines) > 0 {
			found = slices.DeleteFunc(found, func(f Finding) bool {
				k, _ := slices.BinarySearchFunc(lines, f.Start, func(l [2]int, pos int) int {
					if l[1] <= pos {
						return -1
					}
					return 1
				})
				return k < len(lines) && lines[k][0] <= f.Start
			})
		}
	}
	slices.SortFunc(found, func(a, b Finding) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return prio[a.Rule] - prio[b.Rule]
	})
	var out []Finding
	for _, f := range found {
		if n := len(out); n > 0 && f.Start < out[n-1].End {
			last := &out[n-1]
			if prio[f.Rule] < prio[last.Rule] || (prio[f.Rule] == prio[last.Rule] && f.End > last.End) {
				*last = f
			}
			continue
		}
		out = append(out, f)
	}
	return extendPrivateKeys(text, out)
}

// extendPrivateKeys extends each private-key finding (the BEGIN line) over the
// key material to the end of its END line, or to the end of the text when
// there is none (a key cut off is still a key), and drops the findings the
// extended span covers. fs is sorted and free of overlaps; each search for an
// END line starts past the previous one, so the pass is linear in the text
// however many BEGIN lines it holds.
func extendPrivateKeys(text string, fs []Finding) []Finding {
	out := fs[:0]
	coveredTo := -1
	for _, f := range fs {
		if f.Start < coveredTo {
			continue // inside the key before it
		}
		if f.Rule == "private-key" {
			body, bodyEnd, end := pemEnd(text, f.Start, f.End)
			coveredTo = end
			if end > bodyEnd && placeholderKeyBody(text[body:bodyEnd]) {
				continue // a documentation example: BEGIN, XXXX or ..., END
			}
			f.End = end
		}
		out = append(out, f)
	}
	return out
}

// pemEnd finds the END line matching the PEM header text[start:headerEnd]:
// the key material is text[body:bodyEnd] and the block ends at end. With no
// END line, the block and its material run to the end of the text.
func pemEnd(text string, start, headerEnd int) (body, bodyEnd, end int) {
	label := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(text[start:headerEnd], "-----BEGIN"), "-----"))
	marker := "-----END " + label + "-----"
	if k := strings.Index(text[headerEnd:], marker); k >= 0 {
		return headerEnd, headerEnd + k, headerEnd + k + len(marker)
	}
	return headerEnd, len(text), len(text)
}

// placeholderKeyBody reports whether the material between a private key's
// BEGIN and END lines is a placeholder: only X, x, dots, asterisks and
// ellipses, or a short text (under 100 bytes, shorter than any real key) with
// a placeholder word ("<your key here>"). Line breaks, escaped ones (\n in a
// string literal, \[rs]n in a man page) and quotes are ignored. An empty body
// is not a placeholder: the header alone is still reported.
func placeholderKeyBody(b string) bool {
	for _, esc := range [...]string{`\[rs]n`, `\\n`, `\n`, `\r`} {
		b = strings.ReplaceAll(b, esc, "")
	}
	b = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', '"', '\'', '+', '\\':
			return -1
		}
		return r
	}, b)
	if b == "" {
		return false
	}
	if strings.Trim(b, "Xx.*…") == "" {
		return true
	}
	var buf [100]byte
	return len(b) < len(buf) && hasPlaceholderWord(lowerASCII(buf[:0], b))
}

const allowPragma = "pragma: allowlist secret"

// allowlistedLines returns the [start, end) ranges of the lines holding the
// allow-list pragma, in order. It reads text once, so a long line with many
// findings costs no more than a short one (checking each finding's line on its
// own was quadratic in the line's length).
func allowlistedLines(text string) [][2]int {
	var out [][2]int
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], allowPragma)
		if j < 0 {
			break
		}
		p := i + j
		ls := strings.LastIndexByte(text[i:p], '\n') + 1 + i
		if len(out) > 0 && ls < out[len(out)-1][1] {
			ls = out[len(out)-1][0]
		}
		le := strings.IndexByte(text[p:], '\n')
		if le < 0 {
			le = len(text)
		} else {
			le += p
		}
		if len(out) > 0 && out[len(out)-1][0] == ls {
			out[len(out)-1][1] = le
		} else {
			out = append(out, [2]int{ls, le})
		}
		i = le + 1
	}
	return out
}

// lineWindow returns the line around [start, end), cut to a bounded size.
func lineWindow(text string, start, end int) window {
	lo := max(0, start-windowBefore)
	ws := strings.LastIndexByte(text[lo:start], '\n')
	if ws < 0 {
		ws = lo
	} else {
		ws += lo + 1
	}
	hi := min(len(text), end+windowAfter)
	we := strings.IndexByte(text[end:hi], '\n')
	if we < 0 {
		we = hi
	} else {
		we += end
	}
	return window{text: text, start: ws, end: we, hit: start, hitEnd: end,
		cutStart: ws > 0 && text[ws-1] != '\n', cutEnd: we < len(text) && text[we] != '\n'}
}

func (r *rule) run(w window) []Finding {
	if r.check != nil {
		return r.check(w)
	}
	var out []Finding
	for _, m := range r.re.FindAllStringSubmatchIndex(w.s(), -1) {
		a, b := m[2*r.group], m[2*r.group+1]
		if a < 0 {
			continue
		}
		if (b == len(w.s()) && w.cutEnd) || (a == 0 && w.cutStart) {
			continue // the window's edge is not the token's edge
		}
		if r.leftBoundary && w.start+a > 0 && isTokenChar(w.text[w.start+a-1]) {
			continue
		}
		v := w.text[w.start+a : w.start+b]
		if r.minEnt > 0 && entropy(v) < r.minEnt {
			continue
		}
		if r.validate != nil && !r.validate(v) {
			continue
		}
		out = append(out, Finding{Rule: r.id, Start: w.start + a, End: w.start + b})
	}
	return out
}

// Contains reports whether text holds at least one secret.
func (s *Scanner) Contains(text string) bool { return len(s.Scan(text)) > 0 }

// Redact returns text with every finding replaced by "[REDACTED:rule]", and the
// findings.
func (s *Scanner) Redact(text string) (string, []Finding) { return s.redactText(text, true) }

func (s *Scanner) redactText(text string, pragma bool) (string, []Finding) {
	fs := s.scan(text, pragma, lang{})
	if len(fs) == 0 {
		return text, nil
	}
	var b strings.Builder
	prev := 0
	for _, f := range fs {
		b.WriteString(text[prev:f.Start])
		b.WriteString(guard.RedactionMarker(f.Rule))
		prev = f.End
	}
	b.WriteString(text[prev:])
	return b.String(), fs
}

// FilterOutput implements [guard.OutputFilter]: text holding a secret is blocked
// (rule "secrets.leak"), or rewritten with the secrets redacted when the scanner
// was built with Redact. The allow-list pragma is not honoured: the text may be
// written by an attacker, who would add it to let a secret through.
func (s *Scanner) FilterOutput(ctx context.Context, out *guard.Output) (guard.Verdict, error) {
	if err := ctx.Err(); err != nil {
		return guard.Verdict{}, err
	}
	if out == nil {
		return guard.Verdict{}, errors.New("secrets: scanner: nil output")
	}
	red, fs := s.redactText(out.Text, false)
	if len(fs) == 0 {
		return guard.Verdict{Action: guard.Allow}, nil
	}
	var cats []string
	for _, f := range fs {
		if !slices.Contains(cats, f.Rule) {
			cats = append(cats, f.Rule)
		}
	}
	v := guard.Verdict{Categories: append([]string{"secret"}, cats...), Rule: "secrets.leak",
		Reason: fmt.Sprintf("%d secret(s) found: %s", len(fs), strings.Join(cats, ", "))}
	if s.redact {
		v.Action, v.Text = guard.Rewrite, red
	} else {
		v.Action = guard.Block
	}
	return v, nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// entropy returns the Shannon entropy of s in bits per byte.
func entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	n := float64(len(s))
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}
