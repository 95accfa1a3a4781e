package outputguard

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/agentguard/agentguard/guard"
)

// PIIKind names a kind of personal data; it is also the finding's category.
type PIIKind string

// The kinds of personal data [PII] detects.
const (
	PIIEmail PIIKind = "pii.email"
	// PIIPhone: international numbers written with a leading "+" (E.164, 8 to 15
	// digits), North American numbers with separators ("(415) 555-2671",
	// "415-555-2671") and national numbers with a trunk "0" written in groups
	// ("020 7946 0958").
	PIIPhone PIIKind = "pii.phone"
	// PIICard: payment card numbers of 12 to 19 digits with a known issuer prefix
	// and a valid Luhn check digit, plain or grouped with spaces or dashes.
	PIICard PIIKind = "pii.card"
	// PIIIBAN: IBANs of a known country, of that country's length, with a valid
	// ISO 7064 mod-97 checksum, plain or in groups of four.
	PIIIBAN PIIKind = "pii.iban"
	// PIIUSSSN: US social security numbers written "123-45-6789" or "123 45 6789",
	// excluding numbers never issued (area 000, 666 or 900-999, group 00,
	// serial 0000) and well-known specimen numbers.
	PIIUSSSN PIIKind = "pii.us_ssn"
	// PIIUKNINO: UK National Insurance numbers ("QQ 12 34 56 C") with the
	// prefix rules of HMRC's manual (no D, F, I, Q, U or V first; no D, F, I, O, Q,
	// U or V second; not BG, GB, KN, NK, NT, TN or ZZ).
	PIIUKNINO PIIKind = "pii.uk_nino"
	// PIIESDNI: Spanish DNI numbers (eight digits and the mod-23 check letter).
	PIIESDNI PIIKind = "pii.es_dni"
)

// PIIKinds returns every kind [PII] detects, in a fresh slice.
func PIIKinds() []PIIKind { return slices.Clone(piiKinds[:]) }

// piiKinds is indexed by the i* constants. Never modified.
var piiKinds = [numPII]PIIKind{PIIEmail, PIIPhone, PIICard, PIIIBAN, PIIUSSSN, PIIUKNINO, PIIESDNI}

// PIIConfig configures [NewPII]. The zero value detects every kind and blocks.
type PIIConfig struct {
	// Kinds limits detection to these kinds. Nil or empty means every kind.
	Kinds []PIIKind
	// Action is what to do with a match. The zero value is [ActionBlock].
	Action Action
	// Actions overrides Action per kind.
	Actions map[PIIKind]Action
	// Allow lists values that are never reported, compared exactly after removing
	// spaces and dashes and ignoring ASCII case (for example the support address
	// the agent is meant to give out).
	Allow []string
}

// PII detects personal data: e-mail addresses, phone numbers, payment cards
// (Luhn), IBANs (mod 97) and national identifiers. It is a model-free
// [guard.OutputFilter] and a [Scanner]. Create it with [NewPII].
type PII struct {
	enabled [numPII]bool
	action  [numPII]Action
	allow   map[string]struct{}
}

const (
	iEmail = iota
	iPhone
	iCard
	iIBAN
	iSSN
	iNINO
	iDNI
	numPII
)

var _ guard.OutputFilter = (*PII)(nil)
var _ Scanner = (*PII)(nil)

// NewPII returns a PII filter for cfg.
func NewPII(cfg PIIConfig) (*PII, error) {
	if !cfg.Action.valid() {
		return nil, fmt.Errorf("outputguard: pii: invalid action %v", cfg.Action)
	}
	p := &PII{}
	kinds := PIIKinds()
	if len(cfg.Kinds) > 0 {
		for _, k := range cfg.Kinds {
			if !slices.Contains(kinds, k) {
				return nil, fmt.Errorf("outputguard: pii: unknown kind %q", k)
			}
			p.enabled[slices.Index(kinds, k)] = true
		}
	} else {
		for i := range p.enabled {
			p.enabled[i] = true
		}
	}
	for i := range p.action {
		p.action[i] = cfg.Action
	}
	for k, a := range cfg.Actions {
		i := slices.Index(kinds, k)
		if i < 0 {
			return nil, fmt.Errorf("outputguard: pii: action for unknown kind %q", k)
		}
		if !a.valid() {
			return nil, fmt.Errorf("outputguard: pii: invalid action %v for %s", a, k)
		}
		p.action[i] = a
	}
	if len(cfg.Allow) > 0 {
		p.allow = make(map[string]struct{}, len(cfg.Allow))
		for _, v := range cfg.Allow {
			p.allow[canonValue(v)] = struct{}{}
		}
	}
	return p, nil
}

// FilterOutput blocks or rewrites out according to the configuration.
func (p *PII) FilterOutput(ctx context.Context, out *guard.Output) (guard.Verdict, error) {
	if out == nil {
		return blockNil("pii")
	}
	return verdictFor(out.Text, "pii", p.Scan(out.Text)), nil
}

// Scan reports the personal data in text.
func (p *PII) Scan(text string) []Finding {
	var fs []Finding
	if p.enabled[iEmail] {
		fs = p.scanEmails(text, fs)
	}
	numbers := p.enabled[iPhone] || p.enabled[iCard] || p.enabled[iSSN] || p.enabled[iDNI]
	letters := p.enabled[iIBAN] || p.enabled[iNINO]
	if numbers || letters {
		fs = p.scanNumbers(text, fs, numbers, letters)
	}
	return fs
}

func (p *PII) add(fs []Finding, kind int, text string, start, end, keepLast int) []Finding {
	m := text[start:end]
	if p.allow != nil {
		if _, ok := p.allow[canonValue(m)]; ok {
			return fs
		}
	}
	cat := string(piiKinds[kind])
	a := p.action[kind]
	return append(fs, Finding{Start: start, End: end, Category: cat, Action: a,
		Replacement: replacement(a, cat, m, keepLast)})
}

// canonValue is the form used for allow-list comparisons.
func canonValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '-' {
			continue
		}
		if isUpper(c) {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// --- e-mail ---

func isEmailLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

func isDomainByte(c byte) bool { return isAlnum(c) || c == '-' || c == '.' }

// scanEmails finds addr-spec shaped addresses around each '@'. Every byte is
// visited a bounded number of times: a local part never extends past the
// previous '@' and a domain never past the next one.
func (p *PII) scanEmails(text string, fs []Finding) []Finding {
	const maxLocal, maxDomain = 64, 253
	from, lastEnd := 0, 0
	for {
		k := strings.IndexByte(text[from:], '@')
		if k < 0 {
			return fs
		}
		at := from + k
		from = at + 1
		start := at
		for start > lastEnd && at-start < maxLocal && isEmailLocal(text[start-1]) {
			start--
		}
		for start < at && (text[start] == '.' || text[start] == '-' || text[start] == '+') {
			start++
		}
		if start == at || wordByteAt(text, start-1) {
			continue
		}
		end := at + 1
		for end < len(text) && end-at-1 < maxDomain && isDomainByte(text[end]) {
			end++
		}
		for end > at+1 && (text[end-1] == '.' || text[end-1] == '-') {
			end--
		}
		if !validDomain(text[at+1 : end]) {
			continue
		}
		if wordByteAt(text, end) {
			continue
		}
		fs = p.add(fs, iEmail, text, start, end, 0)
		from, lastEnd = end, end
	}
}

// validDomain reports whether d is a dotted host name with a top-level label of
// at least two letters.
func validDomain(d string) bool {
	if len(d) < 4 {
		return false
	}
	dot := strings.LastIndexByte(d, '.')
	if dot <= 0 || len(d)-dot-1 < 2 {
		return false
	}
	for i := dot + 1; i < len(d); i++ {
		if !isAlpha(d[i]) {
			return false
		}
	}
	prev := byte('.')
	for i := 0; i < len(d); i++ {
		c := d[i]
		if c == '.' && (prev == '.' || prev == '-') {
			return false
		}
		if c == '-' && prev == '.' {
			return false
		}
		prev = c
	}
	return d[0] != '-'
}

// --- numbers: cards, phones, SSNs, DNIs ---

// numRun is a run of digit groups separated by single separators. Groups are
// kept as byte offsets into the scanned text.
type numRun struct {
	start, end int
	plus       bool     // starts with '+'
	paren      bool     // first group in parentheses
	groups     [][2]int // [start, end) of each group of digits
	seps       []byte   // seps[i] separates groups[i] and groups[i+1] (')' after a parenthesised group)
}

func isNumSep(c byte) bool { return c == ' ' || c == '-' || c == '.' }

// numStart marks the bytes that can start a number run. Read-only.
var numStart = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['+'], t['('] = true, true
	return t
}()

// scanNumbers walks text once. At the start of each digit run it looks back for
// the two letters of an IBAN or NI number (when letters is set); otherwise it
// reads the run of digit groups and classifies it (when numbers is set).
func (p *PII) scanNumbers(text string, fs []Finding, numbers, letters bool) []Finding {
	var r numRun
	var groupsBuf [16][2]int
	var sepsBuf [16]byte
	var ibanBuf [40]byte
	groups, seps := groupsBuf[:0], sepsBuf[:0]
	lastEnd := 0
	i := 0
	for i < len(text) {
		c := text[i]
		if !numStart[c] {
			i++
			continue
		}
		if letters && isDigit(c) && i >= 2 && !isDigit(text[i-1]) {
			if start, end, kind, ok := p.letterCodeAt(text, i, lastEnd, &ibanBuf); ok {
				fs = p.add(fs, kind, text, start, end, 4*btoi(kind == iIBAN))
				i, lastEnd = end, end
				continue
			}
		}
		if !numbers {
			i++
			continue
		}
		if wordByteAt(text, i-1) || (i > 1 && (text[i-1] == '.' || text[i-1] == ',') && isDigit(text[i-2])) {
			// inside a token or a decimal number: skip the whole token
			for i < len(text) && numStart[text[i]] {
				i++
			}
			continue
		}
		var end int
		var ok bool
		end, ok, groups, seps = readNumRun(text, i, &r, groups[:0], seps[:0])
		r.groups, r.seps = groups, seps
		if ok {
			n := len(fs)
			fs = p.classify(text, &r, fs)
			if len(fs) > n {
				lastEnd = fs[len(fs)-1].End
			}
		}
		i = max(end, i+1)
	}
	return fs
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// letterCodeAt looks for an IBAN or NI number whose digits start at j: two
// letters at j-2 (or at j-3 followed by a space, for "AB 12 34 56 C"), starting
// a word, not before lastEnd.
func (p *PII) letterCodeAt(text string, j, lastEnd int, buf *[40]byte) (start, end, kind int, ok bool) {
	for _, i := range [2]int{j - 2, j - 3} {
		if i < lastEnd || i < 0 {
			continue
		}
		if i == j-3 && text[j-1] != ' ' {
			continue
		}
		if !isAlpha(text[i]) || !isAlpha(text[i+1]) || wordByteAt(text, i-1) {
			continue
		}
		if p.enabled[iIBAN] && i == j-2 && j+1 < len(text) && isDigit(text[j+1]) {
			if end, ok := readIBAN(text, i, buf[:0]); ok {
				return i, end, iIBAN, true
			}
		}
		if p.enabled[iNINO] && validNINOPrefix(toUpper(text[i]), toUpper(text[i+1])) {
			if end, ok := readNINO(text, i+2); ok {
				return i, end, iNINO, true
			}
		}
	}
	return 0, 0, 0, false
}

// readNumRun reads a run starting at i. It returns the index after what it
// consumed, and whether a run was read.
func readNumRun(text string, i int, r *numRun, groups [][2]int, seps []byte) (int, bool, [][2]int, []byte) {
	r.start = i
	r.plus, r.paren = false, false
	if text[i] == '+' {
		r.plus = true
		i++
	}
	if i < len(text) && text[i] == '(' {
		r.paren = true
		i++
	}
	if i >= len(text) || !isDigit(text[i]) {
		return i, false, groups, seps
	}
	for {
		g := i
		for i < len(text) && isDigit(text[i]) {
			i++
		}
		groups = append(groups, [2]int{g, i})
		r.end = i
		if r.paren && len(groups) == 1 && (i >= len(text) || text[i] != ')') {
			// "(4111 1111 ...)": not an area code; read the digits as a plain run.
			r.paren, r.plus = false, false
			r.start = g
		}
		if r.paren && len(groups) == 1 {
			i++
			r.end = i
			if i < len(text) && text[i] == ' ' {
				i++
			}
			if i >= len(text) || !isDigit(text[i]) {
				return i, false, groups, seps
			}
			seps = append(seps, ')')
			continue
		}
		// a single separator followed by a digit continues the run
		if i+1 < len(text) && isNumSep(text[i]) && isDigit(text[i+1]) {
			seps = append(seps, text[i])
			i++
			continue
		}
		return r.end, true, groups, seps
	}
}

// window describes groups [a, b) of a run.
type window struct {
	text string
	r    *numRun
	a, b int
}

func (w *window) start() int {
	if w.a == 0 {
		return w.r.start
	}
	return w.r.groups[w.a][0]
}
func (w *window) end() int { return w.r.groups[w.b-1][1] }
func (w *window) ng() int  { return w.b - w.a }
func (w *window) glen(i int) int {
	g := w.r.groups[w.a+i]
	return g[1] - g[0]
}

// sep returns the single separator used inside the window, 0 when it has one
// group, and 1 when separators are mixed.
func (w *window) sep() byte {
	var s byte
	for i := w.a; i < w.b-1; i++ {
		c := w.r.seps[i]
		if s == 0 {
			s = c
		} else if c != s {
			return 1
		}
	}
	return s
}

// load copies the window's digits (at most 19, checked by callers) into dst.
func (w *window) load(dst *[19]byte) []byte {
	n := 0
	for i := w.a; i < w.b; i++ {
		g := w.r.groups[i]
		n += copy(dst[n:], w.text[g[0]:g[1]])
	}
	return dst[:n]
}

func (p *PII) classify(text string, r *numRun, fs []Finding) []Finding {
	var buf [19]byte
	n := 0
	for _, g := range r.groups {
		n += g[1] - g[0]
	}
	// Spanish DNI: eight digits directly followed by the check letter.
	if p.enabled[iDNI] && !r.plus && !r.paren && len(r.groups) == 1 && n == 8 && r.end < len(text) {
		e := r.end
		if text[e] == '-' && e+1 < len(text) {
			e++
		}
		if isAlpha(text[e]) && !wordByteAt(text, e+1) && validDNI(text[r.start:r.end], toUpper(text[e])) {
			return p.add(fs, iDNI, text, r.start, e+1, 0)
		}
	}
	if wordByteAt(text, r.end) {
		return fs
	}
	whole := window{text: text, r: r, a: 0, b: len(r.groups)}
	if n <= 19 {
		if k, ok := p.classifyWindow(&whole, whole.load(&buf), true); ok {
			return p.add(fs, k, text, whole.start(), whole.end(), 4)
		}
	}
	if len(r.groups) == 1 {
		return fs
	}
	// A number hidden in a longer run ("ref 7 4111 1111 1111 1111"): try each
	// window of consecutive groups that ends where a group ends. Windows hold at
	// most 19 digits and maxSubGroups groups, so this is linear in the run's
	// length with a small constant (runs of one-digit groups, "1-1-1-…", are
	// what an attacker would send).
	for a := 0; a < len(r.groups); a++ {
		if a == 0 && r.paren {
			continue
		}
		digits := 0
		best := -1
		bestKind := 0
		for b := a + 1; b <= len(r.groups) && b-a <= maxSubGroups; b++ {
			digits += r.groups[b-1][1] - r.groups[b-1][0]
			if digits > 19 {
				break
			}
			if a == 0 && b == len(r.groups) {
				break // the whole run was tried above
			}
			w := window{text: text, r: r, a: a, b: b}
			if k, ok := p.classifyWindow(&w, w.load(&buf), false); ok {
				best, bestKind = b, k
			}
		}
		if best >= 0 {
			w := window{text: text, r: r, a: a, b: best}
			fs = p.add(fs, bestKind, text, w.start(), w.end(), 4)
			a = best - 1
		}
	}
	return fs
}

// maxSubGroups is the most groups a number found inside a longer run can have:
// a card grouped in threes or more (cardGrouping) has at most six groups in its
// 19 digits, an SSN three, a North American phone number four; the other
// formats are recognised only as a whole run.
const maxSubGroups = 6

// classifyWindow reports the kind of number w holds. whole is set when w is the
// entire run (which may start with '+' or a parenthesised area code).
func (p *PII) classifyWindow(w *window, d []byte, whole bool) (int, bool) {
	sep := w.sep()
	plus := whole && w.r.plus
	paren := whole && w.r.paren
	if p.enabled[iCard] && !plus && !paren && (sep == 0 || sep == ' ' || sep == '-') &&
		len(d) >= 12 && len(d) <= 19 && validCard(d) {
		if whole || cardGrouping(w) {
			return iCard, true
		}
	}
	if p.enabled[iSSN] && !plus && !paren && (sep == '-' || sep == ' ') &&
		w.ng() == 3 && w.glen(0) == 3 && w.glen(1) == 2 && w.glen(2) == 4 && validSSN(d) {
		return iSSN, true
	}
	if p.enabled[iPhone] && validPhone(w, d, sep, plus, paren, whole) {
		return iPhone, true
	}
	return 0, false
}

// cardGrouping reports whether a window inside a longer run is grouped like a
// card number (groups of three or more digits), so that runs of small numbers in
// tables are not taken for cards.
func cardGrouping(w *window) bool {
	for i := 0; i < w.ng(); i++ {
		if w.glen(i) < 3 {
			return false
		}
	}
	return true
}

func validPhone(w *window, d []byte, sep byte, plus, paren, whole bool) bool {
	if plus {
		// E.164: the country code never starts with 0; 8 to 15 digits in all.
		return len(d) >= 8 && len(d) <= 15 && d[0] != '0'
	}
	// North American: (NXX) NXX-XXXX, NXX-NXX-XXXX, 1-NXX-NXX-XXXX.
	off, g0 := 0, 0
	if w.ng() == 4 && w.glen(0) == 1 && d[0] == '1' {
		off, g0 = 1, 1
	}
	if w.ng()-g0 == 3 && w.glen(g0) == 3 && w.glen(g0+1) == 3 && w.glen(g0+2) == 4 {
		return d[off] >= '2' && d[off+3] >= '2'
	}
	if paren || !whole {
		return false
	}
	// National format with a trunk 0, written in groups of two or more digits:
	// 020 7946 0958, 07700 900123, 030-1234567, 06 12 34 56 78.
	if len(d) < 10 || len(d) > 11 || d[0] != '0' || d[1] == '0' || w.ng() < 2 || sep == 1 {
		return false
	}
	for i := 0; i < w.ng(); i++ {
		if w.glen(i) < 2 {
			return false
		}
	}
	return true
}

// --- codes that start with letters: IBANs and UK NI numbers ---

// readIBAN reads an IBAN at i, either compact or printed in groups of four
// separated by single spaces, and checks it.
func readIBAN(text string, i int, buf []byte) (int, bool) {
	want := ibanLength(toUpper(text[i]), toUpper(text[i+1]))
	if want == 0 {
		return 0, false
	}
	j := i
	for j < len(text) && len(buf) < want {
		c := text[j]
		if isAlnum(c) {
			buf = append(buf, toUpper(c))
			j++
			continue
		}
		// a single space between groups of four
		if c == ' ' && len(buf)%4 == 0 && j+1 < len(text) && isAlnum(text[j+1]) {
			j++
			continue
		}
		break
	}
	if len(buf) != want || wordByteAt(text, j) {
		return 0, false
	}
	return j, ibanValid(buf)
}

// readNINO reads the six digits (optionally in pairs separated by spaces) and the
// suffix letter A-D of a UK NI number whose prefix ends before i.
func readNINO(text string, i int) (int, bool) {
	j := i
	for pair := 0; pair < 3; pair++ {
		if j < len(text) && text[j] == ' ' {
			j++
		}
		if j+1 >= len(text) || !isDigit(text[j]) || !isDigit(text[j+1]) {
			return 0, false
		}
		j += 2
	}
	if j < len(text) && text[j] == ' ' {
		j++
	}
	if j >= len(text) {
		return 0, false
	}
	switch toUpper(text[j]) {
	case 'A', 'B', 'C', 'D':
	default:
		return 0, false
	}
	j++
	if wordByteAt(text, j) {
		return 0, false
	}
	return j, true
}

// blockNil is the verdict for a nil output: nothing to judge is an error.
func blockNil(rule string) (guard.Verdict, error) {
	return guard.Verdict{Action: guard.Block, Rule: "output." + rule, Reason: "nil output"},
		fmt.Errorf("outputguard: %s: nil output", rule)
}
