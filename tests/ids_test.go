package tests

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/queue-sqlite/queuesqlite"
)

// idRaceSpec is the idsender role's work: send Count messages with ids
// id-0.. to the queue in Dir, each with a shard key salted by Name, so the
// two racing processes route one id to different shards.
type idRaceSpec struct {
	Dir   string
	Name  string
	Count int
}

// Two processes send the same ids at the same moment, with shard keys that
// put each id in different shards: every id is accepted exactly once, the
// other send is refused with ErrDuplicate, and one row holds it.
func TestIDs_TwoProcessesRaceForTheSameIDs(t *testing.T) {
	t.Parallel()
	n := 300
	if size.name != "quick" {
		n = 3000
	}
	dir := filepath.Join(t.TempDir(), "queue")
	q, err := queuesqlite.Open(dir, &queuesqlite.Config{Shards: 4})
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
	var children []*child
	for _, name := range []string{"a", "b"} {
		children = append(children, startChild(t, t.TempDir(), name, "idsender", idRaceSpec{Dir: dir, Name: name, Count: n}))
	}
	for _, c := range children {
		c.waitLine("ready")
	}
	for _, c := range children {
		c.send("go")
	}
	winner := map[string]string{}
	refused := 0
	for _, c := range children {
		c.waitLine("done")
		for _, line := range c.matching("") {
			kind, id, _ := strings.Cut(line, " ")
			switch kind {
			case "sent":
				if prev, dup := winner[id]; dup {
					t.Errorf("id %s accepted from %s and from %s", id, prev, c.name)
				}
				winner[id] = c.name
			case "dup":
				refused++
			case "error":
				t.Errorf("%s: %s", c.name, line)
			}
		}
	}
	if len(winner) != n || refused != n {
		t.Fatalf("%d ids accepted, %d refused; want each of %d accepted once and refused once", len(winner), refused, n)
	}
	if rows := openRaw(t, dir).ids("1"); len(rows) != n || len(slices.Compact(rows)) != n {
		t.Fatalf("%d rows for %d ids", len(rows), n)
	}
	q, err = queuesqlite.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for id, name := range winner {
		m, err := q.Get(context.Background(), id)
		if err != nil || string(m.Content) != fmt.Sprintf("%q", name) {
			t.Fatalf("get %s: %v %s; want the message of %s", id, err, m.Content, name)
		}
	}
	checkAtEnd(t, dir)
}

// idSenderRole sends the spec's ids once "go" arrives on stdin, printing
// "sent <id>", "dup <id>" or "error <text>" for each, then "done".
func idSenderRole() int {
	var spec idRaceSpec
	q, code := startRacer(&spec, func() string { return spec.Dir })
	if q == nil {
		return code
	}
	defer q.Close()
	const senders = 8
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for i := g; i < spec.Count; i += senders {
				m := queuesqlite.NewMessage("job", spec.Name)
				m.ID, m.ShardKey = fmt.Sprint("id-", i), fmt.Sprint(spec.Name, "-", i)
				_, err := q.Send(context.Background(), m, nil)
				switch {
				case err == nil:
					say("sent %s", m.ID)
				case errors.Is(err, queuesqlite.ErrDuplicate):
					say("dup %s", m.ID)
				default:
					say("error %s: %v", m.ID, err)
				}
			}
		})
	}
	wg.Wait()
	say("done")
	return 0
}
