package sanitize_test

import "os/exec"

// lookPath finds a program for the examples.
func lookPath(name string) (string, error) { return exec.LookPath(name) }
