package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// background is a command line running in-process until stopped.
type background struct {
	stdout, stderr syncBuffer
	cancel         context.CancelFunc
	code           chan int
}

// startCLI runs the command line in the background; stop ends it.
func startCLI(t *testing.T, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	b := &background{cancel: cancel, code: make(chan int, 1)}
	go func() { b.code <- run(ctx, args, &b.stdout, &b.stderr) }()
	t.Cleanup(func() { b.stop(t) })
	return b
}

// stop cancels the command (as Ctrl-C does) and returns its exit code.
func (b *background) stop(t *testing.T) int {
	t.Helper()
	b.cancel()
	select {
	case c := <-b.code:
		b.code <- c
		return c
	case <-time.After(testDeadline):
		t.Fatalf("command did not stop when cancelled\nstdout:\n%s\nstderr:\n%s", b.stdout.String(), b.stderr.String())
		return -1
	}
}

// waitFor polls the output until cond holds, failing after testDeadline.
func waitFor(t *testing.T, what string, out *syncBuffer, cond func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(testDeadline)
	for {
		s := out.String()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; output:\n%s", what, s)
		}
		time.Sleep(10 * time.Millisecond) // a poll interval, not a synchronisation
	}
}

func containsAll(subs ...string) func(string) bool {
	return func(s string) bool {
		for _, sub := range subs {
			if !strings.Contains(s, sub) {
				return false
			}
		}
		return true
	}
}
