package inject

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Example is one labelled text for [TrainClassifier].
type Example struct {
	Text      string
	Injection bool
	// Weight scales the example's loss; zero means 1.
	Weight float64
}

// TrainConfig configures [TrainClassifier]. Zero fields take the defaults the
// embedded model was trained with.
type TrainConfig struct {
	Epochs       int     // default 8
	LearningRate float64 // AdaGrad step, default 0.2
	L2           float64 // per-update weight decay, default 1e-6
	Seed         uint64  // shuffle seed; training is deterministic for a seed
	// BalanceClasses reweights the examples so both classes carry equal total
	// weight. Default false; the training command sets it.
	BalanceClasses bool
	// MinNorm is the fewest n-gram features a window's n-gram sum is divided by
	// the square root of; default 300. A window's n-grams count as sum/√k for
	// its k features; with k below MinNorm they count as sum/√MinNorm, so a
	// sentence of a few words cannot be decided by the handful of n-grams it
	// has ("Do you hate Trump?" scored as an attack because "you" and "hate"
	// appear in many), and its rules and length weight weigh relatively more.
	MinNorm int
	// RulePrior, when positive, starts every rule's weight at RulePrior·(w−0.3)
	// for its standalone weight w (when above 0.3) and decays it towards that
	// value instead of zero: a rule that is rare in the training data (an
	// override phrased in a language the data lacks) keeps the weight its author
	// gave it, while frequent rules are fitted by the data. Default 0 (none).
	RulePrior float64
}

type trainWindow struct {
	idx   []uint32
	val   []float32
	rules []int32
}

type trainExample struct {
	wins    []trainWindow
	signals []int
	y       float64
	weight  float64
}

// TrainClassifier fits a classifier to examples: logistic regression with AdaGrad
// over the same features [Classifier] scores, where each text is represented by its
// highest-scoring window (multiple-instance learning, matching how texts are
// scored). The result is uncalibrated (identity calibration) and quantised to
// int8; calibrate it with [FitPlatt] on held-out scores.
func TrainClassifier(examples []Example, cfg TrainConfig) (*Classifier, error) {
	if len(examples) == 0 {
		return nil, errors.New("inject: no training examples")
	}
	if cfg.Epochs == 0 {
		cfg.Epochs = 8
	}
	if cfg.LearningRate == 0 {
		cfg.LearningRate = 0.2
	}
	if cfg.L2 == 0 {
		cfg.L2 = 1e-6
	}
	if cfg.MinNorm == 0 {
		cfg.MinNorm = 300
	}
	if cfg.Epochs < 0 || cfg.LearningRate < 0 || cfg.L2 < 0 || cfg.RulePrior < 0 || cfg.MinNorm < 1 || cfg.MinNorm > 1<<20 {
		return nil, fmt.Errorf("inject: invalid training config %+v", cfg)
	}
	rs, err := defaultRules()
	if err != nil {
		return nil, err
	}
	data := make([]trainExample, len(examples))
	var posW, negW float64
	a := new(analysis)
	for i, ex := range examples {
		a.run(ex.Text, rs, true)
		te := trainExample{weight: ex.Weight}
		if te.weight == 0 {
			te.weight = 1
		}
		if ex.Injection {
			te.y = 1
			posW += te.weight
		} else {
			negW += te.weight
		}
		for si, s := range signalOrder {
			if a.norm.Has(s) {
				te.signals = append(te.signals, si)
			}
		}
		if lf := lengthFeature(len(a.toks)); lf >= 0 {
			te.signals = append(te.signals, lf)
		}
		for _, w := range a.wins {
			te.wins = append(te.wins, compactWindow(a, rs, w, cfg.MinNorm))
		}
		data[i] = te
	}
	if cfg.BalanceClasses && posW > 0 && negW > 0 {
		tot := posW + negW
		for i := range data {
			if data[i].y == 1 {
				data[i].weight *= tot / (2 * posW)
			} else {
				data[i].weight *= tot / (2 * negW)
			}
		}
	}
	w := make([]float64, numBuckets)
	g := make([]float64, numBuckets)
	rw := make([]float64, len(rs.rules))
	rg := make([]float64, len(rs.rules))
	prior := make([]float64, len(rs.rules))
	if cfg.RulePrior > 0 {
		for i, r := range rs.rules {
			prior[i] = cfg.RulePrior * max(0, r.weight-0.3)
			rw[i] = prior[i]
		}
	}
	sw := make([]float64, len(globalFeatures))
	sg := make([]float64, len(globalFeatures))
	var bias, bg float64
	margin := func(te *trainExample, win *trainWindow) float64 {
		m := bias
		for _, s := range te.signals {
			m += sw[s]
		}
		for k, j := range win.idx {
			m += w[j] * float64(win.val[k])
		}
		for _, r := range win.rules {
			m += rw[r]
		}
		return m
	}
	const eps = 1e-8
	lr, l2 := cfg.LearningRate, cfg.L2
	order := make([]int, len(data))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x1f2e3d4c))
	// The weights returned are the average of the end-of-epoch weights of the
	// second half of training (Polyak averaging), which damps the noise of the
	// last updates: the model depends less on the order of the final examples.
	aw := make([]float64, numBuckets)
	arw := make([]float64, len(rs.rules))
	asw := make([]float64, len(globalFeatures))
	var abias float64
	averaged := 0
	for epoch := range cfg.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			te := &data[i]
			if len(te.wins) == 0 {
				continue
			}
			best, bm := 0, math.Inf(-1)
			for k := range te.wins {
				if m := margin(te, &te.wins[k]); m > bm {
					best, bm = k, m
				}
			}
			grad := te.weight * (sigmoid(bm) - te.y)
			if grad == 0 {
				continue
			}
			win := &te.wins[best]
			for k, j := range win.idx {
				gx := grad*float64(win.val[k]) + l2*w[j]
				g[j] += gx * gx
				w[j] -= lr * gx / (math.Sqrt(g[j]) + eps)
			}
			for _, r := range win.rules {
				gx := grad + l2*(rw[r]-prior[r])
				rg[r] += gx * gx
				rw[r] -= lr * gx / (math.Sqrt(rg[r]) + eps)
			}
			for _, s := range te.signals {
				gx := grad + l2*sw[s]
				sg[s] += gx * gx
				sw[s] -= lr * gx / (math.Sqrt(sg[s]) + eps)
			}
			bg += grad * grad
			bias -= lr * grad / (math.Sqrt(bg) + eps)
		}
		if 2*(epoch+1) > cfg.Epochs {
			averaged++
			for j, x := range w {
				aw[j] += x
			}
			for j, x := range rw {
				arw[j] += x
			}
			for j, x := range sw {
				asw[j] += x
			}
			abias += bias
		}
	}
	inv := 1 / float64(averaged)
	for j := range w {
		w[j] = aw[j] * inv
	}
	for j := range rw {
		rw[j] = arw[j] * inv
	}
	for j := range sw {
		sw[j] = asw[j] * inv
	}
	bias = abias * inv
	c := &Classifier{rules: rs, bias: float32(bias), plattA: 1, threshold: 0.5, minNorm: float32(cfg.MinNorm),
		ruleW: make([]float32, len(rs.rules)), sigW: make([]float32, len(globalFeatures)), w: make([]int8, numBuckets)}
	var maxAbs float64
	for _, x := range w {
		maxAbs = max(maxAbs, math.Abs(x))
	}
	if maxAbs == 0 {
		maxAbs = 1
	}
	c.scale = float32(maxAbs / 127)
	for j, x := range w {
		c.w[j] = int8(math.Round(x / float64(c.scale)))
	}
	for i, x := range rw {
		c.ruleW[i] = float32(x)
	}
	for i, x := range sw {
		c.sigW[i] = float32(x)
	}
	return c, nil
}

// compactWindow collects the window's features as sorted unique buckets with
// values count/sqrt(total), and its distinct rules.
func compactWindow(a *analysis, rs *ruleSet, win window, minNorm int) trainWindow {
	var idx []uint32
	for _, f := range a.feats {
		if f.tok >= win.start && f.tok < win.end {
			idx = append(idx, f.bucket)
		}
	}
	slices.Sort(idx)
	tw := trainWindow{}
	norm := 1 / math.Sqrt(float64(max(len(idx), minNorm)))
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && idx[j] == idx[i] {
			j++
		}
		tw.idx = append(tw.idx, idx[i])
		tw.val = append(tw.val, float32(float64(j-i)*norm))
		i = j
	}
	for _, h := range a.hits {
		if h.pos < win.start || h.pos >= win.end {
			continue
		}
		for _, r := range [2]int32{h.rule, rs.quotedFeature(h)} {
			if r >= 0 && !slices.Contains(tw.rules, r) {
				tw.rules = append(tw.rules, r)
			}
		}
	}
	return tw
}

// FitPlatt fits Platt scaling sigmoid(a·raw + b) to held-out raw scores and labels,
// with Platt's smoothed targets. The scores are probabilities under the class mix
// of the held-out data.
func FitPlatt(raw []float64, labels []bool) (a, b float64) {
	return fitPlatt(raw, labels)
}

// FitPlattSlope fits the slope a of sigmoid(a·raw) to held-out raw scores and
// labels and keeps the intercept at zero: the scores become as sharp as the
// held-out data warrants, while 0.5 stays the boundary the classifier was
// trained to draw with both classes weighted equally ([TrainConfig]
// BalanceClasses), the point where a text's evidence favours neither class. The
// embedded model is calibrated this way: a full Platt fit would move 0.5 to where
// the two classes' share of the held-out data puts it, a property of the corpus
// rather than of any deployment.
func FitPlattSlope(raw []float64, labels []bool) float64 {
	tp, tn, ok := plattTargets(labels)
	if !ok {
		return 1
	}
	a := 1.0
	for range 200 {
		var g, h float64
		for i, x := range raw {
			t := tn
			if labels[i] {
				t = tp
			}
			p := sigmoid(a * x)
			g += (p - t) * x
			h += p * (1 - p) * x * x
		}
		if h <= 1e-12 {
			break
		}
		d := g / h
		a -= d
		if a <= 0 || math.IsNaN(a) {
			return 1
		}
		if math.Abs(d) < 1e-9 {
			break
		}
	}
	return a
}

// plattTargets returns Platt's smoothed targets for the positive and negative
// labels, (N₊+1)/(N₊+2) and 1/(N₋+2); ok is false unless both classes occur.
func plattTargets(labels []bool) (tp, tn float64, ok bool) {
	var np, nn float64
	for _, l := range labels {
		if l {
			np++
		} else {
			nn++
		}
	}
	if np == 0 || nn == 0 {
		return 0, 0, false
	}
	return (np + 1) / (np + 2), 1 / (nn + 2), true
}

func fitPlatt(raw []float64, labels []bool) (a, b float64) {
	tp, tn, ok := plattTargets(labels)
	if !ok {
		return 1, 0
	}
	a, b = 1, 0
	for range 2000 {
		var ga, gb, haa, hab, hbb float64
		for i, x := range raw {
			t := tn
			if labels[i] {
				t = tp
			}
			p := sigmoid(a*x + b)
			d := p - t
			ga += d * x
			gb += d
			q := p * (1 - p)
			haa += q * x * x
			hab += q * x
			hbb += q
		}
		haa += 1e-9
		hbb += 1e-9
		det := haa*hbb - hab*hab
		if det <= 0 {
			break
		}
		da := (hbb*ga - hab*gb) / det
		db := (haa*gb - hab*ga) / det
		a -= da
		b -= db
		if math.Abs(da)+math.Abs(db) < 1e-9 {
			break
		}
	}
	return a, b
}
