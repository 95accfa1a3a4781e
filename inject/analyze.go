package inject

import (
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
