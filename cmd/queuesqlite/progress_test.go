package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
)

func TestTrackProgress_Lines(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	var n atomic.Int64
	done := make(chan struct{})
	n.Store(7)
	close(done)
	if err := trackProgress(t.Context(), &out, false, 7, n.Load, done); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.HasSuffix(got, "progress: 7/7 done (100%)\n") || strings.Count(got, "7/7") != 1 {
		t.Errorf("not a terminal: want plain lines ending at 7/7 once, got:\n%s", got)
	}
}

func TestTrackProgress_Cancelled(t *testing.T) {
	t.Parallel()
	cause := errors.New("gave up")
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(cause)
	var out bytes.Buffer
	err := trackProgress(ctx, &out, false, 10, func() int64 { return 3 }, make(chan struct{}))
	if !errors.Is(err, cause) || !strings.Contains(out.String(), "progress: 3/10 done (30%)") {
		t.Errorf("err %v (want %v), output:\n%s", err, cause, out.String())
	}
}

func TestBarProgress(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	b := newBarProgress(&out, 40, workRunning)
	b.set(40)
	b.finish(true)
	if got := out.String(); !strings.Contains(got, "100%") || !strings.Contains(got, "40/40") || !strings.HasSuffix(got, "\n") {
		t.Errorf("bar output:\n%q", got)
	}
}
