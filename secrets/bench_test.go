package secrets

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/internal/lineartest"
)

// proseCorpus returns about n bytes of ordinary English text (no secrets).
func proseCorpus(n int) string {
	para := `The quarterly report shows that the team delivered the new billing page on time,
and the customer satisfaction score rose by four points. Next quarter we plan to migrate
the remaining services to the new cluster, review the on-call rotation, and write down how
password resets and API key rotation are handled, so that the support desk can answer
questions without paging an engineer. Please send your comments to the mailing list by
Friday; the meeting notes, the budget table and the token usage graphs are attached.
`
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(para)
	}
	return b.String()
}

// goCorpus returns Go source from GOROOT (ordinary code), or prose if absent.
func goCorpus(tb testing.TB, n int) string {
	files, _ := filepath.Glob(filepath.Join(runtime.GOROOT(), "src", "net", "http", "*.go"))
	var b strings.Builder
	for _, f := range files {
		if data, err := os.ReadFile(f); err == nil {
			b.Write(data)
		}
		if b.Len() >= n {
			break
		}
	}
	if b.Len() == 0 {
		tb.Log("GOROOT sources not found; using prose")
		return proseCorpus(n)
	}
	return b.String()
}

func benchScan(b *testing.B, text string) {
	s, err := NewScanner(ScannerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	cpu0 := lineartest.CPUTime()
	for range b.N {
		_ = s.Scan(text)
	}
	if cpu := lineartest.CPUTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(len(text))*float64(b.N)/1e6/cpu.Seconds(), "MB/cpu-s")
	}
}

func BenchmarkScanProse(b *testing.B)  { benchScan(b, proseCorpus(1<<20)) }
func BenchmarkScanGoCode(b *testing.B) { benchScan(b, goCorpus(b, 1<<20)) }

func BenchmarkScanWithSecrets(b *testing.B) {
	text := proseCorpus(1<<20) + "\naws_secret_access_key = \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"\n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\n"
	benchScan(b, text)
}

func BenchmarkNewScanner(b *testing.B) {
	for range b.N {
		if _, err := NewScanner(ScannerConfig{}); err != nil {
			b.Fatal(err)
		}
	}
}
