package secrets

import (
	"math"
	"strings"
)

// b64Class marks the bytes of base64 (both alphabets) and padding.
var b64Class = func() (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['+'], t['/'], t['='], t['_'], t['-'] = true, true, true, true, true
	return t
}()

const (
	minEntropyTokenLen = 20
	maxEntropyTokenLen = 256
)

// highEntropyAssignments finds random-looking base64-alphabet tokens assigned to
// a name (NAME = "tok", NAME: tok, NAME=tok): mixed case and digits, and a Shannon
// entropy close to the maximum for the token's length. Values of names that say
// they are identifiers (…_id, uuid, hash, sha, digest, checksum) are skipped.
//
// The same pass finds Discord bot tokens, which have no fixed prefix.
func tokenPass(text string, entropyRule, discord bool) []Finding {
	var out []Finding
	n := len(text)
	const minRun = minEntropyTokenLen
	// Invariant: i == 0 or text[i-1] is not a token byte. A run of minRun
	// token bytes starting at or after i must cover text[i+minRun-1], so when
	// that byte is not a token byte the scan skips minRun bytes at once.
	for i := 0; i+minRun <= n; {
		k := i + minRun - 1
		if !b64Class[text[k]] {
			i = k + 1
			continue
		}
		s := k
		for s > i && b64Class[text[s-1]] {
			s--
		}
		e := k + 1
		for e < n && b64Class[text[e]] {
			e++
		}
		run := e - s
		if discord && run >= 24 && e < n && text[e] == '.' {
			out = append(out, discordAt(text, e)...)
		}
		if entropyRule && run >= minRun && run <= maxEntropyTokenLen {
			if f, ok := judgeToken(text, s, e); ok {
				out = append(out, f)
			}
		}
		i = e + 1
	}
	return out
}

func judgeToken(text string, s, e int) (Finding, bool) {
	tok := text[s:e]
	// Trim a name glued to the value by '=' inside the run (mimi=abc… has no
	// separator outside the base64 alphabet).
	if k := indexByte(tok, '='); k > 0 && k < len(tok)-3 && tok[k+1] != '=' {
		if !isIdentish(tok[:k]) {
			return Finding{}, false
		}
		return judgeValue(text, s, s+k, s+k+1, e)
	}
	// Otherwise the name precedes: NAME <op> ["'`]TOKEN
	i := s
	if i > 0 && (text[i-1] == '"' || text[i-1] == '\'' || text[i-1] == '`') {
		i--
	}
	for i > 0 && (text[i-1] == ' ' || text[i-1] == '\t') {
		i--
	}
	if i == 0 || (text[i-1] != '=' && text[i-1] != ':') {
		return Finding{}, false
	}
	if text[i-1] == ':' && i == s && (i >= len(text) || text[i] != ' ') {
		// name:value with nothing between (URLs, ports, bot ids): not an
		// assignment. YAML needs a space, JSON a quote.
		return Finding{}, false
	}
	i--
	if i > 0 && (text[i-1] == '=' || text[i-1] == '!' || text[i-1] == '<' || text[i-1] == '>') {
		return Finding{}, false // a comparison, not an assignment
	}
	if i > 0 && text[i-1] == ':' { // :=
		i--
	}
	for i > 0 && (text[i-1] == ' ' || text[i-1] == '\t' || text[i-1] == '"' || text[i-1] == '\'') {
		i--
	}
	ne := i
	for i > 0 && ne-i < 64 && (isAlnum(text[i-1]) || text[i-1] == '_' || text[i-1] == '-' || text[i-1] == '.') {
		i--
	}
	if i == ne {
		return Finding{}, false
	}
	return judgeValue(text, i, ne, s, e)
}

func judgeValue(text string, ns, ne, vs, ve int) (Finding, bool) {
	name := text[ns:ne]
	if idName(name) {
		return Finding{}, false
	}
	v := text[vs:ve]
	for len(v) > 0 && v[len(v)-1] == '=' {
		v = v[:len(v)-1]
	}
	if len(v) < minEntropyTokenLen {
		return Finding{}, false
	}
	var upper, lower, digit bool
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= '0' && c <= '9':
			digit = true
		}
	}
	if !upper || !lower || !digit {
		return Finding{}, false
	}
	if identifierShaped(v) || sequential(v) || pathShaped(v) || docPlaceholder(v) {
		return Finding{}, false
	}
	// Random base64 of length n has entropy close to min(6, log2 n); English
	// identifiers and camelCase words fall well below it.
	if entropy(v) < 0.85*math.Min(6, math.Log2(float64(len(v)))) || entropy(v) < 3.7 {
		return Finding{}, false
	}
	return Finding{Rule: "high-entropy-assignment", Start: vs, End: ve}, true
}

func idName(name string) bool {
	n := len(name)
	low := make([]byte, n)
	for i := 0; i < n; i++ {
		low[i] = foldTable[name[i]]
	}
	l := string(low)
	for _, suf := range [...]string{"_id", "-id", ".id", "id", "uuid", "guid", "hash", "sha", "sha1", "sha256", "sha512", "digest", "checksum", "integrity", "etag", "nonce", "salt", "iv", "commit", "revision", "version", "url", "uri", "path", "name", "h1"} {
		if len(l) >= len(suf) && l[len(l)-len(suf):] == suf {
			return true
		}
	}
	return false
}

func isIdentish(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(isAlnum(s[i]) || s[i] == '_' || s[i] == '-') {
			return false
		}
	}
	return true
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// identifierShaped reports whether an alphanumeric token reads as a code
// identifier (OpAMD64LoweredAtomicAdd32, loong64RegisterNumber): few case
// changes for its length. Random base64 changes case about every other byte.
func identifierShaped(v string) bool {
	switches, letters := 0, 0
	prevUpper, havePrev := false, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		isU, isL := c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z'
		if !isU && !isL {
			if c == '+' || c == '/' {
				return false // base64 punctuation: not an identifier
			}
			continue
		}
		letters++
		if havePrev && isU != prevUpper {
			switches++
		}
		prevUpper, havePrev = isU, true
	}
	return letters == 0 || float64(switches) < 0.3*float64(letters) || wordy(v)
}

// wordy reports whether at least half the letters of v sit in lower-case runs
// of three or more (the words of camelCase and snake_case names). Random base64
// rarely has such runs.
func wordy(v string) bool {
	letters, inRuns, run := 0, 0, 0
	for i := 0; i <= len(v); i++ {
		if i < len(v) && v[i] >= 'a' && v[i] <= 'z' {
			run++
			letters++
			continue
		}
		if run >= 3 {
			inRuns += run
		}
		run = 0
		if i < len(v) && v[i] >= 'A' && v[i] <= 'Z' {
			letters++
		}
	}
	return letters > 0 && 2*inRuns >= letters
}

// pathShaped reports whether v is a slash-separated path of name-like segments
// (llvm/lib/Support/MD5).
func pathShaped(v string) bool {
	if !strings.Contains(v, "/") || strings.Contains(v, "+") {
		return false
	}
	for _, seg := range strings.Split(v, "/") {
		if seg != "" && len(seg) >= 8 && !identifierShaped(seg) {
			return false
		}
	}
	return true
}

// sequential reports whether most adjacent bytes are consecutive (alphabets,
// "abcdef…", "0123456789").
func sequential(v string) bool {
	n := 0
	for i := 1; i < len(v); i++ {
		if v[i] == v[i-1]+1 {
			n++
		}
	}
	return 2*n >= len(v)
}

// docPlaceholder reports whether a token spells a documentation placeholder
// word (AWS's wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY and its near misses):
// only words of seven letters or more, which random base64 spells about once
// in 10^9 tokens, so a real token is not let through by chance. The provider
// rules do not ask this: the exact AWS example key is still reported by
// aws-secret-access-key.
func docPlaceholder(v string) bool {
	var buf [maxEntropyTokenLen]byte
	lv := lowerASCII(buf[:0], v)
	for _, w := range [...]string{"example", "placeholder", "redacted", "changeme", "replaceme"} {
		if strings.Contains(lv, w) {
			return true
		}
	}
	return false
}
