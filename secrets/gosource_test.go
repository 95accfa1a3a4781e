package secrets

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestGoSourceFalsePositives scans ordinary source code (the Go standard
// library's non-test files in a few large packages, and their tests, which hold
// many test vectors and fake keys) and bounds the share of files with a finding.
// Set AGENTGUARD_SCAN_GOROOT=1 to scan all of GOROOT/src.
func TestGoSourceFalsePositives(t *testing.T) {
	root := filepath.Join(runtime.GOROOT(), "src")
	if _, err := os.Stat(root); err != nil {
		t.Skip("GOROOT/src not available")
	}
	dirs := []string{"net/http", "encoding/json", "go/types", "cmd/go/internal", "os", "runtime", "database/sql", "text/template", "log/slog", "strings"}
	suffix := ".go"
	if os.Getenv("AGENTGUARD_SCAN_GOROOT") != "" {
		dirs = []string{"."}
	}
	if d := os.Getenv("AGENTGUARD_SCAN_DIR"); d != "" {
		// Any directory of ordinary files, all extensions (by hand only).
		root, dirs, suffix = d, []string{"."}, ""
	}
	s, err := NewScanner(ScannerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var files, flagged, flaggedByName, bytes int
	perRule := map[string]int{}
	for _, d := range dirs {
		_ = filepath.WalkDir(filepath.Join(root, d), func(path string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() || !strings.HasSuffix(path, suffix) || strings.Contains(path, "testdata") || !de.Type().IsRegular() {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil || len(b) > 1<<20 || strings.IndexByte(string(b[:min(len(b), 512)]), 0) >= 0 {
				return nil // unreadable, large or binary
			}
			files++
			bytes += len(b)
			fs := s.Scan(string(b))
			if len(s.ScanFile(path, string(b))) > 0 {
				flaggedByName++
			}
			if len(fs) > 0 {
				flagged++
				for _, f := range fs {
					perRule[f.Rule]++
				}
				if testing.Verbose() {
					f := fs[0]
					t.Logf("%s: %s %.80q", strings.TrimPrefix(path, root), f.Rule, string(b[f.Start:f.End]))
				}
			}
			return nil
		})
	}
	rate := float64(flagged) / float64(max(files, 1))
	t.Logf("%d of %d files (%d MB) have a finding (%.2f%%); by rule: %v", flagged, files, bytes>>20, 100*rate, perRule)
	t.Logf("scanned with ScanFile (the file's language): %d files have a finding (%.2f%%)", flaggedByName, 100*float64(flaggedByName)/float64(max(files, 1)))
	if rate > 0.02 {
		t.Errorf("false-positive rate on Go source %.3f > 0.02", rate)
	}
}
