package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/backendtest"
	"github.com/queue-sqlite/queuesqlite/internal/netlab"
)

// hostsLease is the lease of every queue in the host tests: short, so that
// rescues and hand-overs take seconds.
const hostsLease = 2 * time.Second

// hostsMaintenance is their Config.MaintenanceInterval.
const hostsMaintenance = 100 * time.Millisecond

// hostLab is a lab of hosts sharing one queue on the lab's own PostgreSQL
// server, and the parent's handle on that queue (never started: it only
// sends and reads).
type hostLab struct {
	t     *testing.T
	lab   *netlab.Lab
	pg    *netlab.Postgres
	store string // the queue's backendtest spec, reachable from every host
	dir   string // record files and children's logs
	q     *queuesqlite.Queue
	kids  []*child // every child started, for explainFailure
}

// newHostLab builds n hosts and a server, and creates the queue.
func newHostLab(t *testing.T, n int) *hostLab {
	t.Helper()
	lab := netlab.New(t, n)
	pg := lab.StartPostgres(t)
	h := &hostLab{t: t, lab: lab, pg: pg, store: "postgres:hosts@" + pg.DSN(), dir: t.TempDir()}
	q, err := backendtest.OpenSpec(h.store, &queuesqlite.Config{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	h.q = q
	t.Cleanup(h.explainFailure)
	return h
}

// explainFailure logs, when the test failed, the queue's counts and the
// messages not finished, as the children left them.
func (h *hostLab) explainFailure() {
	if !h.t.Failed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	page, err := h.q.ListPage(ctx, &queuesqlite.ListOpts{Limit: 20, Statuses: []queuesqlite.Status{queuesqlite.StatusPending,
		queuesqlite.StatusProcessing, queuesqlite.StatusRetrying, queuesqlite.StatusScheduled}}, "")
	if err != nil {
		h.t.Logf("unfinished messages: %v", err)
		return
	}
	for _, m := range page.Messages {
		h.t.Logf("unfinished: %s %s attempt %d owner %q lease until %v, last error %q", m.ID, m.Status, m.Attempt,
			m.LeaseOwner, m.LeaseExpiry, m.LastError)
		for _, c := range h.kids {
			for _, l := range strings.Split(c.stderrText(), "\n") {
				if strings.Contains(l, m.ID) {
					h.t.Logf("  %s: %s", c.name, l)
				}
			}
		}
	}
}

// host is the lab's i-th host.
func (h *hostLab) host(i int) *netlab.Host { return h.lab.Hosts[i] }

// worker starts a worker child named name on host i and waits until it
// runs; it returns the child and its pid.
func (h *hostLab) worker(i int, name string, spec workerSpec) (*child, int) {
	h.t.Helper()
	spec.Store, spec.Records, spec.Name = h.store, h.dir, name
	c := startChildIn(h.t, h.host(i), h.dir, name, "worker", spec)
	h.kids = append(h.kids, c)
	return c, linePID(h.t, c.waitLine("ready "))
}

// stream starts a sender child on host i and waits until it is ready.
func (h *hostLab) stream(i int, name string, spec streamSpec) *child {
	h.t.Helper()
	spec.Store = h.store
	c := startChildIn(h.t, h.host(i), h.dir, name, "stream", spec)
	c.waitLine("ready")
	return c
}

// messages returns every stored message by id.
func (h *hostLab) messages() map[string]*queuesqlite.Message {
	h.t.Helper()
	out := map[string]*queuesqlite.Message{}
	cursor := ""
	for {
		var page *queuesqlite.MessagePage
		h.retry("list", func() (err error) {
			page, err = h.q.ListPage(context.Background(), &queuesqlite.ListOpts{Limit: queuesqlite.ListPageMax}, cursor)
			return err
		})
		for _, m := range page.Messages {
			out[m.ID] = m
		}
		if page.Next == "" {
			return out
		}
		cursor = page.Next
	}
}

// counts returns the number of stored messages per status. A read that
// fails (the parent's pool holds connections the server dropped at a
// restart) is tried again, within waitDeadline.
func (h *hostLab) counts() map[queuesqlite.Status]int {
	h.t.Helper()
	var st *queuesqlite.Stats
	h.retry("stats", func() (err error) {
		st, err = h.q.Stats(context.Background())
		return err
	})
	return st.ByStatus
}

// retry runs a read until it succeeds, failing the test after waitDeadline.
func (h *hostLab) retry(what string, read func() error) {
	h.t.Helper()
	deadline := time.Now().Add(waitDeadline)
	for {
		err := read()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: %v", what, err)
		}
		h.t.Logf("%s failed, trying again: %v", what, err)
		time.Sleep(50 * time.Millisecond)
	}
}

// allCompleted reports whether at least n messages are stored and all are
// completed.
func (h *hostLab) allCompleted(n int) bool {
	c := h.counts()
	return c[queuesqlite.StatusCompleted] >= n && c[queuesqlite.StatusCompleted] == total(c)
}

// send sends n messages to dest from the parent.
func (h *hostLab) send(dest string, n int) []string {
	h.t.Helper()
	batch := make([]*queuesqlite.Message, n)
	for i := range batch {
		batch[i] = queuesqlite.NewMessage(dest, i)
	}
	ids, err := h.q.SendBatch(context.Background(), batch, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return ids
}

// leader reads who leads the queue's shared maintenance.
func (h *hostLab) leader() queuesqlite.LeaderInfo {
	h.t.Helper()
	info, err := h.q.Leader(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return info
}

// linePID reads the pid at the end of a "ready <pid>" line.
func linePID(t *testing.T, line string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "ready ")))
	if err != nil {
		t.Fatalf("no pid in %q", line)
	}
	return pid
}

// ownedBy reports whether a lease owner ("<host>:<pid>:<random>/<start>")
// is a queue run of process pid.
func ownedBy(owner string, pid int) bool {
	return strings.Contains(owner, fmt.Sprintf(":%d:", pid))
}

// ackedIDs returns the ids a stream child reported stored, in order.
func ackedIDs(c *child) []string {
	var ids []string
	for _, l := range c.matching("acked ") {
		ids = append(ids, strings.Split(strings.TrimPrefix(l, "acked "), ",")...)
	}
	return ids
}

// resultPID reads the pid a "record" or "sleep" handler put in its result.
func resultPID(m *queuesqlite.Message) int {
	var r struct{ PID int }
	_ = json.Unmarshal(m.Result, &r)
	return r.PID
}

// recordCountOf is recordCount for the record files of one child name.
func recordCountOf(dir, name string) int {
	files, _ := filepath.Glob(filepath.Join(dir, "records-"+name+"-*.log"))
	var n int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			n += fi.Size()
		}
	}
	return int(n / recordLen)
}

// stopChildren sends SIGTERM to each child and expects a clean exit.
func stopChildren(t *testing.T, cs ...*child) {
	t.Helper()
	for _, c := range cs {
		c.signal(syscall.SIGTERM)
	}
	for _, c := range cs {
		if st := c.wait(); !c.exitedCleanly(st) {
			t.Errorf("%s ended with %v\n%s", c.name, st, c.stderrTail())
		}
	}
}

// runTally is what the records say of a set of messages.
type runTally struct {
	runs        int // records
	dups        int // runs beyond the first
	unexplained int // messages run more than once without being in flight at a kill or cut
	sameAttempt int // messages one attempt number of which ran twice
}

// tallyRuns checks the records of every id in ids: each ran at least once;
// one that ran more than once must be in explained (nil: none may).
func tallyRuns(t *testing.T, recs map[string][]record, ids []string, explained map[string]int) runTally {
	t.Helper()
	var r runTally
	for _, id := range ids {
		rs := recs[id]
		if len(rs) == 0 {
			t.Errorf("message %s never ran", id)
			continue
		}
		r.runs += len(rs)
		r.dups += len(rs) - 1
		if len(rs) > 1 && explained[id] == 0 {
			r.unexplained++
			t.Errorf("message %s ran %d times without being in flight at a fault: %v", id, len(rs), rs)
		}
		attempts := make([]int, len(rs))
		for i, x := range rs {
			attempts[i] = x.Attempt
		}
		slices.Sort(attempts)
		if len(slices.Compact(slices.Clone(attempts))) != len(attempts) {
			r.sameAttempt++
			t.Errorf("message %s: one attempt number ran twice: %v", id, rs)
		}
	}
	return r
}

// waitFor polls cond until it holds, within waitDeadline, failing at once
// if one of the children exits; it returns how long it took.
func waitFor(t *testing.T, what string, cond func() bool, cs ...*child) time.Duration {
	t.Helper()
	start := time.Now()
	waitAlive(t, what, cond, cs...)
	return time.Since(start)
}
