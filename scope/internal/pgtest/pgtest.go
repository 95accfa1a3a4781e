// Package pgtest starts a throw-away PostgreSQL server for tests, from the
// Debian packages' binaries (/usr/lib/postgresql/*/bin), listening only on a
// Unix socket in a temporary directory. When running as root it runs the
// server as the "postgres" (or "nobody") user, because initdb refuses root.
package pgtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// Start starts a server and returns a pgx DSN for its "postgres" database,
// stopping the server and removing its files when t ends. It skips t with a
// clear message when PostgreSQL is not installed or cannot be started.
func Start(t testing.TB) string {
	t.Helper()
	bin := findBin()
	if bin == "" {
		t.Skip("pgtest: PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (install the Debian package postgresql)")
	}
	dir, err := os.MkdirTemp("", "agpg-")
	if err != nil {
		t.Skipf("pgtest: temp dir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	data := filepath.Join(dir, "data")
	var runAs *user.User
	if os.Geteuid() == 0 {
		for _, name := range []string{"postgres", "nobody"} {
			if u, err := user.Lookup(name); err == nil {
				runAs = u
				break
			}
		}
		if runAs == nil {
			t.Skip("pgtest: running as root and no postgres or nobody user to run the server as")
		}
		uid, _ := strconv.Atoi(runAs.Uid)
		gid, _ := strconv.Atoi(runAs.Gid)
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Skipf("pgtest: %v", err)
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Skipf("pgtest: chown: %v", err)
		}
	}
	run := func(name string, args ...string) ([]byte, error) {
		argv := append([]string{filepath.Join(bin, name)}, args...)
		var cmd *exec.Cmd
		if runAs != nil {
			runuser, err := exec.LookPath("runuser")
			if err != nil {
				return nil, fmt.Errorf("runuser not found: %w", err)
			}
			cmd = exec.Command(runuser, append([]string{"-u", runAs.Username, "--"}, argv...)...)
		} else {
			cmd = exec.Command(argv[0], argv[1:]...)
		}
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.Bytes(), err
	}
	if out, err := run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"); err != nil {
		t.Skipf("pgtest: initdb failed (%v): %s", err, out)
	}
	opts := fmt.Sprintf("-k %s -c listen_addresses='' -p 5432 -c fsync=off -c full_page_writes=off", dir)
	if out, err := run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		t.Skipf("pgtest: pg_ctl start failed (%v): %s\n%s", err, out, log)
	}
	t.Cleanup(func() {
		if out, err := run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"); err != nil {
			t.Logf("pgtest: pg_ctl stop: %v: %s", err, out)
		}
	})
	return fmt.Sprintf("host=%s port=5432 user=postgres database=postgres sslmode=disable", dir)
}

func findBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.Sort(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "pg_ctl")); err == nil {
			if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
				return dirs[i]
			}
		}
	}
	return ""
}
