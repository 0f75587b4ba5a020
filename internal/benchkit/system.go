// Package benchkit measures task queues side by side: the same scenarios
// (sends, batch sends, draining a backlog, send-to-start latency, claim
// speed with a large backlog, memory while draining) run identically
// against every system through a small interface, and the results print as
// one table with the ratio of each peer to the baseline (our queue).
//
// `queuesqlite bench` runs it for our queue alone; the bench/ module runs it
// for our queue and its peers. Numbers are measured, never assumed: each
// scenario runs several times and reports the median and the spread.
package benchkit

import (
	"context"
	"encoding/json"
	"time"
)

// Synchronous levels a scenario asks SQLite systems for.
const (
	SyncNormal = "NORMAL"
	SyncFull   = "FULL"
)

// System is one task queue under test, with the settings it runs with.
type System struct {
	// Name labels the system's column in the table, e.g. "goqite (tuned)".
	Name string
	// Note says what settings the system runs with; printed under the table.
	Note string
	// Tuned marks a variant that differs from another system only in its
	// polling settings: it runs only the scenarios whose outcome depends on
	// them (Scenario.PollSensitive).
	Tuned bool
	// SQLite says the system stores into SQLite, so it can run the
	// synchronous=FULL scenarios.
	SQLite bool
	// Open opens a fresh, empty queue as env describes.
	Open func(ctx context.Context, env Env) (Instance, error)
}

// Env is what a scenario asks of a system when it opens it.
type Env struct {
	// Dir is a fresh directory for the system's files.
	Dir string
	// Workers is how many jobs may run at once.
	Workers int
	// Sync is SyncNormal or SyncFull (SQLite's synchronous pragma).
	Sync string
	// Track says the scenario waits for completions (WaitFinished), so the
	// system should turn on whatever tells it a job finished (for our queue,
	// a completion callback per message).
	Track bool
	// OnStart, when not nil, is called by the handler as a job starts, with
	// the time its payload says it was sent.
	OnStart func(sent time.Time)
}

// Instance is one open queue of a System.
type Instance interface {
	// Send stores one job and returns once it is committed.
	Send(ctx context.Context, p Payload) error
	// SendBatch stores the jobs with the system's batch API (one
	// transaction where it has one) and returns once they are committed.
	SendBatch(ctx context.Context, ps []Payload) error
	// Start starts the workers, which run the shared no-op handler: decode
	// the payload, call Env.OnStart, return success.
	Start(ctx context.Context) error
	// WaitFinished blocks until n jobs sent to this instance have finished
	// and their outcome is stored, or ctx ends.
	WaitFinished(ctx context.Context, n int) error
	// Close stops the workers and releases everything Open took.
	Close() error
}

// WriteCounter is implemented by instances that count their write
// transactions (our queue); the drain scenarios then report write
// transactions per processed message.
type WriteCounter interface {
	WriteTransactions() int64
}

// ClaimProber is implemented by instances that can measure claim speed
// directly: Backlog stores n pending jobs, ClaimComplete claims up to batch
// of them and records their completion, returning how many it took.
type ClaimProber interface {
	Backlog(ctx context.Context, n int) error
	ClaimComplete(ctx context.Context, batch int) (int, error)
}

// Payload is the content of every benchmark job: when it was sent.
type Payload struct {
	// Sent is the send time in Unix nanoseconds.
	Sent int64 `json:"t"`
}

// NewPayload returns a payload stamped with the current time.
func NewPayload() Payload { return Payload{Sent: time.Now().UnixNano()} }

// Payloads returns n payloads stamped with the current time.
func Payloads(n int) []Payload {
	ps := make([]Payload, n)
	now := time.Now().UnixNano()
	for i := range ps {
		ps[i].Sent = now
	}
	return ps
}

// Handle is the shared no-op handler body: it decodes raw (a JSON Payload)
// and reports the start to env.OnStart. Every system's handler calls it.
func Handle(env *Env, raw []byte) error {
	var p Payload
	if err := json.Unmarshal(raw, &p); err != nil {
		return err
	}
	env.Started(p.Sent)
	return nil
}

// Started reports a job start to OnStart, for handlers that receive the
// payload already decoded (River decodes job args itself).
func (e *Env) Started(sentNanos int64) {
	if e.OnStart != nil {
		e.OnStart(time.Unix(0, sentNanos))
	}
}
