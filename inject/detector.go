package inject

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"unicode/utf8"

	"github.com/agentguard/agentguard/guard"
)

// Thresholds are the scores at or above which a text of each provenance is judged
// an injection. A zero field takes its default; user messages get the highest
// default threshold because a user's own request may legitimately say "add a
// summary to your reply", while the same words inside a fetched document are
// an attempt to steer the model.
type Thresholds struct {
	User       float64 // default 0.6
	System     float64 // default 0.9
	ToolResult float64 // default 0.5
	Retrieved  float64 // default 0.5
	// Unknown applies to [guard.ProvenanceUnknown] and model output; default 0.5.
	Unknown float64
}

const (
	defaultUserThreshold      = 0.6
	defaultSystemThreshold    = 0.9
	defaultUntrustedThreshold = 0.5
)

func (t Thresholds) validate() error {
	for _, v := range []float64{t.User, t.System, t.ToolResult, t.Retrieved, t.Unknown} {
		if v < 0 || v > 1 || v != v {
			return fmt.Errorf("inject: threshold %v outside [0, 1]", v)
		}
	}
	return nil
}

// For returns the threshold for text of provenance p.
func (t Thresholds) For(p guard.Provenance) float64 {
	pick := func(v, def float64) float64 {
		if v == 0 {
			return def
		}
		return v
	}
	switch p {
	case guard.ProvenanceUser:
		return pick(t.User, defaultUserThreshold)
	case guard.ProvenanceSystem:
		return pick(t.System, defaultSystemThreshold)
	case guard.ProvenanceToolResult:
		return pick(t.ToolResult, defaultUntrustedThreshold)
	case guard.ProvenanceRetrieved:
		return pick(t.Retrieved, defaultUntrustedThreshold)
	}
	return pick(t.Unknown, defaultUntrustedThreshold)
}

// Config configures a [Detector]. The zero Config is a complete, strict setting:
// the embedded classifier and rules, default thresholds, no LLM judge.
type Config struct {
	// Classifier scores texts; nil uses [DefaultClassifier].
	Classifier *Classifier
	// Thresholds per provenance; zero fields take the defaults.
	Thresholds Thresholds
	// Judge is an optional second opinion, for example a [Judge] over an
	// OpenAI-compatible endpoint. It is asked about texts whose in-process score
	// lies in the grey zone [threshold-JudgeBand, threshold+JudgeBand) and its
	// verdict decides them. A judge error is returned as the detector's error
	// (fail closed).
	Judge guard.InjectionDetector
	// JudgeBand is the half-width of the grey zone; default 0.3. Set JudgeAlways to
	// ask the judge about every text.
	JudgeBand   float64
	JudgeAlways bool
	// Logger receives debug records of decisions; nil discards them.
	Logger *slog.Logger
}

// Detector is the ensemble: rules and the trained classifier in one linear pass
// (rule hits are features of the classifier and are reported as explanations),
// thresholds per provenance, strong rules that decide on their own, and an optional
// LLM judge for the grey zone. Texts of any length are scanned in windows in time
// linear in their length. It is safe for concurrent use.
type Detector struct {
	clf       *Classifier
	rules     *ruleSet
	th        Thresholds
	judge     guard.InjectionDetector
	band      float64
	judgeAll  bool
	log       *slog.Logger
	chunkSize int
}

var _ guard.InjectionDetector = (*Detector)(nil)

// New returns a detector for cfg.
func New(cfg Config) (*Detector, error) {
	if err := cfg.Thresholds.validate(); err != nil {
		return nil, err
	}
	if cfg.JudgeBand < 0 || cfg.JudgeBand > 1 {
		return nil, fmt.Errorf("inject: judge band %v outside [0, 1]", cfg.JudgeBand)
	}
	if cfg.JudgeAlways && cfg.Judge == nil {
		return nil, fmt.Errorf("inject: JudgeAlways without a Judge: %w", guard.ErrNilPolicy)
	}
	clf := cfg.Classifier
	if clf == nil {
		var err error
		if clf, err = DefaultClassifier(); err != nil {
			return nil, err
		}
	}
	rs, err := defaultRules()
	if err != nil {
		return nil, err
	}
	band := cfg.JudgeBand
	if band == 0 {
		band = 0.3
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Detector{clf: clf, rules: rs, th: cfg.Thresholds, judge: cfg.Judge, band: band,
		judgeAll: cfg.JudgeAlways, log: log, chunkSize: 256 << 10}, nil
}

// chunkOverlap is how far consecutive chunks of a very long text overlap: more
// than one scoring window, so no injection falls between chunks.
const chunkOverlap = 4096

// strongSignal reports the normaliser signals that are decisive on their own:
// text smuggled in invisible tag characters or variant selectors, and words
// disguised with look-alike letters. None of them occurs in the 48,000 benign
// texts of the training corpus.
func strongSignal(sig string) bool {
	return sig == SignalTagChars || sig == SignalVariantSelector || sig == SignalHomoglyphWords
}

// strongScore is the floor a strong rule (standalone weight ≥ 0.9) or a strong
// signal (see strongSignal) puts under the ensemble score: these are rare in
// benign text and decisive on their own.
const strongScore = 0.9

// DetectInjection judges in.Content with the threshold of its provenance.
func (d *Detector) DetectInjection(ctx context.Context, in guard.Text) (guard.Detection, error) {
	if err := ctx.Err(); err != nil {
		return guard.Detection{}, err
	}
	trusted := !in.Provenance.Untrusted()
	th := d.th.For(in.Provenance)
	det := guard.Detection{Detector: "ensemble"}
	// Texts longer than one normaliser input are scanned in chunks that overlap
	// by a window, so the work stays linear and nothing falls between chunks.
	text := in.Content
	for off := 0; ; {
		end := min(off+d.chunkSize, len(text))
		for end < len(text) && !utf8.RuneStart(text[end]) {
			end++
		}
		score, rules := d.scoreChunk(text[off:end], trusted)
		det.Score = max(det.Score, score)
		for _, r := range rules {
			if !slices.Contains(det.Rules, r) {
				det.Rules = append(det.Rules, r)
			}
		}
		if end == len(text) {
			break
		}
		if err := ctx.Err(); err != nil {
			return guard.Detection{}, err
		}
		next := end - min(chunkOverlap, d.chunkSize/4)
		for next > off && !utf8.RuneStart(text[next]) {
			next--
		}
		off = max(next, off+1)
	}
	det.Injection = det.Score >= th
	if d.judge != nil && (d.judgeAll || det.Score >= th-d.band && det.Score < th+d.band) {
		jd, err := d.judge.DetectInjection(ctx, in)
		if err != nil {
			return guard.Detection{}, fmt.Errorf("inject: judge: %w", err)
		}
		det.Injection = jd.Injection
		det.Score = (det.Score + jd.Score) / 2
		if jd.Injection {
			det.Score = max(det.Score, th)
		} else {
			det.Score = min(det.Score, th-1e-9)
		}
		det.Rules = append(det.Rules, jd.Rules...)
		det.Detector = "ensemble+judge"
	}
	d.log.LogAttrs(ctx, slog.LevelDebug, "inject: scanned",
		slog.String("provenance", in.Provenance.String()), slog.Float64("score", det.Score),
		slog.Bool("injection", det.Injection), slog.Any("rules", det.Rules))
	return det, nil
}

func (d *Detector) scoreChunk(s string, trusted bool) (float64, []string) {
	a := getAnalysis()
	defer putAnalysis(a)
	a.run(s, d.rules, false)
	m := d.clf.maxMargin(a, trusted)
	score := sigmoid(float64(d.clf.plattA)*m + float64(d.clf.plattB))
	rules := a.ruleNames(d.rules, trusted)
	for _, h := range a.hits {
		r := &d.rules.rules[h.rule]
		if r.weight >= 0.9 && !(trusted && r.untrusted) && !h.quoted {
			score = max(score, strongScore)
		}
	}
	for _, sig := range a.norm.Signals {
		if strongSignal(sig) {
			score = max(score, strongScore)
		}
		rules = append(rules, sig)
	}
	return score, rules
}

// Rules is the rule matcher alone as a detector: explainable, with no trained
// weights. Its score is the noisy-or of the standalone weights of the rules that
// fired. It is weaker than [Detector] and offered for comparison and for callers
// who want explanations only.
type Rules struct {
	rules     *ruleSet
	threshold float64
}

var _ guard.InjectionDetector = (*Rules)(nil)

// NewRules returns the rule detector reporting injections at scores ≥ threshold
// (0 means 0.5).
func NewRules(threshold float64) (*Rules, error) {
	if threshold < 0 || threshold > 1 || threshold != threshold {
		return nil, fmt.Errorf("inject: threshold %v outside [0, 1]", threshold)
	}
	if threshold == 0 {
		threshold = 0.5
	}
	rs, err := defaultRules()
	if err != nil {
		return nil, err
	}
	return &Rules{rules: rs, threshold: threshold}, nil
}

// DetectInjection matches the rules against the normalised in.Content.
func (r *Rules) DetectInjection(ctx context.Context, in guard.Text) (guard.Detection, error) {
	if err := ctx.Err(); err != nil {
		return guard.Detection{}, err
	}
	a := getAnalysis()
	defer putAnalysis(a)
	a.run(in.Content, r.rules, false)
	trusted := !in.Provenance.Untrusted()
	names := a.ruleNames(r.rules, trusted)
	miss := 1.0
	var seen [128]bool
	for _, h := range a.hits {
		x := &r.rules.rules[h.rule]
		if seen[h.rule] || trusted && x.untrusted {
			continue
		}
		seen[h.rule] = true
		miss *= 1 - x.weight
	}
	for _, sig := range a.norm.Signals {
		if strongSignal(sig) {
			miss *= 1 - strongScore
		}
		names = append(names, sig)
	}
	s := 1 - miss
	return guard.Detection{Injection: s >= r.threshold, Score: s, Rules: names, Detector: "rules"}, nil
}

// ErrInjection is matched by the denial [ScanUserInput] returns.
var ErrInjection = errors.New("inject: prompt injection detected")
