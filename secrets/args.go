package secrets

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/agentguard/agentguard/guard"
)

var _ guard.ArgValidator = (*Scanner)(nil)

// ValidateArgs implements [guard.ArgValidator]: it denies a call whose arguments
// hold a raw secret (rule "secrets.raw_in_args") in any decoded JSON string, key
// or value. Tools get credentials through ${secret:NAME} placeholders; a model
// that writes a key itself has seen it somewhere it should not have, or is being
// steered into exfiltrating it. Placeholders are not secrets and pass. Invalid
// JSON is denied. The allow-list pragma is not honoured (the model writes the
// arguments).
func (s *Scanner) ValidateArgs(ctx context.Context, c *guard.Call) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c == nil {
		return guard.Deny("secrets.args", "nil call")
	}
	if len(bytes.TrimSpace(c.Args)) == 0 {
		return nil
	}
	if !json.Valid(c.Args) {
		return guard.Deny("secrets.args.json", "arguments are not valid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(c.Args))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return guard.Deny("secrets.args.json", "arguments are not valid JSON")
		}
		str, ok := tok.(string)
		if !ok || len(str) < 6 {
			continue
		}
		if fs := s.scan(str, false, lang{}); len(fs) > 0 {
			rules := make([]string, 0, len(fs))
			for _, f := range fs {
				rules = append(rules, f.Rule)
			}
			return guard.Deny("secrets.raw_in_args", fmt.Sprintf(
				"the arguments contain a raw secret (%s); refer to secrets as ${secret:NAME} instead", strings.Join(rules, ", ")))
		}
	}
}
