package tests

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/queue-sqlite/queuesqlite"
)

// contentionSpec configures the "contention" child role: Senders goroutines
// send for For (each with at most window messages unfinished, so the load
// is closed-loop and the backlog stays bounded), while Workers goroutines
// claim and complete whatever any process sent.
type contentionSpec struct {
	Dir, Records, Name string
	Shards             int
	Workers, Senders   int
	For                time.Duration
	Latencies          string // file for Send latencies (uint32 µs each)
	EndToEnd           string // file for send-to-callback latencies
}

// contentionWindow is how many unfinished messages one sender allows itself.
const contentionWindow = 8

// contentionReport is what a contention child tells its parent.
type contentionReport struct {
	Sent, Gets, Stats  int64
	Busy, Other        int64    // errors seen by callers: busy/locked, anything else
	Examples           []string // a few of those errors
	Handled            int64
	Callbacks, Repeats int64 // callbacks fired, and fired more than once for one id
	Warnings, BusyLogs int64 // queue warnings logged, and those about busy/locked
}

func contentionRole() int {
	var spec contentionSpec
	if err := readSpec(&spec); err != nil {
		say("error spec: %v", err)
		return 2
	}
	var rep contentionReport
	var mu sync.Mutex
	note := func(err error) {
		if isBusyErr(err) {
			atomic.AddInt64(&rep.Busy, 1)
		} else {
			atomic.AddInt64(&rep.Other, 1)
		}
		mu.Lock()
		if len(rep.Examples) < 5 {
			rep.Examples = append(rep.Examples, err.Error())
		}
		mu.Unlock()
	}
	logs := &countingHandler{next: childLogger().Handler(), warnings: new(atomic.Int64), busy: new(atomic.Int64)}
	q, err := queuesqlite.Open(spec.Dir, &queuesqlite.Config{Shards: spec.Shards, Workers: spec.Workers, Logger: slog.New(logs)})
	if err != nil {
		say("error open: %v (busy=%t)", err, isBusyErr(err))
		return 1
	}
	rec, err := openRecorder(filepath.Join(spec.Records, fmt.Sprintf("records-%s-%d.log", spec.Name, os.Getpid())))
	if err != nil {
		say("error records: %v", err)
		return 1
	}
	err = q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		atomic.AddInt64(&rep.Handled, 1)
		return nil, rec.add(m.ID, m.Attempt)
	}, nil)
	if err == nil {
		err = q.Start(context.Background())
	}
	if err != nil {
		say("error start: %v", err)
		return 1
	}
	cmds := commands()
	say("ready %d", os.Getpid())
	if <-cmds != "go" {
		return 1
	}
	sendLat, e2eLat := runSenders(q, &spec, &rep, note)
	say("sent %s", mustJSON(rep.snapshot(&mu)))
	if <-cmds != "finish" {
		return 1
	}
	if err := q.Close(); err != nil {
		note(err)
	}
	rep.Warnings, rep.BusyLogs = logs.warnings.Load(), logs.busy.Load()
	if err := writeLatencies(spec.Latencies, sendLat); err != nil {
		say("error latencies: %v", err)
	}
	if err := writeLatencies(spec.EndToEnd, e2eLat); err != nil {
		say("error latencies: %v", err)
	}
	say("final %s", mustJSON(rep.snapshot(&mu)))
	return 0
}

// snapshot copies the report while workers may still be counting.
func (r *contentionReport) snapshot(mu *sync.Mutex) *contentionReport {
	mu.Lock()
	defer mu.Unlock()
	return &contentionReport{
		Sent: atomic.LoadInt64(&r.Sent), Gets: atomic.LoadInt64(&r.Gets), Stats: atomic.LoadInt64(&r.Stats),
		Busy: atomic.LoadInt64(&r.Busy), Other: atomic.LoadInt64(&r.Other), Examples: slices.Clone(r.Examples),
		Handled: atomic.LoadInt64(&r.Handled), Callbacks: atomic.LoadInt64(&r.Callbacks), Repeats: r.Repeats,
		Warnings: r.Warnings, BusyLogs: r.BusyLogs,
	}
}

// runSenders runs the sending goroutines until spec.For has passed and
// every message they sent has called back; it returns the Send latencies
// and the send-to-callback latencies.
func runSenders(q *queuesqlite.Queue, spec *contentionSpec, rep *contentionReport, note func(error)) (send, e2e []time.Duration) {
	ctx := context.Background()
	stop := time.Now().Add(spec.For)
	var mu sync.Mutex
	fired := map[string]int{}
	var wg sync.WaitGroup
	for g := range spec.Senders {
		wg.Go(func() {
			window := make(chan struct{}, contentionWindow)
			var mine, ends []time.Duration
			var last string
			for i := 0; time.Now().Before(stop); i++ {
				window <- struct{}{}
				m := queuesqlite.NewMessage("job", map[string]any{"g": g, "i": i, "pid": os.Getpid()})
				t0 := time.Now()
				id, err := q.Send(ctx, m, func(done *queuesqlite.Message) {
					d := time.Since(t0)
					mu.Lock()
					fired[done.ID]++
					ends = append(ends, d)
					mu.Unlock()
					atomic.AddInt64(&rep.Callbacks, 1)
					<-window
				})
				mine = append(mine, time.Since(t0))
				if err != nil {
					note(err)
					<-window
					continue
				}
				atomic.AddInt64(&rep.Sent, 1)
				if i%8 == 0 && last != "" {
					atomic.AddInt64(&rep.Gets, 1)
					if _, err := q.Get(ctx, last); err != nil {
						note(err)
					}
				}
				last = id
			}
			for range contentionWindow { // every message of this sender has called back
				window <- struct{}{}
			}
			mu.Lock()
			send = append(send, mine...)
			e2e = append(e2e, ends...)
			mu.Unlock()
		})
	}
	wg.Go(func() { // a dashboard reading stats meanwhile
		for time.Now().Before(stop) {
			atomic.AddInt64(&rep.Stats, 1)
			if _, err := q.Stats(ctx); err != nil {
				note(err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	wg.Wait()
	for _, n := range fired {
		if n > 1 {
			rep.Repeats++
		}
	}
	return send, e2e
}

// isBusyErr reports an SQLite busy/locked error, however it is wrapped.
func isBusyErr(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked) {
		return true
	}
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "database is locked") || strings.Contains(s, "busy") || strings.Contains(s, "locked")
}

// countingHandler counts the queue's warnings (and those about busy or
// locked databases) and passes them on.
type countingHandler struct {
	next           slog.Handler
	warnings, busy *atomic.Int64
}

func (h *countingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.warnings.Add(1)
		text := r.Message
		r.Attrs(func(a slog.Attr) bool {
			text += " " + a.Value.String()
			return true
		})
		if isBusyErr(errors.New(text)) {
			h.busy.Add(1)
		}
	}
	return h.next.Handle(ctx, r)
}

func (h *countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &countingHandler{next: h.next.WithAttrs(as), warnings: h.warnings, busy: h.busy}
}

func (h *countingHandler) WithGroup(name string) slog.Handler {
	return &countingHandler{next: h.next.WithGroup(name), warnings: h.warnings, busy: h.busy}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func writeLatencies(path string, ds []time.Duration) error {
	b := make([]byte, 4*len(ds))
	for i, d := range ds {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(min(d.Microseconds(), 1<<32-1)))
	}
	return os.WriteFile(path, b, 0o644)
}

func readLatencies(t testing.TB, paths []string) []time.Duration {
	t.Helper()
	var out []time.Duration
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+4 <= len(b); i += 4 {
			out = append(out, time.Duration(binary.LittleEndian.Uint32(b[i:]))*time.Microsecond)
		}
	}
	slices.Sort(out)
	return out
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// Test 6: several processes, each with many goroutines sending and many
// workers claiming and completing, on one fresh queue directory they all
// open at once (one shard, then four): no busy or "database is locked"
// error ever reaches a caller, every message runs exactly once and calls
// back exactly once in the process that sent it.
func TestContention(t *testing.T) {
	for _, shards := range []int{1, 4} {
		t.Run(fmt.Sprintf("Shards%d", shards), func(t *testing.T) { contention(t, shards) })
	}
}

func contention(t *testing.T, shards int) {
	dir := t.TempDir()
	qdir := filepath.Join(dir, "queue")
	checkAtEnd(t, qdir)
	procs, senders := size.contentionProcs, size.contentionSenders
	var children []*child
	var sendFiles, e2eFiles []string
	for i := range procs {
		name := fmt.Sprintf("p%d", i)
		spec := contentionSpec{Dir: qdir, Records: dir, Name: name, Shards: shards, Workers: senders, Senders: senders,
			For: size.contentionFor, Latencies: filepath.Join(dir, name+".send"), EndToEnd: filepath.Join(dir, name+".e2e")}
		sendFiles, e2eFiles = append(sendFiles, spec.Latencies), append(e2eFiles, spec.EndToEnd)
		children = append(children, startChild(t, dir, name, "contention", spec))
	}
	for _, c := range children {
		c.waitLine("ready")
	}
	start := time.Now()
	for _, c := range children {
		c.send("go")
	}
	var sent contentionReport
	for _, c := range children {
		var r contentionReport
		if err := json.Unmarshal([]byte(strings.TrimPrefix(c.waitLine("sent "), "sent ")), &r); err != nil {
			t.Fatal(err)
		}
		sent.Sent += r.Sent
	}
	sendingTook := time.Since(start)
	var rep contentionReport
	for _, c := range children {
		c.send("finish")
		var r contentionReport
		if err := json.Unmarshal([]byte(strings.TrimPrefix(c.waitLine("final "), "final ")), &r); err != nil {
			t.Fatal(err)
		}
		if st := c.wait(); !c.exitedCleanly(st) {
			t.Errorf("%s ended with %v\n%s", c.name, st, c.stderrTail())
		}
		rep.Sent += r.Sent
		rep.Gets += r.Gets
		rep.Stats += r.Stats
		rep.Busy += r.Busy
		rep.Other += r.Other
		rep.Examples = append(rep.Examples, r.Examples...)
		rep.Handled += r.Handled
		rep.Callbacks += r.Callbacks
		rep.Repeats += r.Repeats
		rep.Warnings += r.Warnings
		rep.BusyLogs += r.BusyLogs
	}
	counts := openRaw(t, qdir).counts()
	recs := readRecords(t, dir)
	dups := 0
	for _, rs := range recs {
		dups += len(rs) - 1
	}
	sendLat, e2e := readLatencies(t, sendFiles), readLatencies(t, e2eFiles)
	t.Logf("%d processes x %d senders + %d workers, %d shard(s), %v: sent %d (%.0f/s), Gets %d, Stats %d; stored %s",
		procs, senders, senders, shards, sendingTook.Round(time.Millisecond), rep.Sent,
		float64(rep.Sent)/sendingTook.Seconds(), rep.Gets, rep.Stats, fmtCounts(counts))
	t.Logf("Send latency p50 %v p99 %v max %v; send-to-callback p50 %v p99 %v (window %d per sender)",
		percentile(sendLat, 0.50), percentile(sendLat, 0.99), percentile(sendLat, 1),
		percentile(e2e, 0.50), percentile(e2e, 0.99), contentionWindow)
	t.Logf("busy errors seen by callers %d, other errors %d %q; handled %d, duplicates %d; callbacks %d (repeated %d); queue warnings %d (about busy/locked: %d)",
		rep.Busy, rep.Other, rep.Examples, rep.Handled, dups, rep.Callbacks, rep.Repeats, rep.Warnings, rep.BusyLogs)
	if rep.Busy != 0 || rep.Other != 0 {
		t.Errorf("callers saw %d busy and %d other errors: %q", rep.Busy, rep.Other, rep.Examples)
	}
	if rep.Sent == 0 || counts[queuesqlite.StatusCompleted] != int(rep.Sent) || total(counts) != int(rep.Sent) {
		t.Errorf("sent %d, stored %s: want every sent message completed", rep.Sent, fmtCounts(counts))
	}
	if len(recs) != int(rep.Sent) || dups != 0 || rep.Handled != rep.Sent {
		t.Errorf("%d messages ran, %d duplicates, %d handler calls: want %d, each once", len(recs), dups, rep.Handled, rep.Sent)
	}
	if rep.Callbacks != rep.Sent || rep.Repeats != 0 {
		t.Errorf("%d callbacks (%d repeated) for %d messages: want one each", rep.Callbacks, rep.Repeats, rep.Sent)
	}
}

// Many openers create one fresh queue directory at once (the situation of
// the contention test's first seconds, repeated), some asking for 4 shards,
// some for whatever the directory has. The first count recorded wins: every
// opener either sees that count or, if it asked for another one, gets
// ErrShardMismatch; none sees a busy error or a count that differs from
// the one recorded (which would misroute messages).
func TestContention_ConcurrentFirstOpen(t *testing.T) {
	t.Parallel()
	rounds, openers := 20, 6
	if size.name != "quick" {
		rounds = 100
	}
	var failures []string
	opened, refused := 0, 0
	for r := range rounds {
		dir := filepath.Join(t.TempDir(), "queue")
		var mu sync.Mutex
		var wg sync.WaitGroup
		seen := map[int]int{} // shard count -> openers that use it
		for i := range openers {
			wg.Go(func() {
				cfg := &queuesqlite.Config{Shards: 4 * (1 - i%2)} // 4, 0, 4, 0, ...
				q, err := queuesqlite.Open(dir, cfg)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case errors.Is(err, queuesqlite.ErrShardMismatch) && cfg.Shards == 4:
					refused++
				case err != nil:
					failures = append(failures, err.Error())
				default:
					opened++
					seen[q.ShardCount()]++
					q.Close()
				}
			})
		}
		wg.Wait()
		q, err := queuesqlite.Open(dir, nil)
		if err != nil {
			t.Fatalf("round %d: reopen: %v", r, err)
		}
		recorded := q.ShardCount()
		q.Close()
		if len(seen) != 1 || seen[recorded] == 0 {
			failures = append(failures, fmt.Sprintf("round %d: openers used shard counts %v, the directory records %d", r, seen, recorded))
		}
		checkAtEnd(t, dir)
	}
	t.Logf("%d rounds of %d concurrent first opens: %d opened, %d refused with ErrShardMismatch (asked for 4 after 1 was recorded), %d failures %q",
		rounds, openers, opened, refused, len(failures), failures)
	if len(failures) > 0 {
		t.Errorf("concurrent first opens failed or disagreed")
	}
}
