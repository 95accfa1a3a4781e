package inject

import (
	"strings"
	"unicode/utf8"
)

// Unicode Braille decoding (English grade 1, uncontracted): "⠊⠛⠝⠕⠗⠑" is
// "ignore". The capital sign ⠠ is dropped (the text is lower-cased anyway), the
// number sign ⠼ turns the letters a–j that follow into digits, and the blank
// cell U+2800 is a space. Contractions of grade 2 are not expanded: such cells
// are kept as they are.

const (
	brailleBlank   = 0x2800
	brailleCapital = 0x20 // ⠠, dot 6
	brailleNumber  = 0x3c // ⠼, dots 3456
)

// brailleTable maps the dot pattern of a cell (the low byte of its code point)
// to a lower-case letter or punctuation, or 0.
var brailleTable = func() (t [256]byte) {
	const letters = "\x01\x03\x09\x19\x11\x0b\x1b\x13\x0a\x1a" // a–j
	for i := 0; i < 10; i++ {
		t[letters[i]] = 'a' + byte(i)
		t[letters[i]|0x04] = 'k' + byte(i) // k–t add dot 3
	}
	for i, c := range "uvxyz" {
		t[letters[i]|0x24] = byte(c) // u v x y z add dots 3 and 6
	}
	t[0x3a] = 'w'
	for cell, c := range map[byte]byte{0x02: ',', 0x06: ';', 0x12: ':', 0x32: '.', 0x16: '!', 0x26: '?',
		0x04: '\'', 0x24: '-', 0x0c: '/', 0x34: '"'} {
		t[cell] = c
	}
	return t
}()

// brailleLayer returns s with Braille cells decoded, when it holds at least
// minSplitLetters Braille letters. The byte pre-check looks for the UTF-8 lead
// bytes of U+2800–U+28FF (E2 A0–A3). The layer is shorter than s.
func brailleLayer(s string) (string, bool) {
	first := -1
	for i := strings.IndexByte(s, 0xe2); i >= 0 && i+1 < len(s); {
		if s[i+1]-0xa0 < 4 {
			first = i
			break
		}
		j := strings.IndexByte(s[i+1:], 0xe2)
		if j < 0 {
			break
		}
		i += j + 1
	}
	if first < 0 {
		return "", false
	}
	out := make([]byte, 0, len(s))
	out = append(out, s[:first]...)
	letters := 0
	number := false
	run := -1 // start in out of the current run of decoded letters
	var scratch []byte
	for i := first; i <= len(s); {
		var r rune
		size := 0
		if i < len(s) {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		i += max(size, 1)
		// A run of letters (capital signs inside it included: "IgnoreAll" is
		// one run) ends at any other cell or character: split it into words.
		if c := brailleTable[byte(r-brailleBlank)]; run >= 0 && r != brailleBlank+brailleCapital &&
			(r < brailleBlank || r > brailleBlank+0xff || c < 'a' || c > 'z' || number && c <= 'j') {
			if len(out)-run >= minSegment {
				scratch = append(scratch[:0], out[run:]...)
				out = appendSegmented(out[:run], scratch)
			}
			run = -1
		}
		if size == 0 {
			break
		}
		if r < brailleBlank || r > brailleBlank+0xff {
			if r == utf8.RuneError && size == 1 {
				out = append(out, '?') // keeps the layer valid UTF-8 and no longer than s
			} else {
				out = append(out, s[i-size:i]...)
			}
			if !isASCIILetter(byte(r)) || r >= utf8.RuneSelf {
				number = false
			}
			continue
		}
		cell := byte(r - brailleBlank)
		switch c := brailleTable[cell]; {
		case cell == 0:
			out = append(out, ' ')
			number = false
		case cell == brailleCapital:
		case cell == brailleNumber:
			number = true
		case c >= 'a' && c <= 'z':
			if number && c <= 'j' {
				c = '0' + (c-'a'+1)%10
			} else {
				number = false
				letters++
				if run < 0 {
					run = len(out)
				}
			}
			out = append(out, c)
		case c != 0:
			out = append(out, c)
			number = false
		default:
			out = utf8.AppendRune(out, r) // a contraction or an eight-dot cell
			number = false
		}
	}
	if letters < minSplitLetters || !printable(out) {
		return "", false
	}
	return string(out), true
}
