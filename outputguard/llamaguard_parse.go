package outputguard

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrMalformedReply is matched by the error of a Llama Guard reply that is not
// exactly "safe", or "unsafe" followed by a line of known category codes.
var ErrMalformedReply = errors.New("outputguard: malformed Llama Guard reply")

// MaxReplyBytes bounds the Llama Guard reply that is parsed at all.
const MaxReplyBytes = 1024

// Assessment is a parsed Llama Guard reply.
type Assessment struct {
	Safe bool
	// Categories are the violated category codes of an unsafe reply, in the
	// order given, without duplicates.
	Categories []string
}

// ParseReply parses a Llama Guard 3 reply strictly. After trimming leading and
// trailing ASCII white space (servers often return the model's leading blank
// lines), the reply must be exactly one line "safe", or the line "unsafe"
// followed by exactly one line of comma-separated category codes, each in known.
// Anything else — an empty reply, "unsafe" without categories, an unknown or
// empty code, extra lines, prose, other case, special tokens — is an error
// matching [ErrMalformedReply], which callers must treat as a denial.
func ParseReply(reply string, known []string) (Assessment, error) {
	if len(reply) > MaxReplyBytes {
		return Assessment{}, fmt.Errorf("%w: %d bytes (limit %d)", ErrMalformedReply, len(reply), MaxReplyBytes)
	}
	r := strings.Trim(reply, " \t\r\n")
	if r == "" {
		return Assessment{}, fmt.Errorf("%w: empty reply", ErrMalformedReply)
	}
	lines := strings.Split(r, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	switch lines[0] {
	case "safe":
		if len(lines) != 1 {
			return Assessment{}, fmt.Errorf("%w: text after \"safe\"", ErrMalformedReply)
		}
		return Assessment{Safe: true}, nil
	case "unsafe":
	default:
		return Assessment{}, fmt.Errorf("%w: first line is not \"safe\" or \"unsafe\": %q", ErrMalformedReply, clip(lines[0], 40))
	}
	if len(lines) < 2 {
		return Assessment{}, fmt.Errorf("%w: \"unsafe\" without categories", ErrMalformedReply)
	}
	if len(lines) > 2 {
		return Assessment{}, fmt.Errorf("%w: %d lines after \"unsafe\" (want one line of categories)", ErrMalformedReply, len(lines)-1)
	}
	var cats []string
	for _, c := range strings.Split(lines[1], ",") {
		c = strings.Trim(c, " \t")
		if c == "" {
			return Assessment{}, fmt.Errorf("%w: empty category in %q", ErrMalformedReply, clip(lines[1], 60))
		}
		if !slices.Contains(known, c) {
			return Assessment{}, fmt.Errorf("%w: unknown category %q", ErrMalformedReply, clip(c, 20))
		}
		if !slices.Contains(cats, c) {
			cats = append(cats, c)
		}
	}
	return Assessment{Safe: false, Categories: cats}, nil
}

// clip shortens s for an error message, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
