// Package evaluate runs labelled JSONL through injection detectors and reports
// precision, recall, false-positive rate, balanced accuracy and throughput. It
// backs `agentguard scan --eval` and `go run ./inject/internal/eval`.
package evaluate

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agentguard/agentguard/guard"
)

// Sample is one labelled text.
type Sample struct {
	Text      string
	Injection bool
	Source    string
}

// Read parses JSONL with "text" and "label" (injection or jailbreak: positive;
// benign, or any other label: negative; a boolean "injection" field is accepted
// instead of "label"). Lines that do not parse are errors naming the line.
func Read(r io.Reader) ([]Sample, error) {
	var out []Sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var rec struct {
			Text      *string `json:"text"`
			Label     any     `json:"label"`
			Injection *bool   `json:"injection"`
			Source    string  `json:"source"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if rec.Text == nil {
			return nil, fmt.Errorf("line %d: no \"text\" field", line)
		}
		s := Sample{Text: *rec.Text, Source: rec.Source}
		switch l := rec.Label.(type) {
		case string:
			s.Injection = l == "injection" || l == "jailbreak" || l == "1" || strings.EqualFold(l, "true")
		case float64:
			s.Injection = l != 0
		case bool:
			s.Injection = l
		case nil:
			if rec.Injection == nil {
				return nil, fmt.Errorf("line %d: no \"label\" field", line)
			}
			s.Injection = *rec.Injection
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// Named is a detector with a name for the report.
type Named struct {
	Name     string
	Detector guard.InjectionDetector
}

// Result holds one detector's figures.
type Result struct {
	Name           string
	TP, FP, TN, FN int
	Bytes          int
	Elapsed        time.Duration
	Errors         int
}

func div(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func (r Result) Precision() float64 { return div(float64(r.TP), float64(r.TP+r.FP)) }
func (r Result) Recall() float64    { return div(float64(r.TP), float64(r.TP+r.FN)) }
func (r Result) FPR() float64       { return div(float64(r.FP), float64(r.FP+r.TN)) }
func (r Result) BalancedAccuracy() float64 {
	switch {
	case r.TP+r.FN == 0:
		return 1 - r.FPR()
	case r.TN+r.FP == 0:
		return r.Recall()
	}
	return (r.Recall() + 1 - r.FPR()) / 2
}

// Run scores every sample with every detector at provenance p. Misclassified
// samples are passed to miss (if not nil).
func Run(ctx context.Context, samples []Sample, dets []Named, p guard.Provenance, miss func(det string, s Sample, d guard.Detection)) []Result {
	var out []Result
	for _, nd := range dets {
		r := Result{Name: nd.Name}
		start := time.Now()
		for _, s := range samples {
			d, err := nd.Detector.DetectInjection(ctx, guard.Text{Content: s.Text, Provenance: p})
			r.Bytes += len(s.Text)
			if err != nil {
				r.Errors++
				d.Injection = true // fail closed
			}
			switch {
			case s.Injection && d.Injection:
				r.TP++
			case s.Injection:
				r.FN++
			case d.Injection:
				r.FP++
			default:
				r.TN++
			}
			if s.Injection != d.Injection && miss != nil {
				miss(nd.Name, s, d)
			}
		}
		r.Elapsed = time.Since(start)
		out = append(out, r)
	}
	return out
}

// Print writes the results as a table.
func Print(w io.Writer, results []Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "detector\tn\tpos\tprecision\trecall\tFPR\tbal.acc\terrors\tMB/s\tµs/text\t")
	for _, r := range results {
		n := r.TP + r.FP + r.TN + r.FN
		mbps := div(float64(r.Bytes)/1e6, r.Elapsed.Seconds())
		us := div(float64(r.Elapsed.Microseconds()), float64(n))
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.4f\t%.4f\t%.4f\t%.4f\t%d\t%.1f\t%.1f\t\n", r.Name, n, r.TP+r.FN,
			r.Precision(), r.Recall(), r.FPR(), r.BalancedAccuracy(), r.Errors, mbps, us)
	}
	tw.Flush()
}
