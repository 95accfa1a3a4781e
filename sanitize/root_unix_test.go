//go:build unix

package sanitize

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/agentguard/agentguard/guard"
)

func TestRootFIFO(t *testing.T) {
	docs, _ := newJail(t)
	if err := syscall.Mkfifo(filepath.Join(docs, "pipe"), 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	r, err := OpenRoot(docs, RootConfig{})
	must(t, err)
	defer r.Close()
	// Must return promptly (non-blocking open) and refuse.
	if _, err := r.ReadFile("pipe"); !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("FIFO read: %v", err)
	}
}
