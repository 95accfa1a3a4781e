package inject

import "sync"

// Word segmentation of decoded letter runs. Letter-by-letter encodings (NATO
// alphabet, Morse, Braille, "i g n o r e") often carry no word breaks at all:
// garak's NATO probe spells "ignorepreviousinstructions". The rules match words,
// so a long run of decoded letters is split into the rule words and common short
// words it is made of, when they cover most of it.

const (
	// minSegment is the shortest run of letters that is segmented.
	minSegment = 10
	// maxSegment is the longest run segmented at once; a longer run is
	// segmented in pieces of this length.
	maxSegment = 512
	// maxSegWord is the longest dictionary word tried.
	maxSegWord = 16
)

var (
	segOnce   sync.Once
	segShort  map[string]bool
	segPrefix [32][32]bool // first two letters of the dictionary words
)

func segInit() {
	isKeyword("") // builds keywords
	segShort = make(map[string]bool)
	for _, w := range []string{"an", "as", "at", "be", "by", "do", "go", "if", "in", "is", "it", "me", "my", "no",
		"of", "on", "or", "so", "to", "up", "us", "we", "all", "and", "any", "are", "can", "for", "get", "has", "her",
		"his", "how", "its", "let", "new", "not", "now", "off", "our", "out", "own", "say", "see", "the", "too", "use",
		"was", "who", "why", "you", "also", "from", "have", "into", "just", "more", "only", "that", "then", "them",
		"they", "this", "what", "when", "will", "with", "your"} {
		segShort[w] = true
	}
	for _, m := range []map[string]bool{keywords, segShort} {
		for w := range m {
			if len(w) <= maxSegWord {
				segPrefix[w[0]&31][w[1]&31] = true
			}
		}
	}
}

func segWord(b []byte) bool {
	return segPrefix[b[0]&31][b[1]&31] && (keywords[string(b)] || segShort[string(b)])
}

// appendSegmented appends word, a run of lower-case ASCII letters, to out, with
// spaces between the pieces it is made of: dictionary words, and runs of other
// letters. The split maximises the letters in words minus two per piece, so a
// short word is only cut out where it saves a piece ("please" does not become
// "ple as e"), and it is used only when words cover at least 70% of the letters.
// It adds at most one byte per letter and makes at most maxSegWord lookups per
// letter.
func appendSegmented(out, word []byte) []byte {
	for len(word) > maxSegment {
		out = appendSegmented(out, word[:maxSegment])
		out = append(out, ' ')
		word = word[maxSegment:]
	}
	n := len(word)
	if n < minSegment {
		return append(out, word...)
	}
	for _, c := range word {
		if c < 'a' || c > 'z' {
			return append(out, word...)
		}
	}
	segOnce.Do(segInit)
	// State k of position j: word[:j] split with its last piece a word (k=0)
	// or other letters (k=1). score and cover are the objective and the
	// letters in words; from is where the last piece starts.
	const pieceCost = 2
	type cell struct{ score, cover, from int16 }
	var dp [maxSegment + 1][2]cell
	const none = -1 << 14
	dp[0] = [2]cell{{0, 0, 0}, {none, 0, 0}}
	for j := 1; j <= n; j++ {
		// Other letters: extend a run of them, or start one.
		a, b := dp[j-1][1], dp[j-1][0]
		if a.score >= b.score-pieceCost {
			dp[j][1] = cell{a.score, a.cover, a.from}
		} else {
			dp[j][1] = cell{b.score - pieceCost, b.cover, int16(j - 1)}
		}
		dp[j][0] = cell{none, 0, 0}
		for i := max(0, j-maxSegWord); i <= j-2; i++ {
			p := dp[i][0]
			if dp[i][1].score > p.score {
				p = dp[i][1]
			}
			if sc := p.score + int16(j-i) - pieceCost; sc > dp[j][0].score && segWord(word[i:j]) {
				dp[j][0] = cell{sc, p.cover + int16(j-i), int16(i)}
			}
		}
	}
	k := 0
	if dp[n][1].score > dp[n][0].score {
		k = 1
	}
	if int(dp[n][k].cover)*10 < n*7 {
		return append(out, word...)
	}
	// Walk back, marking where pieces start, then write them forwards.
	var cut [maxSegment + 1]bool
	for j := n; j > 0; {
		i := int(dp[j][k].from)
		cut[i] = true
		if k == 0 {
			// The piece before a word is whichever state scored best at i.
			if dp[i][1].score > dp[i][0].score {
				k = 1
			}
		} else {
			k = 0 // a run of other letters follows a word (or the start)
		}
		j = i
	}
	for i := 0; i < n; i++ {
		if i > 0 && cut[i] {
			out = append(out, ' ')
		}
		out = append(out, word[i])
	}
	return out
}

// letterRun writes the layers that replace runs of encoded letters (NATO
// alphabet, Morse, letters spelt one by one) with their decoding. A run's
// letters are collected whole, however long, and each word is segmented as it
// ends; a run that turns out too short is dropped. Every byte of the input is
// copied to the layer at most once.
type letterRun struct {
	src     string // the input
	out     []byte // the layer so far: src[:copied] with the kept runs decoded
	copied  int
	at      int    // where the current run starts in src
	run     []byte // the current run's decoding
	word    int    // where the current word starts in run
	scratch []byte // the word being segmented
}

// begin starts a run at s[i].
func (r *letterRun) begin(s string, i int) {
	r.src, r.at, r.run, r.word = s, i, r.run[:0], 0
}

func (r *letterRun) letter(c byte) { r.run = append(r.run, c) }

// wordBreak ends a word; a break with no word after it is dropped by keep.
func (r *letterRun) wordBreak() {
	r.endWord()
	r.run = append(r.run, ' ')
	r.word = len(r.run)
}

func (r *letterRun) endWord() {
	if len(r.run)-r.word >= minSegment {
		r.scratch = append(r.scratch[:0], r.run[r.word:]...)
		r.run = appendSegmented(r.run[:r.word], r.scratch)
	}
}

// keep ends the run, which covered the input up to end, and writes it.
func (r *letterRun) keep(end int) {
	r.endWord()
	for len(r.run) > 0 && r.run[len(r.run)-1] == ' ' {
		r.run = r.run[:len(r.run)-1]
	}
	if r.out == nil {
		r.out = make([]byte, 0, len(r.src))
	}
	r.out = append(r.out, r.src[r.copied:r.at]...)
	r.out = append(r.out, r.run...)
	r.copied = end
}

// drop ends the run without writing it.
func (r *letterRun) drop() {}

// layer returns the finished layer, if a run was kept.
func (r *letterRun) layer() ([]byte, bool) {
	if r.out == nil {
		return nil, false
	}
	return append(r.out, r.src[r.copied:]...), true
}

// appendWordsSegmented appends text, decoded letters with words separated by
// single spaces, segmenting each word.
func appendWordsSegmented(out, text []byte) []byte {
	start := 0
	for i := 0; i <= len(text); i++ {
		if i == len(text) || text[i] == ' ' {
			out = appendSegmented(out, text[start:i])
			if i < len(text) {
				out = append(out, ' ')
			}
			start = i + 1
		}
	}
	return out
}
