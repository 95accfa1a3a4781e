package redistest_test

import (
	"context"
	"testing"

	"github.com/agentguard/agentguard/scope/state/redistest"
)

// A test that needs Redis starts its own server, or is skipped when
// redis-server is not installed.
func ExampleStart() {
	_ = func(t *testing.T) {
		srv := redistest.Start(t)
		c := srv.Client(t)
		if err := c.Ping(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
	}
}
