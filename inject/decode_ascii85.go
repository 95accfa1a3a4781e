package inject

import "strings"

// Ascii85 (btoa, Adobe) decoding: five characters '!'–'u' are a big-endian
// base-85 number of four bytes, 'z' is four zero bytes. A payload is either
// delimited by "<~" and "~>" (and may then span lines) or a bare run of the
// alphabet inside a token; either is kept only if it decodes to printable text.

// ascii85Scanner finds Ascii85 payloads in the long tokens decodeLayers visits.
// It remembers where the last "~>" was so that every byte is searched once.
type ascii85Scanner struct {
	closeAt int  // index of the "~>" found last, valid when closeAt > 0
	noClose bool // no "~>" after the last search start
}

// scan looks at the token s[j:e] (graphic ASCII, at least minEncodedRun bytes)
// and returns the decoded text of the payloads in it, if any, and the index
// where the caller resumes scanning (e, or past a delimited block).
func (a *ascii85Scanner) scan(s string, j, e int) (string, int) {
	tok := s[j:e]
	if k := strings.Index(tok, "<~"); k >= 0 && !a.noClose {
		begin := j + k + 2
		if a.closeAt < begin {
			if c := strings.Index(s[begin:], "~>"); c >= 0 {
				a.closeAt = begin + c
			} else {
				a.noClose = true
			}
		}
		if !a.noClose {
			if d, ok := decodeAscii85(s[begin:a.closeAt], true); ok {
				ne := a.closeAt + 2
				for ne < len(s) && isGraphic(s[ne]) {
					ne++
				}
				return d, max(e, ne)
			}
		}
	}
	var out strings.Builder
	for i := 0; i < len(tok); {
		if !isAscii85Byte(tok[i]) {
			i++
			continue
		}
		k := i
		for k < len(tok) && isAscii85Byte(tok[k]) {
			k++
		}
		run := tok[i:k]
		i = k
		if len(run) < minEncodedRun {
			continue
		}
		d, ok := decodeAscii85(run, false)
		if !ok && strings.IndexByte(".,;:!?)'\"", run[len(run)-1]) >= 0 {
			d, ok = decodeAscii85(run[:len(run)-1], false) // sentence punctuation after a bare run
		}
		if ok {
			if out.Len() > 0 {
				out.WriteByte('\n')
			}
			out.WriteString(d)
		}
	}
	return out.String(), e
}

func isAscii85Byte(c byte) bool { return c >= '!' && c <= 'u' || c == 'z' }

// decodeAscii85 decodes s, skipping white space when ws is set. It reports false
// on a character outside the alphabet, a group above 2^32-1, or output that is
// not printable text; a control byte in the output rejects it at once, so
// ordinary text is rejected within a group or two. The output is at most 4/5
// of the input (but for 'z', which decodes to zero bytes and is rejected).
func decodeAscii85(s string, ws bool) (string, bool) {
	if ok, _ := walkAscii85(s, ws, nil); !ok {
		return "", false
	}
	out := make([]byte, 0, len(s)*4/5+4)
	_, out = walkAscii85(s, ws, out)
	if !printable(out) {
		return "", false
	}
	return string(out), true
}

// walkAscii85 decodes s, appending to out when out is not nil.
func walkAscii85(s string, ws bool, out []byte) (bool, []byte) {
	var v uint64
	n := 0
	var group [4]byte
	emit := func(k int) bool {
		if v > 0xffffffff {
			return false
		}
		group = [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
		for _, b := range group[:k] {
			if b < 0x20 && b != '\n' && b != '\r' && b != '\t' || b == 0x7f {
				return false
			}
		}
		if out != nil {
			out = append(out, group[:k]...)
		}
		return true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '!' && c <= 'u':
			v = v*85 + uint64(c-'!')
			if n++; n == 5 {
				if !emit(4) {
					return false, out
				}
				v, n = 0, 0
			}
		case ws && (c == ' ' || c == '\n' || c == '\r' || c == '\t'):
		default: // 'z' (four zero bytes: not text) or outside the alphabet
			return false, out
		}
	}
	switch n {
	case 0:
	case 1:
		return false, out
	default:
		k := n - 1
		for ; n < 5; n++ {
			v = v*85 + 84
		}
		if !emit(k) {
			return false, out
		}
	}
	return true, out
}
