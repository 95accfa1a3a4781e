package sandbox

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// errOutputLimit is returned to the guest's write when a stream is full.
var errOutputLimit = errors.New("sandbox: output limit reached")

// cappedWriter keeps at most limit bytes. The first write past the limit keeps
// what fits, records the hit, calls stop (which cancels the run) and fails, so a
// guest that floods its output is stopped rather than merely truncated.
type cappedWriter struct {
	mu    sync.Mutex
	buf   []byte
	limit int
	hit   bool
	stop  func()
}

func (w *cappedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.hit {
		return 0, errOutputLimit
	}
	if room := w.limit - len(w.buf); len(p) > room {
		w.buf = append(w.buf, p[:max(room, 0)]...)
		w.hit = true
		if w.stop != nil {
			w.stop()
		}
		return max(room, 0), errOutputLimit
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

func (w *cappedWriter) result() ([]byte, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf, w.hit
}

// memLimit is a wazero memory allocator that refuses to grow a guest's linear
// memory past limit bytes and records that it refused, so a run stopped by its
// memory limit can be reported as such. Sandboxes always install it: it is the
// memory limit.
type memLimit struct {
	limit uint64
	hit   atomic.Bool
}

var _ experimental.MemoryAllocator = (*memLimit)(nil)

func (a *memLimit) Allocate(capBytes, _ uint64) experimental.LinearMemory {
	return &linearMemory{a: a, hint: min(capBytes, a.limit)}
}

type linearMemory struct {
	a    *memLimit
	hint uint64
	buf  []byte
}

func (m *linearMemory) Reallocate(size uint64) []byte {
	if size > m.a.limit {
		m.a.hit.Store(true)
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	// Grow by a quarter beyond the request (never past the limit) so a guest
	// that grows page by page does not copy its memory every time.
	newCap := min(max(size+size/4, m.hint), m.a.limit)
	nb := make([]byte, size, newCap)
	copy(nb, m.buf)
	m.buf = nb
	return nb
}

func (m *linearMemory) Free() { m.buf = nil }
