package guard

// Stages holds one middleware per stage of the reference chain. Its [Stages.Chain]
// composes them in the order the design requires, so a program cannot put the
// secrets stage before argument validation or scan results after they were
// spotlighted. Nil stages are skipped.
//
// Calls pass, outermost first:
//
//	Audit ▶ Output ▶ Spotlight ▶ Injection ▶ Budget ▶ Scope ▶ Approval ▶ Flow ▶ Args ▶ Secrets ▶ tool
//
// The result stages (Output, Spotlight, Injection) let calls through untouched and
// act on the way back, so results pass innermost first:
//
//	tool ▶ Secrets (scrub) ▶ Injection (scan) ▶ Spotlight (wrap as data) ▶ Output (filter) ▶ Audit
//
// which is the order of the design:
//
//	model ──call──▶ audit ▶ budget ▶ scope ▶ approval ▶ flow ▶ args ▶ secrets ▶ TOOL
//	model ◀─result─ audit ◀ output ◀ spotlight ◀ injection ◀ secrets ◀
type Stages struct {
	// Audit is outermost: it sees every call and every outcome (tracing, logs).
	Audit Middleware
	// Output filters results before the model sees them (leaks, PII, Llama Guard).
	Output Middleware
	// Spotlight wraps results as data with unforgeable delimiters.
	Spotlight Middleware
	// Injection scans results for indirect prompt injection.
	Injection Middleware
	// Budget enforces call counts, rates and summed amounts.
	Budget Middleware
	// Scope authorises the principal's role for the tool.
	Scope Middleware
	// Approval parks calls that need a human.
	Approval Middleware
	// Flow enforces taint rules (no egress after untrusted input) and records the
	// labels of results.
	Flow Middleware
	// Args validates (and canonicalises) arguments; it sees placeholders only.
	Args Middleware
	// Secrets resolves placeholders last and scrubs values on the way back.
	Secrets Middleware
}

// Chain composes the stages in the reference order.
func (s Stages) Chain() Middleware {
	return Chain(s.Audit, s.Output, s.Spotlight, s.Injection, s.Budget, s.Scope, s.Approval, s.Flow, s.Args, s.Secrets)
}
