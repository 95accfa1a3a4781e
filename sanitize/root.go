package sanitize

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/agentguard/agentguard/guard"
)

// DefaultMaxReadBytes bounds [Root.ReadFile] when [RootConfig.MaxReadBytes] is
// zero.
const DefaultMaxReadBytes = 4 << 20

// RootConfig configures a [Root]. The zero value is read-only with a 4 MiB read
// limit.
type RootConfig struct {
	// Writable allows WriteFile, Create, Mkdir and Remove. Off by default.
	Writable bool
	// MaxReadBytes bounds ReadFile (default 4 MiB); larger files are refused.
	MaxReadBytes int64
	// FileMode is the permission of files WriteFile creates (default 0o600).
	FileMode fs.FileMode
	// Label names the folder in messages the model sees, for example
	// "documents" (default "allowed"). The directory's real path is never
	// shown.
	Label string
}

// Root is a directory a tool may use and nothing outside it. Every operation goes
// through [os.Root], which resolves each path component relative to the open
// directory and refuses to leave it: "..", absolute paths and symbolic links
// that point outside fail, and because the check happens during the open itself
// (openat, component by component, no following of an escaping link), a link
// swapped in between a check and the use cannot redirect it. There is no string
// check standing in for this; the string checks in [CheckLocalPath] only give the
// model a clearer message first.
//
// Errors for paths that try to leave the root are [*guard.DenialError]s at
// [guard.StageArgs] with rule "path.escape"; a missing file is an error matching
// [fs.ErrNotExist].
//
// A Root is safe for concurrent use.
type Root struct {
	root *os.Root
	cfg  RootConfig
}

// OpenRoot opens dir as a confined root. dir itself is trusted (it comes from the
// application, not the model).
func OpenRoot(dir string, cfg RootConfig) (*Root, error) {
	if cfg.MaxReadBytes < 0 {
		return nil, fmt.Errorf("sanitize: root: negative MaxReadBytes %d", cfg.MaxReadBytes)
	}
	if cfg.MaxReadBytes == 0 {
		cfg.MaxReadBytes = DefaultMaxReadBytes
	}
	if cfg.FileMode == 0 {
		cfg.FileMode = 0o600
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("sanitize: root: %w", err)
	}
	if cfg.Label == "" {
		cfg.Label = "allowed"
	}
	return &Root{root: r, cfg: cfg}, nil
}

// Close releases the root directory.
func (r *Root) Close() error { return r.root.Close() }

// Name returns the directory the root was opened with.
func (r *Root) Name() string { return r.root.Name() }

// FS returns a read-only fs.FS confined to the root.
func (r *Root) FS() fs.FS { return r.root.FS() }

// CheckLocalPath reports, as an error a model can act on, why name cannot be a
// path inside a root: empty, absolute, a drive or UNC path, containing "..",
// a NUL or control character, a backslash, or something that turns into one of
// these after percent-decoding or Unicode NFKC normalisation (for example
// "%2e%2e%2f", fullwidth dots "．．" or DIVISION SLASH U+2215), which a tool or
// file system further down might apply. It is a courtesy check for better
// messages and for tags; confinement itself is enforced by [Root].
func CheckLocalPath(name string) error {
	if err := localPath(name); err != nil {
		return err
	}
	if strings.Contains(name, "%") {
		if dec, err := url.PathUnescape(name); err != nil || dec != name && localPath(dec) != nil {
			return errors.New("must not contain percent-encoded path characters; write the path plainly")
		}
	}
	if n := norm.NFKC.String(name); n != name {
		if localPath(n) != nil {
			return errors.New("contains Unicode characters that look like path separators or dots; use plain ASCII '/' and '.'")
		}
		// Look-alike separators that NFKC keeps as they are.
		if strings.ContainsAny(n, "\u2215\u2044\u29f8\uff0f\uff3c") {
			return errors.New("contains Unicode characters that look like path separators; use plain ASCII '/'")
		}
	} else if strings.ContainsAny(name, "\u2215\u2044\u29f8\uff0f\uff3c") {
		return errors.New("contains Unicode characters that look like path separators; use plain ASCII '/'")
	}
	return nil
}

func localPath(name string) error {
	switch {
	case name == "":
		return errors.New("must not be empty")
	case strings.IndexByte(name, 0) >= 0:
		return errors.New("must not contain a NUL character")
	case strings.ContainsRune(name, '\\'):
		return errors.New("must use '/' as the separator, not '\\'")
	case strings.HasPrefix(name, "/"):
		return errors.New("must be relative to the root, not absolute")
	case strings.ContainsFunc(name, unicode.IsControl):
		return errors.New("must not contain control characters")
	}
	for elem := range strings.SplitSeq(name, "/") {
		if elem == ".." {
			return errors.New("must not contain '..'")
		}
	}
	if !filepath.IsLocal(filepath.FromSlash(name)) {
		return errors.New("must be a plain relative path inside the root")
	}
	return nil
}

// deny turns an os.Root error into a denial when it is an escape.
func (r *Root) deny(op, name string, err error) error {
	if err == nil {
		return nil
	}
	if isEscape(err) {
		return &guard.DenialError{Stage: guard.StageArgs, Rule: "path.escape",
			Reason: fmt.Sprintf("path %q leaves the %s folder; use a path inside it", truncate(name, 120), r.cfg.Label), Err: err}
	}
	return fmt.Errorf("sanitize: %s %q: %w", op, truncate(name, 120), err)
}

func (r *Root) precheck(name string) error {
	if err := CheckLocalPath(name); err != nil {
		return &guard.DenialError{Stage: guard.StageArgs, Rule: "path.invalid",
			Reason: fmt.Sprintf("path %q %s", truncate(name, 120), err.Error()), Err: err}
	}
	return nil
}

// isEscape reports whether err is os.Root refusing a path that leaves the root.
// os.Root does not export its error value, so the message is compared; any other
// error still fails the operation.
func isEscape(err error) bool {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		err = le.Err
	}
	return err != nil && err.Error() == "path escapes from parent"
}

func (r *Root) readOnly(op string) error {
	if r.cfg.Writable {
		return nil
	}
	return &guard.DenialError{Stage: guard.StageArgs, Rule: "path.read_only", Reason: op + " is not allowed: the folder is read-only"}
}

// Open opens name for reading. On Unix the open is non-blocking, so a FIFO
// planted in the root cannot hang it; Open does not check the file's type (use
// [Root.ReadFile], or Stat the returned file).
func (r *Root) Open(name string) (*os.File, error) {
	if err := r.precheck(name); err != nil {
		return nil, err
	}
	f, err := r.root.OpenFile(name, os.O_RDONLY|openNonblock, 0)
	return f, r.deny("open", name, err)
}

// Stat returns the file info of name, following symbolic links inside the root.
func (r *Root) Stat(name string) (fs.FileInfo, error) {
	if err := r.precheck(name); err != nil {
		return nil, err
	}
	fi, err := r.root.Stat(name)
	return fi, r.deny("stat", name, err)
}

// Lstat returns the file info of name without following a final symbolic link.
func (r *Root) Lstat(name string) (fs.FileInfo, error) {
	if err := r.precheck(name); err != nil {
		return nil, err
	}
	fi, err := r.root.Lstat(name)
	return fi, r.deny("lstat", name, err)
}

// ReadFile reads the regular file name, refusing directories, devices, FIFOs and
// files larger than the configured limit. The file is opened non-blocking, so a
// FIFO planted in the root cannot hang the tool, and its type is checked on the
// open descriptor.
func (r *Root) ReadFile(name string) ([]byte, error) {
	f, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("sanitize: read %q: %w", truncate(name, 120), err)
	}
	if !fi.Mode().IsRegular() {
		return nil, &guard.DenialError{Stage: guard.StageArgs, Rule: "path.not_regular",
			Reason: fmt.Sprintf("path %q is not a regular file", truncate(name, 120))}
	}
	if fi.Size() > r.cfg.MaxReadBytes {
		return nil, &guard.DenialError{Stage: guard.StageArgs, Rule: "path.too_large",
			Reason: fmt.Sprintf("file %q is larger than %d bytes", truncate(name, 120), r.cfg.MaxReadBytes)}
	}
	if err := clearNonblock(f); err != nil {
		return nil, fmt.Errorf("sanitize: read %q: %w", truncate(name, 120), err)
	}
	data, err := io.ReadAll(io.LimitReader(f, r.cfg.MaxReadBytes+1))
	if err != nil {
		return nil, fmt.Errorf("sanitize: read %q: %w", truncate(name, 120), err)
	}
	if int64(len(data)) > r.cfg.MaxReadBytes {
		return nil, &guard.DenialError{Stage: guard.StageArgs, Rule: "path.too_large",
			Reason: fmt.Sprintf("file %q is larger than %d bytes", truncate(name, 120), r.cfg.MaxReadBytes)}
	}
	return data, nil
}

// WriteFile writes data to name, creating or truncating it. It requires a
// writable root. Writing through a symbolic link is refused even when the link
// points inside the root. (A link swapped in between that check and the open
// can only point inside the root: os.Root still confines the open.)
func (r *Root) WriteFile(name string, data []byte) error {
	if err := r.readOnly("writing"); err != nil {
		return err
	}
	if err := r.precheck(name); err != nil {
		return err
	}
	if fi, err := r.root.Lstat(name); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return &guard.DenialError{Stage: guard.StageArgs, Rule: "path.symlink",
			Reason: fmt.Sprintf("path %q is a symbolic link; write to the file itself", truncate(name, 120))}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return r.deny("write", name, err)
	}
	f, err := r.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|openNonblock, r.cfg.FileMode)
	if err != nil {
		return r.deny("write", name, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err == nil {
		_, err = f.Write(data)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sanitize: write %q: %w", truncate(name, 120), err)
	}
	return nil
}

// maxDirEntries bounds [Root.ReadDir].
const maxDirEntries = 10000

// ReadDir lists the directory name ("." for the root), sorted by name. It
// refuses directories with more than 10000 entries. Entries that are symbolic
// links are listed as links; opening one goes through the root's checks.
func (r *Root) ReadDir(name string) ([]fs.DirEntry, error) {
	if err := r.precheck(name); err != nil {
		return nil, err
	}
	f, err := r.root.OpenFile(name, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, r.deny("readdir", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("sanitize: readdir %q: %w", truncate(name, 120), err)
	}
	if !fi.IsDir() {
		return nil, &guard.DenialError{Stage: guard.StageArgs, Rule: "path.not_dir",
			Reason: fmt.Sprintf("path %q is not a folder", truncate(name, 120))}
	}
	entries, err := f.ReadDir(maxDirEntries + 1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("sanitize: readdir %q: %w", truncate(name, 120), err)
	}
	if len(entries) > maxDirEntries {
		return nil, &guard.DenialError{Stage: guard.StageArgs, Rule: "path.too_large",
			Reason: fmt.Sprintf("folder %q has more than %d entries", truncate(name, 120), maxDirEntries)}
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, nil
}

// MkdirAll creates directory name and any missing parents. It requires a
// writable root.
func (r *Root) MkdirAll(name string) error {
	if err := r.readOnly("creating folders"); err != nil {
		return err
	}
	if err := r.precheck(name); err != nil {
		return err
	}
	return r.deny("mkdir", name, r.root.MkdirAll(name, 0o700))
}

// Remove removes the file or empty directory name. It requires a writable root.
func (r *Root) Remove(name string) error {
	if err := r.readOnly("removing"); err != nil {
		return err
	}
	if err := r.precheck(name); err != nil {
		return err
	}
	return r.deny("remove", name, r.root.Remove(name))
}
