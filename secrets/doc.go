// Package secrets keeps credentials out of the model's context: the model writes
// placeholders, the real values exist only inside the tool's execution, and every
// value resolved for a call is scrubbed from what comes back.
//
// # Placeholders
//
// A tool argument refers to a secret as ${secret:NAME} (for example
// {"auth": "Bearer ${secret:STRIPE_KEY}"}). The syntax is parsed by
// [guard.ResolveSecrets], the last stage before the tool, in the decoded JSON
// string values of the arguments; "$${secret:" escapes a literal "${secret:".
// The delimited form was chosen over bare names such as SECRET_STRIPE_KEY because
// it cannot occur by accident in ordinary text, it marks exactly where the value
// goes inside a larger string, and it has one escape. Near misses (a different
// case, no closing brace, an invalid name, a placeholder in an object key) deny
// rather than pass through, and JSON escapes (\u0024{secret:X}) are decoded before
// parsing, so they neither hide nor forge a placeholder.
//
// # Resolvers
//
// Each type here implements [guard.SecretResolver]:
//
//   - [Env] reads environment variables under a required prefix;
//   - [File] reads one file per secret from a directory, refusing files that
//     group or others can access, symbolic links and anything outside the
//     directory (it opens through an [os.Root]);
//   - [Memory] holds a fixed map (tests and examples);
//   - [Vault] reads a HashiCorp Vault or OpenBao KV v2 engine over HTTP;
//   - [Chain] tries resolvers in order, moving on only on [ErrNotFound];
//   - [Cache] remembers values for a TTL, keyed by tool, principal and session;
//   - [ToolPolicy] limits each secret to the tools allowed to use it, so
//     send_email cannot resolve the payment key even if a prompt injection puts
//     the placeholder in its arguments.
//
// A typical composition is NewToolPolicy(NewCache(NewChain(env, vault))).
//
// # Scanner
//
// [Scanner] finds secrets in free text (model output, tool results, arguments,
// files): provider token formats for over a hundred services ([RuleIDs]), private
// keys, JWTs, credentials in URLs and connection strings, and values assigned to
// secret-looking names, judged by heuristics and Shannon entropy. One
// Aho–Corasick pass over the input finds the rules' keywords; a rule's pattern
// runs only on a bounded window of the line around a hit (hits inside a window
// already scanned, or inside a secret already found, are skipped), so the cost
// is linear in the input whatever its shape (one megabyte-long line of
// keywords, invalid UTF-8, repeated PEM headers), not dependent on the number
// of rules. A private key is reported from its BEGIN line to its END line (to
// the end of the text when that is missing), so redaction removes the key
// material too. Lines marked "pragma: allowlist secret" are skipped by
// [Scanner.Scan] and [Scanner.Redact] (source files), but not by FilterOutput or
// ValidateArgs, whose text an attacker may write. It is
// also a [guard.OutputFilter] (block or redact secrets in results and answers)
// and a [guard.ArgValidator] (deny raw secrets a model writes into tool
// arguments, where only placeholders belong).
//
// # Security model
//
// A resolved value reaches only the tool: the arguments the model wrote, the
// audit trail ([guard.WithAuditArgs]) and every stage before the secrets stage
// see placeholders. On the way back the stage replaces each value and its common
// encodings (see [guard.Scrubber]) with [guard.RedactionMarker] in the result, the
// error text and a panic's message, and drops error chains that could carry a
// value in their fields. Resolvers fail closed: an unknown name, a refused tool,
// a file with loose permissions or an unreachable Vault denies the call. Error
// texts name secrets, never values; the Vault resolver never quotes response
// bodies and never follows redirects (they would carry the token elsewhere).
//
// # Limitations
//
// Scrubbing finds the values it knows in the encodings it knows: a tool that
// transforms a value otherwise (reverses it, encrypts it, changes the case of
// some letters, splits it across results, double-encodes it) can still leak it,
// and encodings shorter than [guard.MinEncodedLen] bytes are not replaced.
// Only the values resolved for the call are scrubbed from its result: a tool that
// keeps a value and returns it from a later call without the placeholder is not
// caught by the stage (use the [Scanner] as an output filter for known formats). A tool that sends a value to
// the network is governed by the scope package's transport, not by this package.
// The scanner is heuristic: it misses secrets with no recognisable format
// assigned to neutral names, and flags some test fixtures and example keys. On
// the detect-secrets corpus its recall is about 96%; its near-miss negatives
// (many depending on the source file's language) are flagged about 8% of the
// time; about 0.5% of the Go standard library's files and 0.8% of the files under
// /usr/share/doc have a finding (mostly documented example credentials and test
// keys).
package secrets
