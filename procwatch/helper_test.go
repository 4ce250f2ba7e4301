//go:build linux

package procwatch

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kubeharden/kubeharden/internal/testcluster"
)

// The test binary doubles as the helper that starts processes inside
// cgroups: it writes its PID to the cgroup.procs files of KH_CGROUPS,
// optionally enters a fresh root (KH_CHROOT: a tmpfs in a mount namespace
// of its own, with the host's /usr bound read-only), then execs KH_EXEC.
const helperEnv = "KH_PROCWATCH_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		if err := helper(); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(127)
		}
	}
	testcluster.Main(m)
}

func helper() error {
	runtime.LockOSThread()
	for _, procs := range strings.Split(os.Getenv("KH_CGROUPS"), ":") {
		if procs == "" {
			continue
		}
		if err := os.WriteFile(procs, []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
			return fmt.Errorf("joining %s: %w", procs, err)
		}
	}
	if exe := os.Getenv("KH_STORM_EXE"); exe != "" {
		return stormGenerator(exe)
	}
	if dir := os.Getenv("KH_CHROOT"); dir != "" {
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			return fmt.Errorf("unshare: %w", err)
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			return fmt.Errorf("private /: %w", err)
		}
		if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
			return fmt.Errorf("tmpfs: %w", err)
		}
		for _, d := range []string{"usr", "etc", "tmp"} {
			if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
				return err
			}
		}
		if err := unix.Mount("/usr", filepath.Join(dir, "usr"), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind /usr: %w", err)
		}
		for _, l := range []string{"bin", "lib", "lib64", "sbin"} {
			if err := os.Symlink("usr/"+l, filepath.Join(dir, l)); err != nil {
				return err
			}
		}
		if err := unix.Chroot(dir); err != nil {
			return fmt.Errorf("chroot: %w", err)
		}
		if err := os.Chdir("/"); err != nil {
			return err
		}
	}
	argv := strings.Split(os.Getenv("KH_EXEC"), "\x1f")
	return syscall.Exec(argv[0], argv, []string{"PATH=/usr/bin:/bin"})
}

// cgroupDirs are the directories a test created, removed at its end
// (deepest first) once its processes are gone.
type cgroups struct {
	t       *testing.T
	created []string
}

func (c *cgroups) mkdir(path string) string {
	c.t.Helper()
	var todo []string
	for p := path; ; p = filepath.Dir(p) {
		if _, err := os.Stat(p); err == nil {
			break
		}
		todo = append(todo, p)
	}
	for i := len(todo) - 1; i >= 0; i-- {
		if err := os.Mkdir(todo[i], 0o755); err != nil {
			c.t.Fatalf("creating cgroup %s: %v", todo[i], err)
		}
		c.created = append(c.created, todo[i])
	}
	return filepath.Join(path, "cgroup.procs")
}

func (c *cgroups) cleanup() {
	for i := len(c.created) - 1; i >= 0; i-- {
		var err error
		for try := 0; try < 50; try++ { // a process that just exited may still be counted
			if err = os.Remove(c.created[i]); err == nil || errors.Is(err, os.ErrNotExist) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			c.t.Errorf("removing cgroup %s: %v", c.created[i], err)
		}
	}
}

// spawn starts argv through the helper in the cgroups (cgroup.procs paths)
// and returns the process (whose PID the exec keeps).
func spawn(t *testing.T, procs []string, chroot string, argv ...string) *exec.Cmd {
	t.Helper()
	return spawnTo(t, os.Stderr, procs, chroot, argv...)
}

// spawnTo is spawn with the process's standard output to stdout.
func spawnTo(t *testing.T, stdout io.Writer, procs []string, chroot string, argv ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = []string{helperEnv + "=1", "KH_CGROUPS=" + strings.Join(procs, ":"), "KH_CHROOT=" + chroot, "KH_EXEC=" + strings.Join(argv, "\x1f")}
	cmd.Stdout, cmd.Stderr = stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// copyExe copies an executable to dir/name (a package manager's name, an
// unlisted tool).
func copyExe(t *testing.T, src, dir, name string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, name)
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// requireKernel skips when the test cannot use cgroups and the connector:
// these need root (CAP_SYS_ADMIN, CAP_NET_ADMIN), not the API server.
func requireKernel(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creating cgroups and subscribing to the proc connector need CAP_SYS_ADMIN and CAP_NET_ADMIN")
	}
	c, err := OpenConnector()
	if err != nil {
		t.Skipf("the proc connector is not available: %v", err)
	}
	c.Close()
	for _, d := range []string{"/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified"} {
		if _, err := os.Stat(filepath.Join(d, "cgroup.procs")); err != nil {
			t.Skipf("needs the cgroup v1 pids hierarchy and the v2 unified hierarchy: %v", err)
		}
		// Root in a container may see the hierarchies read-only.
		probe := filepath.Join(d, "kubeharden-probe-"+strconv.Itoa(os.Getpid()))
		if err := os.Mkdir(probe, 0o755); err != nil {
			t.Skipf("cannot create cgroups under %s: %v", d, err)
		}
		os.Remove(probe)
	}
}
