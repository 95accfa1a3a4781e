// Package budget limits what an agent may do given what it already did: call
// counts per principal, session or tool, calls per sliding time window, a summed
// numeric argument per window (total refund amount per day), and loop detection
// (the same tool with the same canonical arguments again and again).
//
// A [Budget] is a [guard.Scoper] with a pure check, [Budget.Authorize], and
// [Budget.Middleware], which runs it at [guard.StageBudget], before scope, so a
// model hammering a refused tool still spends its budget. Counters live in a
// [state.Counter]: the in-process [state.Memory] by default, or [state.Redis] to
// share one budget among replicas.
//
// # Security model
//
// Each limit's check-and-charge is one atomic store operation, so concurrent
// calls, on one replica or many, cannot overspend: 1,000 concurrent calls against a
// budget of 100 run exactly 100 tools (tested on memory and on Redis with two
// clients). A call must fit every limit that applies; when one refuses, the
// charges already taken for the call are refunded and the call is denied with
// rule "budget.<name>". A store error denies.
//
// A summed argument is read the way a tool's JSON decoder would read it, and
// anything ambiguous denies: a missing argument, a string, null, an object, a
// negative number (which would lower the total), the argument given twice or
// under two letter cases ({"amount":1,"Amount":1000}), a number longer than 64
// characters, and invalid JSON. Amounts are converted exactly from their decimal
// text (no floating point) into millionths and rounded up, so 1e-9 costs one
// millionth, not zero. Matching the name is case-insensitive like encoding/json.
//
// Zero limits are strict: MaxCalls 0 admits no call, MaxSum 0 admits only zero
// amounts, and Per 0 keeps one counter for every principal. A Config with no
// limits is an error.
//
// # Limitations
//
// Counts are of attempts that reached the budget stage; sums are refunded by
// [Budget.Middleware] when a later stage denies the call (including a call parked
// for approval, whose approved retry is charged when it runs), call and repeat
// counts are not. Refunds are best effort: a failed refund over-counts. The pure
// [Budget.Authorize] cannot refund. A summed argument must be a top-level field.
// Loop detection compares canonical arguments: a model that varies one argument
// each time is not a loop to it (call limits still bound it). A principal is
// keyed by Subject alone; calls with no SessionID share one session counter.
package budget
