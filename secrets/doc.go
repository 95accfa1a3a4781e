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
// # Files and their languages
//
// What counts as a value assigned to a secret-looking name depends on the
// language, so [Scanner.ScanFile] takes the file's name and reads the keyword
// rules (generic-password, generic-token) by its extension, as detect-secrets'
// keyword plugin does:
//
//   - configuration files (YAML, INI, .conf, .properties, TOML, .env): a bare
//     value is a value (password = A,b;c) and runs to the next space or quote;
//   - C-like languages whose strings are double-quoted (C, C++, Objective-C,
//     C#, Java, Kotlin, Scala, Rust, Swift): only a "…" literal is a value,
//     with its prefixes (@"…", L"…", $"…"); '…' is a character literal and a
//     bare word is an identifier or an expression;
//   - other quoting languages (Python, JavaScript and TypeScript, PHP, Ruby,
//     PowerShell, Terraform, Apex, Groovy, Dart): a literal in any of their
//     quotes is a value, a bare word is not;
//   - in those languages, a keyword in a comment or inside a longer string
//     literal (a connection string in Java) is read as plain text;
//   - Go, shell scripts (where a bare word is a string), Markdown, JSON and
//     unknown names are read as plain text, as by [Scanner.Scan]: a value may
//     be bare or quoted. (detect-secrets' Go rules accept bare values too; Go's
//     own sources show the heuristics already reject its identifiers and
//     expressions.)
//
// Every other rule (provider formats, private keys, URLs, high-entropy
// tokens) reads every file alike.
//
// # Examples and fixtures
//
// The keyword rules skip values that say they are examples (example, fake,
// dummy, changeme, your_…, xxxx, ****), references and templates ($VAR,
// ${…}, os.environ[…]), labels and prompts ("SM2 PRIVATE KEY", "npm
// password: "), values that repeat the end of their own name
// (CHALLENGE_PASSWORD = "challengePassword"), OIDs and versions (2.5.29.16),
// and periodic values: a unit of up to 16 bytes repeated three times or more
// over two thirds of the value (abcd1234abcd1234abcd1234…). A C macro counts
// as an assignment (#define WIFI_PASSWORD "…") when the keyword ends its name,
// so does a setter's name-value pair (define('DB_PASSWORD', '…'),
// setProperty("password", "…"); not a getter's default), and a type
// annotation is read through (password: str = "…", const API_KEY: &str =
// "…").
//
// The high-entropy rule skips tokens that spell a documentation word of seven
// letters or more (EXAMPLE, placeholder, redacted, changeme, replaceme), which
// random text spells about once in 10^9 tokens. Provider rules skip none of
// these: AWS's documentation key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY is
// reported as an AWS secret key, its one-byte-off variants are not reported.
// A private key block whose material is a placeholder (XXXX, ..., "<your key
// here>") is documentation and is not reported; a header alone is.
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
// The scanner is a net for accidental leaks and known formats, not a
// guarantee against text shaped to pass it: whoever writes the text can split,
// encode or reverse a value. The guarantee for managed secrets is the scrubbing
// of resolved values above. Its exemptions trade recall for precision as
// follows, each pinned by a test:
//
//   - A file's language only narrows the keyword rules, and only through
//     ScanFile: Scan, FilterOutput and ValidateArgs read everything as plain
//     text, so the author of a tool result cannot choose the narrow reading.
//     In source code a bare value after password =, or '…' in C-like
//     languages, is not reported by the keyword rules; a provider token or a
//     random token in the same place still is.
//   - A periodic value is not reported by the keyword rules, even a real weak
//     password (hunter2hunter2hunter2). Random credentials never repeat.
//   - A token spelling EXAMPLE (or another documentation word above) is not
//     reported by the high-entropy rule.
//   - Values are not judged by the provider their name suggests: a near miss
//     of a provider format under that provider's name (aws_secret_access_key =
//     a 41-byte value) is judged by the generic rules like any other value.
//     Dropping it would let anyone hide a real key by naming the variable
//     after its provider and appending a byte, would drop human passwords
//     under names like ibm_cloud_pwd, and would misjudge names shared by
//     many services (secret_access_key holds AWS, IBM COS, Cloudflare R2 and
//     MinIO keys in different formats). Near misses of fixtures are dropped
//     because they are fixtures (periodic, or spelling EXAMPLE), not because
//     of their names.
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
// assigned to neutral names (or to misspelt ones), and flags some test
// fixtures and example keys. It does not report IP addresses (detect-secrets'
// ip_public plugin does): an address is not a credential, and tool results
// are full of them. A URL whose password is a placeholder word
// (https://user:password@host) is not reported. The language reading knows
// comments, one-line strings, triple-quoted strings and template literals; a
// C++ raw string, a C# verbatim string or a heredoc spanning lines is read as
// code after its first line, which is the narrow reading. On the
// detect-secrets corpus, with each case's file language, recall is about 97%
// and none of its 123 near-miss negatives is flagged (about 4% are when every
// case is read as plain text); about 0.5% of the Go standard library's files,
// 0.7% of the files under /usr/share/doc, 0.2% of npm's own sources and 0.1%
// of /usr/include have a finding (mostly documented example credentials and
// test keys).
package secrets
