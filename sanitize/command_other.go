//go:build !unix

package sanitize

import "os/exec"

// setProcessGroup is a no-op where process groups are not available: only the
// command itself is killed on cancellation.
func setProcessGroup(*exec.Cmd) {}
