// Package agentguard secures LLM agents at run time.
//
// An agent plans, calls tools and runs code. A single injected sentence in a web page,
// an e-mail or a tool description can turn a support bot into something that refunds
// orders or leaks keys. agentguard puts a chain of typed guards around the agent's
// tool-call loop so that cannot happen, whatever the model is talked into: the guards
// are code at the tool boundary, the HTTP client and the database connection, not
// instructions in the prompt.
//
// # The chain
//
// Every guard is a guard.Middleware over one call type, composed with guard.Chain
// (first = outermost):
//
//		model ──call──▶ audit ▶ budget ▶ scope ▶ approval ▶ flow ▶ args ▶ secrets ▶ TOOL
//		model ◀─result─ audit ◀ output ◀ spotlight ◀ injection ◀ secrets ◀
//
//	  - scope and budget decide before anything reads the arguments (package scope);
//	  - argument validation sees secret placeholders, never values (package sanitize);
//	  - secrets are resolved last, inside the tool runtime, and scrubbed from
//	    everything on the way back (package secrets);
//	  - tool results are untrusted input: scanned for injection and wrapped as data
//	    before the model sees them (package inject);
//	  - outputs are filtered before anyone sees them (package outputguard);
//	  - agent-written code runs in an in-process WebAssembly sandbox (package sandbox);
//	  - MCP servers and clients get the same chain (package mcpguard).
//
// Package agentloop runs a guarded tool-call loop for go-openai; package guardtest
// has conformance checks for your own guards and a fake OpenAI-compatible server.
//
// # Quick start
//
//	scope, err := guard.Authorize(policy, guard.WithAuditor(guard.SlogAuditor(logger)))
//	if err != nil { ... }                       // a nil policy is an error, never allow-all
//	tool := guard.Chain(scope, args, secrets)(yourHandler)
//	res, err := tool.Handle(ctx, &guard.Call{Tool: "refund_order", Args: raw, Principal: p})
//	if errors.Is(err, guard.ErrDenied) {
//		reply = guard.ModelMessage(err)         // a generic refusal for the model
//	}
//
// See examples/quickstart and "go run ./cmd/agentguard demo".
//
// # Security model
//
// Fail closed: a check that errors, panics or times out denies; loosening is explicit
// (guard.Monitor mode, options named Insecure…). Two audiences for a denial: the model
// sees a short generic refusal it cannot learn the policy from; the audit event
// carries stage, rule, reason and call id, and never a secret value. Authorisation is
// enforced in code where the action happens. Untrusted content is data: scanned and
// wrapped with per-call random delimiters. Secrets are referenced by placeholder and
// resolved only inside the tool runtime.
//
// # Limitations
//
// agentguard guards what passes through it. A tool that reaches the network, the file
// system or a database by other means is enforced only where you use the scope
// package's transport and connection wrappers, sanitize's confined paths and the
// sandbox. Detectors reduce risk; they do not prove absence of injection, which is why
// the flow rules (package scope/flow) still hold when a detector misses one.
package agentguard
