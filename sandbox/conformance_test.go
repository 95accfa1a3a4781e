package sandbox

import (
	"testing"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/guardtest"
)

func TestWasmConformance(t *testing.T) {
	w := newWasm(t, Config{})
	guardtest.TestSandbox(t, w, guardtest.SandboxCases{
		OK: guard.Code{Lang: LangWasm, Module: module(t, "hello")}, WantStdout: "hello\n",
		Forever: guard.Code{Lang: LangWasm, Module: module(t, "loop")},
	})
}

func TestPythonConformance(t *testing.T) {
	w := newPython(t, Config{})
	guardtest.TestSandbox(t, w, guardtest.SandboxCases{
		OK: guard.Code{Lang: LangPython, Source: "print(1+1)"}, WantStdout: "2\n",
		Forever: guard.Code{Lang: LangPython, Source: "while True: pass"},
		// The deadline covers interpreter start-up, slow under -race.
		Deadline: 3 * time.Second,
	})
}
