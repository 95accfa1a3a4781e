package inject

import "strings"

// Morse code decoding: ".. --. -. --- .-. ." is "ignore". Letters are separated
// by a single space, words by " / ", "/", "|", a line break or two or more
// spaces.

// morseTable maps a code, read as binary digits after a leading 1 (dot 0,
// dash 1), to its character.
var morseTable = func() (t [256]byte) {
	for c, code := range map[byte]string{
		'a': ".-", 'b': "-...", 'c': "-.-.", 'd': "-..", 'e': ".", 'f': "..-.", 'g': "--.", 'h': "....",
		'i': "..", 'j': ".---", 'k': "-.-", 'l': ".-..", 'm': "--", 'n': "-.", 'o': "---", 'p': ".--.",
		'q': "--.-", 'r': ".-.", 's': "...", 't': "-", 'u': "..-", 'v': "...-", 'w': ".--", 'x': "-..-",
		'y': "-.--", 'z': "--..", '0': "-----", '1': ".----", '2': "..---", '3': "...--", '4': "....-",
		'5': ".....", '6': "-....", '7': "--...", '8': "---..", '9': "----.", '.': ".-.-.-", ',': "--..--",
		'?': "..--..", '\'': ".----.", '!': "-.-.--", '/': "-..-.", '(': "-.--.", ')': "-.--.-", '&': ".-...",
		':': "---...", ';': "-.-.-.", '=': "-...-", '+': ".-.-.", '-': "-....-", '_': "..--.-", '"': ".-..-.",
		'$': "...-..-", '@': ".--.-.",
	} {
		v := 1
		for i := 0; i < len(code); i++ {
			v <<= 1
			if code[i] == '-' {
				v |= 1
			}
		}
		t[v] = c
	}
	return t
}()

const maxMorseCode = 7 // "...-..-" ($)

// morseHint is the byte pre-check: some '-' has a '.' next to it, directly or
// across one space. Any Morse text of a few letters has one.
func morseHint(s string) bool {
	for i := strings.IndexByte(s, '-'); i >= 0; {
		switch {
		case i > 0 && s[i-1] == '.', i+1 < len(s) && s[i+1] == '.',
			i > 1 && s[i-1] == ' ' && s[i-2] == '.', i+2 < len(s) && s[i+1] == ' ' && s[i+2] == '.':
			return true
		}
		j := strings.IndexByte(s[i+1:], '-')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return false
}

// morseLayer rewrites s with every run of at least minSplitLetters Morse
// letters, with both dots and dashes, replaced by its decoding. It is one linear
// pass, the layer is no longer than s, and it reports false when there is no
// such run.
func morseLayer(s string) (string, bool) {
	if !morseHint(s) {
		return "", false
	}
	var r letterRun
	for i := 0; i < len(s); {
		if !isMorseSym(s[i]) || i > 0 && !isMorseGap(s[i-1]) {
			i++
			continue
		}
		c, e := morseCodeAt(s, i)
		if c == 0 {
			i = e
			continue
		}
		r.begin(s, i)
		letters := 0
		var dots, dashes bool
		for j := i; ; {
			r.letter(c)
			letters++
			dashes = dashes || strings.IndexByte(s[j:e], '-') >= 0
			dots = dots || strings.IndexByte(s[j:e], '.') >= 0
			k := e
			for k < len(s) && k-e < 8 && isMorseGap(s[k]) {
				k++
			}
			if k == e || k >= len(s) || !isMorseSym(s[k]) {
				break
			}
			next, ne := morseCodeAt(s, k)
			if next == 0 {
				break
			}
			if k-e > 1 || s[e] != ' ' {
				r.wordBreak()
			}
			j, c, e = k, next, ne
		}
		if letters < minSplitLetters || !dots || !dashes {
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

// morseCodeAt decodes the code starting at s[i] (a dot or dash), which must end
// at a gap or the end of s. It returns the character, or 0, and the index after
// the code's dots and dashes.
func morseCodeAt(s string, i int) (byte, int) {
	e, v := i, 1
	for e < len(s) && isMorseSym(s[e]) {
		if e-i < maxMorseCode {
			v = v<<1 | int(s[e]&1) // '-' is 0x2d, '.' 0x2e
		}
		e++
	}
	if e-i > maxMorseCode || e < len(s) && !isMorseGap(s[e]) {
		return 0, e
	}
	return morseTable[v], e
}

// morseVariants are the dots and dashes of Morse translators and word
// processors other than '.' and '-'.
var morseVariants = strings.NewReplacer("\u00b7", ".", "\u2022", ".", "\u2219", ".", "\u22c5", ".",
	"\u2212", "-", "\u2013", "-", "\u2014", "-", "\u2012", "-", "_", "-")

// asciiMorse returns s with the dot and dash look-alikes of Morse written as
// '.' and '-', or "" when it has none of the non-ASCII ones: the byte
// pre-check visits the UTF-8 lead bytes C2 and E2 only.
func asciiMorse(s string) string {
	if !hasMorseVariant(s) {
		return ""
	}
	return morseVariants.Replace(s)
}

func hasMorseVariant(s string) bool {
	for i := strings.IndexByte(s, 0xc2); i >= 0 && i+1 < len(s); {
		if s[i+1] == 0xb7 { // U+00B7
			return true
		}
		j := strings.IndexByte(s[i+1:], 0xc2)
		if j < 0 {
			break
		}
		i += j + 1
	}
	for i := strings.IndexByte(s, 0xe2); i >= 0 && i+2 < len(s); {
		switch s[i+1 : i+3] {
		case "\x80\xa2", "\x88\x99", "\x8b\x85", "\x88\x92", "\x80\x93", "\x80\x94", "\x80\x92":
			return true // • ∙ ⋅ − – — ‒
		}
		j := strings.IndexByte(s[i+1:], 0xe2)
		if j < 0 {
			break
		}
		i += j + 1
	}
	return false
}

func isMorseSym(c byte) bool { return c == '.' || c == '-' }

func isMorseGap(c byte) bool {
	switch c {
	case ' ', '\t', '/', '|', '\n', '\r':
		return true
	}
	return false
}
