package secrets_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/secrets"
)

// A tool gets the payment key by placeholder; its result echoes the key and
// comes back redacted. send_email may not use the key.
func Example() {
	store, _ := secrets.NewMemory(map[string]string{"PAY_KEY": "sk_live_51H8xExampleExampleKey"})
	policy, _ := secrets.NewToolPolicy(store, secrets.ToolPolicyConfig{
		Allow: map[string][]string{"PAY_KEY": {"charge"}},
	})
	stage, _ := guard.ResolveSecrets(policy)
	tool := stage(guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
		var a struct{ Key string }
		_ = json.Unmarshal(c.Args, &a)
		return &guard.Result{Content: "charged with key " + a.Key}, nil
	}))

	res, _ := tool.Handle(context.Background(), &guard.Call{Tool: "charge", Args: json.RawMessage(`{"key":"${secret:PAY_KEY}"}`)})
	fmt.Println(res.Content)

	_, err := tool.Handle(context.Background(), &guard.Call{Tool: "send_email", Args: json.RawMessage(`{"key":"${secret:PAY_KEY}"}`)})
	var d *guard.DenialError
	fmt.Println(errors.As(err, &d), d.Rule)
	// Output:
	// charged with key [REDACTED:PAY_KEY]
	// true secrets.tool
}

func ExampleScanner_Scan() {
	s, _ := secrets.NewScanner(secrets.ScannerConfig{})
	text := "deploy with token ghp_" + "abcdefghijklmnopqrstuvwxyz0123456789 please"
	for _, f := range s.Scan(text) {
		fmt.Println(f.Rule, f.Start, f.End)
	}
	// Output:
	// github-pat 18 58
}

// ScanFile reads a value assigned to a secret-looking name by the file's
// language: in Objective-C '…' is not a string, in a .conf file a bare value
// runs to the end of the word.
func ExampleScanner_ScanFile() {
	s, _ := secrets.NewScanner(secrets.ScannerConfig{})
	for _, f := range []struct{ name, text string }{
		{"Login.m", `api_key = 'Tr0ub4dor&3x!';`},
		{"Login.m", `api_key = @"Tr0ub4dor&3x!";`},
		{"db.conf", `password = Tr0ub4dor&3x!`},
		{"", `password = Tr0ub4dor&3x!`},
	} {
		found := "nothing"
		for _, fd := range s.ScanFile(f.name, f.text) {
			found = fmt.Sprintf("%s %q", fd.Rule, f.text[fd.Start:fd.End])
		}
		fmt.Printf("%-8s %-30s %s\n", cmp.Or(f.name, "(none)"), f.text, found)
	}
	// Output:
	// Login.m  api_key = 'Tr0ub4dor&3x!';     nothing
	// Login.m  api_key = @"Tr0ub4dor&3x!";    generic-password "Tr0ub4dor&3x!"
	// db.conf  password = Tr0ub4dor&3x!       generic-password "Tr0ub4dor&3x!"
	// (none)   password = Tr0ub4dor&3x!       generic-password "Tr0ub4dor"
}

func ExampleScanner_Redact() {
	s, _ := secrets.NewScanner(secrets.ScannerConfig{})
	out, _ := s.Redact(`db_password = "Tr0ub4dor&3x!"`)
	fmt.Println(out)
	// Output:
	// db_password = "[REDACTED:generic-password]"
}

func ExampleNewChain() {
	env, _ := secrets.NewEnv(secrets.EnvConfig{Prefix: "APP_SECRET_", Lookup: func(k string) (string, bool) {
		if k == "APP_SECRET_DB" {
			return "from-env", true
		}
		return "", false
	}})
	fallback, _ := secrets.NewMemory(map[string]string{"DB": "from-memory", "API": "api-from-memory"})
	chain, _ := secrets.NewChain(env, fallback)
	for _, name := range []string{"DB", "API", "NOPE"} {
		s, err := chain.ResolveSecret(context.Background(), name)
		fmt.Println(name, s, errors.Is(err, secrets.ErrNotFound), s.Equal("from-env"))
	}
	// Output:
	// DB [REDACTED:DB] false true
	// API [REDACTED:API] false false
	// NOPE [REDACTED] true false
}
