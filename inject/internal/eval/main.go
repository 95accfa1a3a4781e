// Command eval runs a labelled JSONL file through each injection detector and
// prints precision, recall, false-positive rate, balanced accuracy and throughput.
//
//	go run ./inject/internal/eval [-provenance tool_result] [-weights FILE] [-show N] FILE.jsonl...
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/inject"
	"github.com/agentguard/agentguard/inject/evaluate"
)

func main() {
	prov := flag.String("provenance", "tool_result", "provenance of the texts: user, tool_result, retrieved, unknown")
	weights := flag.String("weights", "", "classifier weights (default: embedded)")
	show := flag.Int("show", 0, "print up to N misclassified texts per detector")
	flag.Parse()
	log.SetFlags(0)
	p := guard.ProvenanceToolResult
	switch *prov {
	case "user":
		p = guard.ProvenanceUser
	case "retrieved":
		p = guard.ProvenanceRetrieved
	case "unknown":
		p = guard.ProvenanceUnknown
	case "tool_result":
	default:
		log.Fatalf("unknown provenance %q", *prov)
	}
	clf, err := inject.DefaultClassifier()
	if *weights != "" {
		var data []byte
		if data, err = os.ReadFile(*weights); err == nil {
			clf, err = inject.LoadClassifier(data)
		}
	}
	if err != nil {
		log.Fatal(err)
	}
	rules, err := inject.NewRules(0)
	if err != nil {
		log.Fatal(err)
	}
	ens, err := inject.New(inject.Config{Classifier: clf})
	if err != nil {
		log.Fatal(err)
	}
	dets := []evaluate.Named{{Name: "rules", Detector: rules}, {Name: "classifier", Detector: clf}, {Name: "ensemble", Detector: ens}}
	for _, f := range flag.Args() {
		fh, err := os.Open(f)
		if err != nil {
			log.Fatal(err)
		}
		samples, err := evaluate.Read(fh)
		fh.Close()
		if err != nil {
			log.Fatalf("%s: %v", f, err)
		}
		shown := map[string]int{}
		res := evaluate.Run(context.Background(), samples, dets, p, func(det string, s evaluate.Sample, d guard.Detection) {
			if shown[det] < *show {
				shown[det]++
				kind := "FN"
				if d.Injection {
					kind = "FP"
				}
				fmt.Printf("  %s %s %.2f %v [%s] %q\n", det, kind, d.Score, d.Rules, s.Source, trunc(s.Text, 200))
			}
		})
		fmt.Printf("%s (%d texts, provenance %s)\n", f, len(samples), p)
		evaluate.Print(os.Stdout, res)
	}
}

func trunc(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
