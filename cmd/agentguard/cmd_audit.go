package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"github.com/agentguard/agentguard/audit"
)

const auditUsage = `Usage: agentguard audit verify [--key-env VAR] [--head HASH] FILE

Verifies a hash-chained audit log written by package audit: every record's hash,
its link to the previous record and its sequence number. Prints the number of
records and the head hash, or the first record that was edited, removed, inserted
or reordered, and which kind of tampering it is.

Flags:
  --key-env VAR   read the log's HMAC key (hex) from environment variable VAR
  --head HASH     the head hash recorded elsewhere; detects records removed from the end

Exit status: 0 the log verifies, 1 it was tampered with, 2 bad usage or unreadable file.
`

func init() {
	register(&command{name: "audit", summary: "verify a tamper-evident audit log", usage: auditUsage, run: runAudit})
}

func runAudit(ctx context.Context, e *env, args []string) int {
	c := lookup("audit")
	_, args, code, ok := subcommand(e, c, args, "verify")
	if !ok {
		return code
	}
	fs := newFlags(e, c)
	keyEnv := fs.String("key-env", "", "")
	head := fs.String("head", "", "")
	if code, ok := parseFlags(e, c, fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(e.stderr, "agentguard audit verify: want exactly one FILE\n")
		return exitUsage
	}
	var key []byte
	if *keyEnv != "" {
		k, err := hex.DecodeString(e.getenv(*keyEnv))
		if err != nil || len(k) == 0 {
			fmt.Fprintf(e.stderr, "agentguard audit verify: $%s must hold a hex key\n", *keyEnv)
			return exitUsage
		}
		key = k
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(e.stderr, "agentguard audit verify: %v\n", err)
		return exitUsage
	}
	defer f.Close()
	res, err := audit.Verify(f, audit.VerifyOptions{Key: key, Head: *head})
	var te *audit.TamperError
	if errors.As(err, &te) {
		fmt.Fprintf(e.stdout, "TAMPERED: line %d (record %d): %s — %s\n", te.Line, te.Seq, te.Kind, te.Detail)
		return exitFail
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "agentguard audit verify: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(e.stdout, "ok: %d records, head %s\n", res.Records, res.Head)
	return exitOK
}
