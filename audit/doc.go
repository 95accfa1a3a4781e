// Package audit writes guard decisions to a tamper-evident, append-only log and
// verifies such a log after the fact.
//
// Each record is one JSON line holding the event, its sequence number, the hash of
// the previous record and its own hash:
//
//	{"seq":1,"time":"…","stage":"scope","decision":"deny",…,"prev":"<hex>","hash":"<hex>"}
//
// hash = SHA-256 (or HMAC-SHA-256 with a key) over the record's canonical JSON
// without the hash field; prev of the first record is the genesis value (64 zeros).
// [Verify] recomputes the chain and names the first record that was edited, removed,
// inserted or reordered.
//
// # Security model
//
// A plain hash chain makes any change to a record, or the removal, insertion or
// reordering of records, visible to anyone who verifies the whole file — unless the
// attacker rewrites every later record too. Two measures close that gap: give the
// [Writer] a secret key ([WithKey]), so that only key holders can compute valid
// hashes; and keep the last hash ([Writer.Head]) somewhere the attacker cannot
// reach (a separate system, a ticket, a signed message), then check it with
// [VerifyOptions.Head]. Truncation of the tail is only detectable that way.
//
// Records never hold secret values or raw arguments unless the stage was built
// with guard.WithAuditArgs; the writer passes every string (attribute keys and
// the model-chosen tool name included) through its [Redactor] before hashing.
// [Verify] accepts a line only in the exact form the writer wrote it: a
// duplicate or case-variant key, an escape or an invalid byte that Go's decoder
// would read as the sealed record (but another reader might not) is an edit.
//
// # Limitations
//
// The writer serialises appends with a mutex and fsyncs only when asked
// ([WithSync]); a crash can lose the last records but never leaves a valid-looking
// chain with a gap. Verification reads the whole file. A record that would be
// longer than about 1 MiB is written with every string field cut to 1 KiB and at
// most 16 attributes, so that it stays within Verify's default line bound.
package audit
