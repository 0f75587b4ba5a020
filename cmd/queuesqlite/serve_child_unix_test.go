//go:build unix

package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// serveChild is a real `queuesqlite serve` process: the test binary
// re-executed through TestMain.
type serveChild struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string // http://127.0.0.1:port
	stderr string // path of its stderr file
	mu     sync.Mutex
	out    []string // stdout lines
	exited chan struct{}
	err    error // Wait's result, once exited
}

var listeningLine = regexp.MustCompile(`listening on http://(\S+) `)

// startServe runs `queuesqlite --dir dir serve args...` with env added to
// the environment (tokens are cleared unless env sets them) and waits for
// it to listen. It is killed when the test ends if it still runs.
func startServe(t *testing.T, dir string, env []string, args ...string) *serveChild {
	t.Helper()
	js, _ := json.Marshal(append([]string{"--dir", dir, "serve"}, args...))
	s := &serveChild{t: t, stderr: filepath.Join(t.TempDir(), "serve.stderr"), exited: make(chan struct{})}
	errFile, err := os.Create(s.stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	s.cmd = exec.Command(os.Args[0], "-test.run=^$")
	s.cmd.Env = append(os.Environ(), envMainArgs+"="+string(js), envToken+"=", envReadOnlyToken+"=")
	s.cmd.Env = append(s.cmd.Env, env...)
	s.cmd.Stderr = errFile
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go s.read(stdout, addr)
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})
	select {
	case a := <-addr:
		_, port, _ := net.SplitHostPort(a)
		s.url = "http://127.0.0.1:" + port
	case <-s.exited:
		t.Fatalf("serve exited before listening: %v\n%s", s.err, s.logs())
	case <-time.After(testDeadline):
		t.Fatalf("serve did not listen\n%s", s.logs())
	}
	return s
}

func (s *serveChild) read(stdout io.Reader, addr chan<- string) {
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		s.mu.Lock()
		s.out = append(s.out, line)
		s.mu.Unlock()
		if m := listeningLine.FindStringSubmatch(line); m != nil {
			addr <- m[1]
		}
	}
	s.err = s.cmd.Wait()
	close(s.exited)
}

// logs returns its output so far, for failure messages.
func (s *serveChild) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	errText, _ := os.ReadFile(s.stderr)
	return "stdout:\n" + strings.Join(s.out, "\n") + "\nstderr:\n" + string(errText)
}

// stop sends SIGTERM and waits for a clean exit.
func (s *serveChild) stop() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
	select {
	case <-s.exited:
		if s.err != nil {
			s.t.Fatalf("serve exited with %v after SIGTERM\n%s", s.err, s.logs())
		}
	case <-time.After(testDeadline):
		s.t.Fatalf("serve did not exit after SIGTERM\n%s", s.logs())
	}
}

// request sends a request to the child and returns its status and body.
func (s *serveChild) request(method, path, body, token, host string) (int, string) {
	s.t.Helper()
	code, text, err := s.try(method, path, body, token, host)
	if err != nil {
		s.t.Fatalf("%s %s: %v\n%s", method, path, err, s.logs())
	}
	return code, text
}

// try is request for other goroutines than the test's: it reports errors.
func (s *serveChild) try(method, path, body, token, host string) (int, string, error) {
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// TestServe_GracefulShutdownOnSIGTERM serves on every interface with a
// token, takes a message, and on SIGTERM answers the long poll in flight,
// exits 0 and leaves the message stored.
func TestServe_GracefulShutdownOnSIGTERM(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServe(t, dir, []string{envToken + "=tok-123"}, "--addr", "0.0.0.0:0", "--shards", "2")
	if code, body := s.request("POST", "/v1/messages", `{"id": "kept", "destination": "later", "content": {"n": 1}}`, "", ""); code != 401 {
		t.Fatalf("send without token: %d %s", code, body)
	}
	if code, body := s.request("POST", "/v1/messages", `{"id": "kept", "destination": "later", "content": {"n": 1}}`, "tok-123", ""); code != 201 {
		t.Fatalf("send: %d %s", code, body)
	}
	polled := make(chan string, 1)
	go func() {
		_, body, err := s.try("GET", "/v1/messages/kept/wait?timeout=110", "", "tok-123", "")
		if err != nil {
			body = err.Error()
		}
		polled <- body
	}()
	eventually(t, "the long poll to be in progress", func() bool {
		_, body := s.request("GET", "/v1/health", "", "", "")
		return strings.Contains(body, `"long_polls":1`)
	})
	s.stop()
	select {
	case body := <-polled:
		if !strings.Contains(body, `"done":false`) {
			t.Fatalf("long poll at shutdown answered %s", body)
		}
	case <-time.After(testDeadline):
		t.Fatal("the long poll did not answer at shutdown")
	}
	if !strings.Contains(s.logs(), "queuesqlite serve: stopped") {
		t.Fatalf("no clean stop in the output\n%s", s.logs())
	}
	q, closeQ := openDir(t, dir, nil)
	defer closeQ()
	if m, err := q.Get(t.Context(), "kept"); err != nil || m.Status != queuesqlite.StatusPending || q.ShardCount() != 2 {
		t.Fatalf("after shutdown: %+v, %v", m, err)
	}
}

// TestServe_NoTokenAnswersOnlyLoopbackHosts: without a token the server
// listens on loopback and refuses a foreign Host header (DNS rebinding).
func TestServe_NoTokenAnswersOnlyLoopbackHosts(t *testing.T) {
	t.Parallel()
	s := startServe(t, t.TempDir(), nil, "--addr", "127.0.0.1:0")
	if code, body := s.request("GET", "/v1/stats", "", "", ""); code != 200 || !strings.Contains(body, `"total":0`) {
		t.Fatalf("stats: %d %s", code, body)
	}
	if code, body := s.request("GET", "/v1/stats", "", "", "attacker.example"); code != http.StatusMisdirectedRequest {
		t.Fatalf("foreign Host: %d %s", code, body)
	}
	s.stop()
}

// eventually polls cond until it holds, failing the test after the deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
