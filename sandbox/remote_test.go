package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/guardtest"
)

// fakeService is an E2B-style sandbox service: "python" code "print(X)"
// prints X, "loop" never ends, "flood" answers with too much output.
type fakeService struct {
	mu       sync.Mutex
	live     map[string]bool
	next     int
	keys     []string
	deleted  int
	lastExec remoteExec
}

func (f *fakeService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.keys = append(f.keys, r.Header.Get("X-API-Key"))
	f.mu.Unlock()
	if r.Header.Get("X-API-Key") != "sk-test" {
		http.Error(w, "no", http.StatusUnauthorized)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/v1")
	switch {
	case r.Method == http.MethodPost && path == "/sandboxes":
		f.mu.Lock()
		f.next++
		id := fmt.Sprintf("sb%d", f.next)
		f.live[id] = true
		f.mu.Unlock()
		json.NewEncoder(w).Encode(remoteCreated{SandboxID: id})
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/execute"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/sandboxes/"), "/execute")
		var in remoteExec
		json.NewDecoder(r.Body).Decode(&in)
		f.mu.Lock()
		ok := f.live[id]
		f.lastExec = in
		f.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		switch {
		case in.Code == "loop":
			select {
			case <-r.Context().Done():
			case <-time.After(time.Duration(in.TimeoutMs) * time.Millisecond):
				json.NewEncoder(w).Encode(remoteResult{ExitCode: -1, Limit: "time"})
			}
		case in.Code == "flood":
			json.NewEncoder(w).Encode(remoteResult{Stdout: strings.Repeat("x", 1500)})
		case in.Code == "huge":
			json.NewEncoder(w).Encode(remoteResult{Stdout: strings.Repeat("x", 1<<20)})
		case in.Code == "weird":
			json.NewEncoder(w).Encode(remoteResult{Limit: "nonsense", ExitCode: 1})
		case strings.HasPrefix(in.Code, "print(") && strings.HasSuffix(in.Code, ")"):
			json.NewEncoder(w).Encode(remoteResult{Stdout: in.Code[6:len(in.Code)-1] + "\n" + string(in.Stdin)})
		default:
			json.NewEncoder(w).Encode(remoteResult{Stderr: "SyntaxError", ExitCode: 1})
		}
	case r.Method == http.MethodDelete && strings.HasPrefix(path, "/sandboxes/"):
		f.mu.Lock()
		delete(f.live, strings.TrimPrefix(path, "/sandboxes/"))
		f.deleted++
		f.mu.Unlock()
	default:
		http.NotFound(w, r)
	}
}

func newFake(t *testing.T) (*fakeService, *httptest.Server) {
	f := &fakeService{live: map[string]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func TestRemote(t *testing.T) {
	f, srv := newFake(t)
	r, err := NewRemote(RemoteConfig{BaseURL: srv.URL + "/v1", APIKey: guard.NewSecret("e2b", "sk-test"), Timeout: 2 * time.Second, MaxOutput: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		code  guard.Code
		out   string
		exit  int
		limit guard.Limit
	}{
		{"runs", guard.Code{Lang: "python", Source: "print(2)", Stdin: []byte("in")}, "2\nin", 0, ""},
		{"program error", guard.Code{Lang: "python", Source: "?"}, "", 1, ""},
		{"output over the cap", guard.Code{Lang: "python", Source: "flood"}, strings.Repeat("x", 1<<10), 0, guard.LimitOutput},
		{"unknown limit name", guard.Code{Lang: "python", Source: "weird"}, "", 1, guard.LimitProcess},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex, err := r.Exec(t.Context(), tt.code)
			if err != nil {
				t.Fatal(err)
			}
			if string(ex.Stdout) != tt.out || ex.ExitCode != tt.exit || ex.LimitHit != tt.limit {
				t.Fatalf("got %q %d %q", ex.Stdout, ex.ExitCode, ex.LimitHit)
			}
		})
	}
	// An answer far over the bound is refused, not buffered.
	if _, err := r.Exec(t.Context(), guard.Code{Lang: "python", Source: "huge"}); err == nil {
		t.Error("a 1 MiB answer was accepted")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.live) != 0 || f.deleted != len(tests)+1 {
		t.Errorf("sandboxes left running: %v (deleted %d)", f.live, f.deleted)
	}
}

func TestRemoteConformance(t *testing.T) {
	_, srv := newFake(t)
	r, err := NewRemote(RemoteConfig{BaseURL: srv.URL + "/v1", APIKey: guard.NewSecret("e2b", "sk-test"), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	guardtest.TestSandbox(t, r, guardtest.SandboxCases{
		OK: guard.Code{Lang: "python", Source: "print(2)"}, WantStdout: "2\n",
		Forever: guard.Code{Lang: "python", Source: "loop"},
	})
}

func TestRemoteSessionAndErrors(t *testing.T) {
	f, srv := newFake(t)
	r, err := NewRemote(RemoteConfig{BaseURL: srv.URL + "/v1", APIKey: guard.NewSecret("e2b", "sk-test")})
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.NewSession(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if ex, err := s.Exec(t.Context(), guard.Code{Lang: "python", Source: "print(1)"}); err != nil || string(ex.Stdout) != "1\n" {
			t.Fatalf("%v %+v", err, ex)
		}
	}
	s.Close()
	if _, err := s.Exec(t.Context(), guard.Code{Lang: "python", Source: "print(1)"}); err == nil {
		t.Error("ran in a deleted sandbox")
	}
	// A wrong key is an error that does not carry the key.
	bad, _ := NewRemote(RemoteConfig{BaseURL: srv.URL, APIKey: guard.NewSecret("e2b", "sk-wrong-value")})
	_, err = bad.Exec(t.Context(), guard.Code{Lang: "python", Source: "print(1)"})
	if err == nil || strings.Contains(err.Error(), "sk-wrong") {
		t.Errorf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := r.Exec(ctx, guard.Code{Lang: "python", Source: "print(1)"}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	_ = f
}

func TestRemoteConfig(t *testing.T) {
	key := guard.NewSecret("k", "v")
	for _, cfg := range []RemoteConfig{
		{BaseURL: "http://sandbox.example.com", APIKey: key}, // plain http off loopback
		{BaseURL: "https://user:pw@sandbox.example.com", APIKey: key},
		{BaseURL: "https://sandbox.example.com"}, // no key
		{BaseURL: "sandbox.example.com", APIKey: key},
		{BaseURL: "https://sandbox.example.com", APIKey: key, Timeout: -1},
	} {
		if _, err := NewRemote(cfg); err == nil {
			t.Errorf("NewRemote(%+v) succeeded", cfg.BaseURL)
		}
	}
}
