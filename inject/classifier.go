package inject

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/agentguard/agentguard/guard"
)

//go:embed model/classifier.bin
var embeddedModel []byte

const modelMagic = "AGINJ\x00\x01\x00"

// Classifier is the trained linear classifier: logistic regression over hashed
// word unigrams and bigrams, character 3- to 5-grams, rule hits and obfuscation
// signals of the normalised text, calibrated with Platt scaling. Texts longer than
// one short window (64 tokens) are scored in overlapping windows of 64 and of 256
// tokens and get the highest window score. It is safe for concurrent use and
// never calls out of the process.
type Classifier struct {
	rules  *ruleSet
	bias   float32
	scale  float32 // int8 weight → float
	plattA float32
	plattB float32
	w      []int8
	ruleW  []float32 // by rule index
	sigW   []float32 // by globalFeatures index: signals, then length buckets
	// minNorm is the fewest n-gram features a window's sum is divided by the
	// square root of (see TrainConfig.MinNorm); 1 for files written before it.
	minNorm float32
	// Threshold is the score at or above which DetectInjection reports an
	// injection.
	threshold float64
}

var _ guard.InjectionDetector = (*Classifier)(nil)

var (
	defaultClassifierOnce sync.Once
	defaultClassifier     *Classifier
	defaultClassifierErr  error
)

// DefaultClassifier returns the classifier trained by this module's training
// command, loaded from the embedded weights (see the package documentation's
// model card). Its threshold is 0.5.
func DefaultClassifier() (*Classifier, error) {
	defaultClassifierOnce.Do(func() {
		defaultClassifier, defaultClassifierErr = LoadClassifier(embeddedModel)
	})
	return defaultClassifier, defaultClassifierErr
}

// LoadClassifier decodes weights written by [Classifier.MarshalBinary].
func LoadClassifier(data []byte) (*Classifier, error) {
	rs, err := defaultRules()
	if err != nil {
		return nil, err
	}
	c := &Classifier{rules: rs, threshold: 0.5, ruleW: make([]float32, len(rs.rules)), sigW: make([]float32, len(globalFeatures)), minNorm: 1}
	r := bytes.NewReader(data)
	magic := make([]byte, len(modelMagic))
	if _, err := r.Read(magic); err != nil || string(magic) != modelMagic {
		return nil, errors.New("inject: classifier weights: bad magic")
	}
	var hdr struct {
		Buckets                     uint32
		Bias, Scale, PlattA, PlattB float32
		NRules, NSignals            uint32
	}
	if err := binary.Read(r, binary.LittleEndian, &hdr); err != nil {
		return nil, fmt.Errorf("inject: classifier weights: header: %w", err)
	}
	if hdr.Buckets != numBuckets {
		return nil, fmt.Errorf("inject: classifier weights: %d buckets, want %d", hdr.Buckets, numBuckets)
	}
	if hdr.NRules > 4096 || hdr.NSignals > 4096 {
		return nil, errors.New("inject: classifier weights: corrupt header")
	}
	c.bias, c.scale, c.plattA, c.plattB = hdr.Bias, hdr.Scale, hdr.PlattA, hdr.PlattB
	readNamed := func(n uint32, set func(name string, w float32)) error {
		for range n {
			l, err := r.ReadByte()
			if err != nil {
				return err
			}
			name := make([]byte, l)
			if _, err := r.Read(name); err != nil && l > 0 {
				return err
			}
			var w float32
			if err := binary.Read(r, binary.LittleEndian, &w); err != nil {
				return err
			}
			set(string(name), w)
		}
		return nil
	}
	ruleIdx := make(map[string]int, len(rs.rules))
	for i, x := range rs.rules {
		ruleIdx[x.id] = i
	}
	if err := readNamed(hdr.NRules, func(name string, w float32) {
		if i, ok := ruleIdx[name]; ok { // rules added after training weigh nothing
			c.ruleW[i] = w
		}
	}); err != nil {
		return nil, fmt.Errorf("inject: classifier weights: rules: %w", err)
	}
	if err := readNamed(hdr.NSignals, func(name string, w float32) {
		if i := slices.Index(globalFeatures[:], name); i >= 0 {
			c.sigW[i] = w
		} else if name == paramMinNorm {
			c.minNorm = w
		}
	}); err != nil {
		return nil, fmt.Errorf("inject: classifier weights: signals: %w", err)
	}
	c.w = make([]int8, numBuckets)
	if err := binary.Read(r, binary.LittleEndian, c.w); err != nil {
		return nil, fmt.Errorf("inject: classifier weights: buckets: %w", err)
	}
	if r.Len() != 0 {
		return nil, errors.New("inject: classifier weights: trailing bytes")
	}
	for _, f := range []float32{c.bias, c.scale, c.plattA, c.plattB, c.minNorm} {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return nil, errors.New("inject: classifier weights: non-finite parameter")
		}
	}
	if c.minNorm < 1 || c.minNorm > 1<<20 {
		return nil, fmt.Errorf("inject: classifier weights: %s %v out of range", paramMinNorm, c.minNorm)
	}
	return c, nil
}

// MarshalBinary encodes the classifier's weights (about 260 KB).
func (c *Classifier) MarshalBinary() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(modelMagic)
	hdr := struct {
		Buckets                     uint32
		Bias, Scale, PlattA, PlattB float32
		NRules, NSignals            uint32
	}{numBuckets, c.bias, c.scale, c.plattA, c.plattB, uint32(len(c.rules.rules)), uint32(len(globalFeatures) + 1)}
	if err := binary.Write(&b, binary.LittleEndian, hdr); err != nil {
		return nil, err
	}
	for i, r := range c.rules.rules {
		b.WriteByte(byte(len(r.id)))
		b.WriteString(r.id)
		_ = binary.Write(&b, binary.LittleEndian, c.ruleW[i])
	}
	for i, s := range globalFeatures {
		b.WriteByte(byte(len(s)))
		b.WriteString(s)
		_ = binary.Write(&b, binary.LittleEndian, c.sigW[i])
	}
	// Parameters travel as named entries after the signals, so older readers
	// skip them and files without them keep their old meaning.
	b.WriteByte(byte(len(paramMinNorm)))
	b.WriteString(paramMinNorm)
	_ = binary.Write(&b, binary.LittleEndian, c.minNorm)
	if err := binary.Write(&b, binary.LittleEndian, c.w); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// WithThreshold returns a copy of c that reports an injection at scores ≥ t.
func (c *Classifier) WithThreshold(t float64) (*Classifier, error) {
	if !(t > 0 && t <= 1) {
		return nil, fmt.Errorf("inject: threshold %v outside (0, 1]", t)
	}
	cp := *c
	cp.threshold = t
	return &cp, nil
}

// WithCalibration returns a copy of c whose score is sigmoid(a·raw + b).
func (c *Classifier) WithCalibration(a, b float64) *Classifier {
	cp := *c
	cp.plattA, cp.plattB = float32(a), float32(b)
	return &cp
}

// DetectInjection scores in.Content. Response-steering rules ("add this to your
// reply") count only for untrusted provenance.
func (c *Classifier) DetectInjection(ctx context.Context, in guard.Text) (guard.Detection, error) {
	if err := ctx.Err(); err != nil {
		return guard.Detection{}, err
	}
	s, rules := c.score(in.Content, !in.Provenance.Untrusted())
	return guard.Detection{Injection: s >= c.threshold, Score: s, Rules: rules, Detector: "classifier"}, nil
}

// Score returns the calibrated score of text as untrusted content.
func (c *Classifier) Score(text string) float64 {
	s, _ := c.score(text, false)
	return s
}

// RawScore returns the uncalibrated margin of text as untrusted content (for
// calibration by the training command).
func (c *Classifier) RawScore(text string) float64 {
	a := getAnalysis()
	defer putAnalysis(a)
	a.run(text, c.rules, false)
	return c.maxMargin(a, false)
}

func (c *Classifier) score(text string, trusted bool) (float64, []string) {
	a := getAnalysis()
	defer putAnalysis(a)
	a.run(text, c.rules, false)
	m := c.maxMargin(a, trusted)
	return sigmoid(float64(c.plattA)*m + float64(c.plattB)), a.ruleNames(c.rules, trusted)
}

// maxMargin returns the highest window margin of an analysed text.
func (c *Classifier) maxMargin(a *analysis, trusted bool) float64 {
	n := len(a.toks)
	if cap(a.sum) < n+1 {
		a.sum = make([]int32, n+1)
		a.cnt = make([]int32, n+1)
	}
	sum, cnt := a.sum[:n+1], a.cnt[:n+1]
	clear(sum)
	clear(cnt)
	if len(a.feats) > 0 {
		w := c.w
		for _, f := range a.feats {
			sum[f.tok+1] += int32(w[f.bucket])
			cnt[f.tok+1]++
		}
	} else {
		accumulate(a.norm.Text, a.toks, c.w, sum, cnt)
	}
	for i := 1; i <= n; i++ {
		sum[i] += sum[i-1]
		cnt[i] += cnt[i-1]
	}
	global := float64(c.bias)
	for i, s := range signalOrder {
		if a.norm.Has(s) {
			global += float64(c.sigW[i])
		}
	}
	if lf := lengthFeature(n); lf >= 0 {
		global += float64(c.sigW[lf])
	}
	// Hits sorted by position, so each window visits only its own hits and the
	// work stays linear in the number of windows and hits.
	hits := append(a.shits[:0], a.hits...)
	slices.SortStableFunc(hits, func(x, y hit) int { return int(x.pos) - int(y.pos) })
	a.shits = hits
	best := math.Inf(-1)
	for _, win := range a.wins {
		m := global
		if k := cnt[win.end] - cnt[win.start]; k > 0 {
			m += float64(c.scale) * float64(sum[win.end]-sum[win.start]) / math.Sqrt(max(float64(k), float64(c.minNorm)))
		}
		m += c.ruleMargin(hits, win, trusted)
		best = max(best, m)
	}
	if len(a.wins) == 0 {
		best = global
	}
	return best
}

// ruleMargin sums the weights of the distinct rules that fired inside win; hits
// is sorted by position.
func (c *Classifier) ruleMargin(hits []hit, win window, trusted bool) float64 {
	var seen [128]bool
	var m float64
	i, _ := slices.BinarySearchFunc(hits, win.start, func(h hit, t int32) int { return int(h.pos) - int(t) })
	for ; i < len(hits) && hits[i].pos < win.end; i++ {
		h := hits[i]
		if trusted && c.rules.rules[h.rule].untrusted {
			continue
		}
		// A quoted hit counts as its rule and as the quoted-discussion feature.
		for _, r := range [2]int32{h.rule, c.rules.quotedFeature(h)} {
			if r < 0 || int(r) >= len(seen) || seen[r] {
				continue
			}
			seen[r] = true
			m += float64(c.ruleW[r])
		}
	}
	return m
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
