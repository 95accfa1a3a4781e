package flow

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// normalize reduces text to the runes that carry its information: NFKC (so
// full-width and other compatibility forms become their plain letters), then only
// letters and digits, lower-cased. "SSN: 123-45-6789" and "ssn 123 45 6789" both
// become "ssn123456789".
func normalize(s string) []rune {
	s = norm.NFKC.String(s)
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			out = append(out, unicode.ToLower(r))
		}
	}
	return out
}

// hasher computes keyed fingerprints of k-rune grams: a 64-bit FNV-1a hash of
// the gram, encrypted with AES under a key derived from Config.Key, truncated to 8
// bytes. The encryption is a keyed pseudo-random permutation, so the stored
// fingerprints do not let anyone without the key test guesses of the short grams
// of secret text; FNV collisions can only add matches (false positives), never
// hide one. It is not safe for concurrent use; make one per call.
type hasher struct {
	block   cipher.Block
	in, out [aes.BlockSize]byte
}

// fingerprintKey derives the AES key from the configured key.
func fingerprintKey(key []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("agentguard flow fingerprint v1"))
	return mac.Sum(nil)[:16]
}

func newHasher(aesKey []byte) *hasher {
	b, err := aes.NewCipher(aesKey)
	if err != nil {
		panic("flow: bad derived key length") // fingerprintKey always returns 16 bytes
	}
	return &hasher{block: b}
}

// gram returns the fingerprint of runes.
func (h *hasher) gram(runes []rune) string {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	var x uint64 = offset
	for _, r := range runes {
		for range 4 {
			x ^= uint64(r & 0xff)
			x *= prime
			r >>= 8
		}
	}
	binary.LittleEndian.PutUint64(h.in[:8], x)
	h.block.Encrypt(h.out[:], h.in[:])
	return string(h.out[:8])
}

// grams returns the fingerprints of every k-gram of text, in order.
func (h *hasher) grams(text []rune, k int) []string {
	if len(text) < k {
		return nil
	}
	out := make([]string, 0, len(text)-k+1)
	for i := 0; i+k <= len(text); i++ {
		out = append(out, h.gram(text[i:i+k]))
	}
	return out
}

// distinct returns the distinct fingerprints of every k-gram of text.
func (h *hasher) distinct(text []rune, k int) []string {
	all := h.grams(text, k)
	seen := make(map[string]struct{}, len(all))
	out := all[:0]
	for _, g := range all {
		if _, ok := seen[g]; !ok {
			seen[g] = struct{}{}
			out = append(out, g)
		}
	}
	return out
}
