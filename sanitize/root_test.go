package sanitize

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/agentguard/agentguard/guard"
)

const secretContent = "root:x:0:0:TOP-SECRET"

// newJail builds dir/docs (the root) and dir/secret.txt (outside it), with
// symlinks inside the root that try to leave it.
func newJail(t testing.TB) (docs string, secret string) {
	t.Helper()
	dir := t.TempDir()
	docs = filepath.Join(dir, "docs")
	secret = filepath.Join(dir, "secret.txt")
	must(t, os.MkdirAll(filepath.Join(docs, "sub"), 0o755))
	must(t, os.WriteFile(secret, []byte(secretContent), 0o600))
	must(t, os.WriteFile(filepath.Join(docs, "readme.txt"), []byte("hello"), 0o600))
	must(t, os.WriteFile(filepath.Join(docs, "sub", "note.txt"), []byte("note"), 0o600))
	must(t, os.Symlink(secret, filepath.Join(docs, "abs-link")))
	must(t, os.Symlink("../secret.txt", filepath.Join(docs, "rel-link")))
	must(t, os.Symlink("..", filepath.Join(docs, "up")))
	must(t, os.Symlink("sub/../../secret.txt", filepath.Join(docs, "sneaky-link")))
	must(t, os.Symlink("readme.txt", filepath.Join(docs, "inside-link")))
	must(t, os.Symlink("/", filepath.Join(docs, "sub", "slash")))
	return docs, secret
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestRootAdversarial(t *testing.T) {
	docs, _ := newJail(t)
	r, err := OpenRoot(docs, RootConfig{})
	must(t, err)
	defer r.Close()
	tests := []struct {
		name string
		path string
		rule string // denial rule; "notexist" for fs.ErrNotExist; "" for success
		want string
	}{
		{"plain file", "readme.txt", "", "hello"},
		{"nested", "sub/note.txt", "", "note"},
		{"dot segments inside", "sub/./note.txt", "", "note"},
		{"link inside root", "inside-link", "", "hello"},
		{"dotdot", "../secret.txt", "path.invalid", ""},
		{"dotdot etc passwd", "../../etc/passwd", "path.invalid", ""},
		{"inner dotdot escape", "sub/../../secret.txt", "path.invalid", ""},
		{"absolute", "/etc/passwd", "path.invalid", ""},
		{"absolute secret", "/" + strings.TrimPrefix(filepath.Join(filepath.Dir(docs), "secret.txt"), "/"), "path.invalid", ""},
		{"backslash", `..\..\etc\passwd`, "path.invalid", ""},
		{"NUL truncation", "readme.txt\x00.png", "path.invalid", ""},
		{"encoded dotdot", "%2e%2e%2fsecret.txt", "path.invalid", ""},
		{"double encoded", "%252e%252e%252fsecret.txt", "", "notexist"},
		{"encoded slash", "..%2fsecret.txt", "path.invalid", ""},
		{"division slash", "..\u2215secret.txt", "path.invalid", ""},
		{"fullwidth dots", "\uff0e\uff0e/secret.txt", "path.invalid", ""},
		{"fullwidth solidus", "..\uff0fsecret.txt", "path.invalid", ""},
		{"one dot leader", "\u2024\u2024/secret.txt", "path.invalid", ""},
		{"newline", "readme.txt\n", "path.invalid", ""},
		{"empty", "", "path.invalid", ""},
		{"absolute symlink", "abs-link", "path.escape", ""},
		{"relative symlink", "rel-link", "path.escape", ""},
		{"symlinked dir", "up/secret.txt", "path.escape", ""},
		{"symlink with dotdot", "sneaky-link", "path.escape", ""},
		{"symlink to slash", "sub/slash/etc/passwd", "path.escape", ""},
		{"directory", "sub", "path.not_regular", ""},
		{"missing", "nope.txt", "notexist", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := r.ReadFile(tt.path)
			if bytes.Contains(data, []byte("TOP-SECRET")) {
				t.Fatalf("read the secret through %q", tt.path)
			}
			switch tt.rule {
			case "":
				if tt.want == "notexist" {
					if !errors.Is(err, fs.ErrNotExist) {
						t.Fatalf("ReadFile(%q) = %v, want not-exist", tt.path, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("ReadFile(%q): %v", tt.path, err)
				}
				if string(data) != tt.want {
					t.Errorf("got %q, want %q", data, tt.want)
				}
			case "notexist":
				if !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("ReadFile(%q) = %v, want not-exist", tt.path, err)
				}
			default:
				var d *guard.DenialError
				if !errors.As(err, &d) || !errors.Is(err, guard.ErrDenied) {
					t.Fatalf("ReadFile(%q) = %v, want denial %s", tt.path, err, tt.rule)
				}
				if d.Rule != tt.rule {
					t.Errorf("rule = %s (%s), want %s", d.Rule, d.Reason, tt.rule)
				}
			}
		})
	}
}

func TestRootWrite(t *testing.T) {
	docs, secret := newJail(t)
	ro, err := OpenRoot(docs, RootConfig{})
	must(t, err)
	defer ro.Close()
	if err := ro.WriteFile("new.txt", []byte("x")); !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("read-only root wrote: %v", err)
	}
	if err := ro.MkdirAll("d"); !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("read-only root made a dir: %v", err)
	}
	if err := ro.Remove("readme.txt"); !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("read-only root removed: %v", err)
	}
	rw, err := OpenRoot(docs, RootConfig{Writable: true})
	must(t, err)
	defer rw.Close()
	must(t, rw.MkdirAll("out/deep"))
	must(t, rw.WriteFile("out/deep/a.txt", []byte("data")))
	if b, err := rw.ReadFile("out/deep/a.txt"); err != nil || string(b) != "data" {
		t.Fatalf("read back %q, %v", b, err)
	}
	for _, p := range []string{"abs-link", "rel-link", "up/secret.txt", "../secret.txt", "inside-link"} {
		if err := rw.WriteFile(p, []byte("pwned")); err == nil {
			t.Errorf("wrote through %q", p)
		}
	}
	if b, _ := os.ReadFile(secret); string(b) != secretContent {
		t.Fatalf("secret overwritten: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(docs, "readme.txt")); string(b) != "hello" {
		t.Fatalf("write followed an in-root link: %q", b)
	}
	if err := rw.MkdirAll("up/evil"); !errors.Is(err, guard.ErrDenied) {
		t.Errorf("MkdirAll through a link: %v", err)
	}
	must(t, rw.Remove("out/deep/a.txt"))
	if fi, err := rw.Lstat("abs-link"); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("Lstat(abs-link) = %v, %v", fi, err)
	}
	if _, err := rw.Stat("abs-link"); !errors.Is(err, guard.ErrDenied) {
		t.Errorf("Stat followed an escaping link: %v", err)
	}
}

func TestRootReadDir(t *testing.T) {
	docs, _ := newJail(t)
	r, err := OpenRoot(docs, RootConfig{})
	must(t, err)
	defer r.Close()
	entries, err := r.ReadDir(".")
	must(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "abs-link,inside-link,readme.txt,rel-link,sneaky-link,sub,up" {
		t.Errorf("ReadDir(.) = %v", names)
	}
	for _, p := range []string{"up", "..", "/", "sub/slash", "../docs"} {
		if _, err := r.ReadDir(p); !errors.Is(err, guard.ErrDenied) {
			t.Errorf("ReadDir(%q) = %v, want denial", p, err)
		}
	}
	if _, err := r.ReadDir("readme.txt"); !errors.Is(err, guard.ErrDenied) {
		t.Errorf("ReadDir(file) = %v", err)
	}
}

func TestRootLimits(t *testing.T) {
	docs, _ := newJail(t)
	must(t, os.WriteFile(filepath.Join(docs, "big.txt"), bytes.Repeat([]byte("x"), 100), 0o600))
	r, err := OpenRoot(docs, RootConfig{MaxReadBytes: 10})
	must(t, err)
	defer r.Close()
	if _, err := r.ReadFile("big.txt"); !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("big file read: %v", err)
	}
	if _, err := OpenRoot(docs, RootConfig{MaxReadBytes: -1}); err == nil {
		t.Fatal("negative limit accepted")
	}
	if _, err := OpenRoot(filepath.Join(docs, "missing"), RootConfig{}); err == nil {
		t.Fatal("missing dir accepted")
	}
}

// TestRootSwapRace swaps a path between a regular file and a symlink to the
// secret while reading it; os.Root must never return the secret.
func TestRootSwapRace(t *testing.T) {
	docs, secret := newJail(t)
	r, err := OpenRoot(docs, RootConfig{})
	must(t, err)
	defer r.Close()
	target := filepath.Join(docs, "swap")
	tmpLink := filepath.Join(docs, "swap.link")
	tmpFile := filepath.Join(docs, "swap.file")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				_ = os.Symlink(secret, tmpLink)
				_ = os.Rename(tmpLink, target)
			} else {
				_ = os.WriteFile(tmpFile, []byte("benign"), 0o600)
				_ = os.Rename(tmpFile, target)
			}
		}
	}()
	for range 2000 {
		data, _ := r.ReadFile("swap")
		if bytes.Contains(data, []byte("TOP-SECRET")) {
			close(stop)
			wg.Wait()
			t.Fatal("read the secret through a swapped symlink")
		}
	}
	close(stop)
	wg.Wait()
}

var pathSeeds = []string{"readme.txt", "../secret.txt", "abs-link", "up/secret.txt", "sub/../readme.txt", "%2e%2e/x",
	"\uff0e\uff0e/secret.txt", "a\x00", "/etc/passwd", "sub/slash/etc/passwd", "inside-link", ".", "sub/", "//x"}

// FuzzRootReadFile: whatever the name, a read through the root never returns
// the content of the file outside it, and CheckLocalPath never accepts a name
// with "..", a leading '/', a backslash or a NUL.
func FuzzRootReadFile(f *testing.F) {
	for _, s := range pathSeeds {
		f.Add(s)
	}
	docs, _ := newJail(f)
	r, err := OpenRoot(docs, RootConfig{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string) {
		data, _ := r.ReadFile(name)
		if bytes.Contains(data, []byte("TOP-SECRET")) {
			t.Fatalf("read the secret through %q", name)
		}
		if CheckLocalPath(name) == nil {
			if strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\\x00") {
				t.Fatalf("CheckLocalPath accepted %q", name)
			}
			for _, e := range strings.Split(name, "/") {
				if e == ".." {
					t.Fatalf("CheckLocalPath accepted %q", name)
				}
			}
		}
	})
}
