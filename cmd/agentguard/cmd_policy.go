package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/scope"
)

const policyUsage = `Usage:
  agentguard policy check --policy FILE --role ROLE --tool TOOL [--args JSON]
                          [--method METHOD --url URL] [--sql STATEMENT]
  agentguard policy lint FILE...

check asks a role policy (YAML, see examples/policies/support.yaml) whether a
role may make a tool call (with its JSON arguments, for CEL conditions), send
an HTTP request, and run a SQL statement. Every check given must pass. It
prints one JSON object:

  {"allowed": true|false, "reason": "...", "rule": "..."}

The HTTP check looks at the URL text and IP literals; where a host name
resolves is only checked when the agent's transport dials it. --tool may be
left out when --method/--url or --sql is given.

lint loads each policy file and reports every problem with file:line.

Flags for check:
  --policy FILE      the policy file (required)
  --role ROLE        the principal's role (required)
  --tool TOOL        the tool to call
  --args JSON        the call's arguments, a JSON object (default {})
  --method METHOD    HTTP method, with --url
  --url URL          HTTP URL, with --method
  --sql STATEMENT    a SQL statement to classify against the role's access

Exit status: check 0 allowed, 1 denied, 2 bad policy or bad input;
lint 0 valid, 1 problems found, 2 bad usage.
`

func init() {
	register(&command{name: "policy", summary: "check a call against a role policy; lint policy files", usage: policyUsage, run: runPolicy})
}

func runPolicy(ctx context.Context, e *env, args []string) int {
	c := lookup("policy")
	sub, args, code, ok := subcommand(e, c, args, "check", "lint")
	if !ok {
		return code
	}
	if sub == "check" {
		return policyCheck(ctx, e, c, args)
	}
	return policyLint(e, c, args)
}

type policyVerdict struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason"`
	Rule    string `json:"rule"`
}

func policyCheck(ctx context.Context, e *env, c *command, args []string) int {
	fs := newFlags(e, c)
	file := fs.String("policy", "", "")
	role := fs.String("role", "", "")
	tool := fs.String("tool", "", "")
	jsonArgs := fs.String("args", "", "")
	method := fs.String("method", "", "")
	rawURL := fs.String("url", "", "")
	stmt := fs.String("sql", "", "")
	if code, ok := parseFlags(e, c, fs, args); !ok {
		return code
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "agentguard policy check: "+format+"\n", a...)
		return exitUsage
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected argument %q", fs.Arg(0))
	case *file == "":
		return bad("--policy is required")
	case *role == "":
		return bad("--role is required")
	case (*method == "") != (*rawURL == ""):
		return bad("--method and --url go together")
	case *tool == "" && *method == "" && *stmt == "":
		return bad("nothing to check: give --tool, --method/--url or --sql")
	case *tool == "" && *jsonArgs != "":
		return bad("--args needs --tool")
	}
	if *jsonArgs != "" {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(*jsonArgs), &obj); err != nil || obj == nil {
			return bad("--args must be a JSON object")
		}
	}
	p, err := scope.Load(*file)
	if err != nil {
		fmt.Fprintf(e.stderr, "agentguard policy check: %v\n", err)
		return exitUsage
	}
	var checked []string
	var deny error
	if *tool != "" {
		call := &guard.Call{ID: "cli", Tool: *tool, Args: json.RawMessage(*jsonArgs), Principal: guard.Principal{Subject: "cli", Role: *role}}
		deny = p.Authorize(ctx, call)
		checked = append(checked, "tool "+*tool)
	}
	if deny == nil && *method != "" {
		deny = p.CheckHTTP(*role, *method, *rawURL)
		checked = append(checked, *method+" "+*rawURL)
	}
	if deny == nil && *stmt != "" {
		deny = p.CheckSQL(*role, *stmt)
		if deny == nil {
			cl, _ := scope.Classify(*stmt)
			checked = append(checked, cl.Class.String()+" statement")
		}
	}
	v := policyVerdict{Allowed: deny == nil, Reason: fmt.Sprintf("role %q may: %s", *role, strings.Join(checked, "; "))}
	if deny != nil {
		var d *guard.DenialError
		if !errors.As(deny, &d) {
			d = &guard.DenialError{Rule: "check.error", Reason: deny.Error()}
		}
		v.Reason, v.Rule = d.Reason, d.Rule
	}
	out, _ := json.Marshal(v)
	fmt.Fprintf(e.stdout, "%s\n", out)
	if !v.Allowed {
		return exitFail
	}
	return exitOK
}

func policyLint(e *env, c *command, args []string) int {
	fs := newFlags(e, c)
	if code, ok := parseFlags(e, c, fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(e.stderr, "agentguard policy lint: give one or more policy files")
		return exitUsage
	}
	code := exitOK
	for _, f := range fs.Args() {
		p, err := scope.Load(f)
		if err != nil {
			code = exitFail
			var joined interface{ Unwrap() []error }
			if errors.As(err, &joined) {
				for _, one := range joined.Unwrap() {
					fmt.Fprintln(e.stdout, strings.TrimPrefix(one.Error(), "scope: "))
				}
			} else {
				fmt.Fprintln(e.stdout, strings.TrimPrefix(err.Error(), "scope: "))
			}
			continue
		}
		roles := p.Roles()
		tools := map[string]bool{}
		for _, r := range roles {
			for _, t := range p.Tools(r) {
				tools[t] = true
			}
		}
		fmt.Fprintf(e.stdout, "%s: ok (%d roles, %d tools reachable)\n", f, len(roles), len(tools))
	}
	return code
}
