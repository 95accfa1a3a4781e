package inject

import (
	"unicode"
	"unicode/utf8"
)

// token is a span of normalised text: a word (letters, digits, '_'), a single CJK
// or Hangul character, or a run of punctuation.
type token struct {
	start, end int32
	punct      bool
}

// tokenize appends the tokens of s (normalised text) to dst. It is linear in len(s)
// and allocation-free when dst has capacity.
func tokenize(dst []token, s string) []token {
	i := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c >= 'A' && c <= 'Z':
				j := i + 1
				for j < len(s) && isASCIIWord(s[j]) {
					j++
				}
				// A word that continues with non-ASCII letters stays one word.
				if j < len(s) && s[j] >= utf8.RuneSelf {
					j = scanWord(s, j)
				}
				dst = append(dst, token{int32(i), int32(j), false})
				i = j
			case c == ' ' || c == '\n' || c == '\t' || c == '\r':
				i++
			default:
				j := i + 1
				for j < len(s) && j-i < 8 && isASCIIPunct(s[j]) {
					j++
				}
				dst = append(dst, token{int32(i), int32(j), true})
				i = j
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case isSingleCharScript(r):
			dst = append(dst, token{int32(i), int32(i + size), false})
			i += size
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r):
			j := scanWord(s, i)
			dst = append(dst, token{int32(i), int32(j), false})
			i = j
		case unicode.IsSpace(r):
			i += size
		default:
			dst = append(dst, token{int32(i), int32(i + size), true})
			i += size
		}
	}
	return dst
}

var wordTable = func() (t [256]bool) {
	for c := 0; c < 128; c++ {
		b := byte(c)
		t[c] = b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_' || b >= 'A' && b <= 'Z'
	}
	return t
}()

func isASCIIWord(c byte) bool { return wordTable[c] }

func isASCIIPunct(c byte) bool {
	return c > ' ' && c < utf8.RuneSelf && !isASCIIWord(c)
}

// scanWord returns the end of the word that continues at i.
func scanWord(s string, i int) int {
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if isASCIIWord(c) {
				i++
				continue
			}
			return i
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if isSingleCharScript(r) || !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)) {
			return i
		}
		i += size
	}
	return i
}

// isSingleCharScript reports whether r belongs to a script written without spaces
// between words (Han, kana) or with particles fused to words (Hangul); each such
// character is a token of its own.
func isSingleCharScript(r rune) bool {
	return r >= 0x3040 && r <= 0x30FF || // kana
		r >= 0x3400 && r <= 0x9FFF || // CJK
		r >= 0xAC00 && r <= 0xD7AF || // Hangul syllables
		r >= 0xF900 && r <= 0xFAFF || r >= 0x20000 && r <= 0x2FFFF
}

// punctKey canonicalises a punctuation token: a run of one repeated character
// longer than three is shortened to three ("------" and "---" match alike).
func punctKey(p string) string {
	if len(p) > 3 {
		same := true
		for i := 1; i < len(p); i++ {
			if p[i] != p[0] {
				same = false
				break
			}
		}
		if same {
			return p[:3]
		}
	}
	return p
}
