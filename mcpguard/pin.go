package mcpguard

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ToolDigest returns the digest pinned for a tool definition: SHA-256 over a
// canonical JSON encoding of the tool's name, title, description, input and output
// schemas, annotations, icons and _meta (everything a model reads or a client
// trusts or renders, such as a UI resource named in _meta). Object
// keys are sorted and numbers kept as written, so two encodings of the same
// definition have the same digest; any change to a description, a parameter's
// description or a schema changes it. The result looks like "sha256:<hex>".
func ToolDigest(t *mcp.Tool) (string, error) {
	if t == nil {
		return "", errors.New("mcpguard: nil tool")
	}
	parts := map[string]any{"name": t.Name, "title": t.Title, "description": t.Description}
	for k, v := range map[string]any{"inputSchema": t.InputSchema, "outputSchema": t.OutputSchema,
		"annotations": t.Annotations, "icons": t.Icons, "_meta": t.Meta} {
		raw, err := json.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("mcpguard: digest %s of %q: %w", k, truncate(t.Name, 64), err)
		}
		dv, err := decodeStrict(raw)
		if err != nil {
			return "", fmt.Errorf("mcpguard: digest %s of %q: %w", k, truncate(t.Name, 64), err)
		}
		parts[k] = dv
	}
	canon, err := canonicalJSON(parts)
	if err != nil {
		return "", fmt.Errorf("mcpguard: digest of %q: %w", truncate(t.Name, 64), err)
	}
	sum := sha256.Sum256(canon)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// PinStore keeps the pinned digest of each tool definition. Keys are
// "<server>/<tool>" (see [PinKey]). Implementations must be safe for concurrent
// use; a store shared by several replicas (for example one backed by Redis) must
// make PinIfAbsent atomic.
type PinStore interface {
	// GetPin returns the digest pinned for key, and false when none is.
	GetPin(ctx context.Context, key string) (digest string, ok bool, err error)
	// PinIfAbsent pins digest for key unless a pin exists, and returns the digest
	// pinned after the call (the existing one, or digest).
	PinIfAbsent(ctx context.Context, key, digest string) (pinned string, err error)
	// SetPin replaces the pin for key. It is how a changed definition is
	// re-approved.
	SetPin(ctx context.Context, key, digest string) error
}

// PinKey returns the store key for a server's tool.
func PinKey(server, tool string) string { return server + "/" + tool }

// MemoryPinStore is an in-memory [PinStore]. Its zero value is ready to use. Pins
// last as long as the process; use [FilePinStore] or a shared store to remember
// them across restarts (a rug pull usually happens between two runs).
type MemoryPinStore struct {
	mu   sync.Mutex
	pins map[string]string
}

var _ PinStore = (*MemoryPinStore)(nil)

// GetPin implements [PinStore].
func (s *MemoryPinStore) GetPin(_ context.Context, key string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.pins[key]
	return d, ok, nil
}

// PinIfAbsent implements [PinStore].
func (s *MemoryPinStore) PinIfAbsent(_ context.Context, key, digest string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.pins[key]; ok {
		return d, nil
	}
	if s.pins == nil {
		s.pins = map[string]string{}
	}
	s.pins[key] = digest
	return digest, nil
}

// SetPin implements [PinStore].
func (s *MemoryPinStore) SetPin(_ context.Context, key, digest string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pins == nil {
		s.pins = map[string]string{}
	}
	s.pins[key] = digest
	return nil
}

// FilePinStore is a [PinStore] kept in a JSON file (an object from key to digest),
// rewritten atomically (write to a temporary file, then rename) on every change.
// It serialises access within one process only: two processes sharing a file
// may lose each other's new pins (never replace an existing one with a
// different digest without SetPin, since each re-reads the file before writing).
type FilePinStore struct {
	path string
	mu   sync.Mutex
}

var _ PinStore = (*FilePinStore)(nil)

// NewFilePinStore returns a store backed by path. The file need not exist; it is
// created with mode 0600 on the first pin. An existing file that is not a valid
// pin file is an error.
func NewFilePinStore(path string) (*FilePinStore, error) {
	if path == "" {
		return nil, errors.New("mcpguard: pin store: empty path")
	}
	s := &FilePinStore{path: path}
	if _, err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *FilePinStore) load() (map[string]string, error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mcpguard: pin store: %w", err)
	}
	pins := map[string]string{}
	if err := json.Unmarshal(data, &pins); err != nil {
		return nil, fmt.Errorf("mcpguard: pin store %s: %w", s.path, err)
	}
	return pins, nil
}

func (s *FilePinStore) save(pins map[string]string) error {
	data, err := json.MarshalIndent(pins, "", "  ")
	if err != nil {
		return fmt.Errorf("mcpguard: pin store: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(s.path), ".pins-*.tmp")
	if err != nil {
		return fmt.Errorf("mcpguard: pin store: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(append(data, '\n'))
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("mcpguard: pin store: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("mcpguard: pin store: %w", err)
	}
	return nil
}

// GetPin implements [PinStore].
func (s *FilePinStore) GetPin(_ context.Context, key string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pins, err := s.load()
	if err != nil {
		return "", false, err
	}
	d, ok := pins[key]
	return d, ok, nil
}

// PinIfAbsent implements [PinStore].
func (s *FilePinStore) PinIfAbsent(_ context.Context, key, digest string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pins, err := s.load()
	if err != nil {
		return "", err
	}
	if d, ok := pins[key]; ok {
		return d, nil
	}
	pins[key] = digest
	return digest, s.save(pins)
}

// SetPin implements [PinStore].
func (s *FilePinStore) SetPin(_ context.Context, key, digest string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	pins, err := s.load()
	if err != nil {
		return err
	}
	pins[key] = digest
	return s.save(pins)
}

// Pins returns a copy of every pin in the file.
func (s *FilePinStore) Pins() (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pins, err := s.load()
	return maps.Clone(pins), err
}

// KV is the part of a shared key/value store a [KVPinStore] needs. The stores of
// package scope/state (in-memory and Redis) implement it, so many replicas can
// share one set of pins.
type KV interface {
	Get(ctx context.Context, key string) (val []byte, ok bool, err error)
	PutIfAbsent(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error)
	CompareAndSwap(ctx context.Context, key string, old, val []byte, ttl time.Duration) (bool, error)
}

// KVPinStore is a [PinStore] over a shared [KV] store. Pins never expire.
type KVPinStore struct {
	kv     KV
	prefix string
}

var _ PinStore = (*KVPinStore)(nil)

// NewKVPinStore returns a pin store keeping pins in kv under prefix (for
// example "mcp-pins/"). A nil kv is an error.
func NewKVPinStore(kv KV, prefix string) (*KVPinStore, error) {
	if isNilInterface(kv) {
		return nil, fmt.Errorf("mcpguard: kv pin store: nil store: %w", guard.ErrNilPolicy)
	}
	return &KVPinStore{kv: kv, prefix: prefix}, nil
}

// GetPin implements [PinStore].
func (s *KVPinStore) GetPin(ctx context.Context, key string) (string, bool, error) {
	v, ok, err := s.kv.Get(ctx, s.prefix+key)
	if err != nil {
		return "", false, fmt.Errorf("mcpguard: pin store: %w", err)
	}
	return string(v), ok, nil
}

// PinIfAbsent implements [PinStore]; the store's PutIfAbsent makes it atomic
// across replicas.
func (s *KVPinStore) PinIfAbsent(ctx context.Context, key, digest string) (string, error) {
	for range 8 {
		stored, err := s.kv.PutIfAbsent(ctx, s.prefix+key, []byte(digest), 0)
		if err != nil {
			return "", fmt.Errorf("mcpguard: pin store: %w", err)
		}
		if stored {
			return digest, nil
		}
		d, ok, err := s.GetPin(ctx, key)
		if err != nil {
			return "", err
		}
		if ok {
			return d, nil
		}
		// Deleted between the two calls: try again.
	}
	return "", errors.New("mcpguard: pin store: contention on " + truncate(key, 100))
}

// SetPin implements [PinStore].
func (s *KVPinStore) SetPin(ctx context.Context, key, digest string) error {
	for range 8 {
		old, ok, err := s.GetPin(ctx, key)
		if err != nil {
			return err
		}
		var done bool
		if ok {
			done, err = s.kv.CompareAndSwap(ctx, s.prefix+key, []byte(old), []byte(digest), 0)
		} else {
			done, err = s.kv.PutIfAbsent(ctx, s.prefix+key, []byte(digest), 0)
		}
		if err != nil {
			return fmt.Errorf("mcpguard: pin store: %w", err)
		}
		if done {
			return nil
		}
	}
	return errors.New("mcpguard: pin store: contention on " + truncate(key, 100))
}
