package sandbox

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// The process backend re-executes this test binary as its confined child.
	Main()
	os.Exit(m.Run())
}
