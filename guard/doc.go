// Package guard is the vocabulary of agentguard: the tool [Call] a model asks for,
// the [Result] a tool returns, the [Handler] that runs it, the [Middleware] that
// guards it, and the six policy interfaces every other package implements:
//
//	Scoper            Authorize(ctx, *Call) error                 may this principal make this call?
//	ArgValidator      ValidateArgs(ctx, *Call) error              are the arguments well-formed and safe?
//	SecretResolver    ResolveSecret(ctx, ref) (Secret, error)     what is the value behind a placeholder?
//	InjectionDetector DetectInjection(ctx, Text) (Detection, error) does this text try to steer the model?
//	Sandbox           Exec(ctx, Code) (*Execution, error)         run untrusted code, contained
//	OutputFilter      FilterOutput(ctx, *Output) (Verdict, error) may anyone see this text?
//
// Each has a Func adapter and a constructor that puts it into the chain at its
// stage ([Authorize], [ValidateArgs], [ResolveSecrets], [ScanResults],
// [FilterResults]), and implementations in the sibling packages return concrete
// types that also offer the pure check beside the middleware.
//
// # The chain
//
// [Chain] composes middlewares with the first outermost, and the order is part of
// the contract:
//
//	model ──call──▶ audit ▶ budget ▶ scope ▶ approval ▶ flow ▶ args ▶ secrets ▶ TOOL
//	model ◀─result─ audit ◀ output ◀ spotlight ◀ injection ◀ secrets ◀
//
// Scope and budget run before anything reads the arguments; argument validation
// sees secret placeholders, never values; secrets are resolved last and scrubbed
// from everything on the way back; tool results are untrusted input, scanned and
// then wrapped as data before the model sees them.
//
// # Security model
//
// Every stage fails closed: a check that returns an error, panics or exceeds its
// [WithTimeout] denies. Loosening is explicit: [Monitor] mode records would-be
// denials and lets calls through. A nil policy is a construction error
// ([ErrNilPolicy]), never allow-all. A denial is a [*DenialError] matching
// [ErrDenied]; it carries the stage, rule and reason for the audit trail, while the
// model is shown only [DenialError.ModelMessage], a generic refusal it cannot learn
// the policy from. Middleware never mutates a [Call]; a stage that changes one
// passes a copy on.
//
// # Limitations
//
// A check abandoned at its timeout keeps running in its goroutine until it returns:
// write checks that honour their context. Guards see what passes through the chain;
// a tool that reaches the network or a database by other means is enforced only by
// the scope package's HTTP transport and database wrappers.
package guard
