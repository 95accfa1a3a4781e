package outputguard

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/agentguard/agentguard/guard"
)

// Action says what a leak filter does with a match. The zero value, [ActionBlock],
// is the strictest.
type Action uint8

const (
	// ActionBlock stops the whole output.
	ActionBlock Action = iota
	// ActionRedact replaces the match with a marker such as "[REDACTED:pii.card]".
	ActionRedact
	// ActionMask replaces the match with a same-shaped mask that keeps separators
	// and, for numbers such as cards and phone numbers, the last four digits
	// ("**** **** **** 1111"). Secrets and system-prompt text are masked entirely.
	ActionMask
)

var actionNames = [...]string{"block", "redact", "mask"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

func (a Action) valid() bool { return int(a) < len(actionNames) }

// ParseAction parses "block", "redact" or "mask".
func ParseAction(s string) (Action, error) {
	for i, n := range actionNames {
		if s == n {
			return Action(i), nil
		}
	}
	return ActionBlock, fmt.Errorf("outputguard: unknown action %q (want block, redact or mask)", s)
}

// Finding is one match of a [Scanner]: the byte span [Start, End) of the scanned
// text, what it is and what to do with it.
type Finding struct {
	Start, End int
	// Category names what was found, for example "pii.card", "secret.github_token"
	// or "system_prompt.canary".
	Category string
	// Action is what the filter was configured to do with it.
	Action Action
	// Replacement is the text that replaces the span when Action is ActionRedact or
	// ActionMask. Ignored for ActionBlock.
	Replacement string
}

// Scanner is a model-free detector that reports byte spans. Every leak filter in
// this package is a Scanner as well as a [guard.OutputFilter]; [NewStream] and
// [NewChatStream] run Scanners over streamed text. Implementations must be safe
// for concurrent use, must not keep text, and must return findings whose spans lie
// within the text and fall on UTF-8 boundaries.
type Scanner interface {
	Scan(text string) []Finding
}

// ScannerFunc adapts a function to a [Scanner].
type ScannerFunc func(text string) []Finding

// Scan calls f(text).
func (f ScannerFunc) Scan(text string) []Finding { return f(text) }

// verdictFor turns the findings of one scan into a verdict. Any ActionBlock
// finding blocks; otherwise the spans are replaced (overlaps are merged and get a
// redaction marker). rule prefixes the verdict's rule ("pii", "secret", ...).
// Reasons name categories and counts only, never matched text.
func verdictFor(text, rule string, fs []Finding) guard.Verdict {
	if len(fs) == 0 {
		return guard.Verdict{Action: guard.Allow}
	}
	cats := categories(fs)
	for _, f := range fs {
		if f.Action == ActionBlock || !f.Action.valid() {
			return guard.Verdict{
				Action:     guard.Block,
				Categories: cats,
				Rule:       "output." + rule,
				Reason:     "output contains " + strings.Join(cats, ", ") + " (" + strconv.Itoa(len(fs)) + " match(es)); blocked",
			}
		}
	}
	out, ok := rewrite(text, fs)
	if !ok {
		return guard.Verdict{Action: guard.Block, Categories: cats, Rule: "output." + rule,
			Reason: "detector returned an invalid span; blocking (fail closed)"}
	}
	return guard.Verdict{
		Action:     guard.Rewrite,
		Text:       out,
		Categories: cats,
		Rule:       "output." + rule,
		Reason:     "output contained " + strings.Join(cats, ", ") + " (" + strconv.Itoa(len(fs)) + " match(es)); rewritten",
	}
}

// categories returns the distinct categories of fs in order of first appearance.
func categories(fs []Finding) []string {
	var cats []string
	for _, f := range fs {
		if !slices.Contains(cats, f.Category) {
			cats = append(cats, f.Category)
		}
	}
	return cats
}

// rewrite replaces the spans of fs in text. Overlapping spans are merged into one
// span replaced by a redaction marker. It reports false for spans outside text.
func rewrite(text string, fs []Finding) (string, bool) {
	for _, f := range fs {
		if f.Start < 0 || f.Start > f.End || f.End > len(text) {
			return "", false
		}
	}
	fs = slices.Clone(fs)
	slices.SortFunc(fs, func(a, b Finding) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return b.End - a.End
	})
	var b strings.Builder
	b.Grow(len(text))
	pos := 0
	for i := 0; i < len(fs); {
		f := fs[i]
		end, repl := f.End, f.Replacement
		j := i + 1
		for ; j < len(fs) && fs[j].Start < end; j++ {
			end = max(end, fs[j].End)
			repl = guard.RedactionMarker(f.Category)
		}
		b.WriteString(text[pos:f.Start])
		b.WriteString(repl)
		pos = end
		i = j
	}
	b.WriteString(text[pos:])
	return b.String(), true
}

// replacement returns the text that replaces match for action a.
func replacement(a Action, category, match string, keepLast int) string {
	switch a {
	case ActionRedact:
		return guard.RedactionMarker(category)
	case ActionMask:
		return mask(match, keepLast)
	}
	return ""
}

// mask replaces every letter and digit of s with '*' except the last keep
// alphanumerics, and keeps other characters (separators) as they are. Non-ASCII
// runes are masked too.
func mask(s string, keep int) string {
	alnum := 0
	for i := 0; i < len(s); i++ {
		if isAlnum(s[i]) {
			alnum++
		}
	}
	if keep >= alnum {
		keep = 0 // never reveal a whole value
	}
	var b strings.Builder
	b.Grow(len(s))
	seen := 0
	for _, r := range s {
		switch {
		case r < 0x80 && isAlnum(byte(r)):
			seen++
			if seen > alnum-keep {
				b.WriteRune(r)
			} else {
				b.WriteByte('*')
			}
		case r < 0x80:
			b.WriteRune(r)
		default:
			b.WriteByte('*')
		}
	}
	return b.String()
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isAlpha(c byte) bool { return isUpper(c) || isLower(c) }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
func toUpper(c byte) byte {
	if isLower(c) {
		return c - 'a' + 'A'
	}
	return c
}

// wordByteAt reports whether text[i] exists and is part of a word (an ASCII letter
// or digit, or any byte of a non-ASCII rune), so that matches do not start or end
// inside a longer token.
func wordByteAt(text string, i int) bool {
	if i < 0 || i >= len(text) {
		return false
	}
	c := text[i]
	return isAlnum(c) || c >= 0x80
}
