package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// newFlags returns a flag set for a command whose -h/--help prints the command's
// usage to stdout.
func newFlags(e *env, c *command) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args and reports whether the command should go on; when not,
// code is the exit status (0 for --help, 2 for a bad flag).
func parseFlags(e *env, c *command, fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, c.usage)
			return exitOK, false
		}
		fmt.Fprintf(e.stderr, "agentguard %s: %v\nRun \"agentguard %s --help\" for usage.\n", c.name, err, c.name)
		return exitUsage, false
	}
	return 0, true
}
