package main

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// demoTestTimeout bounds a demo run in the tests (within testDeadline).
const demoTestTimeout = "25s"

// match returns the submatches of pattern in out, failing the test when
// there are none.
func match(t *testing.T, out, pattern string) []string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("demo output has nothing matching %s:\n%s", pattern, out)
	}
	return m
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDemo_Small(t *testing.T) {
	t.Parallel()
	const n, workers = 60, 3
	dir := filepath.Join(t.TempDir(), "q")
	out := ok(t, "demo", "--dir", dir, "-n", strconv.Itoa(n), "--workers", strconv.Itoa(workers), "--timeout", demoTestTimeout)

	match(t, out, `(?m)^sent 60 tasks in one SendBatch \(.*\): urgent \d+, high \d+, normal \d+, low \d+$`)
	match(t, out, `(?m)^progress: 60/60 done \(100%\)$`)
	match(t, out, `(?m)^callbacks fired: 60 of 60 \(not completed: 0\); the first 5:$`)
	if got := len(regexp.MustCompile(`(?m)^  callback: \S+ +\S+ +\S+ +completed after 1 attempt\(s\) -> \{`).FindAllString(out, -1)); got != demoSamples {
		t.Errorf("%d sample callback lines, want %d", got, demoSamples)
	}
	match(t, out, `(?m)^throughput: \d+ msgs/s \(main batch: 60 tasks in `)
	match(t, out, `(?m)^stats match what the demo sent: ok$`)
	match(t, out, `(?m)^diamond ran in dependency order: fetch -> (resize -> index|index -> resize) -> publish$`)
	match(t, out, `(?m)^demo-wf-download failed, so demo-wf-unpack failed without running: dependency demo-wf-download failed$`)
	match(t, out, `(?m)^group \S+: 4 completed, 2 failed$`)
	match(t, out, `(?m)^paused paused_job; a message sent to it is pending\nresumed: it completed$`)
	match(t, out, `(?m)^3 serial_job messages with GlobalConcurrency 1 and 3 workers: at most 1 ran at once$`)
	checkDemoJobs(t, out)

	q, _ := openDir(t, dir, nil)
	retryID := match(t, out, `(?m)^== retry ==\n.*\ncallback: (\S+) completed\nGet: status completed, attempts 2, retries 1, result \{`)[1]
	if m := get(t, q, retryID); m.Destination != destFlaky || m.Status != queuesqlite.StatusCompleted || m.Attempt != 2 || m.RetryCount != 1 {
		t.Errorf("retried message in the queue: %s %s, %d attempts, %d retries", m.Destination, m.Status, m.Attempt, m.RetryCount)
	}
	expiredID := match(t, out, `(?m)^sent nightly_report with TTL \S+; callback: (\S+) expired after 0 attempt\(s\): `)[1]
	if m := get(t, q, expiredID); m.Destination != destReport || m.Status != queuesqlite.StatusExpired || m.Attempt != 0 {
		t.Errorf("expired message in the queue: %s %s after %d attempts", m.Destination, m.Status, m.Attempt)
	}
	match(t, out, `(?m)^released the workers: 3 sync_warehouse tasks completed$`)
	deadID := match(t, out, `(?m)^charge_card failed all 3 attempts; callback: (\S+) failed\nListFailed:\n`)[1]
	match(t, out, `(?m)^`+deadID+` +charge_card +3/3 +\S+ +payment gateway unavailable \(HTTP 503\) on attempt 3$`)
	match(t, out, `(?m)^after Retry: status completed, attempts 1, result \{"charged":true`)
	if m := get(t, q, deadID); m.Status != queuesqlite.StatusCompleted || m.Attempt != 1 {
		t.Errorf("requeued dead letter in the queue: %s after %d attempts", m.Status, m.Attempt)
	}
	mailID := match(t, out, `(?m)^set demo/theme to light, light \(equal: no change\), dark; sent (\S+) and set demo/last_mail in one transaction$`)[1]
	match(t, out, `(?m)^listener: change #1 demo/theme: \(new\) -> light\nlistener: change #2 demo/theme: light -> dark\n`+
		`listener: change #3 demo/last_mail: \(new\) -> \{"id":"`+mailID+`"\}$`)
	if m := get(t, q, mailID); m.Status != queuesqlite.StatusCompleted || m.Destination != destEmail {
		t.Errorf("message sent with the listen data: %s %s", m.Destination, m.Status)
	}
	if e, err := q.GetListenData(t.Context(), "demo/theme"); err != nil || e.Value.String() != "dark" || e.Version != 2 {
		t.Errorf("listen data demo/theme: %+v, %v", e, err)
	}
	checkDemoStats(t, q, out, n, workers)
}

// checkDemoStats compares the demo's printed stats with the queue's.
func checkDemoStats(t *testing.T, q *queuesqlite.Queue, out string, n, workers int) {
	t.Helper()
	st, err := q.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	stats := out[strings.Index(out, "== stats =="):]
	for _, s := range statusOrder {
		printed := atoi(t, match(t, stats, `(?m)^`+s.String()+` +(\d+)$`)[1])
		if printed != st.ByStatus[s] {
			t.Errorf("demo printed %d %s, the queue has %d", printed, s, st.ByStatus[s])
		}
	}
	// given n tasks + 1 retried + workers holding + 1 requeued dead letter + 1 sent with listen data
	// + the job features' 4 workflow steps, 1 paused and 3 serial jobs, the periodic job's ticks
	// and 1 unique job, the typed job, the rate-limited calls, the export and the ping -> completed; 1 expired; a failed workflow step and its dependant -> failed
	ticks := demoTicksRun(t, out)
	completed := n + workers + 3 + 4 + 1 + serialSends + ticks + 1 + extraAttempts
	if st.ByStatus[queuesqlite.StatusCompleted] != completed || st.ByStatus[queuesqlite.StatusExpired] != 1 ||
		st.ByStatus[queuesqlite.StatusFailed] != 2 || sum(st.ByStatus) != completed+3 {
		t.Errorf("queue after the demo: %v; want %d completed, 1 expired, 2 failed, nothing else", st.ByStatus, completed)
	}
	printed := atoi(t, match(t, stats, `(?m)^processed by this process: (\d+) attempts$`)[1])
	if want := n + 2 + workers + chargeTries + 1 + 1 + featureAttempts + extraAttempts + ticks; printed != want {
		t.Errorf("processed %d, want %d", printed, want)
	}
}

func TestDemo_Shards(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "q")
	out := ok(t, "demo", "--dir", dir, "--shards", "3", "-n", "40", "--workers", "2", "--timeout", demoTestTimeout)
	match(t, out, `(?m)^queue in .* \(3 shard\(s\)\), 2 workers$`)
	match(t, out, `(?m)^stats match what the demo sent: ok$`)
	q, _ := openDir(t, dir, nil)
	if q.ShardCount() != 3 {
		t.Errorf("demo queue has %d shards, want 3", q.ShardCount())
	}
}

func TestDemo_RefusesQueueWithMessages(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "q")
	ok(t, "send", "--dir", dir, "keep_me", `{}`)
	fails(t, "the demo needs an empty queue, but "+dir+" holds 1 message(s)", "demo", "--dir", dir, "-n", "5")
	q, _ := openDir(t, dir, nil)
	st, err := q.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if sum(st.ByStatus) != 1 || st.ByDestination["keep_me"][queuesqlite.StatusPending] != 1 {
		t.Errorf("the refused demo changed the queue: %v", st.ByDestination)
	}
}

func TestDemo_Timeout(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "q")
	fails(t, "the demo did not finish within --timeout 1ns", "demo", "--dir", dir, "-n", "5", "--timeout", "1ns")
}

// demoTicksRun is how many ticks of its periodic job the demo says ran.
func demoTicksRun(t *testing.T, out string) int {
	t.Helper()
	return atoi(t, match(t, out, `(?m)^demo-heartbeat every 1s: \d+ ticks sent, (\d+) run,`)[1])
}

// checkDemoJobs checks the periodic and unique steps' lines: every tick
// sent and run once, on distinct whole seconds; one unique message stored,
// the two later sends duplicates of it.
func checkDemoJobs(t *testing.T, out string) {
	t.Helper()
	m := match(t, out, `(?m)^demo-heartbeat every 1s: (\d+) ticks sent, (\d+) run, (\d+) distinct tick times, the first at \d\d:\d\d:\d\d\.000$`)
	if m[1] != m[2] || m[2] != m[3] || atoi(t, m[1]) < demoTicks {
		t.Errorf("periodic step: %s sent, %s run, %s distinct; want at least %d, each once", m[1], m[2], m[3], demoTicks)
	}
	match(t, out, `(?m)^sent rebuild_index 3 times with unique key demo/rebuild-index \(blocking while unfinished and once completed\): stored once, duplicates: true, true\n`+
		`the duplicates got the stored id: true; it ran 1 time\(s\)$`)
}

// The periodic step's ticks are in the queue once each, sent by the
// periodic job (Source), on whole seconds.
func TestDemo_PeriodicJob(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "q")
	out := ok(t, "demo", "--dir", dir, "-n", "10", "--workers", "2", "--timeout", demoTestTimeout)
	checkDemoJobs(t, out)
	q, _ := openDir(t, dir, nil)
	ms, err := q.List(t.Context(), &queuesqlite.ListOpts{Destination: destTick})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[time.Time]bool{}
	for _, m := range ms {
		if m.Status != queuesqlite.StatusCompleted || m.Source != "periodic" || m.Attempt != 1 || seen[m.RunAt] ||
			!m.RunAt.Equal(m.RunAt.Truncate(time.Second)) {
			t.Errorf("tick message %s: %s from %q after %d attempt(s) for the tick of %v (seen before: %v)",
				m.ID, m.Status, m.Source, m.Attempt, m.RunAt, seen[m.RunAt])
		}
		seen[m.RunAt] = true
	}
	if n := demoTicksRun(t, out); len(ms) != n || n < demoTicks {
		t.Errorf("the queue holds %d tick messages, the demo ran %d (want at least %d)", len(ms), n, demoTicks)
	}
}

// The unique step leaves one message with its key in the queue.
func TestDemo_UniqueJob(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "q")
	out := ok(t, "demo", "--dir", dir, "--shards", "2", "-n", "10", "--workers", "2", "--timeout", demoTestTimeout)
	checkDemoJobs(t, out)
	q, _ := openDir(t, dir, nil)
	st, err := q.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := st.ByDestination[destRebuild]; sum(got) != 1 || got[queuesqlite.StatusCompleted] != 1 {
		t.Errorf("rebuild_index messages in the queue: %v, want one, completed", got)
	}
}
