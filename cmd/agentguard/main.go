// Command agentguard runs the agentguard demo and the tools around the library:
// scanning text for injections and secrets, checking policies, running code in the
// sandbox, filtering outputs and proxying MCP servers. Run "agentguard help" for the
// list of commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

// Exit statuses shared by every command.
const (
	exitOK    = 0
	exitFail  = 1 // the command ran and the answer is "no" (denied, found, failed)
	exitUsage = 2 // bad flags, bad input, bad policy
)

// command is one subcommand. Each lives in its own file (cmd_<name>.go) and
// registers itself in init.
type command struct {
	// name is the first word after "agentguard".
	name string
	// summary is one line for the command list.
	summary string
	// usage is the full help text printed by "agentguard help NAME" and NAME --help.
	usage string
	// run executes the command with the arguments after its name and returns the
	// exit status.
	run func(ctx context.Context, env *env, args []string) int
}

// env is what a command may touch: its standard streams and the process
// environment, so commands are testable without a process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// isTerminal reports whether stdout/stderr is a terminal (progress bars).
	isTerminal bool
}

var commands []*command

func register(c *command) {
	for _, o := range commands {
		if o.name == c.name {
			panic("agentguard: duplicate command " + c.name)
		}
	}
	commands = append(commands, c)
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, isTerminal: isTerminal(os.Stderr)}
	code := run(ctx, e, os.Args[1:])
	stop()
	os.Exit(code)
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

const mainUsage = `agentguard secures LLM agents at run time: a chain of typed guards around
every tool call (least-privilege roles, argument validation, secrets by
placeholder, injection scanning, sandboxed code, output filtering).

Usage:
  agentguard <command> [flags] [arguments]

Commands:
%s
Run "agentguard help <command>" or "agentguard <command> --help" for details.
`

func usage(w io.Writer) {
	slices.SortFunc(commands, func(a, b *command) int { return strings.Compare(a.name, b.name) })
	var b strings.Builder
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.summary)
	}
	b.WriteString("  help       show help for a command\n")
	fmt.Fprintf(w, mainUsage, b.String())
}

func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if c := lookup(args[1]); c != nil {
				fmt.Fprint(e.stdout, c.usage)
				return exitOK
			}
			fmt.Fprintf(e.stderr, "agentguard: unknown command %q\n", args[1])
			return exitUsage
		}
		usage(e.stdout)
		return exitOK
	}
	c := lookup(args[0])
	if c == nil {
		fmt.Fprintf(e.stderr, "agentguard: unknown command %q\n\n", args[0])
		usage(e.stderr)
		return exitUsage
	}
	return c.run(ctx, e, args[1:])
}
