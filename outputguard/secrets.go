package outputguard

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/secrets"
)

// SecretValueSource supplies the secret values resolved in the session or call an
// output belongs to, so that they can be found in the output. The secrets
// package's resolution records can be adapted to it. Implementations must be safe
// for concurrent use.
type SecretValueSource interface {
	SecretValues(ctx context.Context, out *guard.Output) ([]guard.Secret, error)
}

// SecretValueSourceFunc adapts a function to a [SecretValueSource].
type SecretValueSourceFunc func(ctx context.Context, out *guard.Output) ([]guard.Secret, error)

// SecretValues calls f(ctx, out).
func (f SecretValueSourceFunc) SecretValues(ctx context.Context, out *guard.Output) ([]guard.Secret, error) {
	return f(ctx, out)
}

// SecretsConfig configures [NewSecrets]. The zero value runs the built-in
// credential patterns and blocks on a match.
type SecretsConfig struct {
	// Action is what to do with a match. The zero value is [ActionBlock]; mask and
	// redact both replace the whole match (a secret is never partly shown).
	Action Action
	// Values are secret values known when the filter is built.
	Values []guard.Secret
	// Source supplies the values resolved for each output's session (optional).
	// An error from it blocks the output (fail closed).
	Source SecretValueSource
	// Scanners are further secret scanners, for example the secrets package's
	// free-text scanner adapted with [ScannerFunc]. Their findings get this
	// filter's Action.
	Scanners []Scanner
	// Scrubber is a resolved-secret scrubber (see [guard.Scrubber]) whose values
	// must not appear in the output. The scrubber the secrets stage puts in the
	// context ([guard.ScrubberFromContext]) is applied as well. A scrubber knows
	// more encodings (JSON and path escaping) but reports no positions, so it is
	// used by FilterOutput only, not when streaming.
	Scrubber *guard.Scrubber
	// NoBuiltins turns off the built-in patterns: the secrets package's scanner
	// (provider tokens, private keys, JWTs, credentials in URLs, secret-looking
	// assignments), for callers whose own Scanners cover them.
	NoBuiltins bool
}

// MinSecretValueLen is the shortest secret value searched for: shorter values
// would match ordinary text.
const MinSecretValueLen = 6

// Secrets finds credentials in output: the values resolved in the session (and
// their hex, base64 and URL encodings), the secrets package's scanner of
// credential formats, any further [Scanner]s, and resolved-secret scrubbers. It is a [guard.OutputFilter] and
// a [Scanner]. Create it with [NewSecrets].
type Secrets struct {
	action   Action
	values   []valueForms
	source   SecretValueSource
	scanners []Scanner
	builtins *secrets.Scanner
	scrubber *guard.Scrubber
}

// valueForms holds a secret's name and the strings that reveal it.
type valueForms struct {
	name  string
	forms []string
}

var _ guard.OutputFilter = (*Secrets)(nil)
var _ Scanner = (*Secrets)(nil)

// NewSecrets returns a secrets filter for cfg.
func NewSecrets(cfg SecretsConfig) (*Secrets, error) {
	if !cfg.Action.valid() {
		return nil, fmt.Errorf("outputguard: secrets: invalid action %v", cfg.Action)
	}
	for i, sc := range cfg.Scanners {
		if sc == nil {
			return nil, fmt.Errorf("outputguard: secrets: scanner %d: %w", i, guard.ErrNilPolicy)
		}
	}
	s := &Secrets{action: cfg.Action, source: cfg.Source, scrubber: cfg.Scrubber}
	if !cfg.NoBuiltins {
		sc, err := secrets.NewScanner(secrets.ScannerConfig{})
		if err != nil {
			return nil, fmt.Errorf("outputguard: secrets: %w", err)
		}
		s.builtins = sc
	}
	s.scanners = append(s.scanners, cfg.Scanners...)
	s.values = secretForms(cfg.Values)
	if s.builtins == nil && len(s.values) == 0 && s.source == nil && len(s.scanners) == 0 && s.scrubber == nil {
		return nil, fmt.Errorf("outputguard: secrets: nothing to detect (no built-ins, values, source or scanners): %w", guard.ErrNilPolicy)
	}
	return s, nil
}

// WithValues returns a copy of s that also searches for vs. Use it to build a
// streaming [Scanner] for one session's resolved values.
func (s *Secrets) WithValues(vs ...guard.Secret) *Secrets {
	cp := *s
	cp.values = append(secretForms(vs), s.values...)
	return &cp
}

// FilterOutput blocks or rewrites out when it carries a secret.
func (s *Secrets) FilterOutput(ctx context.Context, out *guard.Output) (guard.Verdict, error) {
	if out == nil {
		return blockNil("secret")
	}
	sc := s
	if s.source != nil {
		vs, err := s.source.SecretValues(ctx, out)
		if err != nil {
			return guard.Verdict{Action: guard.Block, Rule: "output.secret.source",
					Reason: "could not load the session's secret values; blocking (fail closed)"},
				fmt.Errorf("outputguard: secrets: value source: %w", err)
		}
		if len(vs) > 0 {
			sc = s.WithValues(vs...)
		}
	}
	v := verdictFor(out.Text, "secret", sc.Scan(out.Text))
	if v.Action == guard.Block {
		return v, nil
	}
	// Scrubbers: the configured one and the one the secrets stage put in ctx.
	text := out.Text
	if v.Action == guard.Rewrite {
		text = v.Text
	}
	for _, scr := range []*guard.Scrubber{s.scrubber, guard.ScrubberFromContext(ctx)} {
		if scr == nil || !scr.Contains(text) {
			continue
		}
		v.Categories = appendNew(v.Categories, "secret.value")
		v.Rule = "output.secret"
		if s.action == ActionBlock {
			return guard.Verdict{Action: guard.Block, Categories: v.Categories, Rule: "output.secret",
				Reason: "output contains a secret resolved in this session; blocked"}, nil
		}
		text = scr.Scrub(text)
		v.Action, v.Text = guard.Rewrite, text
		v.Reason = "output contained " + joinOr(v.Categories, "a secret") + "; rewritten"
	}
	return v, nil
}

// Scan reports the secrets in text.
func (s *Secrets) Scan(text string) []Finding {
	var fs []Finding
	for _, v := range s.values {
		cat := "secret.value"
		for _, form := range v.forms {
			for from := 0; ; {
				k := strings.Index(text[from:], form)
				if k < 0 {
					break
				}
				start := from + k
				fs = s.add(fs, cat, v.name, start, start+len(form))
				from = start + len(form)
			}
		}
	}
	if s.builtins != nil {
		// A private key's finding already spans its key material, to the END
		// line or to the end of the text (see secrets.Scanner.Scan).
		for _, f := range s.builtins.Scan(text) {
			fs = s.add(fs, "secret."+f.Rule, "", f.Start, f.End)
		}
	}
	for _, sc := range s.scanners {
		for _, f := range sc.Scan(text) {
			if f.Start < 0 || f.End > len(text) || f.Start > f.End {
				// a broken scanner blocks rather than being ignored
				fs = append(fs, Finding{Start: 0, End: 0, Category: "secret.scanner_error", Action: ActionBlock})
				continue
			}
			fs = s.add(fs, firstNonEmpty(f.Category, "secret"), "", f.Start, f.End)
		}
	}
	return fs
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *Secrets) add(fs []Finding, cat, name string, start, end int) []Finding {
	repl := guard.RedactionMarker(firstNonEmpty(name, cat))
	if s.action == ActionMask {
		repl = strings.Repeat("*", min(end-start, 8))
	}
	return append(fs, Finding{Start: start, End: end, Category: cat, Action: s.action, Replacement: repl})
}

// secretForms computes the strings that reveal each value: the value itself, its
// lower- and upper-case hex, its URL query escaping, and the stable core of its
// standard and URL-safe base64 encodings at each of the three byte alignments (so
// the value is found inside a longer base64 blob).
func secretForms(vs []guard.Secret) []valueForms {
	var out []valueForms
	for _, v := range vs {
		raw := v.Reveal()
		if len(raw) < MinSecretValueLen {
			continue
		}
		vf := valueForms{name: v.Name()}
		addForm := func(f string) {
			if len(f) >= MinSecretValueLen && !containsString(vf.forms, f) {
				vf.forms = append(vf.forms, f)
			}
		}
		addForm(raw)
		h := hex.EncodeToString([]byte(raw))
		addForm(h)
		addForm(strings.ToUpper(h))
		addForm(url.QueryEscape(raw))
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			for pad := 0; pad < 3; pad++ {
				addForm(base64Core(enc, raw, pad))
			}
		}
		out = append(out, vf)
	}
	return out
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// base64Core returns the part of the base64 encoding of raw that is the same
// whatever bytes precede raw (pad of them) or follow it.
func base64Core(enc *base64.Encoding, raw string, pad int) string {
	src := make([]byte, pad+len(raw))
	copy(src[pad:], raw)
	e := enc.EncodeToString(src)
	// Characters fully determined by raw start after the first pad bytes' chars...
	skip := 0
	switch pad {
	case 1:
		skip = 2 // chars 0,1 mix the pad byte
	case 2:
		skip = 3 // chars 0..2 mix the pad bytes
	}
	// ...and end before the last group that mixes in following bytes.
	total := pad + len(raw)
	full := total / 3 * 4 // chars from complete 3-byte groups
	if full <= skip {
		return ""
	}
	return e[skip:full]
}
