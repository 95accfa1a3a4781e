package inject

// NATO phonetic alphabet decoding: "India Golf November Oscar Romeo Echo" is
// "ignore". splitLettersScan counts runs of code words as it walks the words of
// the text, so ordinary text costs one table lookup per word of four to eight
// letters; natoLayer runs only when it saw minNATORun code words in a row. Text
// that is not ASCII is read after folding, so code words written with
// homoglyphs or full-width letters are read too.

const (
	minNATOWord = 4 // "alfa", "echo", "xray", ...
	maxNATOWord = 8 // "november"
	// minNATORun is how many code words in a row make fold ask for the layer.
	minNATORun = 3
)

// natoCode is the code word of each letter; natoAlt the accepted variants.
var (
	natoCode = [26]string{"alfa", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
		"juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
		"uniform", "victor", "whiskey", "xray", "yankee", "zulu"}
	natoAlt = [26]string{'a' - 'a': "alpha", 'j' - 'a': "juliet", 'w' - 'a': "whisky", 'x' - 'a': "x-ray"}
)

// natoPairs holds, for the first two letters of each code word (indexed by
// their low five bits, so in either case), a bit for each length of the code
// words they start: fold's one-lookup pre-check, which passes few other words.
var natoPairs = func() (t [32 * 32]uint16) {
	for i := range natoCode {
		for _, w := range []string{natoCode[i], natoAlt[i]} {
			if w != "" {
				t[natoPairIndex(w)] |= 1 << len(w)
			}
		}
	}
	return t
}()

func natoPairIndex(w string) int { return int(w[0]&31)<<5 | int(w[1]&31) }

// natoRun tracks runs of code words separated by single bytes.
type natoRun struct {
	n, max, end int // current run, longest run, index after the last code word
}

// word notes the word s[i:e] (which passed natoPairs).
func (r *natoRun) word(s string, i, e int) {
	if natoLetter(s[i:e]) == 0 {
		return
	}
	if i == r.end+1 && r.n > 0 {
		r.n++
	} else {
		r.n = 1
	}
	r.end = e
	r.max = max(r.max, r.n)
}

// natoRunHint returns the longest run of code words in s separated by single
// bytes.
func natoRunHint(s string) int {
	var r natoRun
	for i := 0; i < len(s); {
		if !isASCIILetter(s[i]) {
			i++
			continue
		}
		e := i + 1
		for e < len(s) && isASCIILetter(s[e]) {
			e++
		}
		if e-i >= minNATOWord && natoPairs[natoPairIndex(s[i:e])]>>uint(e-i)&1 != 0 {
			r.word(s, i, e)
		}
		i = e
	}
	return r.max
}

// natoLetter returns the lower-case letter w spells in the NATO alphabet (in any
// case), or 0.
func natoLetter(w string) byte {
	if len(w) < 4 || len(w) > maxNATOWord {
		return 0
	}
	c := w[0] | 0x20
	if c < 'a' || c > 'z' {
		return 0
	}
	if eqLowerASCII(w, natoCode[c-'a']) || eqLowerASCII(w, natoAlt[c-'a']) {
		return c
	}
	return 0
}

// eqLowerASCII reports whether w equals the lower-case ASCII word lw, ignoring
// the case of w's letters.
func eqLowerASCII(w, lw string) bool {
	if len(w) != len(lw) {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lw[i] {
			return false
		}
	}
	return true
}

// natoLayer rewrites s with every run of at least minSplitLetters NATO code
// words replaced by the letters they spell. Code words of one word are
// separated by a single space, tab or hyphen; a longer gap of spaces, slashes,
// bars, commas or line breaks separates words. It is one linear pass, the layer
// is shorter than s, and it reports false when there is no such run.
func natoLayer(s string) (string, bool) {
	var r letterRun
	for i := 0; i < len(s); {
		if !isASCIILetter(s[i]) || i > 0 && isASCIILetter(s[i-1]) {
			i++
			continue
		}
		c, e := natoWordAt(s, i)
		if c == 0 {
			i++
			continue
		}
		r.begin(s, i)
		letters := 0
		for {
			r.letter(c)
			letters++
			// The gap to the next code word.
			k := e
			for k < len(s) && k-e < 4 && isNATOGap(s[k]) {
				k++
			}
			if k == e || k >= len(s) || !isASCIILetter(s[k]) {
				break
			}
			next, ne := natoWordAt(s, k)
			if next == 0 {
				break
			}
			if k-e > 1 || s[e] != ' ' && s[e] != '\t' && s[e] != '-' {
				r.wordBreak()
			}
			c, e = next, ne
		}
		if letters < minSplitLetters {
			r.drop()
		} else {
			r.keep(e)
		}
		i = e
	}
	if out, ok := r.layer(); ok && printable(out) {
		return string(out), true
	}
	return "", false
}

// natoWordAt returns the letter spelt by the code word starting at s[i] and the
// index after it, or 0.
func natoWordAt(s string, i int) (byte, int) {
	e := i
	for e < len(s) && e-i <= maxNATOWord && isASCIILetter(s[e]) {
		e++
	}
	if e < len(s) && isASCIILetter(s[e]) {
		return 0, i
	}
	if e-i == 1 && s[i]|0x20 == 'x' && len(s)-e >= 4 && eqLowerASCII(s[e:e+4], "-ray") && (e+4 == len(s) || !isASCIILetter(s[e+4])) {
		return 'x', e + 4
	}
	if c := natoLetter(s[i:e]); c != 0 {
		return c, e
	}
	return 0, i
}

func isNATOGap(c byte) bool {
	switch c {
	case ' ', '\t', '-', '/', '|', ',', '\n', '\r':
		return true
	}
	return false
}
