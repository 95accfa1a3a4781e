package secrets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/agentguard/agentguard/guard"
)

// FileConfig configures [NewFile].
type FileConfig struct {
	// Dir holds one file per secret, named after the secret. Required. It must
	// not be writable by group or others.
	Dir string
	// MaxSize bounds a secret file; the default is 64 KiB.
	MaxSize int64
}

// File resolves secrets from files in one directory (the layout of Docker and
// Kubernetes secret mounts). ${secret:db/password} reads Dir/db/password.
//
// It refuses a file that is readable, writable or executable by group or others
// (mode & 0o077 != 0), that is not a regular file, or that is a symbolic link, and
// it opens files through an [os.Root], so no name can reach outside Dir. One
// trailing newline is removed from the value.
type File struct {
	dir     string
	maxSize int64
}

var _ guard.SecretResolver = (*File)(nil)

// NewFile returns a File resolver for cfg.Dir.
func NewFile(cfg FileConfig) (*File, error) {
	if cfg.Dir == "" {
		return nil, errors.New("secrets: file: Dir is required")
	}
	if cfg.MaxSize < 0 {
		return nil, errors.New("secrets: file: negative MaxSize")
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = 64 << 10
	}
	fi, err := os.Stat(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("secrets: file: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("secrets: file: %s is not a directory", cfg.Dir)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("secrets: file: directory %s is writable by group or others (mode %v)", cfg.Dir, fi.Mode().Perm())
	}
	return &File{dir: cfg.Dir, maxSize: cfg.MaxSize}, nil
}

// ResolveSecret reads the file named ref.
func (f *File) ResolveSecret(ctx context.Context, ref string) (guard.Secret, error) {
	if err := ctx.Err(); err != nil {
		return guard.Secret{}, err
	}
	if !guard.ValidSecretName(ref) || strings.ContainsAny(ref, "#") {
		return guard.Secret{}, notFound("file", ref)
	}
	root, err := os.OpenRoot(f.dir)
	if err != nil {
		return guard.Secret{}, fmt.Errorf("secrets: file: %w", err)
	}
	defer root.Close()
	li, err := root.Lstat(ref)
	if errors.Is(err, fs.ErrNotExist) {
		return guard.Secret{}, notFound("file", ref)
	}
	if err != nil {
		return guard.Secret{}, fmt.Errorf("secrets: file: %q: %w", ref, err)
	}
	if err := f.check(ref, li); err != nil {
		return guard.Secret{}, err
	}
	fh, err := root.Open(ref)
	if err != nil {
		return guard.Secret{}, fmt.Errorf("secrets: file: %q: %w", ref, err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return guard.Secret{}, fmt.Errorf("secrets: file: %q: %w", ref, err)
	}
	// The file opened must be the one checked: a symlink swapped in between
	// Lstat and Open is caught here.
	if !os.SameFile(li, fi) {
		return guard.Secret{}, guard.Deny("secrets.file.changed", fmt.Sprintf("secret file %q changed while being opened", ref))
	}
	if err := f.check(ref, fi); err != nil {
		return guard.Secret{}, err
	}
	b, err := io.ReadAll(io.LimitReader(fh, f.maxSize+1))
	if err != nil {
		return guard.Secret{}, fmt.Errorf("secrets: file: %q: read failed", ref)
	}
	if int64(len(b)) > f.maxSize {
		return guard.Secret{}, guard.Deny("secrets.file.size", fmt.Sprintf("secret file %q exceeds %d bytes", ref, f.maxSize))
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if v == "" {
		return guard.Secret{}, notFound("file", ref)
	}
	return guard.NewSecret(ref, v), nil
}

func (f *File) check(ref string, fi fs.FileInfo) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return guard.Deny("secrets.file.symlink", fmt.Sprintf("secret file %q is a symbolic link", ref))
	case !fi.Mode().IsRegular():
		return guard.Deny("secrets.file.type", fmt.Sprintf("secret file %q is not a regular file", ref))
	case fi.Mode().Perm()&0o077 != 0:
		return guard.Deny("secrets.file.mode", fmt.Sprintf("secret file %q is accessible by group or others (mode %v); chmod 600 it", ref, fi.Mode().Perm()))
	case fi.Size() > f.maxSize:
		return guard.Deny("secrets.file.size", fmt.Sprintf("secret file %q exceeds %d bytes", ref, f.maxSize))
	}
	return nil
}
