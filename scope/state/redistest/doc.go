// Package redistest starts a throw-away redis-server for tests.
//
// [Start] runs the redis-server binary found on PATH on a free loopback port in
// a temporary directory, with persistence off, and stops it when the test ends.
// When the binary is missing the test is skipped with a message saying how to
// install it, so suites stay green on machines without Redis while CI, which
// installs it, runs the Redis tests.
package redistest
