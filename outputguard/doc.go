// Package outputguard filters what an agent says and returns before anyone sees
// it: the last stage of the chain, where a hijacked agent trying to print its
// system prompt, leak a key or a customer's card number, or say something
// harmful is stopped.
//
// Every filter is a [guard.OutputFilter] returning a [guard.Verdict]: allow,
// block, or rewrite (with the rewritten text), with the categories found.
//
//   - [LlamaGuard] asks a Llama Guard 3 model behind any OpenAI-compatible
//     endpoint (vLLM, Ollama, llama.cpp, a hosted API) whether the agent's (or
//     the user's) turn is safe, with the S1–S14 categories, a subset of them, or
//     custom ones. The reply is parsed exactly ([ParseReply]).
//   - [Secrets] finds credentials: values resolved in the session and their
//     encodings, the secrets package's scanner of credential formats, and the
//     resolved-secret [guard.Scrubber].
//   - [PromptLeak] finds system-prompt leakage: canary tokens (also spaced out or
//     re-cased, and inject.Canary's own encodings) and passages of about eight
//     words (40 letters and digits) of the system prompt, found with a rolling
//     hash of character shingles in linear time, ignoring case, spacing,
//     punctuation and invisible characters (so "Y-o-u a r e" still matches).
//   - [PII] finds personal data: e-mail addresses, phone numbers, payment cards
//     (issuer prefix and Luhn), IBANs (country length and mod 97), US SSNs, UK NI
//     numbers and Spanish DNIs, each with its validity rules.
//
// The three leak filters need no model; each match is blocked, redacted
// ("[REDACTED:pii.card]") or masked ("**** **** **** 1111") as configured
// ([Action]; the zero value blocks). [Pipeline] runs filters in order within a
// time budget: the first block wins, rewrites accumulate. [Pipeline.Middleware]
// puts it on tool results; [Pipeline.Check] judges the agent's final answer.
//
// [Stream] and [ChatStream] filter streamed text chunk by chunk with the leak
// filters (any [Scanner]). The newest bytes are held back (the hold-back window,
// [DefaultHoldBack]) so a secret, canary or card number split across chunks is
// seen whole before any of it is released; text is released in steps of half a
// window, and a blocked stream ends cleanly with a "content_filter" finish
// reason. Put [LlamaGuard] last in a pipeline, so it judges already-redacted text
// and is not called for outputs a local filter blocks.
//
// # Security model
//
// Everything fails closed. A Llama Guard reply that is not exactly "safe", or
// "unsafe" and a line of known category codes, blocks: an empty reply, "unsafe"
// without categories, prose, a capitalised or decorated "Safe", an unknown code,
// a truncated reply, a timeout, an HTTP error and an unreachable endpoint all
// block, each with a rule that says which ("llamaguard.malformed",
// "llamaguard.timeout", "llamaguard.http", "llamaguard.unavailable"). Checking
// whether the answer contains "safe" would pass every "unsafe".
//
// The text judged by Llama Guard is neutralised so that it cannot steer the
// judge through the prompt's structure: special tokens ("<|eot_id|>") are broken
// up, the section markers ("<END CONVERSATION>") defused, and lines that start
// like a turn ("Agent: ...") quoted, so an answer cannot end with a forged,
// harmless last turn for the judge to assess instead.
//
// A [Pipeline] blocks on a filter's error or panic, on an unknown action, when
// the caller's context ends, and when its budget is exceeded; a filter that
// ignores its context is abandoned at the budget (model-free filters run inline,
// others in a goroutine). On error the verdict is always a block, so a caller
// that checks only the verdict is still safe. Verdict reasons name categories and
// counts, never the matched text. Constructors validate their configuration once
// and refuse an empty one ([guard.ErrNilPolicy]); zero values are the strictest
// settings (every PII kind, every Llama Guard category, block on a match).
//
// # Limitations
//
// Model-free detectors see the characters, not the meaning: a model told to
// translate, paraphrase, encrypt or spell out a secret or the system prompt (one
// letter per line, in French, as ROT13) defeats them; Llama Guard and canaries
// that inject.Canary checks in encodings narrow that gap but do not close it.
// Verbatim-overlap detection needs DefaultLeakWindow (40) consecutive letters and
// digits of the prompt; shorter quotes, and look-alike letters from other
// scripts, pass. PII detection is by format and checksum, so a valid-looking
// number that is not personal data is redacted too, and formats not listed
// (other national IDs, phone numbers written without separators) pass. Digits
// written with Unicode look-alikes (full-width "４") are not normalised.
// Numbers glued to letters ("ID4111111111111111") are skipped to avoid matching
// inside hashes and identifiers. Every model-free detector, and a stream of
// them, runs in time linear in its input whatever its shape (long digit and
// separator runs, repeated PEM headers, chains of overlapping matches), a few
// hundred milliseconds of CPU per megabyte at worst.
//
// Streaming sees what the leak filters see, not Llama Guard: judge a streamed
// answer with Llama Guard afterwards, or do not stream when that verdict must come
// first. A match longer than the hold-back window may be partly released before
// it is complete; the stream then blocks (for a match that was to be rewritten,
// too, since its start can no longer be), and a stream holding more than 1 MiB
// back for a match still growing (a private key with no END line) is blocked.
// Rarely, a stream blocks where filtering the whole text would only redact, when
// the window's edge makes a fragment look like a match. Tool-call deltas pass
// through unfiltered. The chat transport relies on the server's chat template;
// a server that ignores "excluded_category_keys" judges every category, and
// answers naming an excluded one are then allowed.
package outputguard
