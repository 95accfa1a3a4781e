// Package flow enforces information-flow rules on an agent session: what the
// session has read decides what it may do next. This is the defence that still
// holds when every injection detector misses.
//
// A [Flow] records each tool result's labels in the session's state: results
// labelled [guard.LabelUntrusted] (web pages, e-mail bodies) or coming from a
// configured untrusted tool taint the session. Once tainted, configured sensitive
// tools (send_email, refund_order) are denied (rule "flow.taint") or, with an
// Approver set, sent to a human. Results labelled [guard.LabelSecret] or coming
// from a configured secret tool are fingerprinted, and an egress tool whose
// arguments carry their text is denied (rule "flow.egress").
//
// [Flow.Authorize] is the pure check and [Flow.Record] the recorder;
// [Flow.Middleware] does both at [guard.StageFlow]. Session state lives in a
// [state.Set]: the in-process [state.Memory] by default, [state.Redis] to share
// taint among replicas (with a shared Config.Key).
//
// # Security model
//
// Taint is sticky for the session (until Config.TTL after its last write) and
// cannot be cleared by the model. A tool listed as untrusted taints whether or not
// it labels its result. A result whose labels cannot be recorded is withheld, and
// a check whose store fails denies.
//
// Egress fingerprints: a secret result's text is normalised (NFKC, letters and
// digits only, lower case) and every run of Config.MinMatch (default 12)
// consecutive characters is stored as a keyed 64-bit fingerprint (a 64-bit
// FNV-1a hash encrypted with AES under a key derived from Config.Key, so the
// store's contents cannot be tested against guesses without the key). An
// egress call's JSON arguments are decoded (so \u-escapes do not hide anything),
// every key, string and number is joined in order, and also the values alone (a
// secret split over adjacent fields joins up), normalised the same way, and
// denied when any MinMatch-run matches. Changing case, separators, spacing,
// full-width digits or splitting over adjacent fields does not evade it.
//
// # Limitations
//
// Fingerprints match text, not meaning. They do not catch a secret that is
// encoded (base64, hex, URL-encoding), reversed, translated, spelled out ("four
// one one one"), paraphrased, shorter than MinMatch, or sent a few characters per
// call; homoglyphs that NFKC does not fold (Cyrillic "а") also slip through. They
// do catch legitimate reuse: mailing a customer the address that appears in their
// secret-labelled record is denied, so label as secret only results whose every
// word is secret. Each secret result costs about one stored fingerprint per
// character; results over [MaxFingerprintText] letters and digits are withheld
// and egress arguments over it denied. Taint is per session: the model cannot clear it, but a calling
// application that starts a new SessionID starts clean; calls without a SessionID
// share one session. Flow rules see only what passes through the chain.
package flow
