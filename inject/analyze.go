package inject

import (
	"strings"
	"sync"
	"unsafe"
)

// analysis is the shared front end of the rule matcher and the classifier: one
// normalisation, one tokenisation, one rule pass and one feature pass per text.
type analysis struct {
	// norm.Text aliases buf: it is valid until the next run or putAnalysis, and
	// nothing derived from the text may outlive the analysis.
	norm  Normalized
	buf   []byte
	toks  []token
	feats []feat
	hits  []hit
	shits []hit // hits sorted by position (classifier scratch)
	state []int32
	wins  []window
	// Per-token feature sums for the classifier (prefix sums over tokens).
	sum []int32
	cnt []int32
}

var analysisPool = sync.Pool{New: func() any { return new(analysis) }}

func getAnalysis() *analysis { return analysisPool.Get().(*analysis) }

func putAnalysis(a *analysis) {
	if cap(a.feats) > 1<<20 || cap(a.buf) > 1<<20 { // do not keep huge buffers alive
		*a = analysis{}
	}
	a.norm = Normalized{}
	analysisPool.Put(a)
}

// run analyses s. rs may be nil (no rules); features are extracted when feats is set.
func (a *analysis) run(s string, rs *ruleSet, feats bool) {
	var sig uint32
	a.buf, sig = normalizeInto(a.buf[:0], s)
	a.norm = Normalized{Text: unsafe.String(unsafe.SliceData(a.buf), len(a.buf)), Signals: signalList(sig)}
	a.toks = tokenize(a.toks[:0], a.norm.Text)
	a.hits = a.hits[:0]
	if rs != nil {
		if cap(a.state) < rs.nslots {
			a.state = make([]int32, rs.nslots)
		}
		a.hits = rs.match(a.hits, a.norm.Text, a.toks, a.state[:rs.nslots])
		for i, h := range a.hits {
			if rs.rules[h.rule].id != "role.chat_template" && a.quotedDiscussion(h) {
				a.hits[i].quoted = true
			}
		}
	}
	a.feats = a.feats[:0]
	if feats {
		a.feats = extract(a.feats, a.norm.Text, a.toks)
	}
	a.wins = windows(a.wins[:0], len(a.toks))
}

// ruleNames returns the distinct ids of the rules that fired, in rule order,
// leaving out untrusted-only rules when trusted is set.
func (a *analysis) ruleNames(rs *ruleSet, trusted bool) []string {
	if len(a.hits) == 0 {
		return nil
	}
	var seen [128]bool
	var out []string
	for _, h := range a.hits {
		r := &rs.rules[h.rule]
		if trusted && r.untrusted || int(h.rule) < len(seen) && seen[h.rule] {
			continue
		}
		if int(h.rule) < len(seen) {
			seen[h.rule] = true
		}
		out = append(out, r.id)
	}
	return out
}

// quotedDiscussion reports whether the rule hit h lies inside a short quotation
// ("…", “…”, «…», '…') and text near it frames the quotation as discussion
// ("attackers hide phrases like …", "a typical payload is …"). Such a hit is
// evidence of security writing as much as of an attack, so it does not set the
// strong-rule floor on its own; the classifier still scores the text, and the
// quoted words still count as rule features.
func (a *analysis) quotedDiscussion(h hit) bool {
	s, toks := a.norm.Text, a.toks
	pos := int(h.pos)
	if pos < 0 || pos >= len(toks) {
		return false
	}
	open := -1
	for i := pos - 1; i >= 0 && i >= pos-12; i-- {
		if t := toks[i]; t.punct {
			if quoteAt(s, t, true) {
				open = i
				break
			}
			if sentenceEnd(s[t.start:t.end]) {
				return false
			}
		}
	}
	if open < 0 {
		return false
	}
	closing := -1
	for j := pos + 1; j < len(toks) && j <= pos+8; j++ {
		if t := toks[j]; t.punct && quoteAt(s, t, false) {
			closing = j
			break
		}
	}
	if closing < 0 {
		return false
	}
	for i := max(0, open-30); i < min(len(toks), closing+30); i++ {
		if i >= open && i <= closing || toks[i].punct {
			continue
		}
		if discussionWord(s[toks[i].start:toks[i].end]) {
			return true
		}
	}
	return false
}

// quoteAt reports whether punctuation token t holds a quotation mark that can open
// (opening) or close a quotation. An apostrophe counts only at a word boundary, so
// "don't" does not open a quotation.
func quoteAt(s string, t token, opening bool) bool {
	p := s[t.start:t.end]
	if strings.ContainsAny(p, "\"“”„«»「」『』") {
		return true
	}
	if !strings.ContainsAny(p, "'‘’") {
		return false
	}
	if opening {
		return t.start == 0 || s[t.start-1] == ' ' || s[t.start-1] == '\n' || s[t.start-1] == '\t' || s[t.start-1] == '('
	}
	return int(t.end) == len(s) || !isASCIIWord(s[t.end])
}

func sentenceEnd(p string) bool { return strings.ContainsAny(p, ".!?\n") }

// discussionWord reports whether w (normalised, lower case) frames nearby quoted
// text as the subject of discussion rather than as an instruction.
func discussionWord(w string) bool {
	switch w {
	case "injection", "injections", "injected", "attack", "attacks", "attacker", "attackers",
		"payload", "payloads", "phrase", "phrases", "example", "examples", "jailbreak", "jailbreaks",
		"malicious", "trick", "tricks", "meme", "researchers", "researcher", "filter", "filters",
		"detect", "detects", "detected", "detection", "detector", "owasp", "adversarial", "classic",
		"typical", "quoted", "quotes", "string", "strings", "exploit", "exploits", "incident",
		"injektion", "angriff", "beispiel", "attaque", "exemple", "ataque", "ejemplo", "esempio", "attacco":
		return true
	}
	return false
}
