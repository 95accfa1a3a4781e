package inject

import "strings"

// UUencode decoding. A uuencoded line is a length character (' ' + n, n ≤ 45
// bytes) followed by four characters from ' '–'`' for every three bytes; a full
// line is "M" and 60 characters. Consecutive such lines are decoded together,
// inside a "begin 644 name" … "end" block or on their own when they hold at
// least minUUBytes bytes.

// minUUBytes is the fewest decoded bytes kept outside a begin block: the bytes of
// minEncodedRun encoded characters.
const minUUBytes = minEncodedRun * 3 / 4

// uuLayer returns the uudecoded text of the runs of uuencoded lines of s, each
// on a line of its own, when it is printable; the layer is at most 3/4 of s. The
// byte pre-check, hasUURun, rejects ordinary text, where lower-case letters are
// never far apart (so a begin block whose lines are all shorter than
// minEncodedRun, a payload of a few bytes, is not decoded); after it, a line
// costs a length comparison unless its length fits its length character.
func uuLayer(s string) (string, bool) {
	if !hasUURun(s) {
		return "", false
	}
	var out, blob []byte
	inBlock := false
	for pos := 0; pos < len(s); {
		line := s[pos:]
		if nl := strings.IndexByte(line, '\n'); nl >= 0 {
			line = line[:nl]
			pos += nl + 1
		} else {
			pos = len(s)
		}
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if uuLineOK(line) {
			blob = uuDecodeLine(blob, line)
			continue
		}
		if len(blob) > 0 {
			out = uuFlush(out, blob, inBlock)
			blob = blob[:0]
		}
		// "begin 644 name" opens a block; "end", or any other line, closes it.
		inBlock = len(line) > 6 && line[0] == 'b' && strings.HasPrefix(line, "begin ") && isUUBegin(line)
	}
	if len(blob) > 0 {
		out = uuFlush(out, blob, inBlock)
	}
	if len(out) == 0 {
		return "", false
	}
	return string(out), true
}

// uuFlush appends a decoded blob to out, on a line of its own, when it is long
// enough (or framed by a begin line) and printable.
func uuFlush(out, blob []byte, inBlock bool) []byte {
	if len(blob) < minUUBytes && !inBlock || !printable(blob) {
		return out
	}
	if len(out) > 0 {
		out = append(out, '\n')
	}
	return append(out, blob...)
}

// uuLineOK reports whether line is a uuencoded line: its length matches its
// length character (allowing for one to two trailing pad characters stripped,
// or one checksum character added) and all its characters are in ' '–'`'.
func uuLineOK(line string) bool {
	if len(line) == 0 || line[0] < ' ' || line[0] > 'M' {
		return false
	}
	n := int(line[0] - ' ')
	want := 1 + (n+2)/3*4
	if len(line) < want-2 || len(line) > want+1 || len(line) < 1+(n*4+2)/3 {
		return false
	}
	for i := 1; i < len(line); i++ {
		if line[i] < ' ' || line[i] > '`' {
			return false
		}
	}
	return true
}

// uuDecodeLine appends the bytes of a line accepted by uuLineOK to dst.
func uuDecodeLine(dst []byte, line string) []byte {
	n := int(line[0] - ' ')
	body := line[1:]
	sext := func(i int) uint32 {
		if i < len(body) {
			return uint32(body[i]-' ') & 63
		}
		return 0 // a stripped pad character
	}
	for i := 0; n > 0; i += 4 {
		v := sext(i)<<18 | sext(i+1)<<12 | sext(i+2)<<6 | sext(i+3)
		for _, b := range [3]byte{byte(v >> 16), byte(v >> 8), byte(v)} {
			if n > 0 {
				dst = append(dst, b)
				n--
			}
		}
	}
	return dst
}

// isUUBegin reports whether line is "begin MODE NAME" with an octal mode.
func isUUBegin(line string) bool {
	rest := line[len("begin "):]
	k := 0
	for k < len(rest) && rest[k] >= '0' && rest[k] <= '7' {
		k++
	}
	return k >= 3 && k <= 4 && k < len(rest) && rest[k] == ' ' && len(rest) > k+1
}

// isUUByte reports whether c may appear in a uuencoded line.
func isUUByte(c byte) bool { return c-' ' <= '`'-' ' }

// hasUURun reports whether s has minEncodedRun bytes in a row that may be part
// of a uuencoded line (' '–'`': no lower-case letters). It looks at one byte in
// minEncodedRun while the text has lower-case letters.
func hasUURun(s string) bool {
	for i := 0; i+minEncodedRun <= len(s); {
		if !isUUByte(s[i+minEncodedRun-1]) {
			i += minEncodedRun
			continue
		}
		j, e := i+minEncodedRun-1, i+minEncodedRun
		for j > i && isUUByte(s[j-1]) {
			j--
		}
		for e < len(s) && e-j < minEncodedRun && isUUByte(s[e]) {
			e++
		}
		if e-j >= minEncodedRun {
			return true
		}
		i = e + 1
	}
	return false
}
