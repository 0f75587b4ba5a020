package tests

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/internal/netlab"
)

// waitDeadline bounds every wait for a child or for the queue to reach a
// state. It is a guard against hangs on a loaded CI machine, never a
// measure of speed.
var waitDeadline = 2*time.Minute + size.contentionFor

// child is a re-executed test binary running one role.
type child struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr string // path of the file that receives the child's stderr

	mu      sync.Mutex
	lines   []string      // stdout lines so far
	changed chan struct{} // closed (and replaced) on every new line and at exit
	exited  bool
	state   *os.ProcessState
	done    chan struct{}
}

// startChild runs the test binary as role with spec (JSON) in its
// environment. The child is killed when the test ends if it still runs.
func startChild(t testing.TB, dir, name, role string, spec any) *child {
	t.Helper()
	return startChildIn(t, nil, dir, name, role, spec)
}

// startChildIn is startChild inside a lab host's network namespace (nil:
// this one).
func startChildIn(t testing.TB, host *netlab.Host, dir, name, role string, spec any) *child {
	t.Helper()
	js, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	c := &child{t: t, name: name, stderr: filepath.Join(dir, name+".stderr"),
		changed: make(chan struct{}), done: make(chan struct{})}
	errFile, err := os.OpenFile(c.stderr, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	if host != nil {
		c.cmd = host.Command(os.Args[0], "-test.run=^$")
	}
	// Under -race a process sleeps 1s at exit (atexit_sleep_ms) unless told
	// not to; the children's exit times are measured.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	c.cmd.Env = append(os.Environ(), roleEnv+"="+role, specEnv+"="+string(js), "GORACE="+gorace)
	c.cmd.Stderr = errFile
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go c.read(stdout)
	t.Cleanup(func() {
		if !c.hasExited() {
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

// read collects stdout lines until the child exits, then reaps it.
func (c *child) read(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		c.mu.Lock()
		c.lines = append(c.lines, sc.Text())
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}
	_ = c.cmd.Wait()
	c.mu.Lock()
	c.exited, c.state = true, c.cmd.ProcessState
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	close(c.done)
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) hasExited() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.exited
}

// matching returns the stdout lines that start with prefix.
func (c *child) matching(prefix string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, l := range c.lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// waitLines waits until the child has printed n lines starting with prefix
// and returns them. It fails the test if the child exits first or the
// deadline passes.
func (c *child) waitLines(prefix string, n int) []string {
	c.t.Helper()
	deadline := time.NewTimer(waitDeadline)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		changed, exited := c.changed, c.exited
		c.mu.Unlock()
		if got := c.matching(prefix); len(got) >= n {
			return got[:n]
		}
		if exited {
			c.t.Fatalf("%s exited (%v) before printing %d %q lines; its errors: %q\n%s",
				c.name, c.state, n, prefix, c.matching("error"), c.stderrTail())
		}
		select {
		case <-changed:
		case <-deadline.C:
			c.t.Fatalf("%s: no %d %q lines within %v\n%s", c.name, n, prefix, waitDeadline, c.stderrTail())
		}
	}
}

// waitLine waits for the first line starting with prefix.
func (c *child) waitLine(prefix string) string {
	c.t.Helper()
	return c.waitLines(prefix, 1)[0]
}

// send writes a command line to the child's stdin.
func (c *child) send(cmd string) {
	c.t.Helper()
	if _, err := fmt.Fprintln(c.stdin, cmd); err != nil {
		c.t.Fatalf("%s: send %q: %v", c.name, cmd, err)
	}
}

func (c *child) signal(sig syscall.Signal) {
	c.t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		c.t.Fatalf("%s: signal %v: %v", c.name, sig, err)
	}
}

// kill sends SIGKILL and waits for the child to be reaped.
func (c *child) kill() {
	c.t.Helper()
	c.signal(syscall.SIGKILL)
	c.wait()
}

// wait waits for the child to exit and returns how it ended.
func (c *child) wait() *os.ProcessState {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(waitDeadline):
		c.t.Fatalf("%s did not exit within %v\n%s", c.name, waitDeadline, c.stderrTail())
	}
	return c.state
}

// stderrText returns everything the child wrote to stderr.
func (c *child) stderrText() string {
	b, _ := os.ReadFile(c.stderr)
	return string(b)
}

// busyLogs counts the lines of the child's log that mention a busy or
// locked database (the queue logs a lock it had to wait for unusually long,
// and any error it could not hide).
func (c *child) busyLogs() int {
	n := 0
	for _, l := range strings.Split(c.stderrText(), "\n") {
		if isBusyErr(errors.New(l)) {
			n++
		}
	}
	return n
}

func (c *child) stderrTail() string {
	s := c.stderrText()
	if len(s) > 4000 {
		s = "..." + s[len(s)-4000:]
	}
	return fmt.Sprintf("--- %s stderr ---\n%s", c.name, s)
}

// exitedCleanly reports whether the child exited with status 0.
func (c *child) exitedCleanly(st *os.ProcessState) bool { return st != nil && st.Success() }

// killedBy reports whether the child died of signal sig.
func killedBy(st *os.ProcessState, sig syscall.Signal) bool {
	ws, ok := st.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}
