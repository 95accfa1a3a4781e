package budget

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/scope/state"
)

// Kind is what a [Limit] counts.
type Kind uint8

const (
	// Calls counts calls: at most MaxCalls in the window. The zero Kind.
	Calls Kind = iota
	// Sum adds up the numeric argument Arg: at most MaxSum in the window. A call
	// whose argument is missing, not a JSON number, negative, or given twice
	// (also under another letter case) is denied.
	Sum
	// Repeats counts identical calls, the same tool with the same canonical
	// arguments: at most MaxCalls of them in the window. It stops a model stuck in
	// a loop.
	Repeats
)

func (k Kind) String() string {
	switch k {
	case Calls:
		return "calls"
	case Sum:
		return "sum"
	case Repeats:
		return "repeats"
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Per says which parts of a call key a limit's counter. Flags combine: PerPrincipal
// | PerTool keeps one counter for each subject and tool. The zero Per keeps one
// counter for every call the limit applies to, the strictest choice.
type Per uint8

const (
	// PerPrincipal keys the counter by the principal's Subject.
	PerPrincipal Per = 1 << iota
	// PerSession keys the counter by the call's SessionID.
	PerSession
	// PerTool keys the counter by the tool name.
	PerTool

	perAll = PerPrincipal | PerSession | PerTool
)

// Limit is one budget rule.
type Limit struct {
	// Name identifies the rule in denials ("budget.<Name>") and in store keys. It
	// is required and unique within a Config. Changing it starts a new count.
	Name string
	// Kind is what is counted.
	Kind Kind
	// Tools lists the tools the limit applies to; empty means every tool.
	Tools []string
	// Per says what the counter is keyed by.
	Per Per
	// MaxCalls bounds Calls and Repeats. Zero admits no call at all.
	MaxCalls int64
	// Arg names the top-level numeric argument a Sum limit adds up. Matching is
	// case-insensitive, as Go's encoding/json matches struct fields.
	Arg string
	// MaxSum bounds a Sum limit's total, at most 9e9. Amounts are counted in
	// millionths, rounded up. Zero admits only zero amounts.
	MaxSum float64
	// Window is the sliding window the limit counts over; zero means for as long
	// as the store keeps the counter (the process's life for the memory store).
	Window time.Duration
}

// Config configures a [Budget]. A Config must name at least one limit.
type Config struct {
	// Limits are checked in order; a call must fit every limit that applies.
	Limits []Limit
	// Store keeps the counters. Nil means a new in-process [state.Memory]; give a
	// [state.Redis] to share budgets among replicas.
	Store state.Counter
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// maxSumMicros is the largest sum a limit can express, in millionths: totals stay
// exact in the doubles Redis scripts use.
const maxSumMicros = state.MaxExact

// Budget enforces call budgets. It is a [guard.Scoper]; [Budget.Middleware] puts it
// into a chain at [guard.StageBudget]. It is safe for concurrent use.
type Budget struct {
	limits []limit
	store  state.Counter
	now    func() time.Time
}

type limit struct {
	Limit
	tools map[string]bool
	max   int64 // calls, or millionths for Sum
}

var _ guard.Scoper = (*Budget)(nil)

// New validates cfg and returns its Budget.
func New(cfg Config) (*Budget, error) {
	if len(cfg.Limits) == 0 {
		return nil, fmt.Errorf("budget: no limits: %w", guard.ErrNilPolicy)
	}
	b := &Budget{store: cfg.Store, now: cfg.Now}
	if b.store == nil {
		b.store = state.NewMemory()
	}
	if b.now == nil {
		b.now = time.Now
	}
	seen := map[string]bool{}
	for i, l := range cfg.Limits {
		if err := validate(l); err != nil {
			return nil, fmt.Errorf("budget: limit %d (%q): %w", i, l.Name, err)
		}
		if seen[l.Name] {
			return nil, fmt.Errorf("budget: limit %d: duplicate name %q", i, l.Name)
		}
		seen[l.Name] = true
		in := limit{Limit: l, max: l.MaxCalls}
		in.Tools = slices.Clone(l.Tools)
		if len(l.Tools) > 0 {
			in.tools = make(map[string]bool, len(l.Tools))
			for _, t := range l.Tools {
				in.tools[t] = true
			}
		}
		if l.Kind == Sum {
			in.max = int64(math.Round(l.MaxSum * 1e6))
		}
		b.limits = append(b.limits, in)
	}
	return b, nil
}

func validate(l Limit) error {
	switch {
	case l.Name == "":
		return errors.New("empty name")
	case l.Kind > Repeats:
		return fmt.Errorf("unknown kind %v", l.Kind)
	case l.Per&^perAll != 0:
		return fmt.Errorf("unknown per flags %#x", uint8(l.Per))
	case l.Window < 0:
		return errors.New("negative window")
	case l.MaxCalls < 0 || l.MaxCalls > state.MaxExact:
		return errors.New("MaxCalls out of range [0, 2^53)")
	case slices.Contains(l.Tools, ""):
		return errors.New("empty tool name")
	}
	if l.Kind == Sum {
		switch {
		case l.Arg == "":
			return errors.New("a sum limit needs Arg")
		case math.IsNaN(l.MaxSum) || l.MaxSum < 0 || l.MaxSum*1e6 > maxSumMicros:
			return fmt.Errorf("MaxSum %v out of range [0, 9e9]", l.MaxSum)
		case l.MaxCalls != 0:
			return errors.New("MaxCalls set on a sum limit (use MaxSum)")
		}
		return nil
	}
	if l.Arg != "" || l.MaxSum != 0 {
		return fmt.Errorf("Arg/MaxSum set on a %v limit", l.Kind)
	}
	return nil
}

// charge is one admitted add, kept so it can be refunded.
type charge struct {
	key    string
	n      int64
	window time.Duration
	at     time.Time
	kind   Kind
}

// Authorize implements [guard.Scoper]: it charges the call against every limit
// that applies and denies with rule "budget.<name>" when one is exhausted. A
// denied call is charged to no limit. A store error denies (fail closed).
func (b *Budget) Authorize(ctx context.Context, c *guard.Call) error {
	var buf [4]charge
	_, err := b.charge(ctx, c, buf[:0])
	return err
}

// charge appends the call's charges to charges (a buffer the caller may keep on
// its stack) and returns them.
func (b *Budget) charge(ctx context.Context, c *guard.Call, charges []charge) ([]charge, error) {
	if c == nil {
		return nil, guard.Deny("budget.call", "nil call")
	}
	now := b.now()
	var digest string
	for i := range b.limits {
		l := &b.limits[i]
		if l.tools != nil && !l.tools[c.Tool] {
			continue
		}
		n := int64(1)
		var extra string
		switch l.Kind {
		case Sum:
			v, err := argMicros(c.Args, l.Arg)
			if err != nil {
				b.refund(ctx, charges)
				return nil, guard.Deny("budget."+l.Name, fmt.Sprintf("argument %q: %v", l.Arg, err))
			}
			n = v
		case Repeats:
			if digest == "" {
				canon, err := state.CanonicalJSON(c.Args)
				if err != nil {
					canon = c.Args // counted by their exact bytes; argument validation rejects them later
				}
				digest = state.Digest(canon)
			}
			extra = digest
		}
		key := b.key(l, c, extra)
		total, ok, err := b.store.Add(ctx, key, n, l.max, l.Window, now)
		if err != nil {
			b.refund(ctx, charges)
			return nil, fmt.Errorf("budget: limit %q: %w", l.Name, err)
		}
		if !ok {
			b.refund(ctx, charges)
			return nil, guard.Deny("budget."+l.Name, l.reason(total, n))
		}
		charges = append(charges, charge{key: key, n: n, window: l.Window, at: now, kind: l.Kind})
	}
	return charges, nil
}

func (l *limit) reason(total, n int64) string {
	per := "in total"
	if l.Window > 0 {
		per = "per " + l.Window.String()
	}
	switch l.Kind {
	case Sum:
		return fmt.Sprintf("sum of %q would reach %s, over the limit of %s %s",
			l.Arg, micros(total+n), micros(l.max), per)
	case Repeats:
		return fmt.Sprintf("the same call was already made %d times %s (limit %d)", total, per, l.max)
	}
	return fmt.Sprintf("%d calls already made %s (limit %d)", total, per, l.max)
}

func micros(v int64) string {
	return strconv.FormatFloat(float64(v)/1e6, 'f', -1, 64)
}

// refund takes back charges, best effort: a failed refund leaves the budget
// over-counted, which errs on the side of denying.
func (b *Budget) refund(ctx context.Context, charges []charge) {
	ctx = context.WithoutCancel(ctx)
	for _, ch := range charges {
		if ch.n != 0 {
			_, _, _ = b.store.Add(ctx, ch.key, -ch.n, 0, ch.window, ch.at)
		}
	}
}

func (b *Budget) key(l *limit, c *guard.Call, extra string) string {
	parts := make([]string, 0, 6)
	parts = append(parts, "budget", l.Name)
	if l.Per&PerPrincipal != 0 {
		parts = append(parts, "p", c.Principal.Subject)
	}
	if l.Per&PerSession != 0 {
		parts = append(parts, "s", c.SessionID)
	}
	if l.Per&PerTool != 0 || l.Kind == Repeats {
		parts = append(parts, "t", c.Tool)
	}
	if extra != "" {
		parts = append(parts, "a", extra)
	}
	return state.Key(parts...)
}

type chargesKey struct{}

type chargeBox struct {
	mu      sync.Mutex
	charges []charge
}

// Middleware returns the middleware that runs the budget at [guard.StageBudget]
// (opts may rename the stage, set a mode, a timeout or an auditor).
//
// Sums are refunded when a later stage denies the call (an error matching
// [guard.ErrDenied], including a call parked for approval): no money moved, and
// the approved retry is charged when it runs. Call and repeat counts are not
// refunded: they count attempts, so a model hammering a refused tool still runs
// out of budget.
func (b *Budget) Middleware(opts ...guard.Option) (guard.Middleware, error) {
	opts = append([]guard.Option{guard.WithStage(guard.StageBudget)}, opts...)
	inner, err := guard.Authorize(guard.ScoperFunc(func(ctx context.Context, c *guard.Call) error {
		charges, err := b.charge(ctx, c, nil)
		if box, ok := ctx.Value(chargesKey{}).(*chargeBox); ok && err == nil {
			box.mu.Lock()
			box.charges = charges
			box.mu.Unlock()
		}
		return err
	}), opts...)
	if err != nil {
		return nil, err
	}
	return func(next guard.Handler) guard.Handler {
		h := inner(next)
		return guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
			box := &chargeBox{}
			r, err := h.Handle(context.WithValue(ctx, chargesKey{}, box), c)
			if err != nil && errors.Is(err, guard.ErrDenied) {
				box.mu.Lock()
				var sums []charge
				for _, ch := range box.charges {
					if ch.kind == Sum {
						sums = append(sums, ch)
					}
				}
				box.charges = nil
				box.mu.Unlock()
				b.refund(ctx, sums)
			}
			return r, err
		})
	}, nil
}

// maxNumberLen bounds the text of a summed argument: longer numbers deny.
const maxNumberLen = 64

// argMicros finds the top-level argument named arg (case-insensitively, as
// encoding/json matches struct fields) in the JSON object raw and returns its
// value in millionths, rounded up.
func argMicros(raw json.RawMessage, arg string) (int64, error) {
	if !json.Valid(raw) {
		return 0, errors.New("arguments are not valid JSON")
	}
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return 0, errors.New("arguments are not a JSON object")
	}
	i++
	var val []byte
	found := false
	for {
		i = skipSpace(raw, i)
		if raw[i] == '}' {
			break
		}
		if raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
		kEnd := skipString(raw, i)
		key := raw[i:kEnd]
		i = skipSpace(raw, kEnd)
		i = skipSpace(raw, i+1) // ':'
		vEnd := skipValue(raw, i)
		v := raw[i:vEnd]
		i = vEnd
		match := false
		if bytes.IndexByte(key, '\\') >= 0 {
			var name string
			if err := json.Unmarshal(key, &name); err != nil {
				return 0, errors.New("arguments are not valid JSON")
			}
			match = strings.EqualFold(name, arg)
		} else {
			match = strings.EqualFold(string(key[1:len(key)-1]), arg)
		}
		if match {
			if found {
				return 0, errors.New("given more than once")
			}
			found, val = true, v
		}
	}
	if !found {
		return 0, errors.New("missing")
	}
	return parseMicros(string(val))
}

// The skip functions walk JSON already checked by json.Valid.

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			i = skipString(b, i)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return i
}

// parseMicros converts a JSON number to millionths, rounding up, exactly (no
// floating point). It refuses negative numbers, non-numbers and values past the
// maximum.
func parseMicros(s string) (int64, error) {
	if len(s) > maxNumberLen {
		return 0, errors.New("number too long")
	}
	if s == "" || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) {
		return 0, errors.New("not a number")
	}
	i := 0
	neg := false
	if s[i] == '-' {
		neg = true
		i++
	}
	var digits []byte
	frac := 0
	seenDot := false
	for ; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch >= '0' && ch <= '9':
			if len(digits) > 0 || ch != '0' {
				digits = append(digits, ch)
			}
			if seenDot {
				frac++
			}
		case ch == '.' && !seenDot:
			seenDot = true
		default:
			goto exp
		}
	}
exp:
	e := 0
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return 0, errors.New("not a number")
		}
		i++
		esign := 1
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			if s[i] == '-' {
				esign = -1
			}
			i++
		}
		if i == len(s) {
			return 0, errors.New("not a number")
		}
		for ; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, errors.New("not a number")
			}
			if e < 100000 {
				e = e*10 + int(s[i]-'0')
			}
		}
		e *= esign
	}
	if len(digits) == 0 {
		return 0, nil // zero, including -0
	}
	if neg {
		return 0, errors.New("negative")
	}
	scale := e - frac + 6 // value in millionths = digits * 10^scale
	if scale >= 0 {
		if len(digits)+scale > 16 {
			return 0, errors.New("too large")
		}
		v, _ := strconv.ParseInt(string(digits), 10, 64)
		for range scale {
			v *= 10
		}
		if v > maxSumMicros {
			return 0, errors.New("too large")
		}
		return v, nil
	}
	cut := len(digits) + scale // digits kept in the integer part
	if cut <= 0 {
		return 1, nil // a positive amount below one millionth counts as one
	}
	if cut > 16 {
		return 0, errors.New("too large")
	}
	v, _ := strconv.ParseInt(string(digits[:cut]), 10, 64)
	for _, d := range digits[cut:] {
		if d != '0' {
			v++ // round up
			break
		}
	}
	if v > maxSumMicros {
		return 0, errors.New("too large")
	}
	return v, nil
}
