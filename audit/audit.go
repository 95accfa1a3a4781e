package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/agentguard/agentguard/guard"
)

// Genesis is the prev hash of the first record.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Record is one line of the log.
type Record struct {
	Seq       uint64            `json:"seq"`
	Time      time.Time         `json:"time"`
	Stage     string            `json:"stage"`
	Decision  string            `json:"decision"`
	Mode      string            `json:"mode"`
	CallID    string            `json:"call_id,omitempty"`
	SessionID string            `json:"session_id,omitempty"`
	Tool      string            `json:"tool,omitempty"`
	Subject   string            `json:"subject,omitempty"`
	Role      string            `json:"role,omitempty"`
	Rule      string            `json:"rule,omitempty"`
	Reason    string            `json:"reason,omitempty"`
	DurationN int64             `json:"duration_ns"`
	Args      string            `json:"args,omitempty"`
	Attrs     map[string]string `json:"attrs,omitempty"`
	Prev      string            `json:"prev"`
	Hash      string            `json:"hash,omitempty"`
}

// Redactor is the redactor every string field passes through before it is
// written; see [guard.Redactor].
type Redactor = guard.Redactor

// RedactorFunc adapts a function to a [Redactor].
type RedactorFunc = guard.RedactorFunc

// Writer is a [guard.Auditor] that appends hash-chained records to an io.Writer.
// It is safe for concurrent use.
type Writer struct {
	mu       sync.Mutex
	w        io.Writer
	key      []byte
	sync     bool
	redactor Redactor
	logger   *slog.Logger
	seq      uint64
	prev     string
	err      error
	keySet   bool
}

var _ guard.Auditor = (*Writer)(nil)

// Option configures a Writer.
type Option func(*Writer)

// WithKey makes record hashes HMAC-SHA-256 under key, so that only key holders can
// forge a valid chain. Verify with the same key.
func WithKey(key []byte) Option {
	return func(w *Writer) { w.key, w.keySet = append([]byte(nil), key...), true }
}

// WithSync fsyncs after every record when the destination is an *os.File.
func WithSync() Option { return func(w *Writer) { w.sync = true } }

// WithRedactor passes every string field through r before it is written.
func WithRedactor(r Redactor) Option { return func(w *Writer) { w.redactor = r } }

// WithErrorLogger reports write failures to l (an auditor cannot return errors).
func WithErrorLogger(l *slog.Logger) Option { return func(w *Writer) { w.logger = l } }

// NewWriter returns a Writer appending to w, starting a new chain. To continue an
// existing log use [OpenFile].
func NewWriter(w io.Writer, opts ...Option) (*Writer, error) {
	if w == nil {
		return nil, errors.New("audit: nil writer")
	}
	aw := &Writer{w: w, prev: Genesis}
	for _, o := range opts {
		if o != nil {
			o(aw)
		}
	}
	if aw.keySet && len(aw.key) == 0 {
		// An empty key would silently give an unkeyed, forgeable chain.
		return nil, errors.New("audit: WithKey given an empty key")
	}
	return aw, nil
}

// OpenFile opens (or creates) an append-only log file and continues its chain
// after verifying it. A file whose chain does not verify is an error: appending to
// a tampered log would bless it.
func OpenFile(path string, opts ...Option) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	aw, err := NewWriter(f, opts...)
	if err != nil {
		f.Close()
		return nil, err
	}
	res, err := Verify(f, VerifyOptions{Key: aw.key})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: %s does not verify, refusing to append: %w", path, err)
	}
	aw.seq, aw.prev = res.Records, res.Head
	return aw, nil
}

// Close closes the destination when it is an io.Closer.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c, ok := w.w.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Head returns the hash of the last record written (Genesis before the first).
// Keep it out of the attacker's reach to detect truncation.
func (w *Writer) Head() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.prev
}

// Err returns the first write error, if any. After a write error the writer stops
// writing, so the chain on disk stays verifiable.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Audit appends e to the log.
func (w *Writer) Audit(ctx context.Context, e guard.Event) {
	red := func(s string) string {
		if w.redactor != nil && s != "" {
			s = w.redactor.Redact(ctx, s)
		}
		// Invalid UTF-8 would be written as \ufffd and read back as U+FFFD,
		// which re-encodes differently: the record would never verify again.
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	r := Record{
		Time: e.Time.UTC(), Stage: red(string(e.Stage)), Decision: e.Decision.String(), Mode: e.Mode.String(),
		CallID: red(e.CallID), SessionID: red(e.SessionID), Tool: red(e.Tool), Subject: red(e.Subject), Role: red(e.Role),
		Rule: red(e.Rule), Reason: red(e.Reason), DurationN: int64(e.Duration),
	}
	if e.Args != nil {
		r.Args = red(string(e.Args))
	}
	if len(e.Attrs) > 0 {
		r.Attrs = make(map[string]string, len(e.Attrs))
		for _, a := range e.Attrs {
			r.Attrs[red(a.Key)] = red(a.Value.String())
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return
	}
	r.Seq = w.seq + 1
	r.Prev = w.prev
	line, h, err := seal(r, w.key)
	if err == nil && len(line) > maxRecord {
		// One huge record (a model-chosen tool name, huge arguments) must not
		// make the log unverifiable and so stop OpenFile from appending.
		shrink(&r)
		line, h, err = seal(r, w.key)
	}
	if err == nil {
		_, err = w.w.Write(line)
	}
	if err == nil && w.sync {
		if f, ok := w.w.(*os.File); ok {
			err = f.Sync()
		}
	}
	if err != nil {
		w.err = fmt.Errorf("audit: writing record %d: %w", r.Seq, err)
		if w.logger != nil {
			w.logger.ErrorContext(ctx, "audit log write failed; further records are dropped", "err", w.err)
		}
		return
	}
	w.seq, w.prev = r.Seq, h
}

// maxRecord is the longest line the writer emits, within Verify's default
// MaxLine.
const maxRecord = 1<<20 - 1024

// Bounds applied to a record that would exceed maxRecord.
const (
	maxShrunkField = 1024
	maxShrunkAttrs = 16
)

// shrink truncates every string field of r to maxShrunkField bytes and keeps
// the first maxShrunkAttrs attributes in key order, marking what it cut.
func shrink(r *Record) {
	cut := func(s string) string {
		if len(s) <= maxShrunkField {
			return s
		}
		return strings.ToValidUTF8(s[:maxShrunkField], "") + "...[truncated]"
	}
	for _, f := range []*string{&r.Stage, &r.CallID, &r.SessionID, &r.Tool, &r.Subject, &r.Role, &r.Rule, &r.Reason, &r.Args} {
		*f = cut(*f)
	}
	if r.Attrs != nil {
		keys := slices.Sorted(maps.Keys(r.Attrs))
		attrs := make(map[string]string, min(len(keys), maxShrunkAttrs))
		for _, k := range keys[:min(len(keys), maxShrunkAttrs)] {
			attrs[cut(k)] = cut(r.Attrs[k])
		}
		r.Attrs = attrs
	}
}

// link is what verification keeps of a record.
type link struct {
	line       int
	seq        uint64
	prev, hash string
}

func laterHas(ls []link, seq uint64) bool {
	for _, l := range ls {
		if l.seq == seq {
			return true
		}
	}
	return false
}

// seal computes the record's hash and returns its JSON line.
func seal(r Record, key []byte) (line []byte, sum string, err error) {
	r.Hash = ""
	body, err := json.Marshal(r)
	if err != nil {
		return nil, "", err
	}
	var m hash.Hash
	if key != nil {
		m = hmac.New(sha256.New, key)
	} else {
		m = sha256.New()
	}
	m.Write(body)
	sum = hex.EncodeToString(m.Sum(nil))
	r.Hash = sum
	line, err = json.Marshal(r)
	if err != nil {
		return nil, "", err
	}
	return append(line, '\n'), sum, nil
}

// VerifyOptions configure [Verify].
type VerifyOptions struct {
	// Key is the HMAC key the log was written with, if any.
	Key []byte
	// Head, when set, is the hash the last record must have (detects truncation).
	Head string
	// MaxLine bounds one record's size; 0 means 1 MiB.
	MaxLine int
}

// Result describes a log that verified.
type Result struct {
	Records uint64
	// Head is the hash of the last record (Genesis for an empty log).
	Head string
}

// TamperError says where and how the chain breaks.
type TamperError struct {
	// Line is the 1-based line number of the first bad record.
	Line int
	// Seq is the record's sequence number as written (0 if unreadable).
	Seq uint64
	// Kind is one of "malformed", "edited", "removed", "inserted", "reordered",
	// "truncated".
	Kind   string
	Detail string
}

func (e *TamperError) Error() string {
	return fmt.Sprintf("audit: line %d (seq %d): %s: %s", e.Line, e.Seq, e.Kind, e.Detail)
}

// ErrTampered is matched by every *TamperError.
var ErrTampered = errors.New("audit: log tampered")

// Is makes a TamperError match ErrTampered.
func (e *TamperError) Is(target error) bool { return target == ErrTampered }

// Verify reads a log from r and checks every record's hash and its link to the
// previous one. It returns a *TamperError (matching [ErrTampered]) naming the first
// record that was edited, removed, inserted or reordered.
func Verify(r io.Reader, opts VerifyOptions) (Result, error) {
	maxLine := opts.MaxLine
	if maxLine <= 0 {
		maxLine = 1 << 20
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), maxLine)
	var links []link
	line := 0
	res := Result{Head: Genesis}
	for sc.Scan() {
		line++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			return res, &TamperError{Line: line, Kind: "malformed", Detail: "empty line"}
		}
		var rec Record
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			return res, &TamperError{Line: line, Kind: "malformed", Detail: err.Error()}
		}
		want := rec.Hash
		canon, got, err := seal(rec, opts.Key)
		if err != nil {
			return res, &TamperError{Line: line, Seq: rec.Seq, Kind: "malformed", Detail: err.Error()}
		}
		if !hmac.Equal([]byte(got), []byte(want)) {
			return res, &TamperError{Line: line, Seq: rec.Seq, Kind: "edited", Detail: "record hash does not match its contents"}
		}
		// The line must be exactly what the writer wrote: duplicate or
		// case-variant keys, escapes and invalid UTF-8 decode to the sealed
		// record in Go but may show other content to other readers.
		if !bytes.Equal(bytes.TrimSuffix(canon, []byte("\n")), raw) {
			return res, &TamperError{Line: line, Seq: rec.Seq, Kind: "edited", Detail: "record is not in the form it was written in"}
		}
		links = append(links, link{line, rec.Seq, rec.Prev, rec.Hash})
	}
	if err := sc.Err(); err != nil {
		return res, &TamperError{Line: line + 1, Kind: "malformed", Detail: err.Error()}
	}
	seen := make(map[uint64]bool, len(links))
	for i, l := range links {
		expect := res.Records + 1
		switch {
		case l.seq == expect && l.prev == res.Head:
		case seen[l.seq]:
			return res, &TamperError{Line: l.line, Seq: l.seq, Kind: "inserted",
				Detail: fmt.Sprintf("record %d appears twice", l.seq)}
		case l.seq != expect && laterHas(links[i+1:], expect):
			return res, &TamperError{Line: l.line, Seq: l.seq, Kind: "reordered",
				Detail: fmt.Sprintf("record %d appears before record %d", l.seq, expect)}
		case l.seq > expect:
			return res, &TamperError{Line: l.line, Seq: l.seq, Kind: "removed",
				Detail: fmt.Sprintf("expected record %d; %d record(s) missing before this one", expect, l.seq-expect)}
		case l.seq < expect:
			return res, &TamperError{Line: l.line, Seq: l.seq, Kind: "reordered",
				Detail: fmt.Sprintf("record %d appears after record %d", l.seq, res.Records)}
		default: // right number, wrong link: the record was replaced by one from another chain
			return res, &TamperError{Line: l.line, Seq: l.seq, Kind: "inserted",
				Detail: "record does not link to the previous record's hash"}
		}
		seen[l.seq] = true
		res.Records, res.Head = l.seq, l.hash
	}
	if opts.Head != "" && !strings.EqualFold(opts.Head, res.Head) {
		return res, &TamperError{Line: line, Seq: res.Records, Kind: "truncated",
			Detail: "last record's hash differs from the expected head; records were removed from the end"}
	}
	return res, nil
}
