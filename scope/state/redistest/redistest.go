package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RequireEnv names the environment variable that, when set to anything, turns a
// missing redis-server from a skip into a test failure (for CI that installs it).
const RequireEnv = "AGENTGUARD_REQUIRE_REDIS"

// Server is a running redis-server.
type Server struct {
	// Addr is the server's host:port on the loopback interface.
	Addr string
}

// Client returns a new client for the server, closed when the test ends. Each
// call returns an independent client with its own connection pool, standing in
// for a separate replica.
func (s *Server) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, PoolSize: 32})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Start starts a redis-server for the test, or skips the test when none is
// installed.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		const msg = "redistest: redis-server not on PATH; install it (Debian: apt-get install -y redis-server) to run the Redis tests"
		if os.Getenv(RequireEnv) != "" {
			tb.Fatal(msg + " (" + RequireEnv + " is set, so this is a failure)")
		}
		tb.Skip(msg)
	}
	var lastErr error
	for range 3 { // a port picked free can be taken before the server binds it
		s, err := start(tb, bin)
		if err == nil {
			return s
		}
		lastErr = err
	}
	tb.Fatalf("redistest: %v", lastErr)
	return nil
}

func start(tb testing.TB, bin string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("pick port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	dir := tb.TempDir()
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--dir", dir, "--save", "", "--appendonly", "no",
		"--protected-mode", "yes", "--daemonize", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-done
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-done:
			return nil, fmt.Errorf("redis-server on port %d exited early", port)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("redis-server on port %d not ready: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Cleanup(stop)
	return &Server{Addr: addr}, nil
}
