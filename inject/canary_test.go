package inject

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestCanary(t *testing.T) {
	c, err := NewCanary()
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := NewCanary()
	if c.Token() == c2.Token() || len(c.Token()) < 20 {
		t.Fatalf("weak canaries %q %q", c.Token(), c2.Token())
	}
	tok := c.Token()
	spaced := strings.Join(strings.Split(tok, ""), " ")
	leaks := map[string]string{
		"verbatim":   "my instructions say " + tok,
		"upper":      strings.ToUpper(tok),
		"spaced":     spaced,
		"zero_width": strings.Join(strings.Split(tok, ""), "\u200b"),
		"fullwidth":  toFullwidth(tok),
		"base64":     "here: " + base64.StdEncoding.EncodeToString([]byte("the marker is "+tok)),
		"hex":        hex.EncodeToString([]byte(tok)),
		"tags":       "ok" + tagSmuggle(tok),
	}
	for name, text := range leaks {
		if !c.Leaked(text) {
			t.Errorf("%s: leak not found in %q", name, text)
		}
	}
	for _, text := range []string{"", "nothing here", c2.Token(), tok[:len(tok)-2]} {
		if c.Leaked(text) {
			t.Errorf("false leak in %q", text)
		}
	}
	if (Canary{}).Leaked("anything") {
		t.Error("zero canary leaked")
	}
	if p := c.Embed("You are helpful."); !strings.HasPrefix(p, "You are helpful.") || !strings.Contains(p, tok) {
		t.Errorf("Embed = %q", p)
	}
}

func toFullwidth(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r > ' ' && r < 0x7f {
			r += 0xFEE0
		}
		b.WriteRune(r)
	}
	return b.String()
}

func TestCanaryRedacts(t *testing.T) {
	c, _ := NewCanary()
	var logs strings.Builder
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "canary", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s %q", c, c, c, c, c), logs.String()} {
		if strings.Contains(s, c.Token()) {
			t.Errorf("token printed: %s", s)
		}
	}
}
