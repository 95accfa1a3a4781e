package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/agentguard/agentguard/guard"
)

// RemoteConfig configures a [Remote] backend: a hosted sandbox service with an
// E2B-style HTTP API (see [Remote] for the protocol).
type RemoteConfig struct {
	// BaseURL is the service's API root, for example "https://sandbox.example.com/v1".
	// It must be https, except on a loopback host.
	BaseURL string
	// APIKey is sent in the X-API-Key header. It never appears in errors or logs.
	APIKey guard.Secret
	// Template names the sandbox image to start (the service's default if empty).
	Template string
	// Timeout bounds every run (default [DefaultTimeout]); the service is told
	// it too, and the HTTP exchange gets a few seconds more.
	Timeout time.Duration
	// MaxOutput bounds stdout and stderr, each (default [DefaultMaxOutput]);
	// longer output from the service is truncated and reported as the output limit.
	MaxOutput int
	// Client is the HTTP client (default: a client with no redirects).
	Client *http.Client
}

// Remote runs code in a hosted sandbox service, so an application that
// outgrows one machine keeps the same [guard.Sandbox]. One run is three calls:
//
//	POST   {base}/sandboxes                 {"templateID","timeoutMs"} -> {"sandboxID"}
//	POST   {base}/sandboxes/{id}/execute    {"language","code","args","stdin","timeoutMs"}
//	                                        -> {"stdout","stderr","exitCode","limit"}
//	DELETE {base}/sandboxes/{id}
//
// stdin is base64 (JSON []byte). A session ([Remote.NewSession]) keeps one
// sandbox for many runs. The service is trusted to isolate; this client only
// bounds what it accepts back.
type Remote struct {
	cfg  RemoteConfig
	base *url.URL
}

var _ guard.Sandbox = (*Remote)(nil)

// NewRemote returns a remote backend.
func NewRemote(cfg RemoteConfig) (*Remote, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("sandbox: remote base URL %q is not an absolute URL", cfg.BaseURL)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		return nil, fmt.Errorf("sandbox: remote base URL must be https (http only on loopback)")
	}
	if u.User != nil {
		return nil, errors.New("sandbox: remote base URL must not carry credentials; use APIKey")
	}
	if cfg.APIKey.IsZero() {
		return nil, errors.New("sandbox: remote backend needs an API key")
	}
	if cfg.Timeout < 0 || cfg.MaxOutput < 0 {
		return nil, errors.New("sandbox: negative limit in remote config")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxOutput == 0 {
		cfg.MaxOutput = DefaultMaxOutput
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &Remote{cfg: cfg, base: u}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type remoteCreate struct {
	TemplateID string `json:"templateID,omitempty"`
	TimeoutMs  int64  `json:"timeoutMs"`
}

type remoteCreated struct {
	SandboxID string `json:"sandboxID"`
}

type remoteExec struct {
	Language  string   `json:"language"`
	Code      string   `json:"code,omitempty"`
	Module    []byte   `json:"module,omitempty"`
	Args      []string `json:"args,omitempty"`
	Stdin     []byte   `json:"stdin,omitempty"`
	TimeoutMs int64    `json:"timeoutMs"`
}

type remoteResult struct {
	Stdout   string `json:"stdout"`
	Stderr   string `json:"stderr"`
	ExitCode int    `json:"exitCode"`
	Limit    string `json:"limit"`
}

// Exec starts a sandbox, runs code in it and deletes it.
func (r *Remote) Exec(ctx context.Context, code guard.Code) (*guard.Execution, error) {
	s, err := r.NewSession(ctx)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Exec(ctx, code)
}

// RemoteSession is one sandbox of a [Remote] service kept for many runs.
type RemoteSession struct {
	r  *Remote
	id string
}

var _ guard.Sandbox = (*RemoteSession)(nil)

// NewSession starts a sandbox on the service.
func (r *Remote) NewSession(ctx context.Context) (*RemoteSession, error) {
	var created remoteCreated
	if err := r.call(ctx, http.MethodPost, "/sandboxes", remoteCreate{TemplateID: r.cfg.Template,
		TimeoutMs: r.cfg.Timeout.Milliseconds()}, &created, 4<<10); err != nil {
		return nil, err
	}
	if created.SandboxID == "" || strings.ContainsAny(created.SandboxID, "/?#%") || len(created.SandboxID) > 128 {
		return nil, errors.New("sandbox: remote service returned an invalid sandbox id")
	}
	return &RemoteSession{r: r, id: created.SandboxID}, nil
}

// Exec runs code in the session's sandbox.
func (s *RemoteSession) Exec(ctx context.Context, code guard.Code) (*guard.Execution, error) {
	start := time.Now()
	var res remoteResult
	// The service enforces the run's time limit; the HTTP exchange gets 5 s
	// more before this side gives up on it.
	hctx, cancel := context.WithTimeout(ctx, s.r.cfg.Timeout+5*time.Second)
	defer cancel()
	err := s.r.call(hctx, http.MethodPost, "/sandboxes/"+url.PathEscape(s.id)+"/execute", remoteExec{
		Language: code.Lang, Code: code.Source, Module: code.Module, Args: code.Args, Stdin: code.Stdin,
		TimeoutMs: s.r.cfg.Timeout.Milliseconds()}, &res, int64(12*s.r.cfg.MaxOutput)+16<<10)
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil, err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return &guard.Execution{ExitCode: -1, LimitHit: guard.LimitTime, Duration: time.Since(start)}, nil
		}
		return nil, err
	}
	ex := &guard.Execution{Stdout: []byte(res.Stdout), Stderr: []byte(res.Stderr), ExitCode: res.ExitCode,
		LimitHit: guard.Limit(res.Limit), Duration: time.Since(start)}
	switch ex.LimitHit {
	case guard.LimitNone, guard.LimitTime, guard.LimitMemory, guard.LimitOutput, guard.LimitModule, guard.LimitProcess:
	default:
		ex.LimitHit = guard.LimitProcess
	}
	if len(ex.Stdout) > s.r.cfg.MaxOutput || len(ex.Stderr) > s.r.cfg.MaxOutput {
		ex.Stdout = ex.Stdout[:min(len(ex.Stdout), s.r.cfg.MaxOutput)]
		ex.Stderr = ex.Stderr[:min(len(ex.Stderr), s.r.cfg.MaxOutput)]
		ex.LimitHit = guard.LimitOutput
	}
	return ex, nil
}

// Close deletes the session's sandbox.
func (s *RemoteSession) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.r.call(ctx, http.MethodDelete, "/sandboxes/"+url.PathEscape(s.id), nil, nil, 4<<10)
}

// call sends one JSON request and decodes a JSON answer of at most limit bytes.
// Its errors name the operation and status, never the API key or the body.
func (r *Remote) call(ctx context.Context, method, path string, in, out any, limit int64) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("sandbox: remote: %w", err)
		}
		body = bytes.NewReader(b)
	}
	u := *r.base
	u.Path += path
	u.RawPath = ""
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("sandbox: remote: %w", err)
	}
	req.Header.Set("X-API-Key", r.cfg.APIKey.Reveal())
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is ours; keep the cause only
		}
		return fmt.Errorf("sandbox: remote %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("sandbox: remote %s %s: status %d", method, path, resp.StatusCode)
	}
	if out == nil {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fmt.Errorf("sandbox: remote %s %s: %w", method, path, err)
	}
	if int64(len(b)) > limit {
		return fmt.Errorf("sandbox: remote %s %s: response over %d bytes", method, path, limit)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("sandbox: remote %s %s: bad JSON answer: %w", method, path, err)
	}
	return nil
}
