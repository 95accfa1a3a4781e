// Package sanitize validates the arguments a model gives a tool, and gives tools
// safe ways to use them: a confined file-system root, shell-free command
// execution and an SSRF-aware URL policy. A model's tool arguments are
// attacker-controlled input (a prompt injection in a web page can write them),
// so the usual advice — check that a path has no "../", quote shell arguments —
// is replaced by mechanisms that are bypass-resistant by construction.
//
// # Strict schemas
//
// A [Registry] holds one JSON Schema (draft 2020-12) per tool, registered once
// with [Registry.Register]. Object schemas are closed ("additionalProperties":
// false) unless the tool opts out, and the effective schema is what
// [Registry.Parameters] and [Registry.Tools] return for the model (go-openai's
// FunctionDefinition.Parameters, an MCP tool's InputSchema), so one registration
// serves both. [Registry.Check] first parses the raw arguments with a strict
// single-pass parser ([Scan]) that enforces size, depth, string, key, array,
// member and number limits ([Limits]) and refuses duplicate keys (also keys
// that differ only in case), non-object arguments, invalid UTF-8, unpaired
// surrogate escapes and NULs; then validates against the schema; then re-encodes
// the arguments canonically. Schemas may use this package's string formats
// "confined-path", "ident", "noshell" and "safe-url" (the [Config.URLs]
// policy), which are asserted like the standard formats. The Registry
// implements [guard.ArgValidator] and [guard.ArgNormalizer], and
// [Registry.Middleware] puts it in the chain: the tool receives exactly the
// canonical bytes that were validated. Refusals are
// [*guard.DenialError]s at [guard.StageArgs] whose Reason names the field (a
// JSON pointer) and the rule in words the model can act on.
//
// # Typed arguments
//
// A [Validator] decodes arguments into a Go struct (after the same structural
// checks, with unknown fields refused) and validates it with
// go-playground/validator/v10 tags, including this package's "confined",
// "safeurl", "ident", "noshell" and "nooption" tags, with English messages.
// [Typed] adapts a handler taking the decoded struct to a [guard.Handler].
//
// # Paths
//
// A [Root] wraps [os.Root]: every open resolves relative to the root directory,
// component by component, and fails for "..", absolute paths and symbolic links
// that leave the root, at the moment of use, so there is no window between a
// check and the open. [CheckLocalPath] adds readable messages (and refuses
// percent-encoded and Unicode look-alike separators) but is never the
// confinement itself.
//
// # Commands
//
// A [Runner] runs allow-listed programs by absolute path with an argv through
// os/exec, never a shell, with an empty environment by default, a working
// directory, a timeout that kills the process group and capped output. Command
// lines a model writes are parsed with a real shell parser (mvdan.cc/sh) by
// [ParseCommandLine] and refused when they hold anything but one simple command
// of literal words: operators, substitutions, parameter expansion ($IFS),
// redirections, globs, subshells, assignments, control characters. Arguments
// starting with '-' before "--" are refused unless the program allows the option
// (option injection). go-shellquote splits simple argument strings
// ([SplitArgs], cross-checked against the shell parser) and renders argv for
// logs ([Render]).
//
// # URLs
//
// A [URLChecker] enforces scheme and host allow-lists, refuses user-info, IP
// literals in every spelling (decimal "2130706433", hex "0x7f.1", octal, short
// "127.1", IPv4-mapped IPv6), private and special-use ranges, private names,
// trailing dots, non-ASCII and punycode hosts; [URLChecker.Client] re-checks
// every redirect and every connected address (DNS rebinding).
//
// # Security model
//
// Everything fails closed: an unregistered tool, an unknown program, a nil
// policy, a schema that cannot be compiled, a path error or a parse the code does
// not understand is a refusal, never a pass. Zero-value configurations are the
// strictest: default limits, https only, no hosts, read-only roots, no
// environment. Schemas are self-contained (no $ref is loaded from files or the
// network) and only draft 2020-12 is accepted. The tool sees the canonical
// re-encoding of what was validated, so a parser differential between the
// validator and the tool (duplicate keys, case-insensitive field matching,
// surrogate replacement, number forms) cannot smuggle a value past validation.
// A fast evaluator handles common schemas; it may only accept what the full
// validator accepts (held by a differential fuzz test), and every refusal is
// produced by the full validator.
//
// # Limitations
//
//   - Object schemas that combine subschemas ($ref, allOf, anyOf, oneOf, if) are
//     closed with "unevaluatedProperties": false, which some model providers
//     ignore in the schema they are shown (validation here still applies it).
//     Object schemas nested inside allOf, not or if/then/else branches are not
//     closed on their own; the enclosing object's unevaluatedProperties covers
//     them only when that enclosing schema is an object schema.
//   - [Root] relies on os.Root: on Linux it cannot stop hard links planted inside
//     the root that point to files outside it (do not let untrusted parties write
//     into the root with another tool), nor bind mounts. On Windows, os.Root
//     refuses reserved device names only in some forms and does not stop
//     following junctions created concurrently in every case; on js/wasm and
//     Plan 9 it falls back to weaker path checks. Read Go's os.Root
//     documentation for the platform at hand. Non-blocking opens (so a FIFO
//     cannot hang a read) are used only on Unix.
//   - [Runner] refuses options it does not know, but cannot know a program's
//     semantics: allow only programs whose allowed options cannot write files,
//     run commands or reach the network. Some programs ignore "--"; mark them
//     NoDoubleDash. Without process groups (non-Unix), children of a killed
//     command may survive.
//   - [URLChecker.Check] judges the URL text; whether the host resolves to a
//     private address is known only at connection time, which
//     [URLChecker.Client] and [URLChecker.DialContext] check. A plain
//     http.Client given a checked URL is not protected against DNS rebinding or
//     redirects.
//   - The "confined" tag is a syntactic check; only a [Root] confines.
//   - Validator registration (validator/v10) is not safe for concurrent use:
//     build the [Validator] and register extra tags at start-up.
package sanitize
