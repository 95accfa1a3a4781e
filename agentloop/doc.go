// Package agentloop is a guarded tool-call loop for OpenAI-compatible chat models
// (github.com/sashabaranov/go-openai).
//
// A [Loop] sends the conversation to the model, runs every tool call the model makes
// through a guard chain (guard.Chain), returns each result or refusal to the model as
// a tool message, and ends when the model answers without tool calls. The final
// answer passes an optional output filter before it is returned.
//
// # Security model
//
//   - Roles stay separate. The system prompt is the system message and nothing else;
//     user text is a user message; tool results are tool messages tied to their call
//     id. Untrusted text is never concatenated into the system prompt.
//   - Every tool call goes through the chain, with the loop's [guard.Principal] and
//     the conversation's session id on it. A model's call to an unknown tool is a
//     denial, not a crash. The model is shown guard.ModelMessage for denials and
//     failures, never the audit detail or a raw error.
//   - Bounds: turns and tool calls per message ([Config.MaxTurns],
//     [Config.MaxToolCalls]) and the caller's context.
//   - Fail closed: a failing input detector blocks the message, a failing output
//     filter withholds the answer, a panicking tool is a failure whose panic value
//     is not shown to anyone.
//   - New refuses a nil chain unless [Config.InsecureNoMiddleware] says so.
//
// # Limitations
//
// The loop guards what passes through it. A tool that reaches the network or a
// database by its own means is enforced by the scope package's transports and
// connection wrappers, not here. The model's own text is judged only at the end of
// a turn (see the outputguard package for streaming).
package agentloop
