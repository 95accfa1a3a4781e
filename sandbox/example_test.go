package sandbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/sandbox"
)

// A WASI command module runs with no files, no network, no environment, a fixed
// clock and the default limits.
func ExampleWasm_Exec() {
	sb, err := sandbox.New(sandbox.Config{Timeout: time.Second, Dir: os.TempDir()})
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()
	mod, err := os.ReadFile("testdata/hello.wasm")
	if err != nil {
		log.Fatal(err)
	}
	ex, err := sb.Exec(context.Background(), guard.Code{Lang: sandbox.LangWasm, Module: mod})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s exit=%d limit=%q\n", ex.Stdout, ex.ExitCode, ex.LimitHit)
	// Output:
	// hello
	//  exit=0 limit=""
}

// A loop that never ends is stopped at its deadline and reported as the time
// limit; it is an Execution, not an error.
func ExampleWasm_Exec_deadline() {
	sb, err := sandbox.New(sandbox.Config{Timeout: 100 * time.Millisecond, Dir: os.TempDir()})
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()
	mod, _ := os.ReadFile("testdata/loop.wasm")
	ex, err := sb.Exec(context.Background(), guard.Code{Lang: sandbox.LangWasm, Module: mod})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ex.LimitHit)
	// Output: time
}

// A host directory is mounted read-only through os.Root: the guest reads the
// input, and a symlink in the directory that points at /etc/passwd is refused.
func ExampleMount() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "in.txt"), []byte("42"), 0o644)
	os.Symlink("/etc/passwd", filepath.Join(dir, "passwd"))

	sb, err := sandbox.New(sandbox.Config{Dir: os.TempDir(), Mounts: []sandbox.Mount{{HostDir: dir, GuestPath: "/data"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()
	probe, _ := os.ReadFile("testdata/fsprobe.wasm") // fsprobe r PATH prints a file
	for _, p := range []string{"in.txt", "passwd"} {
		ex, _ := sb.Exec(context.Background(), guard.Code{Lang: sandbox.LangWasm, Module: probe, Args: []string{"r", p}})
		fmt.Printf("%s: %q exit=%d\n", p, ex.Stdout, ex.ExitCode)
	}
	// Output:
	// in.txt: "42" exit=0
	// passwd: "" exit=63
}

// A session keeps the interpreter's state between runs; another session
// shares nothing with it. (Needs `agentguard sandbox install python`.)
func ExampleWasm_NewSession() {
	sb, err := sandbox.New(sandbox.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()
	s, err := sb.NewSession(context.Background(), sandbox.LangPython)
	if err != nil {
		log.Fatal(err) // sandbox.ErrNotInstalled names the install command
	}
	defer s.Close()
	s.Exec(context.Background(), guard.Code{Source: "total = 40"})
	ex, _ := s.Exec(context.Background(), guard.Code{Source: "print(total + 2)"})
	fmt.Print(string(ex.Stdout)) // 42
}

// The run_python tool takes {"code": "..."} and returns what the program
// printed, its exit status and any limit that stopped it. Here a stand-in
// sandbox replays an execution.
func ExampleNewPythonTool() {
	fake := guard.SandboxFunc(func(ctx context.Context, c guard.Code) (*guard.Execution, error) {
		return &guard.Execution{Stdout: []byte("2\n")}, nil
	})
	tool, err := sandbox.NewPythonTool(fake, sandbox.ToolConfig{})
	if err != nil {
		log.Fatal(err)
	}
	args, _ := json.Marshal(map[string]string{"code": "print(1+1)"})
	r, err := tool.Handle(context.Background(), &guard.Call{ID: "1", Tool: sandbox.PythonToolName, Args: args})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(r.Content)
	// Output:
	// exit status: 0
	// stdout:
	// 2
}

// The process backend confines a host program with Landlock; a binary that
// uses it calls sandbox.Main first thing in main.
func ExampleNewProcess() {
	p, err := sandbox.NewProcess(sandbox.ProcessConfig{Timeout: 5 * time.Second})
	if err != nil {
		log.Fatal(err) // sandbox.ErrNoLandlock on a kernel without Landlock
	}
	ex, err := p.Exec(context.Background(), guard.Code{Lang: sandbox.LangProcess, Args: []string{"/bin/cat", "/etc/passwd"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ex.ExitCode != 0) // true: /etc is not readable
}
