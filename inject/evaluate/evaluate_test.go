package evaluate

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/guard"
)

func TestRead(t *testing.T) {
	in := `{"text": "a", "label": "injection"}
{"text": "b", "label": "jailbreak"}
{"text": "c", "label": "benign"}
{"text": "d", "label": 1}
{"text": "e", "injection": false}

`
	s, err := Read(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, true, false, true, false}
	if len(s) != len(want) {
		t.Fatalf("%d samples", len(s))
	}
	for i, w := range want {
		if s[i].Injection != w {
			t.Errorf("sample %d: %v", i, s[i].Injection)
		}
	}
	for _, bad := range []string{`{"label": "benign"}`, `not json`, `{"text": "x"}`} {
		if _, err := Read(strings.NewReader(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRunAndPrint(t *testing.T) {
	samples := []Sample{{Text: "bad", Injection: true}, {Text: "bad too", Injection: true}, {Text: "fine"}, {Text: "bad but benign"}}
	det := guard.InjectionDetectorFunc(func(_ context.Context, in guard.Text) (guard.Detection, error) {
		return guard.Detection{Injection: strings.HasPrefix(in.Content, "bad")}, nil
	})
	var misses int
	res := Run(context.Background(), samples, []Named{{Name: "prefix", Detector: det}}, guard.ProvenanceToolResult,
		func(string, Sample, guard.Detection) { misses++ })
	r := res[0]
	if r.TP != 2 || r.FP != 1 || r.TN != 1 || r.FN != 0 || misses != 1 {
		t.Fatalf("%+v misses=%d", r, misses)
	}
	if r.Recall() != 1 || r.FPR() != 0.5 || r.BalancedAccuracy() != 0.75 || r.Precision() != 2.0/3 {
		t.Errorf("metrics: recall %v FPR %v BA %v precision %v", r.Recall(), r.FPR(), r.BalancedAccuracy(), r.Precision())
	}
	var b bytes.Buffer
	Print(&b, res)
	if !strings.Contains(b.String(), "prefix") || !strings.Contains(b.String(), "0.7500") {
		t.Errorf("table:\n%s", b.String())
	}
}
