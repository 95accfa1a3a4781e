// Command train fits the injection classifier embedded in package inject.
//
//	go run ./inject/internal/train [-cache /tmp/corpus.gob] [-heldout /tmp/heldout.jsonl]
//
// It reads the labelled public datasets and gathers benign hard negatives from the
// machine (see package corpus), sets aside the dataset items that are not
// injections when read alone (corpus.ScopeContext, corpus.ScopeBarePayload; -scope
// all keeps them), plants short dataset injections in benign documents of their
// own fold as extra training positives (corpus.Compose; -compose=false turns it
// off, -composew weighs them), runs group k-fold cross-validation (templated
// families and hand-written families never straddle folds; planted texts are
// trained on but not counted), calibrates the slope of the
// out-of-fold margins (inject.FitPlattSlope; -platt for a full Platt fit), trains
// the final model on all training items plus the hand-written final-only texts
// (never part of cross-validation), and reports the false positive rate on the
// held-out benign corpora, which are never trained on, and how many of the
// set-aside items the model flags. Training is deterministic: the same inputs
// give the same weights. -groups prints the out-of-fold figures per corpus and
// the worst groups; -dump writes every out-of-fold score for analysis.
package main

import (
	"context"
	"encoding/gob"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/inject"
	"github.com/agentguard/agentguard/inject/internal/corpus"
)

func main() {
	datasets := flag.String("datasets", "../shared/datasets", "directory of *.jsonl.gz datasets")
	out := flag.String("out", "inject/model/classifier.bin", "where to write the weights (empty: do not write)")
	folds := flag.Int("folds", 5, "cross-validation folds (0: skip cross-validation)")
	capGroup := flag.Int("cap", 150, "most items per templated family")
	maxNeg := flag.Int("maxneg", 3000, "most hard negatives per machine corpus")
	epochs := flag.Int("epochs", 6, "training epochs")
	lr := flag.Float64("lr", 0.2, "AdaGrad learning rate")
	l2 := flag.Float64("l2", 2e-4, "L2 weight decay per update")
	minNorm := flag.Int("minnorm", 300, "fewest n-gram features a window's sum is normalised by (see inject.TrainConfig.MinNorm)")
	rulePrior := flag.Float64("ruleprior", 3, "start rule weights at ruleprior·(standalone weight − 0.3) and decay towards it")
	heldOut := flag.String("heldout", "", "write the held-out benign items as JSONL here (for the eval command)")
	split = flag.String("split", "group", "cross-validation split: group (families never straddle folds) or random (leaky, for comparison)")
	oof = flag.String("oof", "", "write the out-of-fold raw scores and labels here")
	cache := flag.String("cache", "", "gob file caching the gathered corpus (read if present, else written)")
	show = flag.Int("show", 0, "print up to N misclassified items per fold")
	byGroup = flag.Bool("groups", false, "print out-of-fold recall and FPR per corpus and per group")
	dump = flag.String("dump", "", "write every out-of-fold item with its raw score as JSONL here")
	posOnly = flag.Bool("gwpos", false, "apply -gw to injections only (benign groups are files and directories, not templated families)")
	groupPow = flag.Float64("gw", 0.2, "weight every item by n^-gw, n the size of its group (0: unweighted); see -gwpos")
	hand := flag.String("hand", "inject/internal/train/testdata", "directory of hand-written texts")
	fullPlatt = flag.Bool("platt", false, "full Platt scaling (slope and intercept) instead of the slope alone (see inject.FitPlattSlope)")
	scope := flag.String("scope", "alone", "which injections count: alone (those that are injections read alone; see corpus.ScopeContext) or all (every dataset label, the session-2 protocol)")
	composeW = flag.Float64("composew", 0.2, "weight of a composed injection relative to a dataset item (see -compose)")
	compose := flag.Bool("compose", true, "also train on injections planted in benign documents of their fold (see corpus.Compose)")
	allowUnlabelled := flag.Bool("allow-unlabelled", false, "train even if some CyberSecEval items have no scope label")
	flag.Parse()
	if *scope != "alone" && *scope != "all" {
		log.Fatalf("-scope must be alone or all, not %q", *scope)
	}
	log.SetFlags(0)

	start := time.Now()
	all, err := loadCache(*cache)
	if err != nil {
		ds, unlabelled, err := corpus.Datasets(*datasets, *capGroup)
		if err != nil {
			log.Fatal(err)
		}
		if unlabelled > 0 {
			if !*allowUnlabelled {
				log.Fatalf("%d CyberSecEval injections have no scope label in inject/internal/corpus/testdata (-allow-unlabelled to train anyway)", unlabelled)
			}
			log.Printf("warning: %d CyberSecEval injections have no scope label; kept in scope", unlabelled)
		}
		goroot := runtime.GOROOT()
		modcache := filepath.Join(os.Getenv("HOME"), "go", "pkg", "mod")
		if gm := os.Getenv("GOMODCACHE"); gm != "" {
			modcache = gm
		}
		hn, err := corpus.HardNegatives(goroot, modcache, *hand, *maxNeg)
		if err != nil {
			log.Fatal(err)
		}
		all = append(ds, hn...)
		if *cache != "" {
			if err := saveCache(*cache, all); err != nil {
				log.Fatal(err)
			}
		}
	}
	all = append(all, corpus.Requests()...)
	all = append(all, corpus.ShortBenign()...)
	var train, held, outside []corpus.Item
	for _, it := range all {
		if *scope == "all" {
			it.OutOfScope = ""
		}
		switch {
		case it.OutOfScope != "":
			outside = append(outside, it)
		case it.HeldOut:
			held = append(held, it)
		default:
			train = append(train, it)
		}
	}
	log.Printf("corpus: %d training items (%d injection), %d held out; gathered in %v",
		len(train), countPos(train), len(held), time.Since(start).Round(time.Millisecond))
	printCorpora(train)
	if *compose {
		k := uint32(max(*folds, 1))
		composed := corpus.Compose(train, func(g string) int { return int(corpus.Hash(g) % k) })
		log.Printf("composed: %d injections planted in benign documents of their fold (trained on, not counted in the figures)", len(composed))
		train = append(train, composed...)
	}

	cfg := inject.TrainConfig{Epochs: *epochs, LearningRate: *lr, L2: *l2, BalanceClasses: true, Seed: 1, RulePrior: *rulePrior, MinNorm: *minNorm}
	a, b := 1.0, 0.0
	if *folds > 1 {
		a, b = crossValidate(train, *folds, cfg)
	}
	final, err := corpus.FinalOnly(*hand)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("final model: %d training items plus %d hand-written final-only items (%d injection)", len(train), len(final), countPos(final))
	c, err := inject.TrainClassifier(examples(append(slices.Clip(train), final...)), cfg)
	if err != nil {
		log.Fatal(err)
	}
	c = c.WithCalibration(a, b)
	log.Printf("platt: a=%.4f b=%.4f", a, b)

	// Held-out benign corpora: never trained on.
	report(c, held)
	reportOutside(c, outside)
	if *heldOut != "" {
		if err := writeJSONL(*heldOut, held); err != nil {
			log.Fatal(err)
		}
	}
	if *out != "" {
		data, err := c.MarshalBinary()
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(*out, data, 0o644); err != nil {
			log.Fatal(err)
		}
		log.Printf("wrote %s (%d bytes) in %v", *out, len(data), time.Since(start).Round(time.Second))
	}
}

var (
	fullPlatt *bool
	show      *int
	dump      *string
	groupPow  *float64
	posOnly   *bool
	composeW  *float64
	byGroup   *bool
	split     *string
	oof       *string
)

func loadCache(path string) ([]corpus.Item, error) {
	if path == "" {
		return nil, os.ErrNotExist
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var items []corpus.Item
	err = gob.NewDecoder(f).Decode(&items)
	return items, err
}

func saveCache(path string, items []corpus.Item) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := gob.NewEncoder(f).Encode(items); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func countPos(items []corpus.Item) int {
	n := 0
	for _, it := range items {
		if it.Injection {
			n++
		}
	}
	return n
}

func printCorpora(items []corpus.Item) {
	counts := map[string]int{}
	for _, it := range items {
		counts[it.Corpus]++
	}
	names := make([]string, 0, len(counts))
	for k := range counts {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, n := range names {
		log.Printf("  %-40s %6d", n, counts[n])
	}
}

func examples(items []corpus.Item) []inject.Example {
	size := map[string]int{}
	for _, it := range items {
		size[it.Group]++
	}
	ex := make([]inject.Example, len(items))
	for i, it := range items {
		w := 1.0
		if *groupPow != 0 && (it.Injection || !*posOnly) {
			w = math.Pow(float64(size[it.Group]), -*groupPow)
		}
		if it.Composed {
			w *= *composeW
		}
		ex[i] = inject.Example{Text: it.Text, Injection: it.Injection, Weight: w}
	}
	return ex
}

// crossValidate runs group k-fold cross-validation, prints per-fold figures at raw
// margin 0 and returns Platt parameters fitted on the out-of-fold margins.
func crossValidate(items []corpus.Item, k int, cfg inject.TrainConfig) (a, b float64) {
	var raw []float64
	var labels []bool
	var foldOf []int
	var strong []bool // a strong rule or smuggled text raised the ensemble's score
	var oofItems []corpus.Item
	log.Printf("group %d-fold cross-validation (threshold: raw margin 0)", k)
	log.Printf("%-5s %6s %6s %8s %8s %8s %8s  | %8s %8s %8s %8s", "fold", "pos", "neg", "recall", "FPR", "BA", "prec", "recall", "FPR", "BA", "prec")
	var sumBA, sumEBA float64
	var composed metrics
	for f := range k {
		var tr, te []corpus.Item
		for _, it := range items {
			key := it.Group
			if *split == "random" {
				key = it.Text
			}
			if int(corpus.Hash(key)%uint32(k)) == f {
				te = append(te, it)
			} else {
				tr = append(tr, it)
			}
		}
		c, err := inject.TrainClassifier(examples(tr), cfg)
		if err != nil {
			log.Fatal(err)
		}
		var m, me metrics
		shown := 0
		ens, err := inject.New(inject.Config{Classifier: c})
		if err != nil {
			log.Fatal(err)
		}
		for _, it := range te {
			r := c.RawScore(it.Text)
			if it.Composed {
				composed.add(true, r >= 0)
				continue
			}
			raw = append(raw, r)
			labels = append(labels, it.Injection)
			foldOf = append(foldOf, f)
			oofItems = append(oofItems, it)
			m.add(it.Injection, r >= 0)
			d, err := ens.DetectInjection(context.Background(), guard.Text{Content: it.Text, Provenance: guard.ProvenanceToolResult})
			if err != nil {
				log.Fatal(err)
			}
			me.add(it.Injection, d.Injection)
			strong = append(strong, d.Score > 1/(1+math.Exp(-r))+1e-9)
			if (r >= 0) != it.Injection && shown < *show && corpus.Hash(it.Text)%3 == 0 {
				shown++
				log.Printf("    miss fold %d %+.2f %s [%s] %q", f, r, it.Corpus, it.Group, trunc(it.Text, 150))
			}
		}
		log.Printf("%-5d %6d %6d %8.4f %8.4f %8.4f %8.4f  | ensemble %8.4f %8.4f %8.4f %8.4f", f, m.tp+m.fn, m.tn+m.fp,
			m.recall(), m.fpr(), m.ba(), m.precision(), me.recall(), me.fpr(), me.ba(), me.precision())
		sumBA += m.ba()
		sumEBA += me.ba()
	}
	if *oof != "" {
		var b strings.Builder
		for i := range raw {
			fmt.Fprintf(&b, "%g %v\n", raw[i], labels[i])
		}
		if err := os.WriteFile(*oof, []byte(b.String()), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	if *byGroup {
		printGroups(oofItems, raw)
	}
	if *dump != "" {
		f, err := os.Create(*dump)
		if err != nil {
			log.Fatal(err)
		}
		enc := json.NewEncoder(f)
		for i, it := range oofItems {
			if err := enc.Encode(struct {
				Raw                 float64
				Injection           bool
				Corpus, Group, Text string
			}{raw[i], it.Injection, it.Corpus, it.Group, it.Text}); err != nil {
				log.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
	}
	if composed.tp+composed.fn > 0 {
		log.Printf("composed injections out of fold (not in the figures): n=%d recall %.4f", composed.tp+composed.fn, composed.recall())
	}
	log.Printf("mean balanced accuracy: classifier %.4f, ensemble (classifier + strong rules, threshold 0.5) %.4f", sumBA/float64(k), sumEBA/float64(k))
	if *fullPlatt {
		a, b = inject.FitPlatt(raw, labels)
	} else {
		a, b = inject.FitPlattSlope(raw, labels), 0
	}
	// The same out-of-fold scores at the thresholds the detector ships with: the
	// calibrated score sigmoid(a·raw+b) against 0.5 (tool results, documents) and
	// 0.6 (user messages).
	for _, t := range []float64{0.5, 0.6} {
		var sum, esum float64
		var all, eall metrics
		for f := range k {
			var m, me metrics
			for i := range raw {
				if foldOf[i] == f {
					pred := 1/(1+math.Exp(-(a*raw[i]+b))) >= t
					m.add(labels[i], pred)
					all.add(labels[i], pred)
					me.add(labels[i], pred || strong[i])
					eall.add(labels[i], pred || strong[i])
				}
			}
			sum += m.ba()
			esum += me.ba()
		}
		log.Printf("at calibrated threshold %.1f: mean balanced accuracy classifier %.4f (recall %.4f, FPR %.4f over all folds), ensemble %.4f (recall %.4f, FPR %.4f)",
			t, sum/float64(k), all.recall(), all.fpr(), esum/float64(k), eall.recall(), eall.fpr())
	}
	// The same figure over subsets of the items, at the tool-result threshold.
	log.Printf("by subset, tool-result threshold 0.5 (mean over folds of balanced accuracy; ensemble = classifier + strong rules):")
	for _, sub := range subsets {
		var sum, esum float64
		var all, eall metrics
		for f := range k {
			var m, me metrics
			for i, it := range oofItems {
				if foldOf[i] != f || !sub.keep(it) {
					continue
				}
				pred := a*raw[i]+b >= 0
				m.add(labels[i], pred)
				me.add(labels[i], pred || strong[i])
			}
			sum += m.ba()
			esum += me.ba()
			all.merge(m)
			eall.merge(me)
		}
		log.Printf("  %-58s n=%6d classifier %.4f ensemble %.4f (recall %.4f, FPR %.4f)",
			sub.name, all.tp+all.fn+all.fp+all.tn, sum/float64(k), esum/float64(k), eall.recall(), eall.fpr())
	}
	return a, b
}

// subsets are the slices of the cross-validated items the training command
// reports. The hand-written attack families were written to probe blind spots,
// each tested by a model that never saw its style; the figure is over
// the datasets and the benign hard negatives assembled for them.
var subsets = []struct {
	name string
	keep func(corpus.Item) bool
}{
	{"all items", func(corpus.Item) bool { return true }},
	{"datasets + every benign hard negative (machine and hand)", func(it corpus.Item) bool {
		return !it.Injection || !strings.HasPrefix(it.Corpus, "hand/")
	}},
	{"datasets + machine hard negatives", func(it corpus.Item) bool { return !strings.HasPrefix(it.Corpus, "hand/") }},
	{"datasets only", func(it corpus.Item) bool {
		return !strings.HasPrefix(it.Corpus, "hand/") && !strings.HasPrefix(it.Corpus, "hardneg/")
	}},
	{"hand-written families (*_fam_*) only", func(it corpus.Item) bool { return strings.Contains(it.Corpus, "_fam_") }},
}

func (m *metrics) merge(o metrics) { m.tp += o.tp; m.fp += o.fp; m.tn += o.tn; m.fn += o.fn }

type metrics struct{ tp, fp, tn, fn int }

func (m *metrics) add(truth, pred bool) {
	switch {
	case truth && pred:
		m.tp++
	case truth:
		m.fn++
	case pred:
		m.fp++
	default:
		m.tn++
	}
}

func div(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
func (m *metrics) recall() float64    { return div(m.tp, m.tp+m.fn) }
func (m *metrics) fpr() float64       { return div(m.fp, m.fp+m.tn) }
func (m *metrics) precision() float64 { return div(m.tp, m.tp+m.fp) }
func (m *metrics) ba() float64 {
	if m.tp+m.fn == 0 {
		return 1 - m.fpr()
	}
	if m.tn+m.fp == 0 {
		return m.recall()
	}
	return (m.recall() + 1 - m.fpr()) / 2
}

func report(c *inject.Classifier, held []corpus.Item) {
	by := map[string]*metrics{}
	var names []string
	var fps []string
	for _, it := range held {
		m := by[it.Corpus]
		if m == nil {
			m = &metrics{}
			by[it.Corpus] = m
			names = append(names, it.Corpus)
		}
		s := c.Score(it.Text)
		m.add(it.Injection, s >= 0.5)
		if !it.Injection && s >= 0.5 && len(fps) < 15 {
			fps = append(fps, fmt.Sprintf("%.2f %s: %q", s, it.Corpus, trunc(it.Text, 160)))
		}
	}
	slices.Sort(names)
	log.Printf("held-out (never trained), threshold 0.5:")
	var tot metrics
	for _, n := range names {
		m := by[n]
		log.Printf("  %-40s n=%5d  FPR %.4f  recall %.4f", n, m.tp+m.fp+m.tn+m.fn, m.fpr(), m.recall())
		tot.tp += m.tp
		tot.fp += m.fp
		tot.tn += m.tn
		tot.fn += m.fn
	}
	log.Printf("  %-40s n=%5d  FPR %.4f", "all benign", tot.fp+tot.tn, tot.fpr())
	for _, f := range fps {
		log.Printf("    FP %s", f)
	}
}

// reportOutside prints how many of the out-of-scope items (never trained on, not
// part of the cross-validated figures) the final model flags: informational, since
// these texts are not injections when read alone.
func reportOutside(c *inject.Classifier, items []corpus.Item) {
	if len(items) == 0 {
		return
	}
	type key struct{ reason, corpus string }
	by := map[key]*metrics{}
	var keys []key
	for _, it := range items {
		k := key{it.OutOfScope, it.Corpus}
		m := by[k]
		if m == nil {
			m = &metrics{}
			by[k] = m
			keys = append(keys, k)
		}
		m.add(true, c.Score(it.Text) >= 0.5)
	}
	slices.SortFunc(keys, func(a, b key) int { return strings.Compare(a.reason+a.corpus, b.reason+b.corpus) })
	log.Printf("out of scope (labelled injection, not one when read alone; never trained), threshold 0.5:")
	for _, k := range keys {
		m := by[k]
		log.Printf("  %-18s %-40s n=%5d  flagged %.4f", k.reason, k.corpus, m.tp+m.fn, m.recall())
	}
}

func trunc(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func writeJSONL(path string, items []corpus.Item) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, it := range items {
		label := "benign"
		if it.Injection {
			label = "injection"
		}
		if err := enc.Encode(map[string]string{"text": it.Text, "label": label, "source": it.Corpus}); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// printGroups prints the out-of-fold figures per corpus and the groups the
// classifier does worst on.
func printGroups(items []corpus.Item, raw []float64) {
	type agg struct {
		m    metrics
		name string
	}
	byCorpus, byGrp := map[string]*agg{}, map[string]*agg{}
	get := func(m map[string]*agg, k string) *agg {
		a := m[k]
		if a == nil {
			a = &agg{name: k}
			m[k] = a
		}
		return a
	}
	for i, it := range items {
		get(byCorpus, it.Corpus).m.add(it.Injection, raw[i] >= 0)
		get(byGrp, it.Group).m.add(it.Injection, raw[i] >= 0)
	}
	sorted := func(m map[string]*agg) []*agg {
		var out []*agg
		for _, a := range m {
			out = append(out, a)
		}
		slices.SortFunc(out, func(a, b *agg) int { return strings.Compare(a.name, b.name) })
		return out
	}
	log.Printf("out-of-fold by corpus:")
	for _, a := range sorted(byCorpus) {
		log.Printf("  %-42s pos %5d recall %.3f | neg %5d FPR %.4f", a.name, a.m.tp+a.m.fn, a.m.recall(), a.m.tn+a.m.fp, a.m.fpr())
	}
	log.Printf("out-of-fold groups with misses (positives: recall < 0.9; negatives: FPR > 0.05):")
	for _, a := range sorted(byGrp) {
		np, nn := a.m.tp+a.m.fn, a.m.tn+a.m.fp
		if np > 0 && a.m.recall() < 0.9 || nn > 0 && a.m.fpr() > 0.05 {
			log.Printf("  %-60s fold %d pos %4d recall %.3f | neg %4d FPR %.3f", trunc(a.name, 60), corpus.Hash(a.name)%5, np, a.m.recall(), nn, a.m.fpr())
		}
	}
}
