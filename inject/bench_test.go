package inject

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/agentguard/agentguard/guard"
)

// benchText is about 1 KB of ordinary tool output with an e-mail in it.
var benchText = strings.Repeat("From: Maria Lopez <maria@example.com>\nSubject: Q3 planning\n\nHi all, the planning meeting moved to Thursday at 10:00 in room 4B. Please bring the roadmap slides and the budget table; ignore the earlier invite. Thanks, Maria\n", 5)[:1024]

// cpuMetric reports CPU nanoseconds per operation and CPU-time throughput.
func cpuMetric(b *testing.B, start time.Duration, bytes int) {
	cpu := processCPU() - start
	if cpu <= 0 {
		return
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(bytes)*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
}

func BenchmarkNormalize1KB(b *testing.B) {
	b.SetBytes(int64(len(benchText)))
	start := processCPU()
	for b.Loop() {
		Normalize(benchText)
	}
	cpuMetric(b, start, len(benchText))
}

func BenchmarkRules1KB(b *testing.B) {
	r, err := NewRules(0)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	in := guard.Text{Content: benchText, Provenance: guard.ProvenanceToolResult}
	b.SetBytes(int64(len(benchText)))
	start := processCPU()
	for b.Loop() {
		if _, err := r.DetectInjection(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	cpuMetric(b, start, len(benchText))
}

func BenchmarkDetector1KB(b *testing.B) {
	d, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	in := guard.Text{Content: benchText, Provenance: guard.ProvenanceToolResult}
	b.SetBytes(int64(len(benchText)))
	b.ReportAllocs()
	start := processCPU()
	for b.Loop() {
		if _, err := d.DetectInjection(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	cpuMetric(b, start, len(benchText))
}
