package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Progress display intervals: a bar on a terminal, lines otherwise.
const (
	barInterval  = 50 * time.Millisecond
	lineInterval = 500 * time.Millisecond
)

// progress shows how far a count has come towards a total.
type progress interface {
	set(n int64)
	finish(complete bool)
}

// trackProgress shows count() growing towards total until done is closed
// (nil) or ctx ends (its cause). On a terminal it draws a progress bar
// unless plain is set; elsewhere it prints a line now and then.
func trackProgress(ctx context.Context, out io.Writer, plain bool, total int64, count func() int64, done <-chan struct{}) error {
	return trackProgressOf(ctx, out, plain, total, workRunning, count, done)
}

// work is what a progress bar shows: what is going on, and what it counts.
type work struct{ desc, unit string }

// The kinds of work shown with progress.
var (
	workRunning    = work{"running", "msg"}
	workRequeuing  = work{"requeuing", "msg"}
	workCleanup    = work{"cleaning up", "shard"}
	workResharding = work{"resharding", "msg"}
	workMigrating  = work{"moving", "msg"}
	workDeleting   = work{"deleting", "msg"}
)

// trackProgressOf is trackProgress for the work w.
func trackProgressOf(ctx context.Context, out io.Writer, plain bool, total int64, w work, count func() int64, done <-chan struct{}) error {
	var p progress = &lineProgress{out: out, total: total}
	interval := lineInterval
	if !plain && isTerminal(out) {
		p, interval = newBarProgress(out, total, w), barInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		p.set(count())
		select {
		case <-done:
			p.set(count())
			p.finish(true)
			return nil
		case <-tick.C:
		case <-ctx.Done():
			p.finish(false)
			return context.Cause(ctx)
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// barProgress draws a progressbar on a terminal.
type barProgress struct {
	out io.Writer
	bar *progressbar.ProgressBar
}

func newBarProgress(out io.Writer, total int64, w work) *barProgress {
	return &barProgress{out: out, bar: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(out),
		progressbar.OptionSetDescription(w.desc),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(w.unit),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(barInterval),
		progressbar.OptionShowElapsedTimeOnFinish(),
	)}
}

func (b *barProgress) set(n int64) { _ = b.bar.Set64(n) }

func (b *barProgress) finish(complete bool) {
	if complete {
		_ = b.bar.Finish()
	} else {
		_ = b.bar.Exit()
	}
	fmt.Fprintln(b.out)
}

// lineProgress prints "progress: n/total" lines, skipping repeats.
type lineProgress struct {
	out   io.Writer
	total int64
	last  int64
	shown bool
}

func (l *lineProgress) set(n int64) {
	if l.shown && n == l.last {
		return
	}
	l.last, l.shown = n, true
	fmt.Fprintf(l.out, "progress: %d/%d done (%d%%)\n", n, l.total, n*100/max(l.total, 1))
}

func (l *lineProgress) finish(bool) {}

// withCountedProgress runs run, which reports (done, total) as it goes,
// and shows that progress on stderr (a bar on a terminal, lines otherwise)
// from its first report until run returns. A run refused before its first
// report shows nothing.
func withCountedProgress(cmd *cobra.Command, w work, run func(report func(done, total int)) error) error {
	var done, total atomic.Int64
	counted := make(chan struct{})
	var once sync.Once
	var err error
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		err = run(func(n, of int) {
			done.Store(int64(n))
			total.Store(int64(of))
			once.Do(func() { close(counted) })
		})
	}()
	select {
	case <-counted:
		perr := trackProgressOf(cmd.Context(), cmd.ErrOrStderr(), false, total.Load(), w, done.Load, finished)
		<-finished
		if err == nil {
			err = perr
		}
	case <-finished:
	}
	return err
}
