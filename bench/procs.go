package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/benchkit"
)

// childEnv carries a child process's job (a JSON childSpec): when set, the
// bench binary (or its test binary) runs that job instead of the table.
const childEnv = "QUEUESQLITE_BENCH_CHILD"

// Roles of a child process.
const (
	roleSend = "send" // sends N payloads at Rate per second, then exits
	roleWork = "work" // runs Workers workers, reporting progress, until stdin closes
)

// Child-process protocol: lines on the child's stdin and stdout.
const (
	lineReady        = "ready"
	lineGo           = "go"
	progressInterval = 2 * time.Millisecond // how often a worker child reports
	childStopTimeout = time.Minute
)

// shareSpec says how another process opens the same queue.
type shareSpec struct {
	System   string        `json:"system"`
	DSN      string        `json:"dsn,omitempty"`
	Schema   string        `json:"schema,omitempty"`
	Dir      string        `json:"dir,omitempty"`
	Sync     string        `json:"sync,omitempty"`
	Size     int           `json:"size"`
	Cooldown time.Duration `json:"cooldown,omitempty"`
	Poll     time.Duration `json:"poll,omitempty"`
}

// sharer is an instance another OS process can open too.
type sharer interface{ share() shareSpec }

// childSpec is a child process's job.
type childSpec struct {
	Role    string    `json:"role"`
	Share   shareSpec `json:"share"`
	N       int       `json:"n,omitempty"`
	Rate    int       `json:"rate,omitempty"`
	Workers int       `json:"workers,omitempty"`
}

// joinShared opens the queue spec names in this process, never owning it.
func joinShared(ctx context.Context, spec shareSpec, e env) (benchkit.Instance, error) {
	switch spec.System {
	case oursPGName:
		return joinOursPG(ctx, e, spec.DSN, spec.Schema)
	case riverPGName:
		return joinRiverPG(ctx, e, spec.DSN, spec.Schema, riverTuning{cooldown: spec.Cooldown, poll: spec.Poll})
	case oursName:
		q, err := queuesqlite.Open(spec.Dir, &queuesqlite.Config{Workers: e.Workers, Synchronous: e.Sync})
		if err != nil {
			return nil, err
		}
		return newOurs(q, e)
	}
	return nil, fmt.Errorf("system %q cannot be shared", spec.System)
}

// runChild runs the job of childEnv's value, talking over stdin/stdout.
func runChild(ctx context.Context, raw string, stdin io.Reader, stdout io.Writer) error {
	var c childSpec
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return fmt.Errorf("%s: %w", childEnv, err)
	}
	e := env{Env: benchkit.Env{Dir: c.Share.Dir, Workers: max(c.Workers, 1), Sync: c.Share.Sync,
		Track: c.Role == roleWork}, Size: c.Share.Size, Remote: true}
	inst, err := joinShared(ctx, c.Share, e)
	if err != nil {
		return err
	}
	switch c.Role {
	case roleSend:
		err = sendSteady(ctx, inst, c.N, c.Rate)
	case roleWork:
		err = work(ctx, inst, bufio.NewScanner(stdin), stdout)
	default:
		err = fmt.Errorf("unknown role %q", c.Role)
	}
	if cerr := inst.Close(); err == nil {
		err = cerr
	}
	return err
}

// work says it is ready, starts the workers on "go" and reports
// "finished writes" lines until its stdin closes.
func work(ctx context.Context, inst benchkit.Instance, in *bufio.Scanner, out io.Writer) error {
	fmt.Fprintln(out, lineReady)
	if !in.Scan() || in.Text() != lineGo {
		return errors.New("worker child: no go")
	}
	if err := inst.Start(ctx); err != nil {
		return err
	}
	counter, ok := inst.(interface{ finishedCount() int64 })
	if !ok {
		return fmt.Errorf("%T does not count finished jobs", inst)
	}
	eof := make(chan struct{})
	go func() {
		for in.Scan() {
		}
		close(eof)
	}()
	report := func(last *[2]int64) {
		now := [2]int64{counter.finishedCount(), max(writeTransactions(inst), 0)}
		if now != *last {
			fmt.Fprintf(out, "%d %d\n", now[0], now[1])
			*last = now
		}
	}
	var last [2]int64
	t := time.NewTicker(progressInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			report(&last)
		case <-eof:
			report(&last)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// child is a running child process.
type child struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	lines    *bufio.Scanner
	readDone chan struct{} // closed when readProgress saw the end; nil if not reading
}

// startChild starts the bench binary again with job c.
func startChild(ctx context.Context, c childSpec) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &child{cmd: cmd, stdin: stdin, lines: bufio.NewScanner(stdout)}, nil
}

// stop closes the child's stdin, reads its output to the end and waits
// for it to exit.
func (c *child) stop() error {
	c.stdin.Close()
	if c.readDone != nil {
		<-c.readDone
	} else {
		for c.lines.Scan() {
		}
	}
	return c.cmd.Wait()
}

// xprocLatencyRunner starts this process's workers, then a sender child
// that sends n jobs at rate per second, each stamped just before its Send;
// the latency is the handler's start here minus that stamp (one host, one
// clock).
func xprocLatencyRunner(rate int) runFunc {
	return func(ctx context.Context, sys *system, e env, n int) (benchkit.Sample, error) {
		lat := newLatencies(n)
		e.Track, e.Remote, e.OnStart = true, true, lat.add
		return withInstance(ctx, sys, e, func(inst benchkit.Instance) (benchkit.Sample, error) {
			sh, ok := inst.(sharer)
			if !ok {
				return benchkit.Sample{}, fmt.Errorf("%s cannot be shared", sys.Name)
			}
			if err := inst.Start(ctx); err != nil {
				return benchkit.Sample{}, err
			}
			start := time.Now()
			c, err := startChild(ctx, childSpec{Role: roleSend, Share: sh.share(), N: n, Rate: rate})
			if err != nil {
				return benchkit.Sample{}, err
			}
			if err := c.stop(); err != nil {
				return benchkit.Sample{}, fmt.Errorf("sender child: %w", err)
			}
			if err := inst.WaitFinished(ctx, n); err != nil {
				return benchkit.Sample{}, err
			}
			return lat.sample(n, time.Since(start))
		})
	}
}

// procsDrainRunner pre-sends n jobs, then starts procs child processes of
// workers workers each on the same queue and times them from "go" until
// their finished jobs add up to n.
func procsDrainRunner(procs, workers int) runFunc {
	return func(ctx context.Context, sys *system, e env, n int) (benchkit.Sample, error) {
		return withInstance(ctx, sys, e, func(inst benchkit.Instance) (benchkit.Sample, error) {
			sh, ok := inst.(sharer)
			if !ok {
				return benchkit.Sample{}, fmt.Errorf("%s cannot be shared", sys.Name)
			}
			for sent := 0; sent < n; sent += batchSize {
				if err := inst.SendBatch(ctx, benchkit.Payloads(min(batchSize, n-sent))); err != nil {
					return benchkit.Sample{}, err
				}
			}
			cs, err := startWorkers(ctx, procs, childSpec{Role: roleWork, Share: sh.share(), Workers: workers})
			if err != nil {
				stopAll(cs)
				return benchkit.Sample{}, err
			}
			s, err := timeWorkers(cs, n)
			if serr := stopAll(cs); err == nil && serr != nil {
				err = fmt.Errorf("worker child: %w", serr)
			}
			return s, err
		})
	}
}

// startWorkers starts procs worker children and waits until each is ready.
func startWorkers(ctx context.Context, procs int, spec childSpec) ([]*child, error) {
	var cs []*child
	for range procs {
		c, err := startChild(ctx, spec)
		if err != nil {
			return cs, err
		}
		cs = append(cs, c)
	}
	for _, c := range cs {
		if !c.lines.Scan() || c.lines.Text() != lineReady {
			return cs, errors.New("worker child did not get ready")
		}
	}
	return cs, nil
}

func stopAll(cs []*child) error {
	for _, c := range cs {
		c.stdin.Close()
	}
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.stop())
	}
	return errors.Join(errs...)
}

// timeWorkers says "go" to every child and reads their progress until the
// finished jobs add up to n, returning the rate and the write transactions
// per job they reported.
func timeWorkers(cs []*child, n int) (benchkit.Sample, error) {
	type progress struct{ finished, writes int64 }
	updates, quit := make(chan [3]int64, len(cs)), make(chan struct{})
	defer close(quit)
	for i, c := range cs {
		c.readDone = make(chan struct{})
		go readProgress(i, c, updates, quit)
	}
	start := time.Now()
	for _, c := range cs {
		if _, err := fmt.Fprintln(c.stdin, lineGo); err != nil {
			return benchkit.Sample{}, err
		}
	}
	last := make([]progress, len(cs))
	var sum progress
	open := len(cs)
	for sum.finished < int64(n) {
		u := <-updates
		if u[1] < 0 {
			if open--; open == 0 {
				return benchkit.Sample{}, fmt.Errorf("worker children ended at %d of %d jobs", sum.finished, n)
			}
			continue
		}
		p := progress{u[1], u[2]}
		sum.finished += p.finished - last[u[0]].finished
		sum.writes += p.writes - last[u[0]].writes
		last[u[0]] = p
	}
	s := benchkit.Sample{PerSec: perSec(n, time.Since(start))}
	s.WriteTxPerMsg = float64(sum.writes) / float64(n)
	return s, nil
}

// readProgress forwards child i's "finished writes" lines until quit,
// reading on to the end of its output; {i, -1} marks the end.
func readProgress(i int, c *child, out chan<- [3]int64, quit <-chan struct{}) {
	defer close(c.readDone)
	send := func(u [3]int64) {
		select {
		case out <- u:
		case <-quit:
		}
	}
	for c.lines.Scan() {
		f := strings.Fields(c.lines.Text())
		if len(f) != 2 {
			continue
		}
		fin, err1 := strconv.ParseInt(f[0], 10, 64)
		wr, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 == nil && err2 == nil {
			send([3]int64{int64(i), fin, wr})
		}
	}
	send([3]int64{int64(i), -1, 0})
}
