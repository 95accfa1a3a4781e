package inject

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"html"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Obfuscation signals reported by [Normalize]. They name what the normaliser had to
// undo; several of them (tag smuggling above all) are strong injection evidence on
// their own and are fed to the classifier as features.
const (
	SignalTagChars        = "obfuscation.tag_chars"
	SignalVariantSelector = "obfuscation.variant_selectors"
	SignalInvisible       = "obfuscation.invisible"
	SignalBidi            = "obfuscation.bidi"
	SignalHomoglyph       = "obfuscation.homoglyph"
	SignalLeet            = "obfuscation.leetspeak"
	SignalBase64          = "obfuscation.base64"
	SignalBase32          = "obfuscation.base32"
	SignalHex             = "obfuscation.hex"
	SignalURL             = "obfuscation.url_encoding"
	SignalHTML            = "obfuscation.html_entities"
	SignalROT13           = "obfuscation.rot13"
	SignalTruncated       = "obfuscation.truncated"
	// SignalSplitLetters reports words spelt out letter by letter with a
	// separator ("i g n o r e", "i-g-n-o-r-e", "i.g.n.o.r.e"), joined back up.
	SignalSplitLetters = "obfuscation.split_letters"
	// SignalInvisibleRun reports a run of eight or more invisible or format
	// characters in a row: a channel for data hidden from a human reader (bits
	// written as invisible operators, for example), which no ordinary text needs.
	SignalInvisibleRun = "obfuscation.invisible_run"
	// SignalNATO reports words spelt in the NATO phonetic alphabet ("India Golf
	// November Oscar Romeo Echo"), decoded.
	SignalNATO = "obfuscation.nato"
	// SignalMorse reports Morse code ("-- --- .-. ... ."), decoded.
	SignalMorse = "obfuscation.morse"
	// SignalBraille reports English (grade 1) Unicode Braille, decoded.
	SignalBraille = "obfuscation.braille"
	// SignalAtbash reports text enciphered with Atbash (a↔z, b↔y, ...), decoded.
	SignalAtbash = "obfuscation.atbash"
	// SignalAscii85 reports Ascii85 (btoa) encoding, delimited by <~ ~> or bare.
	SignalAscii85 = "obfuscation.ascii85"
	// SignalUUencode reports uuencoded lines, decoded.
	SignalUUencode = "obfuscation.uuencode"
	// SignalHomoglyphWords reports three or more words that each mix Latin
	// letters with look-alikes from another script ("Gіvе ѕtер-bу-ѕtер") in a
	// text whose other-script letters are nearly all such look-alikes: one mixed
	// word is a typo or a localised term, several are a disguise.
	SignalHomoglyphWords = "obfuscation.homoglyph_words"
)

// homoglyphWords is how many mixed-script words make SignalHomoglyphWords.
const homoglyphWords = 3

// Bounds of the normaliser. Every step is linear in its input and the decoded
// layers are bounded in depth and in total size, so Normalize is linear in the size
// of its input.
const (
	// MaxNormalizeInput is the most input Normalize reads; the rest is dropped and
	// SignalTruncated reported. Detectors scan longer texts in pieces.
	MaxNormalizeInput = 1 << 20
	// MaxDecodeDepth is how many nested encodings are peeled (base64 of hex of ...).
	MaxDecodeDepth = 3
	// minEncodedRun is the shortest run considered as an encoded payload.
	minEncodedRun = 16
)

// Normalized is the normaliser's output.
type Normalized struct {
	// Text is the folded text: invisible and control characters removed, NFKC
	// compatibility forms folded, combining marks on Latin, Greek and Cyrillic
	// letters removed, lower-cased, homoglyphs and leetspeak keywords folded to
	// Latin. Decoded layers (base64, base32, hex, URL, HTML, ROT13, Atbash,
	// Ascii85, UUencode, Morse, NATO alphabet, Braille, letters spelt one by one,
	// tag-smuggled ASCII) are appended, each on its own line, so they are scanned
	// too.
	Text string
	// Signals names the obfuscations undone, sorted and without duplicates.
	Signals []string
}

// Has reports whether signal s was reported.
func (n Normalized) Has(s string) bool {
	for _, x := range n.Signals {
		if x == s {
			return true
		}
	}
	return false
}

// Normalize folds s into the canonical form every detector in this package scans.
// It never fails: bytes that are not valid UTF-8 become U+FFFD.
func Normalize(s string) Normalized {
	b, sig := normalizeInto(make([]byte, 0, min(len(s), MaxNormalizeInput)+16), s)
	return Normalized{Text: string(b), Signals: signalList(sig)}
}

// normalizeInto appends the normalised form of s to buf and returns it with the
// set of signals (bits in signalOrder).
func normalizeInto(buf []byte, s string) ([]byte, uint32) {
	n := normalizer{budget: 2*min(len(s), MaxNormalizeInput) + 4096}
	if len(s) > MaxNormalizeInput {
		s = s[:MaxNormalizeInput]
		n.signal(SignalTruncated)
	}
	buf = n.run(buf, s, 0)
	return buf, n.sig
}

type normalizer struct {
	sig    uint32
	budget int // bytes of decoded layers still allowed
	// natoMax is the longest run of NATO code words decodeLayers saw.
	natoMax int
}

var signalOrder = [...]string{SignalBase32, SignalBase64, SignalBidi, SignalHTML, SignalHex, SignalHomoglyph,
	SignalInvisible, SignalLeet, SignalROT13, SignalTagChars, SignalTruncated, SignalURL, SignalVariantSelector, SignalSplitLetters, SignalInvisibleRun,
	SignalNATO, SignalMorse, SignalBraille, SignalAtbash, SignalAscii85, SignalUUencode, SignalHomoglyphWords}

func (n *normalizer) signal(s string) {
	for i, x := range signalOrder {
		if x == s {
			n.sig |= 1 << i
			return
		}
	}
}

func signalList(sig uint32) []string {
	if sig == 0 {
		return nil
	}
	var out []string
	for i, x := range signalOrder {
		if sig&(1<<i) != 0 {
			out = append(out, x)
		}
	}
	return out
}

// run normalises s into b and appends its decoded layers.
func (n *normalizer) run(b []byte, s string, depth int) []byte {
	ascii := plainASCII(s)
	clean, hidden := s, ""
	if !ascii {
		clean, hidden = n.stripInvisible(s)
	}
	start := len(b)
	b = n.fold(b, clean, ascii)
	var layers []string
	if hidden != "" {
		layers = append(layers, hidden)
	}
	if depth < MaxDecodeDepth {
		layers = n.decodeLayers(clean, layers, ascii)
		// The NATO alphabet is read when a run of code words was seen: in ASCII
		// text by splitLettersScan, in other text (homoglyphs, full-width
		// letters) in the folded text, which is plain letters again.
		nato := n.natoMax
		natoText := clean
		if !ascii {
			natoText = string(b[start:])
			nato = natoRunHint(natoText)
		}
		if nato >= minNATORun {
			if d, ok := natoLayer(natoText); ok {
				n.signal(SignalNATO)
				layers = append(layers, d)
			}
		}
		// Braille is read from the raw text: its blank cell U+2800 is the word
		// space, which stripInvisible removes.
		if !ascii {
			if d, ok := brailleLayer(s); ok {
				n.signal(SignalBraille)
				layers = append(layers, d)
			}
		}
	}
	for _, l := range layers {
		if n.budget <= 0 {
			n.signal(SignalTruncated)
			break
		}
		if len(l) > n.budget {
			l = l[:n.budget]
		}
		n.budget -= len(l)
		b = append(b, '\n')
		b = n.run(b, l, depth+1)
	}
	return b
}

func isASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if load64(s, i)&hiBits != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

const (
	loBits = 0x0101010101010101
	hiBits = 0x8080808080808080
)

// load64 reads s[i:i+8] as a little-endian word (the compiler merges the loads).
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// stripInvisible removes format, control and tag characters and returns the text
// smuggled in Unicode tag characters or variant selectors, if any.
func (n *normalizer) stripInvisible(s string) (clean, hidden string) {
	if plainASCII(s) {
		return s, ""
	}
	var b strings.Builder
	b.Grow(len(s))
	var tags, vs []byte
	var prevLetter bool
	run := 0 // invisible or format characters in a row
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if isInvisible(r) || r != '\n' && r != '\t' && r != '\r' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
			if run++; run == invisibleRun {
				n.signal(SignalInvisibleRun)
			}
		} else {
			run = 0
		}
		switch {
		case r >= 0xE0000 && r <= 0xE007F:
			if r >= 0xE0020 && r <= 0xE007E {
				tags = append(tags, byte(r-0xE0000))
			} else if r == 0xE007F || r == 0xE0001 {
				tags = append(tags, ' ')
			}
			continue
		case r >= 0xFE00 && r <= 0xFE0F:
			vs = append(vs, byte(r-0xFE00))
			continue
		case r >= 0xE0100 && r <= 0xE01EF:
			vs = append(vs, byte(r-0xE0100+16))
			continue
		case isBidi(r):
			n.signal(SignalBidi)
			continue
		case isInvisible(r):
			if prevLetter && i < len(s) {
				next, _ := utf8.DecodeRuneInString(s[i:])
				if unicode.IsLetter(next) {
					n.signal(SignalInvisible)
				}
			}
			continue
		case r == '\n' || r == '\t' || r == '\r':
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			continue
		}
		prevLetter = unicode.IsLetter(r)
		b.WriteRune(r)
	}
	var hid []string
	if t := strings.TrimSpace(string(tags)); len(t) > 7 || strings.Contains(t, " ") {
		// Subdivision flags (England: U+1F3F4 + "gbeng" + cancel) use a short tag
		// run; anything longer is text hidden from a human reader.
		n.signal(SignalTagChars)
		hid = append(hid, t)
	}
	if len(vs) >= 4 && printable(vs) {
		n.signal(SignalVariantSelector)
		hid = append(hid, string(vs))
	}
	return b.String(), strings.Join(hid, "\n")
}

// plainASCII reports whether s is ASCII without control characters other than
// tab, newline and carriage return.
func plainASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := load64(s, i)
		// No byte >= 0x7f (high bit set, or 0x7f which +1 carries into the high
		// bit) and none below 0x20; a word with a control byte is checked byte by byte.
		if x&hiBits != 0 || (x+loBits)&hiBits != 0 {
			return false
		}
		if (x-0x20*loBits)&^x&hiBits != 0 && !plainASCIIBytes(s[i:i+8]) {
			return false
		}
	}
	return plainASCIIBytes(s[i:])
}

func plainASCIIBytes(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x7f || c < 0x20 && c != '\n' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

func isBidi(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0x200E || r == 0x200F || r == 0x061C
}

func isInvisible(r rune) bool {
	switch r {
	case 0x200B, 0x200C, 0x200D, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF, 0x00AD, 0x180E,
		0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800:
		return true
	}
	return false
}

// printable reports whether b is UTF-8 text that is mostly letters, digits,
// punctuation and spaces: the test a decoded layer must pass to be scanned.
func printable(b []byte) bool {
	if len(b) == 0 || !utf8.Valid(b) {
		return false
	}
	var good, total, letters, cipher int
	for _, r := range string(b) {
		total++
		switch {
		case unicode.IsLetter(r):
			letters++
			good++
		case r == '.' || r == '-' || r >= brailleBlank && r <= brailleBlank+0xff:
			cipher++ // Morse or Braille: a nested encoding
			good++
		case r == ' ' || r == '\n' || r == '\t' || unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r):
			good++
		}
	}
	if good*100 < total*90 {
		return false
	}
	return letters*2 >= total || cipher*2 >= total || len(b) >= minEncodedRun && allB64(b) // a nested encoding
}

func allB64(b []byte) bool {
	for _, c := range b {
		if !isB64Byte(c) && c != '\n' {
			return false
		}
	}
	return true
}

// fold writes the folded form of s (already free of invisible characters) to b.
// ascii says s is known to be ASCII.
func (n *normalizer) fold(b []byte, s string, ascii bool) []byte {
	if !ascii && !isASCII(s) {
		s = n.foldUnicode(s)
	}
	// Word-level pass: lower-case and fold leetspeak keywords.
	for i := 0; i < len(s); {
		switch byteClass[s[i]] {
		case clsOther, clsLeetPunct: // leet punctuation only continues a word
			b = append(b, lowerByte(s[i]))
			i++
			continue
		}
		j := i
		var upper, leet bool
	word:
		for ; j < len(s); j++ {
			switch byteClass[s[j]] {
			case clsLower, clsHigh:
			case clsUpper:
				upper = true
			case clsDigit, clsLeetPunct:
				leet = true
			default:
				break word
			}
		}
		w := s[i:j]
		switch {
		case leet:
			b = n.writeWord(b, w)
		case upper:
			for k := 0; k < len(w); k++ {
				b = append(b, lowerByte(w[k]))
			}
		default:
			b = append(b, w...)
		}
		i = j
	}
	return b
}

const (
	clsOther = iota
	clsLower
	clsUpper
	clsDigit
	clsLeetPunct
	clsHigh
)

var byteClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		switch {
		case b >= 'a' && b <= 'z':
			t[c] = clsLower
		case b >= 'A' && b <= 'Z':
			t[c] = clsUpper
		case b >= '0' && b <= '9':
			t[c] = clsDigit
		case b == '@' || b == '$' || b == '!' || b == '|':
			t[c] = clsLeetPunct
		case b >= utf8.RuneSelf:
			t[c] = clsHigh
		}
	}
	return t
}()

func (n *normalizer) writeWord(b []byte, w string) []byte {
	var letters, leet int
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letters++
		case leetMap(c) != 0:
			leet++
		}
	}
	if leet > 0 && letters > 0 && len(w) >= 4 && len(w) <= 24 {
		var buf [24]byte
		for i := 0; i < len(w); i++ {
			c := lowerByte(w[i])
			if m := leetMap(c); m != 0 {
				c = m
			}
			buf[i] = c
		}
		if isKeyword(string(buf[:len(w)])) {
			n.signal(SignalLeet)
			return append(b, buf[:len(w)]...)
		}
	}
	// Trailing punctuation that was only taken for leetspeak goes back as is.
	for i := 0; i < len(w); i++ {
		b = append(b, lowerByte(w[i]))
	}
	return b
}

func leetMap(c byte) byte {
	switch c {
	case '0':
		return 'o'
	case '1', '!', '|':
		return 'i'
	case '3':
		return 'e'
	case '4', '@':
		return 'a'
	case '5', '$':
		return 's'
	case '7':
		return 't'
	case '8':
		return 'b'
	case '9':
		return 'g'
	}
	return 0
}

// foldUnicode applies compatibility decomposition, drops combining marks on
// European letters (and runs of marks anywhere: "zalgo"), recomposes, lower-cases
// and folds homoglyphs in words that mix scripts.
func (n *normalizer) foldUnicode(s string) string {
	d := norm.NFKD.String(s)
	var b strings.Builder
	b.Grow(len(d))
	var base rune
	marks := 0
	var latin, other int
	for _, r := range d {
		if unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) {
			marks++
			if base < 0x0530 || marks > 2 {
				continue
			}
			b.WriteRune(r)
			continue
		}
		marks = 0
		base = r
		switch {
		case r < 0x250 && unicode.IsLetter(r):
			latin++
		case r >= 0x370 && r < 0x530:
			other++
		}
		b.WriteRune(r)
	}
	out := norm.NFC.String(b.String())
	// Homoglyph folding, word by word.
	b.Reset()
	latinText := latin > 2*other
	word := make([]rune, 0, 32)
	// mixed counts words mixing Latin with look-alikes; others and lookalikes
	// count the letters of other scripts, and how many of them imitate Latin.
	mixed, others, lookalikes := 0, 0, 0
	flush := func() {
		if len(word) == 0 {
			return
		}
		var hasLatin, hasConf, allConf = false, false, true
		for _, r := range word {
			if r < 0x250 && unicode.IsLetter(r) {
				hasLatin = true
				continue
			}
			if confusable(unicode.ToLower(r)) != 0 {
				hasConf = true
				others++
				lookalikes++
			} else if unicode.IsLetter(r) {
				allConf = false
				others++
			}
		}
		if hasConf && (hasLatin || allConf && latinText) {
			if hasLatin {
				n.signal(SignalHomoglyph)
				mixed++
			}
			for _, r := range word {
				if c := confusable(unicode.ToLower(r)); c != 0 {
					r = c
				}
				b.WriteRune(unicode.ToLower(r))
			}
		} else {
			for _, r := range word {
				b.WriteRune(unicode.ToLower(r))
			}
		}
		word = word[:0]
	}
	for _, r := range out {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			word = append(word, r)
			continue
		}
		flush()
		b.WriteRune(r)
	}
	flush()
	// Text in another script has letters with no Latin twin (б, д, я, λ);
	// English in disguise borrows only the twins.
	if mixed >= homoglyphWords && lookalikes*10 >= others*9 {
		n.signal(SignalHomoglyphWords)
	}
	return b.String()
}

// confusable maps a lower-case Cyrillic, Greek or other look-alike letter to the
// Latin letter it imitates, or returns 0.
func confusable(r rune) rune {
	switch r {
	case 'а', 'ɑ', 'α':
		return 'a'
	case 'в', 'β', 'ь':
		return 'b'
	case 'с', 'ϲ':
		return 'c'
	case 'ԁ':
		return 'd'
	case 'е', 'ε', 'ё':
		return 'e'
	case 'ɡ':
		return 'g'
	case 'һ', 'н':
		return 'h'
	case 'і', 'ι', 'ı', 'ї', 'ɩ':
		return 'i'
	case 'ј', 'ϳ':
		return 'j'
	case 'к', 'κ':
		return 'k'
	case 'ӏ', 'ℓ':
		return 'l'
	case 'м':
		return 'm'
	case 'п', 'η':
		return 'n'
	case 'о', 'ο', 'σ', 'օ':
		return 'o'
	case 'р', 'ρ':
		return 'p'
	case 'ԛ':
		return 'q'
	case 'г':
		return 'r'
	case 'ѕ':
		return 's'
	case 'т', 'τ':
		return 't'
	case 'υ', 'ս':
		return 'u'
	case 'ν', 'ѵ':
		return 'v'
	case 'ԝ', 'ω', 'ш':
		return 'w'
	case 'х', 'χ':
		return 'x'
	case 'у', 'γ', 'ү':
		return 'y'
	case 'ᴢ':
		return 'z'
	}
	return 0
}

// decodeLayers finds encoded payloads in s and appends their decoded text.
// ascii says s is known to be plain ASCII.
func (n *normalizer) decodeLayers(s string, layers []string, ascii bool) []string {
	// Tokens (runs of graphic ASCII) long enough to hold a payload: base64,
	// base32 and hex runs inside them, and Ascii85.
	a85 := ascii85Scanner{}
	for j, e := nextToken(s, 0); j >= 0; j, e = nextToken(s, e+1) {
		layers = n.encodedRuns(s[j:e], layers)
		var d string
		d, e = a85.scan(s, j, e)
		if d != "" {
			n.signal(SignalAscii85)
			layers = append(layers, d)
		}
	}
	if d, ok := uuLayer(s); ok {
		n.signal(SignalUUencode)
		layers = append(layers, d)
	}
	if d, ok := morseLayer(s); ok {
		n.signal(SignalMorse)
		layers = append(layers, d)
	} else if !ascii {
		if d, ok := morseLayer(asciiMorse(s)); ok {
			n.signal(SignalMorse)
			layers = append(layers, d)
		}
	}
	if strings.Count(s, "%") >= 3 {
		if d, ok := urlLayer(s); ok {
			n.signal(SignalURL)
			layers = append(layers, d)
		}
	}
	if strings.Count(s, "&") >= 3 {
		if d := html.UnescapeString(s); d != s && len(s)-len(d) >= 6 {
			n.signal(SignalHTML)
			layers = append(layers, d)
		}
	}
	if d, sig := substitutionLayer(s); sig != "" {
		n.signal(sig)
		layers = append(layers, d)
	}
	d, ok, nato := splitLettersScan(s)
	if ok {
		n.signal(SignalSplitLetters)
		layers = append(layers, d)
	}
	n.natoMax = nato
	return layers
}

// invisibleRun is the shortest run of invisible characters reported as
// SignalInvisibleRun.
const invisibleRun = 8

// minSplitLetters is the fewest letters a spelt-out run must have.
const minSplitLetters = 5

// splitLettersLayer rewrites s with every word spelt out letter by letter joined
// up: runs of single ASCII letters separated by one to three separator bytes
// ("i g n o r e", "i-g-n-o-r-e", "I . G . N"). Within a run, a gap other than the
// run's first gap separates words, and long words are split into the words they
// are made of. Only runs of at least minSplitLetters letters are joined; it
// reports false when there is none. It is one linear pass and the layer is no
// longer than s.
func splitLettersLayer(s string) (string, bool) {
	d, ok, _ := splitLettersScan(s)
	return d, ok
}

// splitLettersScan is splitLettersLayer, and it also returns the longest run of
// NATO code words separated by single bytes that it walked past: the byte
// pre-check of natoLayer, one table lookup per word of four to eight letters.
func splitLettersScan(s string) (string, bool, int) {
	var r letterRun
	var nato natoRun
	i := 0
	for i < len(s) {
		// Skip to the next word; a run starts at a word of one letter.
		if !wordTable[s[i]] {
			i++
			continue
		}
		if e := i + 1; e < len(s) && wordTable[s[e]] || !isASCIILetter(s[i]) {
			for e < len(s) && wordTable[s[e]] {
				e++
			}
			if e-i >= minNATOWord && natoPairs[natoPairIndex(s[i:e])]>>uint(e-i)&1 != 0 {
				nato.word(s, i, e)
			}
			i = e
			continue
		}
		r.begin(s, i)
		r.letter(lowerByte(s[i]))
		letters, gap0, j := 1, "", i+1
		for {
			// The gap: 1–3 separator bytes, then a single letter.
			k := j
			for k < len(s) && k-j < 3 && isSplitSep(s[k]) {
				k++
			}
			if k == j || k >= len(s) || !isASCIILetter(s[k]) || k+1 < len(s) && isASCIIWord(s[k+1]) {
				break
			}
			gap := s[j:k]
			switch {
			case gap0 == "":
				gap0 = gap
			case gap != gap0:
				r.wordBreak()
			}
			r.letter(lowerByte(s[k]))
			letters++
			j = k + 1
		}
		if letters >= minSplitLetters {
			r.keep(j)
		} else {
			r.drop()
		}
		i = j
	}
	out, ok := r.layer()
	return string(out), ok, nato.max
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isSplitSep(c byte) bool {
	switch c {
	case ' ', '-', '.', '_', '*', '/', '|', ',', '+', '~', '\t':
		return true
	}
	return false
}

var b64Table = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		t[c] = b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '+' || b == '/' || b == '=' || b == '-' || b == '_'
	}
	return t
}()

func isB64Byte(c byte) bool { return b64Table[c] }

// isGraphic reports whether c is printable ASCII other than space: the bytes
// of a token that may hold an encoded payload.
func isGraphic(c byte) bool { return c-'!' < '~'-'!'+1 }

// nextToken returns the first maximal run s[j:e] of graphic ASCII at least
// minEncodedRun bytes long that starts at or after i, where i is 0 or s[i-1] is
// not graphic; j is -1 when there is none. Every such run covers
// s[i+minEncodedRun-1] for the first i at or after its start, so a byte there
// that is not graphic skips minEncodedRun bytes: on prose it reads about one
// byte in eight.
func nextToken(s string, i int) (int, int) {
	for i+minEncodedRun <= len(s) {
		if !isGraphic(s[i+minEncodedRun-1]) {
			i += minEncodedRun
			continue
		}
		j, e := i+minEncodedRun-1, i+minEncodedRun
		for j > i && isGraphic(s[j-1]) {
			j--
		}
		for e < len(s) && isGraphic(s[e]) {
			e++
		}
		if e-j >= minEncodedRun {
			return j, e
		}
		i = e + 1
	}
	return -1, -1
}

// encodedRuns decodes the runs of base64, base32 or hex alphabet in tok, a
// token of graphic ASCII, that are at least minEncodedRun bytes long.
func (n *normalizer) encodedRuns(tok string, layers []string) []string {
	start := -1
	for i := 0; i <= len(tok); i++ {
		if i < len(tok) && isB64Byte(tok[i]) {
			if start < 0 {
				start = i
			}
			// "key=VALUE": an '=' followed by more alphabet is not padding, so
			// it ends the run before it (and starts a new one after it).
			if tok[i] == '=' && i+1 < len(tok) && isB64Byte(tok[i+1]) && tok[i+1] != '=' {
				if i-start >= minEncodedRun {
					if d, sig := decodeRun(tok[start:i]); d != "" {
						n.signal(sig)
						layers = append(layers, d)
					}
				}
				start = -1
			}
			continue
		}
		if start >= 0 && i-start >= minEncodedRun {
			if d, sig := decodeRun(tok[start:i]); d != "" {
				n.signal(sig)
				layers = append(layers, d)
			}
		}
		start = -1
	}
	return layers
}

func decodeRun(run string) (string, string) {
	if isHex(run) && len(run)%2 == 0 {
		if b, err := hex.DecodeString(run); err == nil && printable(b) {
			return string(b), SignalHex
		}
	}
	if isBase32(run) {
		r := strings.TrimRight(run, "=")
		if b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(r); err == nil && printable(b) {
			return string(b), SignalBase32
		}
	}
	r := strings.TrimRight(run, "=")
	if len(r)%4 == 1 {
		r = r[:len(r)-1]
	}
	enc := base64.RawStdEncoding
	if strings.ContainsAny(r, "-_") {
		enc = base64.RawURLEncoding
	}
	if b, err := enc.DecodeString(r); err == nil && printable(b) {
		return string(b), SignalBase64
	}
	return "", ""
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func isBase32(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7' || c == '=') {
			return false
		}
	}
	return true
}

func urlLayer(s string) (string, bool) {
	var b strings.Builder
	changed := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1:i+3]) {
			j := i
			for j+2 < len(s) && s[j] == '%' && isHex(s[j+1:j+3]) {
				j += 3
			}
			if d, err := url.PathUnescape(s[i:j]); err == nil {
				b.WriteString(d)
				changed += j - i
				i = j - 1
				continue
			}
		}
		b.WriteByte(s[i])
	}
	if changed < 9 {
		return "", false
	}
	return b.String(), true
}

func rot13(c byte) byte {
	switch {
	case c >= 'a' && c <= 'z':
		return 'a' + (c-'a'+13)%26
	case c >= 'A' && c <= 'Z':
		return 'A' + (c-'A'+13)%26
	}
	return c
}

func rotStop(w string) bool {
	if len(w) < 2 || !rotStopPrefix[w[0]&31][w[1]&31] {
		return false
	}
	switch w {
	case "the", "and", "you", "your", "to", "of", "is", "are", "all", "ignore", "instructions", "previous",
		"say", "print", "tell", "me", "what", "this", "that", "with", "for", "it", "in", "be", "now", "do", "not":
		return true
	}
	return false
}

// rotStopPrefix holds the first two letters of the words rotStop knows, so
// that most other words are rejected with one lookup.
var rotStopPrefix = func() (t [32][32]bool) {
	for _, w := range []string{"the", "and", "you", "your", "to", "of", "is", "are", "all", "ignore", "instructions", "previous",
		"say", "print", "tell", "me", "what", "this", "that", "with", "for", "it", "in", "be", "now", "do", "not"} {
		t[w[0]&31][w[1]&31] = true
	}
	return t
}()

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}
