package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
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

// subcommand splits the arguments of a command that has subcommands (subs) into
// the subcommand and its arguments. A help flag prints c's usage; no
// subcommand, or an unknown one, is a usage error. ok is false when the command
// should return code at once.
func subcommand(e *env, c *command, args []string, subs ...string) (sub string, rest []string, code int, ok bool) {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, c.usage)
		return "", nil, exitUsage, false
	}
	switch {
	case slices.Contains(subs, args[0]):
		return args[0], args[1:], 0, true
	case slices.Contains([]string{"-h", "-help", "--help", "help"}, args[0]):
		fmt.Fprint(e.stdout, c.usage)
		return "", nil, exitOK, false
	}
	fmt.Fprintf(e.stderr, "agentguard %s: unknown subcommand %q\nRun \"agentguard %s --help\" for usage.\n", c.name, args[0], c.name)
	return "", nil, exitUsage, false
}
