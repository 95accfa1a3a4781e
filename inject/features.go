package inject

// Feature extraction for the linear classifier. Every feature is hashed into one of
// numBuckets weights; the hash namespaces keep word unigrams, word bigrams and
// character n-grams apart. Rule hits and obfuscation signals are dense features
// with weights of their own.

import "strconv"

const (
	bucketBits = 18
	numBuckets = 1 << bucketBits
	// windowTokens and windowStride define the windows a text is scored in; a text's
	// score is the highest of its windows' scores, so an injection buried in a long
	// benign document is not diluted by it.
	windowTokens = 256
	windowStride = 128
	// shortTokens and shortStride define the short windows (see windows).
	shortTokens = 64
	shortStride = 32
	// maxGramWord bounds the bytes of a word used for character n-grams.
	maxGramWord = 24
)

const (
	seedUni   uint32 = 0x811c9dc5
	seedBi    uint32 = 0x01000193 ^ 0x5bd1e995
	seedGram  uint32 = 0x27d4eb2f
	seedPunct uint32 = 0x165667b1
	fnvPrime  uint32 = 16777619
)

// feat is one hashed feature occurrence at token index tok.
type feat struct {
	tok    int32
	bucket uint32
}

func bucketOf(h uint32) uint32 { return (h * 0x9E3779B1) >> (32 - bucketBits) }

func fnv(seed uint32, s string) uint32 {
	h := seed
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * fnvPrime
	}
	return h
}

// extract appends the hashed features of the tokens of s to dst.
func extract(dst []feat, s string, toks []token) []feat {
	var prev uint32 = 0x9747b28c // sentence start
	var pad [maxGramWord + 2]byte
	for i, t := range toks {
		w := s[t.start:t.end]
		ti := int32(i)
		if t.punct {
			w = punctKey(w)
			if repeatedPunct(s, toks, i, w) {
				continue
			}
			h := fnv(seedPunct, w)
			dst = append(dst, feat{ti, bucketOf(h)})
			dst = append(dst, feat{ti, bucketOf((prev ^ h) * fnvPrime)})
			prev = h
			continue
		}
		h := fnv(seedUni, w)
		dst = append(dst, feat{ti, bucketOf(h)})
		dst = append(dst, feat{ti, bucketOf((prev*31 ^ h) * fnvPrime)})
		prev = h
		// Character 3- to 5-grams of " word ".
		n := min(len(w), maxGramWord)
		pad[0] = ' '
		copy(pad[1:], w[:n])
		pad[n+1] = ' '
		p := pad[:n+2]
		if len(p) < 3 {
			continue
		}
		for a := 0; a+3 <= len(p); a++ {
			g := seedGram
			end := min(a+5, len(p))
			for b := a; b < end; b++ {
				g = (g ^ uint32(p[b])) * fnvPrime
				if b-a >= 2 {
					dst = append(dst, feat{ti, bucketOf(g + uint32(b-a))})
				}
			}
		}
	}
	return dst
}

// repeatedPunct reports whether punctuation token i, whose key is key, repeats
// the token right before it ("--------" split into eight-byte tokens, a row of
// "=====" or "....."): a run of punctuation counts once, so a markdown table's
// rules or a long divider cannot add up the weight of one token many times.
func repeatedPunct(s string, toks []token, i int, key string) bool {
	if i == 0 || !toks[i-1].punct || toks[i-1].end != toks[i].start {
		return false
	}
	return punctKey(s[toks[i-1].start:toks[i-1].end]) == key
}

// window is a span of tokens [start, end).
type window struct{ start, end int32 }

// windows returns the scoring windows over n tokens at two scales: short windows
// (shortTokens, half overlapping), in which an instruction slipped into a long
// document is not diluted by the text around it, and long windows (windowTokens,
// half overlapping), which see a whole jailbreak preamble at once. A text no
// longer than a short window is one window. The number of windows is linear in n.
func windows(dst []window, n int) []window {
	if n <= shortTokens {
		return append(dst, window{0, int32(n)})
	}
	dst = spans(dst, n, shortTokens, shortStride)
	return spans(dst, n, windowTokens, windowStride)
}

func spans(dst []window, n, size, stride int) []window {
	if n <= size {
		return append(dst, window{0, int32(n)})
	}
	for s := 0; ; s += stride {
		e := min(s+size, n)
		dst = append(dst, window{int32(s), int32(e)})
		if e == n {
			return dst
		}
	}
}

// accumulate is extract specialised for scoring: it adds the weight of every
// feature of token i to sum[i+1] and counts it in cnt[i+1], without materialising
// the features. It must stay in step with extract (TestAccumulateMatchesExtract).
func accumulate(s string, toks []token, w []int8, sum, cnt []int32) {
	var prev uint32 = 0x9747b28c
	var pad [maxGramWord + 2]byte
	for i, t := range toks {
		word := s[t.start:t.end]
		if t.punct {
			word = punctKey(word)
			if repeatedPunct(s, toks, i, word) {
				continue
			}
			h := fnv(seedPunct, word)
			sum[i+1] += int32(w[bucketOf(h)]) + int32(w[bucketOf((prev^h)*fnvPrime)])
			cnt[i+1] += 2
			prev = h
			continue
		}
		h := fnv(seedUni, word)
		acc := int32(w[bucketOf(h)]) + int32(w[bucketOf((prev*31^h)*fnvPrime)])
		k := int32(2)
		prev = h
		n := min(len(word), maxGramWord)
		pad[0] = ' '
		copy(pad[1:], word[:n])
		pad[n+1] = ' '
		p := pad[:n+2]
		for a := 0; a+3 <= len(p); a++ {
			g := seedGram
			end := min(a+5, len(p))
			for b := a; b < end; b++ {
				g = (g ^ uint32(p[b])) * fnvPrime
				if b-a >= 2 {
					acc += int32(w[bucketOf(g+uint32(b-a))])
					k++
				}
			}
		}
		sum[i+1] += acc
		cnt[i+1] += k
	}
}

// Length buckets: a short text's length in tokens is a feature of its own, so the
// classifier can learn how much evidence a text that short needs (a three-word
// question carries a few n-grams whose weights would otherwise decide alone).
// Longer texts get no length feature: a learnt prior against long texts would
// count against injections buried in documents.
var lengthBuckets = [...]int{3, 7, 15, 31}

// globalFeatures names the per-text features: the normaliser's signals, then one
// feature per length bucket.
var globalFeatures = func() [len(signalOrder) + len(lengthBuckets)]string {
	var f [len(signalOrder) + len(lengthBuckets)]string
	copy(f[:], signalOrder[:])
	for i, n := range lengthBuckets {
		f[len(signalOrder)+i] = "length.tokens_le_" + strconv.Itoa(n)
	}
	return f
}()

// lengthFeature returns the index in globalFeatures of the length feature of a
// text of n tokens, or -1 when it is longer than the last bucket.
func lengthFeature(n int) int {
	for i, max := range lengthBuckets {
		if n <= max {
			return len(signalOrder) + i
		}
	}
	return -1
}

// paramMinNorm names the stored minimum n-gram normaliser (TrainConfig.MinNorm).
const paramMinNorm = "param.min_norm"
