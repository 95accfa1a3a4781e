package flow

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/scope/approval"
	"github.com/agentguard/agentguard/scope/state"
)

// MaxFingerprintText bounds, in letters and digits, the secret results that are
// fingerprinted and the egress arguments that are checked: a larger secret result
// is withheld and a larger egress call denied, rather than checked in part.
const MaxFingerprintText = 1 << 20

// Config configures a [Flow]. At least one rule (SensitiveTools or EgressTools)
// must be set.
type Config struct {
	// TaintLabels are the result labels that taint a session. Empty means
	// [guard.LabelUntrusted].
	TaintLabels []string
	// UntrustedTools are tools whose results taint the session whatever labels
	// they carry (for example read_email, fetch_url): a tool that forgets to
	// label its result still taints.
	UntrustedTools []string
	// SensitiveTools are denied once the session is tainted, or sent to Approver
	// when it is set.
	SensitiveTools []string
	// Approver, if set, reviews sensitive calls in a tainted session instead of
	// denying them, for example an [approval.Queue].
	Approver approval.Approver
	// SecretTools are tools whose results are secret whatever labels they carry;
	// results labelled [guard.LabelSecret] are secret too.
	SecretTools []string
	// EgressTools are tools whose arguments must not carry data from a secret
	// result seen earlier in the session (send_email, http_post, ...).
	EgressTools []string
	// MinMatch is the length, in letters and digits, of the shortest run of
	// secret text that marks an egress call: a call is denied exactly when its
	// arguments share a run of at least MinMatch letters and digits with a secret
	// result (up to 64-bit hash collisions). Default 12, at least 8. Shorter
	// values catch shorter secrets and raise false positives. Every MinMatch-gram
	// of a secret result is stored, one 8-byte fingerprint each.
	MinMatch int
	// Key keys the fingerprints (AES over a 64-bit hash, under a key derived
	// with HMAC-SHA256), so the store does not hold brute-forceable hashes of
	// secret text. Required, at least 16 bytes, when
	// Store is set (every replica must use the same key); a random key is made
	// for the in-process default store.
	Key []byte
	// Store keeps each session's labels and fingerprints. Nil means a new
	// in-process [state.Memory]; give a [state.Redis] to share taint among
	// replicas.
	Store state.Set
	// TTL is how long a session's flow state is kept after its last write.
	// Default 24 hours.
	TTL time.Duration
}

// Flow enforces flow rules on a session. It is a [guard.Scoper] (the check before
// a call) with a recorder ([Flow.Record]) for results; [Flow.Middleware] does both
// at [guard.StageFlow]. It is safe for concurrent use.
type Flow struct {
	taint     []string
	untrusted map[string]bool
	sensitive map[string]bool
	secret    map[string]bool
	egress    map[string]bool
	approver  approval.Approver
	k         int
	key       []byte
	store     state.Set
	ttl       time.Duration
}

var _ guard.Scoper = (*Flow)(nil)

// New validates cfg and returns its Flow.
func New(cfg Config) (*Flow, error) {
	if len(cfg.SensitiveTools) == 0 && len(cfg.EgressTools) == 0 {
		return nil, fmt.Errorf("flow: no sensitive or egress tools: %w", guard.ErrNilPolicy)
	}
	for _, l := range [][]string{cfg.TaintLabels, cfg.UntrustedTools, cfg.SensitiveTools, cfg.SecretTools, cfg.EgressTools} {
		if slices.Contains(l, "") {
			return nil, errors.New("flow: empty tool name or label")
		}
	}
	if cfg.TTL < 0 {
		return nil, errors.New("flow: negative TTL")
	}
	f := &Flow{
		taint:     slices.Clone(cfg.TaintLabels),
		untrusted: set(cfg.UntrustedTools),
		sensitive: set(cfg.SensitiveTools),
		secret:    set(cfg.SecretTools),
		egress:    set(cfg.EgressTools),
		approver:  cfg.Approver,
		store:     cfg.Store,
		ttl:       cfg.TTL,
	}
	if len(f.taint) == 0 {
		f.taint = []string{guard.LabelUntrusted}
	}
	mm := cfg.MinMatch
	switch {
	case mm == 0:
		mm = 12
	case mm < 8:
		return nil, fmt.Errorf("flow: MinMatch %d below 8", mm)
	case mm > 1024:
		return nil, fmt.Errorf("flow: MinMatch %d above 1024", mm)
	}
	f.k = mm
	switch {
	case len(cfg.Key) > 0 && len(cfg.Key) < 16:
		return nil, errors.New("flow: Key shorter than 16 bytes")
	case len(cfg.Key) > 0:
		f.key = fingerprintKey(cfg.Key)
	case cfg.Store != nil:
		return nil, errors.New("flow: a shared Store needs a Key shared by every replica")
	default:
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, fmt.Errorf("flow: random key: %w", err)
		}
		f.key = fingerprintKey(k)
	}
	if f.store == nil {
		f.store = state.NewMemory()
	}
	if f.ttl == 0 {
		f.ttl = 24 * time.Hour
	}
	return f, nil
}

func set(l []string) map[string]bool {
	m := make(map[string]bool, len(l))
	for _, s := range l {
		m[s] = true
	}
	return m
}

func labelsKey(session string) string { return state.Key("flow", "labels", session) }
func fpKey(session string) string     { return state.Key("flow", "fp", session) }

// Labels returns the flow labels session has taken in.
func (f *Flow) Labels(ctx context.Context, session string) ([]string, error) {
	l, err := f.store.Members(ctx, labelsKey(session))
	if err != nil {
		return nil, fmt.Errorf("flow: %w", err)
	}
	slices.Sort(l)
	return l, nil
}

// Authorize implements [guard.Scoper]: it denies (rule "flow.taint") a sensitive
// tool in a tainted session, or defers to the Approver; and denies (rule
// "flow.egress") an egress call whose arguments carry text from a secret result
// of the session. A store error denies.
func (f *Flow) Authorize(ctx context.Context, c *guard.Call) error {
	if c == nil {
		return guard.Deny("flow.call", "nil call")
	}
	sensitive, egress := f.sensitive[c.Tool], f.egress[c.Tool]
	if !sensitive && !egress {
		return nil
	}
	labels, err := f.store.Members(ctx, labelsKey(c.SessionID))
	if err != nil {
		return fmt.Errorf("flow: %w", err)
	}
	// The egress rule runs first: an approval for a tainted call must not let
	// secret data out, and a call it denies should not use up an approval.
	if egress && slices.Contains(labels, guard.LabelSecret) {
		text, err := argText(c.Args)
		if err != nil {
			return guard.Deny("flow.egress", "arguments of an egress call could not be read: "+err.Error())
		}
		norm := normalize(text)
		if len(norm) > MaxFingerprintText {
			return guard.Deny("flow.egress", "arguments of an egress call are too large to check")
		}
		grams := newHasher(f.key).grams(norm, f.k)
		const chunk = 4096
		for len(grams) > 0 {
			n := min(chunk, len(grams))
			hit, err := f.store.ContainsAny(ctx, fpKey(c.SessionID), grams[:n]...)
			if err != nil {
				return fmt.Errorf("flow: %w", err)
			}
			if hit {
				return guard.Deny("flow.egress", fmt.Sprintf("arguments of %q carry data from a secret result of this session", c.Tool))
			}
			grams = grams[n:]
		}
	}
	if sensitive {
		for _, l := range f.taint {
			if slices.Contains(labels, l) {
				if f.approver != nil {
					return f.approver.Review(ctx, c)
				}
				return guard.Deny("flow.taint", fmt.Sprintf("session has taken in %q content; %q is not allowed after that", l, c.Tool))
			}
		}
	}
	return nil
}

// Record takes note of a tool result: its labels (and the label of an untrusted
// or secret tool) join the session's, and a secret result's text is fingerprinted
// for the egress rule. It must see every result the model will see; an error
// means the result must be withheld.
func (f *Flow) Record(ctx context.Context, c *guard.Call, r *guard.Result) error {
	if c == nil || r == nil {
		return nil
	}
	labels := slices.Clone(r.Labels)
	if f.untrusted[c.Tool] && !slices.Contains(labels, guard.LabelUntrusted) {
		labels = append(labels, guard.LabelUntrusted)
	}
	secret := f.secret[c.Tool] || slices.Contains(labels, guard.LabelSecret)
	if secret && !slices.Contains(labels, guard.LabelSecret) {
		labels = append(labels, guard.LabelSecret)
	}
	if len(labels) == 0 {
		return nil
	}
	// Fingerprints first, then labels: a reader that sees the secret label always
	// finds the fingerprints.
	if secret {
		norm := normalize(r.Content)
		if len(norm) > MaxFingerprintText {
			return errors.New("flow: secret result too large to fingerprint")
		}
		if fps := newHasher(f.key).distinct(norm, f.k); len(fps) > 0 {
			if err := f.store.AddMembers(ctx, fpKey(c.SessionID), f.ttl, fps...); err != nil {
				return fmt.Errorf("flow: recording fingerprints: %w", err)
			}
		}
	}
	if err := f.store.AddMembers(ctx, labelsKey(c.SessionID), f.ttl, labels...); err != nil {
		return fmt.Errorf("flow: recording labels: %w", err)
	}
	return nil
}

// Middleware returns the middleware that checks calls with [Flow.Authorize] at
// [guard.StageFlow] (opts may change the mode, timeout or auditor) and records
// every result with [Flow.Record]. Put it inside the approval stage and outside
// the tool, so it sees the raw labelled result. A result that cannot be recorded
// is withheld (rule "flow.record"), in every mode: letting it through would let
// untracked content into the session.
func (f *Flow) Middleware(opts ...guard.Option) (guard.Middleware, error) {
	check, err := guard.Authorize(f, append([]guard.Option{guard.WithStage(guard.StageFlow)}, opts...)...)
	if err != nil {
		return nil, err
	}
	return func(next guard.Handler) guard.Handler {
		return check(guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
			r, err := next.Handle(ctx, c)
			if r != nil {
				if rerr := f.Record(ctx, c, r); rerr != nil {
					return nil, &guard.DenialError{
						Stage: guard.StageFlow, Rule: "flow.record", CallID: c.ID, Tool: c.Tool,
						Reason: "result withheld: its flow labels could not be recorded (fail closed)", Err: rerr,
					}
				}
			}
			return r, err
		}))
	}, nil
}

// argText returns the text of every key, string and number in the JSON
// arguments, in document order, followed by the values alone (so that a secret
// split over adjacent fields joins up again). Decoding first means \u-escapes
// cannot hide a secret from the fingerprint match.
func argText(raw json.RawMessage) (string, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return "", nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var all, vals strings.Builder
	// The decoder does not say whether a string is a key: track it with one frame
	// per open container.
	type frame struct{ obj, keyNext bool }
	var stack []frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].keyNext = true
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF && len(stack) == 0 {
			break
		}
		if err != nil {
			return "", errors.New("invalid JSON")
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, frame{obj: true, keyNext: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
			continue
		}
		var text string
		switch t := tok.(type) {
		case string:
			text = t
		case json.Number:
			text = string(t)
		}
		all.WriteString(text)
		all.WriteByte(' ')
		if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].keyNext {
			stack[n-1].keyNext = false
			continue
		}
		vals.WriteString(text)
		vals.WriteByte(' ')
		valueDone()
	}
	all.WriteString(" ")
	all.WriteString(vals.String())
	return all.String(), nil
}
