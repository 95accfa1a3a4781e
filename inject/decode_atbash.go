package inject

// substitutionLayer deciphers s with ROT13 or Atbash (a↔z, b↔y, ...) when that
// reads as English noticeably better than s, and returns the deciphered text and
// the signal naming the cipher; the signal is "" when neither does. One pass over
// the words scores the plain text and both ciphers against a short list of
// common and rule words, and stops early on text that already reads as English.
func substitutionLayer(s string) (string, string) {
	var plain, rot, atb int
	start := -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && (s[i]|0x20 >= 'a' && s[i]|0x20 <= 'z') {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start <= maxStopWord && i-start >= 2 {
			// The first two letters are looked up before the word is mapped,
			// which rejects most words.
			word := s[start:i]
			c0, c1 := word[0]|0x20, word[1]|0x20
			if rotStopPrefix[c0&31][c1&31] && stopWordAs(word, cipherNone) {
				plain++
			}
			if rotStopPrefix[rot13(c0)&31][rot13(c1)&31] && stopWordAs(word, cipherROT13) {
				rot++
			}
			// Two-letter words do not count for Atbash: "rm", "gl" and "lu"
			// (in, to, of) are common in code and shell text.
			if len(word) > 2 && rotStopPrefix[('z'-(c0-'a'))&31][('z'-(c1-'a'))&31] && stopWordAs(word, cipherAtbash) {
				atb++
			}
			if plain >= 6 && plain > 2*max(rot, atb)+4 {
				return "", "" // reads as plain English already
			}
		}
		start = -1
	}
	switch {
	case rot >= 3 && rot > 2*plain && rot >= atb:
		return mapBytes(s, rot13), SignalROT13
	case atb >= 3 && atb > 2*plain:
		return mapBytes(s, atbash), SignalAtbash
	}
	return "", ""
}

// maxStopWord is the length of the longest word rotStop knows.
const maxStopWord = len("instructions")

const (
	cipherNone = iota
	cipherROT13
	cipherAtbash
)

// stopWordAs reports whether the letters of word (2 to maxStopWord ASCII
// letters), lower-cased and deciphered, spell a word rotStop knows.
func stopWordAs(word string, cipher int) bool {
	var w [maxStopWord]byte
	for j := 0; j < len(word); j++ {
		c := word[j] | 0x20
		switch cipher {
		case cipherROT13:
			c = rot13(c)
		case cipherAtbash:
			c = 'z' - (c - 'a')
		}
		w[j] = c
	}
	return rotStop(string(w[:len(word)]))
}

func mapBytes(s string, f func(byte) byte) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = f(c)
	}
	return string(b)
}

// atbash maps a letter to its mirror in the alphabet, keeping its case.
func atbash(c byte) byte {
	switch {
	case c >= 'a' && c <= 'z':
		return 'z' - (c - 'a')
	case c >= 'A' && c <= 'Z':
		return 'Z' - (c - 'A')
	}
	return c
}
