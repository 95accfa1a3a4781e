// Package scope enforces least privilege for LLM agents: each principal has a
// role, and the role bounds what the agent may do at three places where the
// action happens, never in the prompt:
//
//   - tool calls: [Policy.Authorize] (a [guard.Scoper]) and [Policy.Middleware]
//     allow only the role's tools, with optional CEL conditions on the
//     arguments ("args.amount <= 100.0") compiled when the policy is loaded;
//   - outbound HTTP: [Transport], an http.RoundTripper allowing the role's
//     methods and hosts and refusing private addresses on the address actually
//     dialled;
//   - SQL: [DB], a database/sql wrapper running reads in transactions the
//     database keeps read-only and refusing statement classes the role lacks,
//     classified by [Classify].
//
// Principals come from scoped JWTs ([JWTVerifier]), whose [JWTVerifier.Handler]
// puts the principal in the request context ([PrincipalFromContext]).
//
// # Policies
//
// A policy is a [Spec], written in Go or in YAML ([Load], [Parse]), validated
// and compiled once by [New]. The reference policy is
// examples/policies/support.yaml (embedded as policies.SupportYAML):
//
//	role      database access              HTTP methods            tools
//	reader    read-only                    GET                     read_document, search_knowledge_base
//	operator  read-write, non-destructive  GET, POST, PUT          update_order_status, send_email
//	admin     full, destructive            GET, POST, PUT, DELETE  refund_order, provision_server
//
// Roles do not inherit implicitly: a role may call exactly the tools it lists
// plus those of the roles it names in inherits, and a YAML file must state
// inherits for every role ("inherits: []" for none), so the decision is in the
// file. The reference policy inherits nothing: an admin cannot read documents.
// Only tools are inherited; HTTP and database rules are always a role's own.
//
// The spec also carries what other stages enforce: per-tool approval and
// result labels, budgets and flow rules. This package parses and validates
// them into [Tool], [Budget] and [Flow]; [Policy.Spec] hands them on.
//
// # Security model
//
// Deny by default: an unknown role, an unknown tool, a call without a principal,
// a missing scope, a false condition, a condition that fails to evaluate or
// exceeds its cost limit, and arguments that are not one unambiguous JSON
// object are all denied with a
// [*guard.DenialError]. Role and tool names are matched byte for byte and must
// be ASCII in a policy, so case changes, look-alike letters, zero-width
// characters and trailing spaces in a call's tool name never match.
//
// A condition must see the same arguments as the tool. Before evaluating one,
// the arguments are decoded strictly: duplicate keys, keys that differ only in
// case (encoding/json matches struct fields case-insensitively, so
// {"amount":1,"AMOUNT":1000} would reach a Go tool as 1000), invalid UTF-8,
// non-finite numbers and nesting deeper than 32 are refused.
//
// HTTP checks the scheme, method (exact, upper case), host and port against the
// role, refuses a Host header that differs from the URL, and checks every
// connection's resolved IP address in the dialer's Control hook, so DNS
// rebinding and redirects to internal addresses are refused. Proxies are
// disabled.
//
// SQL for read-only roles runs in PostgreSQL READ ONLY transactions (checked
// with a first query, after which SET TRANSACTION READ WRITE is refused) or
// with SQLite's PRAGMA query_only on a dedicated connection, restored (or the
// connection discarded) afterwards, so the database refuses writes the
// classifier might miss. The classifier is a conservative lexer that fails closed:
// comments, multiple statements (except with full access), dollar quoting,
// escape strings, non-ASCII outside literals and calls to functions not known
// to be side-effect free are refused; write keywords anywhere (data-modifying
// CTEs, SELECT ... FOR UPDATE, INSERT OR REPLACE, SELECT ... INTO) raise the
// statement's class.
//
// JWTs must use a pinned algorithm (never "none"; HMAC and public-key
// algorithms cannot be mixed), carry exp, and match the issuer and audience.
//
// # Limitations
//
//   - The operator's "non-destructive" rule is enforced by the classifier only;
//     give the operator's database login no DELETE/DDL privileges as well.
//   - The classifier's function allow-list covers built-ins of SQLite and
//     PostgreSQL; user-defined functions and PostgreSQL's attribute-notation
//     calls (row.func) on user-defined functions are not modelled. Read-only
//     transactions still stop such a function from writing, but not from
//     sleeping or reading files a superuser function might reach.
//   - [Policy.CheckHTTP] checks the URL text; where a name resolves is only
//     known when [Transport] dials it.
//   - CEL sees JSON numbers as doubles: integers above 2^53 lose precision.
//   - A read-write role may UPDATE every row of a table; "non-destructive"
//     means no DELETE, DDL, GRANT or multi-statement strings, not row limits.
//   - SQLite's query_only is a connection setting: a PRAGMA could reset it,
//     which is why the classifier refuses PRAGMA for every role but full.
//   - Budgets, approvals and flow rules are only parsed here.
package scope
