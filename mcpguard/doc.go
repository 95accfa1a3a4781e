// Package mcpguard puts agentguard's policy on both sides of the Model Context
// Protocol, using the official go-sdk (github.com/modelcontextprotocol/go-sdk).
//
// An MCP server must treat every argument as untrusted, whatever the client
// checked; an MCP client must not trust a server's tool descriptions either. The
// package offers three pieces, each usable on its own:
//
//   - [ServerGuard]: go-sdk receiving middleware. Every tools/call runs through a
//     [guard] chain (scope, then the tool's input schema, then optional argument
//     validators and stages, then result scanning and filtering) with the
//     principal taken from the transport's verified bearer token
//     ([PrincipalFromToken]); tools/list shows each principal only its tools.
//     Denials go back as tool errors (IsError) carrying the generic
//     [guard.DenialError.ModelMessage].
//   - [Inspector]: vets tool definitions received from servers. It pins a
//     digest of each definition ([ToolDigest]) in a [PinStore] on first sight
//     and refuses a changed definition (a rug pull) until it is re-approved,
//     scans descriptions and schema text with a [guard.InjectionDetector] (tool
//     poisoning), and reports a tool name offered by two servers (shadowing)
//     and definitions that name another server's tools (cross references).
//     [Inspector.ClientMiddleware] applies it to a go-sdk client that talks to
//     servers directly.
//   - [Proxy]: a guarded MCP proxy. It runs an upstream server (typically a
//     child process), serves its vetted tools to clients over stdio or
//     streamable HTTP ([NewHTTPHandler], with bearer tokens, optional mutual
//     TLS and Host/Origin checks against DNS rebinding), and enforces the
//     policy on every message in both directions.
//
// The command "agentguard mcp proxy --policy FILE --role ROLE -- COMMAND..." wraps
// a Proxy.
//
// # Security model
//
// Trust boundaries: the client (and the model behind it) is untrusted for
// arguments; the upstream server is untrusted for tool definitions and results;
// the operator's configuration (policy, pins, approvals) is trusted.
//
//   - Authorisation is decided by the configured [guard.Scoper] for the principal
//     of the verified token (or, over stdio, the principal the operator gave the
//     process with [StaticPrincipal]). A request without a verified principal is
//     denied and sees an empty tool list, whatever the policy says.
//   - Arguments are checked against the tool's input schema on the server side
//     (JSON Schema drafts 4 to 2020-12, Go's linear-time regexps, no external
//     $ref loading). Parser-differential inputs are refused: duplicate keys,
//     invalid UTF-8, deep nesting, trailing data. The tool receives the
//     canonical re-encoding of exactly what was validated.
//   - Results are scanned (text, embedded resource text and structured content)
//     before the client sees them; content nothing could scan (images, audio,
//     binary resources) is removed unless [ServerConfig.KeepUnscannedContent].
//   - Tool definitions are pinned by digest under the operator's name for the
//     server, not the name the server claims. A changed definition disappears
//     from the proxy's list and its calls are refused until [Inspector.Approve].
//     Poisoned definitions are never pinned. Names outside [A-Za-z0-9_.-] are
//     refused so that look-alike names cannot pass for others.
//   - Over HTTP, requests need a bearer token checked by the operator's
//     [TokenVerifier]; the Host header must be an allowed name (loopback only
//     by default) and requests carrying an Origin are refused unless listed;
//     [MutualTLSConfig] and [HTTPConfig.RequireClientCert] add client
//     certificates.
//   - The model never sees why a call was refused: denials carry the generic
//     message, tool failures "The tool failed.", and the detail goes to the
//     audit trail and logger.
//
// # Limitations
//
//   - Only tools are guarded. A [ServerGuard] passes resources, prompts and
//     completions through unchanged; the [Proxy] does not proxy them at all, nor
//     sampling, elicitation or roots.
//   - A pin covers what the server says a tool is, not what it does: a server
//     can change its behaviour without changing its definition. Run untrusted
//     servers in a process sandbox (see below).
//   - The proxy re-vets definitions at start, on every client tools/list and on
//     list-changed notifications; between those, a server that changes a
//     definition silently keeps serving calls under the pinned schema (which is
//     what the arguments are still validated against).
//   - Digests are computed over the definition as the go-sdk client decodes it
//     (numbers as float64), so a digest computed elsewhere from the raw JSON may
//     differ in number formatting.
//   - [FilePinStore] serialises writers within one process only. Replicas need
//     a shared store with an atomic PinIfAbsent.
//   - Shadowing is found only among the servers one [Inspector] has seen, and
//     the first server to offer a name keeps it: start trusted servers first.
//     A definition naming another server's tool is only reported; whether its
//     wording is an attack is left to the injection detector.
//   - Every client tools/list makes the proxy re-list the upstream; there is no
//     rate limit on that.
//   - The proxy does not confine the upstream itself: it talks to whatever
//     [mcp.Transport] it is given. To sandbox a local server, build the
//     [mcp.CommandTransport] from the sandbox package's Process.Command, which
//     runs the server under Landlock (only the paths it is given, no TCP,
//     a new network namespace, an empty environment, rlimits); "agentguard
//     mcp proxy" does so by default. That confinement is Linux-only and
//     coarse: a server that may read a directory may read all of it, one
//     given the network may reach any host, and whatever it may do it may do
//     for every caller, since the proxy's per-role policy applies to calls,
//     not to what the server does while serving them.
//   - Tool-list visibility without a [ToolVisibility] or [RoleTools]
//     implementation probes the Scoper with empty arguments, so an
//     argument-dependent policy may list a tool whose every real call it
//     denies, or hide one it would allow.
package mcpguard
