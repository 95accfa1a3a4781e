package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestQuickstart(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := run(f); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(f.Name())
	out := string(b)
	for _, want := range []string{"decision=deny", "rule=role.tools", `model is told: The call to "refund_order" was refused by policy.`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
