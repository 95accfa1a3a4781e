package statetest_test

import (
	"testing"

	"github.com/agentguard/agentguard/scope/state"
	"github.com/agentguard/agentguard/scope/state/statetest"
)

// A store implementation runs the suite from its own tests.
func ExampleTestStore() {
	_ = func(t *testing.T) {
		statetest.TestStore(t, func(t *testing.T) (state.Store, state.Store) {
			s := state.NewMemory() // your store here; two clients of it for a shared one
			return s, s
		})
	}
}
