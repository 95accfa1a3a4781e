package sandbox

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"sync/atomic"
	"syscall"
	"time"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/sys"
)

// rootFS is the only file system a guest ever sees: a wazero sys.FS whose every
// operation goes through an [os.Root]. os.Root refuses "..", absolute paths and
// symlinks that resolve outside the root, including symlinks that were already
// in the host directory. The guest may not create symlinks or hard links at all,
// so nothing it leaves behind can point the host (or a later run) elsewhere.
//
// A read-only rootFS refuses every mutation with EROFS. A writable one counts
// the bytes written and refuses writes past its quota with EIO.
type rootFS struct {
	experimentalsys.UnimplementedFS
	root     *os.Root
	readOnly bool
	quota    *quota // nil for read-only
}

// quota bounds the bytes a guest may write into one scratch mount per run.
type quota struct {
	limit int64
	used  atomic.Int64
	hit   atomic.Bool
}

func (q *quota) take(n int) bool {
	if q == nil {
		return true
	}
	if q.used.Add(int64(n)) > q.limit {
		q.used.Add(-int64(n))
		q.hit.Store(true)
		return false
	}
	return true
}

func newRootFS(root *os.Root, readOnly bool, q *quota) *rootFS {
	return &rootFS{root: root, readOnly: readOnly, quota: q}
}

// clean maps a guest path (relative to the mount) to an os.Root name.
func clean(p string) string {
	if p == "" {
		return "."
	}
	return path.Clean(p)
}

// errno maps a host error to a WASI errno without leaking host detail. An
// os.Root escape attempt becomes EPERM.
func errno(err error) experimentalsys.Errno {
	if err == nil {
		return 0
	}
	var se syscall.Errno
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return experimentalsys.ENOENT
	case errors.Is(err, fs.ErrExist):
		return experimentalsys.EEXIST
	case errors.Is(err, fs.ErrPermission):
		return experimentalsys.EACCES
	case errors.As(err, &se):
		return experimentalsys.UnwrapOSError(se)
	case errors.As(err, &pe) && pe.Err != nil && !errors.As(pe.Err, &se):
		// os.Root's "path escapes from parent" and similar refusals.
		return experimentalsys.EPERM
	case errors.As(err, &le):
		return experimentalsys.EPERM
	}
	return experimentalsys.EIO
}

const writeFlags = experimentalsys.O_RDWR | experimentalsys.O_WRONLY | experimentalsys.O_CREAT |
	experimentalsys.O_TRUNC | experimentalsys.O_APPEND | experimentalsys.O_EXCL

func (r *rootFS) OpenFile(p string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	if r.readOnly && flag&writeFlags != 0 {
		return nil, experimentalsys.EROFS
	}
	of := 0
	switch {
	case flag&experimentalsys.O_RDWR != 0:
		of = os.O_RDWR
	case flag&experimentalsys.O_WRONLY != 0:
		of = os.O_WRONLY
	default:
		of = os.O_RDONLY
	}
	if flag&experimentalsys.O_APPEND != 0 {
		of |= os.O_APPEND
	}
	if flag&experimentalsys.O_CREAT != 0 {
		of |= os.O_CREATE
	}
	if flag&experimentalsys.O_EXCL != 0 {
		of |= os.O_EXCL
	}
	if flag&experimentalsys.O_TRUNC != 0 {
		of |= os.O_TRUNC
	}
	if flag&experimentalsys.O_NOFOLLOW != 0 {
		of |= syscall.O_NOFOLLOW
	}
	if flag&experimentalsys.O_DIRECTORY != 0 {
		of |= syscall.O_DIRECTORY
	}
	// O_NONBLOCK: opening a FIFO someone left in a mount must not block the
	// host (a blocked host call outlives the run's deadline); it is refused
	// below. On regular files and directories it changes nothing.
	of |= syscall.O_NONBLOCK
	name := clean(p)
	f, err := r.root.OpenFile(name, of, perm.Perm()&0o700)
	if err != nil {
		return nil, errno(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, errno(err)
	}
	if !fi.Mode().IsRegular() && !fi.IsDir() {
		// Devices, FIFOs and sockets are never handed to a guest.
		f.Close()
		return nil, experimentalsys.EACCES
	}
	wrapped, e := (&sysfs.AdaptFS{FS: &fileFS{first: f, root: r.root, name: name}}).OpenFile(name, experimentalsys.O_RDONLY, 0)
	if e != 0 {
		f.Close()
		return nil, e
	}
	return &rootFile{File: wrapped, f: f, readOnly: r.readOnly, quota: r.quota, append: of&os.O_APPEND != 0}, 0
}

func (r *rootFS) Lstat(p string) (sys.Stat_t, experimentalsys.Errno) {
	fi, err := r.root.Lstat(clean(p))
	if err != nil {
		return sys.Stat_t{}, errno(err)
	}
	return sys.NewStat_t(fi), 0
}

func (r *rootFS) Stat(p string) (sys.Stat_t, experimentalsys.Errno) {
	fi, err := r.root.Stat(clean(p))
	if err != nil {
		return sys.Stat_t{}, errno(err)
	}
	return sys.NewStat_t(fi), 0
}

func (r *rootFS) Readlink(p string) (string, experimentalsys.Errno) {
	s, err := r.root.Readlink(clean(p))
	if err != nil {
		return "", errno(err)
	}
	return s, 0
}

func (r *rootFS) Mkdir(p string, perm fs.FileMode) experimentalsys.Errno {
	if r.readOnly {
		return experimentalsys.EROFS
	}
	return errno(r.root.Mkdir(clean(p), perm.Perm()&0o700|0o700))
}

func (r *rootFS) Chmod(p string, perm fs.FileMode) experimentalsys.Errno {
	if r.readOnly {
		return experimentalsys.EROFS
	}
	// Permission bits inside the scratch area are the host's business; the
	// guest may only toggle within the owner's bits.
	return errno(r.root.Chmod(clean(p), perm.Perm()&0o700))
}

func (r *rootFS) Rename(from, to string) experimentalsys.Errno {
	if r.readOnly {
		return experimentalsys.EROFS
	}
	return errno(r.root.Rename(clean(from), clean(to)))
}

func (r *rootFS) Rmdir(p string) experimentalsys.Errno {
	if r.readOnly {
		return experimentalsys.EROFS
	}
	name := clean(p)
	fi, err := r.root.Lstat(name)
	if err != nil {
		return errno(err)
	}
	if !fi.IsDir() {
		return experimentalsys.ENOTDIR
	}
	if name == "." {
		return experimentalsys.EPERM
	}
	return errno(r.root.Remove(name))
}

func (r *rootFS) Unlink(p string) experimentalsys.Errno {
	if r.readOnly {
		return experimentalsys.EROFS
	}
	name := clean(p)
	fi, err := r.root.Lstat(name)
	if err != nil {
		return errno(err)
	}
	if fi.IsDir() {
		return experimentalsys.EISDIR
	}
	return errno(r.root.Remove(name))
}

// Link and Symlink are refused: a guest-made link is the classic way to make
// the host (or a later reader of the scratch directory) follow a path out.
func (r *rootFS) Link(_, _ string) experimentalsys.Errno {
	if r.readOnly {
		return experimentalsys.EROFS
	}
	return experimentalsys.EPERM
}

func (r *rootFS) Symlink(_, _ string) experimentalsys.Errno {
	if r.readOnly {
		return experimentalsys.EROFS
	}
	return experimentalsys.EPERM
}

func (r *rootFS) Utimens(p string, atim, mtim int64) experimentalsys.Errno {
	if r.readOnly {
		return experimentalsys.EROFS
	}
	if atim < 0 || mtim < 0 { // UTIME_NOW / UTIME_OMIT
		return 0
	}
	return errno(r.root.Chtimes(clean(p), time.Unix(0, atim), time.Unix(0, mtim)))
}

// rootFile is an open file inside a rootFS. Reads, seeks and directory
// listing are wazero's own fs.File adapter over the *os.File that os.Root
// opened; writes go through the quota and the read-only check here.
type rootFile struct {
	experimentalsys.File
	f        *os.File
	readOnly bool
	quota    *quota
	append   bool
}

// fileFS hands wazero's fs.File adapter the file os.Root already opened, and
// reopens directories through the same root when the guest rewinds them.
type fileFS struct {
	first *os.File
	root  *os.Root
	name  string
}

func (f *fileFS) Open(name string) (fs.File, error) {
	if first := f.first; first != nil {
		f.first = nil
		return first, nil
	}
	return f.root.Open(f.name)
}

func (f *rootFile) IsAppend() bool { return f.append }

func (f *rootFile) Write(buf []byte) (int, experimentalsys.Errno) {
	if f.readOnly {
		return 0, experimentalsys.EBADF
	}
	if !f.quota.take(len(buf)) {
		return 0, experimentalsys.EIO
	}
	return f.File.Write(buf)
}

func (f *rootFile) Pwrite(buf []byte, off int64) (int, experimentalsys.Errno) {
	if f.readOnly {
		return 0, experimentalsys.EBADF
	}
	if !f.quota.take(len(buf)) {
		return 0, experimentalsys.EIO
	}
	return f.File.Pwrite(buf, off)
}

func (f *rootFile) Truncate(size int64) experimentalsys.Errno {
	if f.readOnly {
		return experimentalsys.EBADF
	}
	if size < 0 {
		return experimentalsys.EINVAL
	}
	if f.quota != nil {
		fi, err := f.f.Stat()
		if err != nil {
			return errno(err)
		}
		if grow := size - fi.Size(); grow > 0 && !f.quota.take(int(min(grow, 1<<40))) {
			return experimentalsys.EIO
		}
	}
	return errno(f.f.Truncate(size))
}

func (f *rootFile) Sync() experimentalsys.Errno     { return 0 }
func (f *rootFile) Datasync() experimentalsys.Errno { return 0 }

func (f *rootFile) Utimens(atim, mtim int64) experimentalsys.Errno {
	if f.readOnly {
		return experimentalsys.EROFS
	}
	return 0
}
