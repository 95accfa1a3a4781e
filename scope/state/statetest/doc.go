// Package statetest is a conformance suite for implementations of the
// [state.Store] interfaces, in the manner of testing/slogtest: a third-party
// store (Postgres, etcd, ...) runs [TestStore] in its own tests to show it keeps
// the atomicity budgets, approvals and flow rules rely on.
package statetest
