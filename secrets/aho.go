package secrets

// acMatcher is an Aho–Corasick automaton over ASCII-case-folded bytes, compiled to
// a dense DFA over byte classes (the bytes that occur in keywords, plus one class
// for every other byte): one table lookup per input byte, whatever the number of
// keywords, and a table small enough to stay in cache.
// It is the scanner's pre-filter: a rule runs only near a hit of one of its
// keywords.
type acMatcher struct {
	class  [256]uint8 // byte → class (0 = bytes in no keyword)
	nclass int
	// delta[state*nclass+class] is the next state, with outFlag set when a
	// keyword ends in that state.
	delta    []uint16
	out      [][]int32 // state → keyword ids ending there
	kwLen    []int
	rootSkip [256]bool // bytes that leave the root in state 0
}

var foldTable = func() (t [256]byte) {
	for i := range t {
		c := byte(i)
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		t[i] = c
	}
	return t
}()

func newACMatcher(keywords []string) *acMatcher {
	m := &acMatcher{}
	// Byte classes: folded bytes that occur in keywords get their own class.
	m.nclass = 1
	var folded [256]uint8
	for _, kw := range keywords {
		for i := 0; i < len(kw); i++ {
			c := foldTable[kw[i]]
			if folded[c] == 0 {
				folded[c] = uint8(m.nclass)
				m.nclass++
			}
		}
	}
	for b := range 256 {
		m.class[b] = folded[foldTable[b]]
	}
	nc := m.nclass
	const none = -1
	// Trie with explicit edges.
	trie := [][]int{make([]int, nc)}
	for i := range trie[0] {
		trie[0][i] = none
	}
	outs := [][]int32{nil}
	for id, kw := range keywords {
		m.kwLen = append(m.kwLen, len(kw))
		s := 0
		for i := 0; i < len(kw); i++ {
			c := m.class[kw[i]]
			if trie[s][c] == none {
				row := make([]int, nc)
				for j := range row {
					row[j] = none
				}
				trie = append(trie, row)
				outs = append(outs, nil)
				trie[s][c] = len(trie) - 1
			}
			s = trie[s][c]
		}
		outs[s] = append(outs[s], int32(id))
	}
	if len(trie) >= outFlag {
		panic("secrets: too many keyword states") // a programming error in the rule set
	}
	fail := make([]int, len(trie))
	queue := []int{}
	for c := range nc {
		if t := trie[0][c]; t == none {
			trie[0][c] = 0
		} else {
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		outs[s] = append(outs[s], outs[fail[s]]...)
		for c := range nc {
			t := trie[s][c]
			if t == none {
				trie[s][c] = trie[fail[s]][c]
				continue
			}
			fail[t] = trie[fail[s]][c]
			queue = append(queue, t)
		}
	}
	m.delta = make([]uint16, len(trie)*nc)
	for s, row := range trie {
		for c, t := range row {
			e := uint16(t)
			if len(outs[t]) > 0 {
				e |= outFlag
			}
			m.delta[s*nc+c] = e
		}
	}
	m.out = outs
	for b := range 256 {
		m.rootSkip[b] = trie[0][m.class[b]] == 0
	}
	return m
}

// scan calls hit(id, end) for every keyword occurrence, end being the index just
// past it in text.
func (m *acMatcher) scan(text string, hit func(id int, end int)) {
	delta, class, skip, nc := m.delta, &m.class, &m.rootSkip, m.nclass
	n := len(text)
	i := 0
	for i < n {
		// At the root: skip bytes that cannot start a keyword.
		for i < n && skip[text[i]] {
			i++
		}
		// Follow the automaton until it falls back to the root.
		for st := 0; i < n; {
			e := delta[st*nc+int(class[text[i]])]
			i++
			st = int(e &^ outFlag)
			if e&outFlag != 0 {
				for _, id := range m.out[st] {
					hit(int(id), i)
				}
			}
			if st == 0 {
				break
			}
		}
	}
}

const outFlag = 1 << 15
