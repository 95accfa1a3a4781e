package outputguard

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"

	"github.com/agentguard/agentguard/guard"
)

// DefaultHoldBack is the number of bytes a [Stream] keeps back when the
// configuration leaves HoldBack zero: longer than any card number, IBAN, phone
// number, national ID, built-in credential prefix pattern or default canary.
const DefaultHoldBack = 256

// maxPending bounds the text a Stream holds back. Text is held longer than the
// hold-back window only while a match to be rewritten is still growing (a
// private key without its END line, a long quote of the system prompt); a
// stream that would hold more than this is blocked.
const maxPending = 1 << 20

// StreamConfig configures [NewStream] and [NewChatStream].
type StreamConfig struct {
	// Scanners run over the text as it streams. At least one is required. The
	// filters of this package ([PII], [Secrets], [PromptLeak]) are Scanners.
	Scanners []Scanner
	// HoldBack is how many bytes of the newest text are kept back until more
	// text arrives, so a match split across chunks is seen whole before any of it
	// is released. A match longer than HoldBack may be partly released before it
	// is complete; when it is then found, the stream is blocked. Text is
	// released in steps of about half the hold-back, so a stream is delayed by at
	// most one and a half windows. Zero means
	// [DefaultHoldBack]; negative is an error. It is raised to what the scanners
	// need: the longest secret value given to [Secrets.WithValues], four bytes
	// per character of a [PromptLeak] window, two per canary byte.
	HoldBack int
	// Notice is sent as the last content of a blocked stream (for example "[response
	// withheld]"). Empty sends nothing.
	Notice string
}

// Stream filters text that arrives in chunks, for example a model's streamed
// answer. Write each chunk and send on what it returns; call Close at the end and
// send what it returns. Once a scanner reports a block, Write and Close return a
// [*guard.DenialError] and no further text. A Stream is not safe for concurrent use.
type Stream struct {
	scanners []Scanner
	hold     int
	released string // the tail of the released original text, for context
	buf      []byte // original text not yet released (appended to; see step)
	scanned  int    // len(pending) after the last scan (at least hold)
	cats     []string
	rewrote  bool
	err      *guard.DenialError
}

// NewStream returns a stream filter for cfg.
func NewStream(cfg StreamConfig) (*Stream, error) {
	if len(cfg.Scanners) == 0 {
		return nil, fmt.Errorf("outputguard: stream: no scanners: %w", guard.ErrNilPolicy)
	}
	for i, s := range cfg.Scanners {
		if s == nil {
			return nil, fmt.Errorf("outputguard: stream: scanner %d: %w", i, guard.ErrNilPolicy)
		}
	}
	if cfg.HoldBack < 0 {
		return nil, fmt.Errorf("outputguard: stream: negative hold-back %d", cfg.HoldBack)
	}
	h := cfg.HoldBack
	if h == 0 {
		h = DefaultHoldBack
	}
	for _, s := range cfg.Scanners {
		if hb, ok := s.(holdBacker); ok {
			h = max(h, hb.minHoldBack())
		}
	}
	return &Stream{scanners: slices.Clone(cfg.Scanners), hold: h, scanned: h}, nil
}

// Write adds chunk and returns the text that may be released now.
func (s *Stream) Write(chunk string) (string, error) {
	if s.err != nil {
		return "", s.err
	}
	s.buf = append(s.buf, chunk...)
	if len(s.buf) > maxPending {
		return s.block("output.stream.overflow", "a match kept growing past the stream buffer; blocked (fail closed)")
	}
	// Scan only once half a window of new text can be released, so a stream of
	// small chunks is not rescanned for every token; while a growing match keeps
	// text held back, wait for the held text to grow by half, so the rescans cost
	// linear time in all.
	if len(s.buf) < s.scanned+max(s.hold/2, s.scanned/2, 1) {
		return "", nil
	}
	out, err := s.step(false)
	s.scanned = max(len(s.buf), s.hold)
	return out, err
}

// Close releases the rest of the text once it has been scanned.
func (s *Stream) Close() (string, error) {
	if s.err != nil {
		return "", s.err
	}
	return s.step(true)
}

// Verdict summarises the stream so far: blocked, rewritten (something was
// redacted or masked) or allowed, with the categories found.
func (s *Stream) Verdict() guard.Verdict {
	switch {
	case s.err != nil:
		return guard.Verdict{Action: guard.Block, Categories: slices.Clone(s.cats), Rule: s.err.Rule, Reason: s.err.Reason}
	case s.rewrote:
		return guard.Verdict{Action: guard.Rewrite, Categories: slices.Clone(s.cats), Rule: "output.stream", Reason: "streamed output rewritten"}
	}
	return guard.Verdict{Action: guard.Allow}
}

func (s *Stream) block(rule, reason string) (string, error) {
	s.err = &guard.DenialError{Stage: guard.StageOutput, Rule: rule, Reason: reason}
	s.buf = nil
	return "", s.err
}

func (s *Stream) step(final bool) (string, error) {
	pending := string(s.buf)
	window := s.released + pending
	off := len(s.released) // where pending starts in window
	var fs []Finding
	for _, sc := range s.scanners {
		fs = append(fs, safeScan(sc, window)...)
	}
	// Keep the findings that touch pending text (rewrites wholly inside the
	// released context were dealt with when they were pending), and every block.
	keep := fs[:0]
	for _, f := range fs {
		if f.Start < 0 || f.End > len(window) || f.Start > f.End {
			return s.block("output.stream.scanner", "scanner returned an invalid span; blocking (fail closed)")
		}
		if f.End <= off && f.Start < off && f.Action != ActionBlock {
			continue // a rewrite dealt with when it was pending
		}
		keep = append(keep, f)
	}
	fs = keep
	for _, f := range fs {
		s.cats = appendNew(s.cats, f.Category)
	}
	for _, f := range fs {
		if f.Action == ActionBlock || !f.Action.valid() {
			return s.block("output.stream", "streamed output contains "+joinOr(categories(fs), "a match")+"; blocked")
		}
		if f.Start < off {
			// Part of the match was already released: it cannot be rewritten now.
			return s.block("output.stream.late", "match of "+f.Category+" longer than the hold-back window; blocked")
		}
	}
	// Release up to len(pending)-hold, but never into a match, and never inside a
	// UTF-8 sequence.
	cut := len(pending)
	if !final {
		cut = max(0, len(pending)-s.hold)
		for cut > 0 && cut < len(pending) && !utf8.RuneStart(pending[cut]) {
			cut--
		}
		// Move the cut before every match it would split. This comes last, so
		// nothing moves the cut back into a match.
		cut = cutBeforeMatches(fs, off, cut)
	}
	if cut == 0 && !final {
		return "", nil
	}
	out := pending[:cut]
	var rel []Finding
	for _, f := range fs {
		if f.End-off <= cut {
			rel = append(rel, Finding{Start: f.Start - off, End: f.End - off, Category: f.Category, Action: f.Action, Replacement: f.Replacement})
		}
	}
	if len(rel) > 0 {
		r, ok := rewrite(out, rel)
		if !ok {
			return s.block("output.stream.scanner", "scanner returned an invalid span; blocking (fail closed)")
		}
		out = r
		s.rewrote = true
	}
	rel0 := s.released + pending[:cut]
	if len(rel0) > s.hold {
		// Keep the last hold bytes as context, starting after white space when
		// there is some, so the window never begins inside a token (where a
		// detector would see a number or word that is not there).
		k := len(rel0) - s.hold
		if sp := strings.IndexAny(rel0[k:], " \t\r\n"); sp >= 0 {
			k += sp + 1
		}
		for k < len(rel0) && !utf8.RuneStart(rel0[k]) {
			k++
		}
		rel0 = rel0[k:]
	}
	s.released = strings.Clone(rel0)
	s.buf = append(s.buf[:0], pending[cut:]...)
	return out, nil
}

// cutBeforeMatches returns cut moved before every finding that would split
// it. Overlapping findings chain (moving the cut to the start of one can split
// another), so the cut goes to the start of the union of overlapping findings
// that holds it: found with one sort and one sweep, where moving the cut one
// finding at a time until none is split costs the square of the number of
// findings when an attacker strings overlapping matches together. Spans are
// given in window coordinates; off is where pending text starts.
func cutBeforeMatches(fs []Finding, off, cut int) int {
	spans := make([][2]int, 0, len(fs))
	for _, f := range fs {
		if f.Start < f.End && f.Start-off < cut {
			spans = append(spans, [2]int{f.Start - off, f.End - off})
		}
	}
	if len(spans) == 0 {
		return cut
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	// Sweep the unions of spans that overlap (a span starting where the union
	// ends does not: a cut there splits neither).
	us, ue := spans[0][0], spans[0][1]
	for _, sp := range spans[1:] {
		if sp[0] < ue {
			ue = max(ue, sp[1])
			continue
		}
		if us < cut && cut < ue {
			return max(0, us)
		}
		us, ue = sp[0], sp[1]
	}
	if us < cut && cut < ue {
		return max(0, us)
	}
	return cut
}

// safeScan runs a scanner, turning a panic into a blocking finding.
func safeScan(sc Scanner, text string) (fs []Finding) {
	defer func() {
		if r := recover(); r != nil {
			fs = []Finding{{Start: 0, End: 0, Category: "output.scanner_panic", Action: ActionBlock}}
		}
	}()
	return sc.Scan(text)
}

// holdBacker is a Scanner that needs a minimum window to see its matches whole.
type holdBacker interface {
	minHoldBack() int
}

func (s *Secrets) minHoldBack() int {
	n := 0
	for _, v := range s.values {
		for _, f := range v.forms {
			n = max(n, len(f)+1)
		}
	}
	return n
}

// minHoldBack allows four bytes per letter of the window (spaces, punctuation,
// multi-byte letters) and two per canary byte (spaced-out canaries).
func (p *PromptLeak) minHoldBack() int {
	n := 0
	if p.grams != nil {
		n = 4 * p.window
	}
	for _, c := range p.canaries {
		n = max(n, 2*len(c)+1)
	}
	return n
}

// ChunkReceiver is what [NewChatStream] reads: *openai.ChatCompletionStream, or
// any source of chat completion chunks.
type ChunkReceiver interface {
	Recv() (openai.ChatCompletionStreamResponse, error)
	Close() error
}

var _ ChunkReceiver = (*openai.ChatCompletionStream)(nil)

// ChatStream filters a go-openai chat completion stream chunk by chunk: each
// choice's content goes through its own [Stream]. A blocked stream ends cleanly:
// the source is closed, one last chunk carries the configured notice with finish
// reason "content_filter", and Recv then returns io.EOF; [ChatStream.Err] returns
// the denial. Tool-call deltas and other fields pass through unchanged.
type ChatStream struct {
	src     ChunkReceiver
	cfg     StreamConfig
	mu      sync.Mutex
	streams map[int]*Stream
	last    openai.ChatCompletionStreamResponse
	done    bool
	err     error
}

var _ ChunkReceiver = (*ChatStream)(nil)

// NewChatStream wraps src. It returns an error for an invalid cfg (and then does
// not close src).
func NewChatStream(src ChunkReceiver, cfg StreamConfig) (*ChatStream, error) {
	if src == nil {
		return nil, fmt.Errorf("outputguard: chat stream: nil source: %w", guard.ErrNilPolicy)
	}
	if _, err := NewStream(cfg); err != nil {
		return nil, err
	}
	return &ChatStream{src: src, cfg: cfg, streams: make(map[int]*Stream)}, nil
}

func (c *ChatStream) stream(i int) *Stream {
	s, ok := c.streams[i]
	if !ok {
		s, _ = NewStream(c.cfg) // validated in NewChatStream
		c.streams[i] = s
	}
	return s
}

// Recv returns the next filtered chunk, io.EOF at the end (also after a block),
// or the source's error.
func (c *ChatStream) Recv() (openai.ChatCompletionStreamResponse, error) {
	c.mu.Lock()
	if c.done {
		err := c.err
		c.mu.Unlock()
		if err != nil && !errors.Is(err, guard.ErrDenied) {
			return openai.ChatCompletionStreamResponse{}, err
		}
		return openai.ChatCompletionStreamResponse{}, io.EOF
	}
	c.mu.Unlock()
	// The source is read without the lock, so Close from another goroutine can
	// interrupt a blocked read. Recv itself must not be called concurrently.
	r, err := c.src.Recv()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done { // closed while reading
		return openai.ChatCompletionStreamResponse{}, io.EOF
	}
	if errors.Is(err, io.EOF) {
		return c.flush()
	}
	if err != nil {
		// Fail closed: text still held back is dropped.
		c.done, c.err = true, err
		_ = c.src.Close()
		return openai.ChatCompletionStreamResponse{}, err
	}
	c.last = r
	r.Choices = slices.Clone(r.Choices)
	for i := range r.Choices {
		ch := &r.Choices[i]
		st := c.stream(ch.Index)
		out, err := st.Write(ch.Delta.Content)
		if err == nil && ch.FinishReason != "" {
			var tail string
			tail, err = st.Close()
			out += tail
		}
		if err != nil {
			return c.block(ch.Index, err)
		}
		ch.Delta.Content = out
	}
	return r, nil
}

// flush releases what every choice still holds, as one chunk, at the source's end.
func (c *ChatStream) flush() (openai.ChatCompletionStreamResponse, error) {
	resp := openai.ChatCompletionStreamResponse{ID: c.last.ID, Object: c.last.Object, Created: c.last.Created, Model: c.last.Model}
	idx := make([]int, 0, len(c.streams))
	for i := range c.streams {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	for _, i := range idx {
		out, err := c.streams[i].Close()
		if err != nil {
			return c.block(i, err)
		}
		if out != "" {
			resp.Choices = append(resp.Choices, openai.ChatCompletionStreamChoice{Index: i, Delta: openai.ChatCompletionStreamChoiceDelta{Content: out}})
		}
	}
	c.done = true
	_ = c.src.Close()
	if len(resp.Choices) == 0 {
		return openai.ChatCompletionStreamResponse{}, io.EOF
	}
	return resp, nil
}

func (c *ChatStream) block(index int, err error) (openai.ChatCompletionStreamResponse, error) {
	c.done, c.err = true, err
	_ = c.src.Close()
	return openai.ChatCompletionStreamResponse{
		ID: c.last.ID, Object: c.last.Object, Created: c.last.Created, Model: c.last.Model,
		Choices: []openai.ChatCompletionStreamChoice{{
			Index:        index,
			Delta:        openai.ChatCompletionStreamChoiceDelta{Content: c.cfg.Notice},
			FinishReason: openai.FinishReasonContentFilter,
		}},
	}, nil
}

// Err returns the denial that ended a blocked stream (a [*guard.DenialError]), the
// source's error, or nil.
func (c *ChatStream) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Verdict summarises the stream: blocked, rewritten or allowed, with the
// categories found across choices.
func (c *ChatStream) Verdict() guard.Verdict {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := guard.Verdict{Action: guard.Allow}
	for _, s := range c.streams {
		sv := s.Verdict()
		v.Categories = appendNew(v.Categories, sv.Categories...)
		if sv.Action == guard.Block || (sv.Action == guard.Rewrite && v.Action == guard.Allow) {
			v.Action, v.Rule, v.Reason = sv.Action, sv.Rule, sv.Reason
		}
	}
	return v
}

// Close closes the source; text still held back is dropped. It may be called
// while another goroutine is blocked in Recv.
func (c *ChatStream) Close() error {
	c.mu.Lock()
	c.done = true
	c.mu.Unlock()
	return c.src.Close()
}
