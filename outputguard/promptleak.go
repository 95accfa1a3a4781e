package outputguard

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/agentguard/agentguard/guard"
)

// PromptLeakConfig configures [NewPromptLeak]. At least one of SystemPrompt and
// Canaries is required.
type PromptLeakConfig struct {
	// SystemPrompt is the text the output must not repeat at length.
	SystemPrompt string
	// Canaries are tokens planted in the system prompt (for example by the inject
	// package); any of them in the output means the prompt leaked. They are
	// matched exactly, and also with case, spaces and punctuation ignored (so
	// "C A N-A R Y" matches "canary"). Canaries shorter than 8 bytes are refused.
	Canaries []string
	// Leaks are further leak checks that answer yes or no without a position,
	// for example an inject.Canary (whose Leaked also sees its token in base64,
	// hex, URL encoding and look-alike characters). A positive check always
	// blocks, whatever Action says, since there is no span to redact.
	Leaks []LeakChecker
	// Window is the length, in letters and digits, of a passage of the system
	// prompt whose repetition counts as a leak; case, spaces, punctuation and
	// invisible characters are ignored when comparing. Zero means
	// [DefaultLeakWindow] (about eight words); smaller than 20 is
	// refused (short phrases recur in ordinary text).
	Window int
	// Action is what to do with a leak. The zero value is [ActionBlock]; redact
	// and mask replace the repeated passage or the canary.
	Action Action
}

// LeakChecker reports whether text reveals something that must stay private.
// inject.Canary implements it. Implementations must be safe for concurrent use.
type LeakChecker interface {
	Leaked(text string) bool
}

// DefaultLeakWindow is the default length, in letters and digits, of a repeated
// passage of the system prompt that counts as a leak: about eight words.
const DefaultLeakWindow = 40

// PromptLeak detects system-prompt leakage: planted canary tokens, and passages
// of Window or more letters and digits of the system prompt repeated in the
// output, compared with case, spaces, punctuation and invisible characters
// ignored, found with a rolling hash of character shingles (a bloom filter in
// front of a set) in time linear in the output. It is a [guard.OutputFilter] and
// a [Scanner].
// Create it with [NewPromptLeak].
type PromptLeak struct {
	window   int
	action   Action
	grams    map[uint64]struct{}
	canaries []string // exact
	squeezed []kmp    // lower-case alphanumerics only
	leaks    []LeakChecker
	pow      uint64 // leakBase^(window-1)
	bloom    *[bloomWords]uint64
}

// bloomWords sizes the prefilter that lets most word n-grams skip the map.
const bloomWords = 1024

func bloomBit(h uint64) (int, uint64) { return int(h>>54) & (bloomWords - 1), 1 << (h >> 48 & 63) }

// kmp is a pattern with its Knuth-Morris-Pratt failure table.
type kmp struct {
	pat  string
	fail []int
}

func newKMP(p string) kmp {
	f := make([]int, len(p))
	k := 0
	for i := 1; i < len(p); i++ {
		for k > 0 && p[i] != p[k] {
			k = f[k-1]
		}
		if p[i] == p[k] {
			k++
		}
		f[i] = k
	}
	return kmp{pat: p, fail: f}
}

var _ guard.OutputFilter = (*PromptLeak)(nil)
var _ Scanner = (*PromptLeak)(nil)

const leakBase = 1099511628211 // the 64-bit FNV prime, odd

// NewPromptLeak returns a prompt-leak filter for cfg.
func NewPromptLeak(cfg PromptLeakConfig) (*PromptLeak, error) {
	if !cfg.Action.valid() {
		return nil, fmt.Errorf("outputguard: prompt leak: invalid action %v", cfg.Action)
	}
	w := cfg.Window
	if w == 0 {
		w = DefaultLeakWindow
	}
	if w < 20 {
		return nil, fmt.Errorf("outputguard: prompt leak: window %d is below 20 characters", cfg.Window)
	}
	p := &PromptLeak{window: w, action: cfg.Action}
	for _, c := range cfg.Canaries {
		if len(c) < 8 {
			return nil, fmt.Errorf("outputguard: prompt leak: canary of %d bytes is shorter than 8", len(c))
		}
		p.canaries = append(p.canaries, c)
		if sq := squeeze(c); len(sq) >= 8 {
			p.squeezed = append(p.squeezed, newKMP(sq))
		}
	}
	for i, l := range cfg.Leaks {
		if l == nil {
			return nil, fmt.Errorf("outputguard: prompt leak: leak check %d: %w", i, guard.ErrNilPolicy)
		}
	}
	p.leaks = append(p.leaks, cfg.Leaks...)
	p.pow = 1
	for range w - 1 {
		p.pow *= leakBase
	}
	if strings.TrimSpace(cfg.SystemPrompt) != "" {
		p.grams = make(map[uint64]struct{})
		p.bloom = new([bloomWords]uint64)
		p.eachShingle(cfg.SystemPrompt, nil, func(h uint64, _, _ int) bool {
			p.grams[h] = struct{}{}
			w, bit := bloomBit(h)
			p.bloom[w] |= bit
			return true
		})
	}
	if p.grams == nil && len(p.canaries) == 0 && len(p.leaks) == 0 {
		return nil, fmt.Errorf("outputguard: prompt leak: no system prompt and no canaries: %w", guard.ErrNilPolicy)
	}
	if cfg.SystemPrompt != "" && len(p.grams) == 0 && len(p.canaries) == 0 && len(p.leaks) == 0 {
		return nil, fmt.Errorf("outputguard: prompt leak: system prompt has fewer than %d letters and digits and there are no canaries", w)
	}
	return p, nil
}

// FilterOutput blocks or rewrites out when it leaks the system prompt.
func (p *PromptLeak) FilterOutput(ctx context.Context, out *guard.Output) (guard.Verdict, error) {
	if out == nil {
		return blockNil("system_prompt")
	}
	return verdictFor(out.Text, "system_prompt", p.Scan(out.Text)), nil
}

// Scan reports canaries and verbatim runs of the system prompt in text.
func (p *PromptLeak) Scan(text string) []Finding {
	var fs []Finding
	for _, l := range p.leaks {
		if l.Leaked(text) {
			fs = append(fs, Finding{Start: 0, End: len(text), Category: "system_prompt.canary", Action: ActionBlock})
			break
		}
	}
	for _, c := range p.canaries {
		for from := 0; ; {
			k := strings.Index(text[from:], c)
			if k < 0 {
				break
			}
			fs = p.add(fs, "system_prompt.canary", from+k, from+k+len(c))
			from += k + len(c)
		}
	}
	if len(p.squeezed) > 0 {
		fs = p.scanSqueezed(text, fs)
	}
	if len(p.grams) > 0 {
		runStart, runEnd := -1, -1
		p.eachShingle(text, p.bloom, func(h uint64, start, end int) bool {
			if _, ok := p.grams[h]; !ok {
				return true
			}
			if runStart >= 0 && start <= runEnd {
				runEnd = end // overlapping windows extend the run
				return true
			}
			if runStart >= 0 {
				fs = p.add(fs, "system_prompt.verbatim", runStart, runEnd)
			}
			runStart, runEnd = start, end
			return true
		})
		if runStart >= 0 {
			fs = p.add(fs, "system_prompt.verbatim", runStart, runEnd)
		}
	}
	return fs
}

func (p *PromptLeak) add(fs []Finding, cat string, start, end int) []Finding {
	repl := guard.RedactionMarker("system_prompt")
	if p.action == ActionMask {
		repl = strings.Repeat("*", min(end-start, 8))
	}
	return append(fs, Finding{Start: start, End: end, Category: cat, Action: p.action, Replacement: repl})
}

// scanSqueezed finds canaries written with case changes, spaces or punctuation
// inserted: it runs each canary's lower-case alphanumerics through a KMP matcher
// fed with the output's lower-case alphanumerics, remembering where each fed
// byte came from. Linear in the output, no allocation for canaries up to 64 bytes.
func (p *PromptLeak) scanSqueezed(text string, fs []Finding) []Finding {
	for _, m := range p.squeezed {
		var small [64]int
		pos := small[:]
		size := len(small)
		for size < len(m.pat) {
			size *= 2
		}
		if size > len(small) {
			pos = make([]int, size)
		}
		mask := size - 1
		pat, fail := m.pat, m.fail
		k := 0 // matched length
		n := 0 // bytes fed
		for i := 0; i < len(text); i++ {
			c := asciiFold[text[i]]
			if c == 0 {
				continue
			}
			pos[n&mask] = i
			n++
			for k > 0 && c != pat[k] {
				k = fail[k-1]
			}
			if c == pat[k] {
				k++
				if k == len(pat) {
					fs = p.add(fs, "system_prompt.canary", pos[(n-len(pat))&mask], i+1)
					k = 0
				}
			}
		}
	}
	return fs
}

// squeeze returns the lower-cased ASCII letters and digits of s.
func squeeze(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) {
			continue
		}
		if isUpper(c) {
			c += 'a' - 'A'
		}
		out = append(out, c)
	}
	return string(out)
}

// asciiFold maps an ASCII letter or digit to its lower-case form and every
// other byte to 0. Read-only after initialisation.
var asciiFold = func() (t [256]byte) {
	for c := 0; c < 128; c++ {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			t[c] = byte(c)
		case 'A' <= c && c <= 'Z':
			t[c] = byte(c) + 'a' - 'A'
		}
	}
	return t
}()

// eachShingle calls fn with the rolling hash of every run of p.window
// consecutive letters and digits of s, folded to lower case, and the byte span of
// that run. Everything else (spaces, punctuation, invisible characters) is
// skipped, so "Y o u  a-r-e" and "you are" are the same text; each byte is read
// once. With a bloom filter, fn is called only for hashes the filter may hold.
func (p *PromptLeak) eachShingle(s string, bloom *[bloomWords]uint64, fn func(h uint64, start, end int) bool) {
	w := p.window
	var codesSmall [64]uint32
	var startsSmall [64]int
	codes, starts := codesSmall[:], startsSmall[:]
	if w > len(codesSmall) {
		codes, starts = make([]uint32, w), make([]int, w)
	}
	codes, starts = codes[:w], starts[:w]
	var h uint64
	n, slot := 0, 0
	for i := 0; i < len(s); {
		c := s[i]
		size := 1
		var code uint32
		if c < utf8.RuneSelf {
			f := asciiFold[c]
			if f == 0 {
				i++
				continue
			}
			code = uint32(f)
		} else {
			r, sz := utf8.DecodeRuneInString(s[i:])
			size = sz
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				i += size
				continue
			}
			code = uint32(unicode.ToLower(r))
		}
		if n >= w {
			h -= uint64(codes[slot]) * p.pow
		}
		h = h*leakBase + uint64(code)
		codes[slot], starts[slot] = code, i
		n++
		if slot++; slot == w {
			slot = 0
		}
		i += size
		if n < w {
			continue
		}
		if bloom != nil {
			if wd, bit := bloomBit(h); bloom[wd]&bit == 0 {
				continue
			}
		}
		if !fn(h, starts[slot], i) { // slot indexes the oldest character
			return
		}
	}
}
