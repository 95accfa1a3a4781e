// Package approval puts a human in the loop for the tools that need one.
//
// A [Gate] (a [guard.Scoper]; [Gate.Middleware] runs it at [guard.StageApproval])
// sends calls to the configured tools to an [Approver]. Two approvers are
// provided:
//
//   - [Callback], synchronous: a function is asked and the call waits for the
//     answer (bound the wait with [guard.WithTimeout]; a timeout denies).
//   - [Queue], asynchronous: the call is parked and the model is told it awaits
//     approval (a [*guard.DenialError] with Pending and ApprovalID, matching
//     [guard.ErrPending]). An operator later calls [Queue.Approve] or [Queue.Deny]
//     with the ID, from any replica sharing the store.
//
// # Release semantics
//
// The queue never runs a call itself; the model (or the application) retries it.
// The retry that matches the approved call runs, exactly once: same session,
// subject, role and tool, and the same arguments after canonicalisation
// ([state.CanonicalJSON]), so an approval for a refund of 10 cannot run a refund of
// 10000. Retries while pending return the same ID; after approval the first
// matching retry consumes the approval atomically (of concurrent retries exactly
// one runs) and later retries park a new request. After a refusal, matching
// retries are refused (rule "approval.denied") until QueueConfig.PendingFor has
// passed. A request undecided within PendingFor, or an approval unused within
// GrantFor, expires: [Queue.Approve] then fails with [ErrExpired], and the retry
// that finds it is denied with rule "approval.expired"; the next one parks anew.
//
// # Security model
//
// Every state change (pending to approved, denied or expired; approved to
// consumed) is a compare-and-swap on the stored ticket, so concurrent approvals
// and refusals from several operators or replicas make exactly one decision, and an
// approval is used at most once. Arguments that cannot be canonicalised (invalid
// JSON, or keys that are equal ignoring case, which parsers resolve differently)
// cannot be approved at all. Store errors deny. The model sees only the generic
// pending message with the ID; an operator's refusal reason stays in the audit
// trail.
//
// # Limitations
//
// Approval binds to the arguments as the model sent them, before secret
// placeholders are resolved: an operator approves the placeholder, not the value.
// Expiry is judged with the queue's clock (QueueConfig.Now); replicas with skewed
// clocks disagree by their skew. The queue does not list pending requests: use
// QueueConfig.Notify to hand new ones to an operator, and [Queue.Get] to show one.
package approval
