package tests

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/backendtest"
)

// streamSpec configures the "stream" child role: a sender on its own host
// that sends to "job" in rounds of one batch and some singles, each call
// under its own deadline, and tells the parent the outcome of every call.
type streamSpec struct {
	Store   string        // a backendtest store spec
	Count   int           // stop after this many acknowledged messages; 0: until "stop" on stdin
	Batch   int           // messages per batch
	Singles int           // single sends per round
	Timeout time.Duration // the deadline of one call
	Pace    time.Duration // the pause between rounds (a rate, not a wait)
}

// streamRole prints "acked <id>,<id>,..." for every call that returned
// without an error (those messages are stored, the parent checks), and
// "senderr <error>" for every call that failed; at the end (Count reached,
// or "stop") "done acked=<n> errors=<n>".
func streamRole() int {
	var spec streamSpec
	if err := readSpec(&spec); err != nil {
		say("error spec: %v", err)
		return 2
	}
	q, err := backendtest.OpenSpec(spec.Store, &queuesqlite.Config{Logger: childLogger()})
	if err != nil {
		say("error open: %v", err)
		return 1
	}
	var stop atomic.Bool
	go func() {
		for cmd := range commands() {
			if cmd == "stop" {
				stop.Store(true)
			}
		}
	}()
	say("ready")
	s := &streamer{q: q, spec: spec}
	for !stop.Load() && (spec.Count == 0 || s.acked < spec.Count) {
		s.round()
		time.Sleep(spec.Pace)
	}
	if err := q.Close(); err != nil {
		say("error close: %v", err)
	}
	say("done acked=%d errors=%d", s.acked, s.errors)
	return 0
}

// streamer is the sending state of the stream role.
type streamer struct {
	q             *queuesqlite.Queue
	spec          streamSpec
	n             int // messages made so far
	acked, errors int
}

// round sends one batch, then the singles.
func (s *streamer) round() {
	batch := make([]*queuesqlite.Message, s.spec.Batch)
	for i := range batch {
		batch[i] = s.next()
	}
	s.call(func(ctx context.Context) ([]string, error) { return s.q.SendBatch(ctx, batch, nil) })
	for range s.spec.Singles {
		m := s.next()
		s.call(func(ctx context.Context) ([]string, error) {
			id, err := s.q.Send(ctx, m, nil)
			return []string{id}, err
		})
	}
}

func (s *streamer) next() *queuesqlite.Message {
	s.n++
	return queuesqlite.NewMessage("job", map[string]any{"n": s.n})
}

// call runs one send under the call deadline and reports its outcome.
func (s *streamer) call(send func(context.Context) ([]string, error)) {
	ctx, cancel := context.WithTimeout(context.Background(), s.spec.Timeout)
	defer cancel()
	ids, err := send(ctx)
	if err != nil {
		s.errors++
		say("senderr %s", strings.ReplaceAll(fmt.Sprint(err), "\n", " "))
		return
	}
	s.acked += len(ids)
	say("acked %s", strings.Join(ids, ","))
}
