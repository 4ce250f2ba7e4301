package testcluster

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"
)

// process is one control-plane binary running in the background, its
// standard output and error going to a log file.
type process struct {
	name    string
	logPath string

	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited
	err  error         // cmd.Wait's result, set before done is closed

	stopOnce sync.Once
}

// startProcess starts bin with args, logging to logPath.
//
// The process is started, and waited for, from a goroutine locked to its OS
// thread: Pdeathsig (see proc_linux.go) is delivered when the thread that
// started the child exits, and a locked thread is only ever ended by its own
// goroutine, so the child lives exactly as long as the test binary does.
func startProcess(name, bin string, args []string, logPath string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logFile, "# %s %s\n", bin, strings.Join(args, " "))

	cmd := exec.Command(bin, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = childEnv()
	cmd.SysProcAttr = sysProcAttr()

	p := &process{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			logFile.Close()
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return p, nil
}

// childEnv is the environment of the test binary without the variables that
// would silently reconfigure a child (etcd reads every ETCD_* variable as a
// flag).
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ETCD_") || strings.HasPrefix(kv, "KUBECONFIG=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop kills the process and waits for it to be gone. The control plane's
// state is thrown away with the temporary directory, so there is nothing a
// graceful shutdown would save.
func (p *process) stop() {
	p.stopOnce.Do(func() {
		if !p.exited() {
			_ = p.cmd.Process.Kill()
		}
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
		}
	})
}

// failure describes why the process is not usable: how it exited, if it did,
// and the end of its log.
func (p *process) failure(what string) error {
	state := "still running"
	if p.exited() {
		state = fmt.Sprintf("exited: %v", p.err)
		if p.err == nil {
			state = "exited with status 0"
		}
	}
	return fmt.Errorf("%s: %s (%s); last lines of %s:\n%s", p.name, what, state, p.logPath, tail(p.logPath, 40))
}

// tail returns about the last n lines of the file at path.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return "  (" + err.Error() + ")"
	}
	defer f.Close()
	const max = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > max {
		_, _ = f.Seek(st.Size()-max, io.SeekStart)
	}
	data, _ := io.ReadAll(f)
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("  | ")
		b.Write(l)
		b.WriteString("\n")
	}
	return b.String()
}
