package langchaingo_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	lcguard "github.com/agentguard/agentguard/adapters/langchaingo"
	"github.com/agentguard/agentguard/guard"
)

// Red-team tests: attacks on the langchaingo decorator.

const rtSecret = "sk_live_REDTEAM_0123456789abcdef"

func rtWrap(t *testing.T, f toolFunc, pre ...guard.Middleware) *lcguard.Tool {
	t.Helper()
	res, err := guard.ResolveSecrets(guard.SecretResolverFunc(func(_ context.Context, ref string) (guard.Secret, error) {
		if ref == "KEY" {
			return guard.NewSecret(ref, rtSecret), nil
		}
		return guard.Secret{}, errors.New("unknown")
	}))
	if err != nil {
		t.Fatal(err)
	}
	mws := append(pre, res)
	w, err := lcguard.Wrap(f, lcguard.Config{Chain: guard.Chain(mws[0], mws[1:]...),
		Principal: func(context.Context) (guard.Principal, error) { return guard.Principal{Role: "r"}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// Whatever shape the input has, the value resolved for the call does not come
// back to the agent in the output, an error or a panic.
func TestRedTeamLangchainNoSecretBack(t *testing.T) {
	tools := map[string]toolFunc{
		"echo":  func(_ context.Context, in string) (string, error) { return "got " + in, nil },
		"error": func(_ context.Context, in string) (string, error) { return "", errors.New("bad " + in) },
		"panic": func(_ context.Context, in string) (string, error) { panic("bad " + in) },
		"upper": func(_ context.Context, in string) (string, error) { return strings.ToUpper(in), nil },
	}
	inputs := []string{`${secret:KEY}`, `{"k":"${secret:KEY}"}`, `"${secret:KEY}"`, `["${secret:KEY}"]`, `{"k":"\u0024{secret:KEY}"}`}
	for name, f := range tools {
		for _, in := range inputs {
			out, err := func() (out string, err error) {
				defer func() {
					if p := recover(); p != nil {
						err = errors.New("wrapper panicked")
					}
				}()
				return rtWrap(t, f).Call(context.Background(), in)
			}()
			if err != nil {
				t.Errorf("%s %s: %v", name, in, err)
			}
			if strings.Contains(strings.ToUpper(out), strings.ToUpper(rtSecret)) {
				t.Errorf("%s %s: secret came back: %s", name, in, out)
			}
		}
	}
}

// Denials never run the tool, concurrently (run with -race).
func TestRedTeamLangchainDeniedNeverRuns(t *testing.T) {
	deny, _ := guard.Authorize(guard.ScoperFunc(func(context.Context, *guard.Call) error { return guard.Deny("no", "secret rule") }))
	var mu sync.Mutex
	ran := 0
	w := rtWrap(t, func(context.Context, string) (string, error) {
		mu.Lock()
		ran++
		mu.Unlock()
		return "ran", nil
	}, deny)
	var wg sync.WaitGroup
	for _, in := range []string{"x", `{"a":1}`, `${SECRET:KEY}`, ""} {
		wg.Go(func() {
			out, err := w.Call(context.Background(), in)
			if err != nil || strings.Contains(out, "secret rule") || out == "ran" {
				t.Errorf("%q: %q %v", in, out, err)
			}
		})
	}
	wg.Wait()
	if ran != 0 {
		t.Fatalf("denied calls ran the tool %d times", ran)
	}
}
