// Package guardtest is for tests: yours as much as ours.
//
// Its conformance checks ([TestScoper], [TestArgValidator], [TestInjectionDetector],
// [TestSecretResolver], [TestSandbox], [TestOutputFilter] and [TestMiddleware]) run
// any implementation of the guard interfaces through the properties every one must
// have, in the way testing/slogtest does for slog handlers: a denial never reaches
// the next handler and matches guard.ErrDenied, the call is not mutated, a cancelled
// context never turns into an allow, and concurrent use is safe (run with -race).
//
// [NewFakeOpenAI] starts an OpenAI-compatible chat completions server on loopback
// that replays scripted replies (text, tool calls, HTTP errors, malformed bodies,
// delays, server-sent-event streams), so agent loops and LLM-backed guards are tested
// with no key and no network.
package guardtest
