package tests

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/queue-sqlite/queuesqlite"
)

// uniqueRaceSpec is the uniquesender role's work: send one unique message
// for each of Keys keys (key-0..) to the queue in Dir, with content Name,
// singly or (Batch > 1) in batches of Batch.
type uniqueRaceSpec struct {
	Dir   string
	Name  string
	Keys  int
	Batch int
}

// uniqueProcs is how many processes race for the same unique keys.
const uniqueProcs = 8

// Eight processes send the same unique keys at the same moment to a queue
// of three shards, some one by one and some in batches: exactly one
// message per key is stored, every sender got the same id for a key, and
// all but one sender of each key were told it was a duplicate.
func TestUnique_EightProcessesSendTheSameKeys(t *testing.T) {
	t.Parallel()
	keys := 200
	if size.name != "quick" {
		keys = 2000
	}
	dir := filepath.Join(t.TempDir(), "queue")
	q, err := queuesqlite.Open(dir, &queuesqlite.Config{Shards: 3})
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
	var children []*child
	for p := range uniqueProcs {
		name := fmt.Sprint("p", p)
		batch := 1
		if p%2 == 1 {
			batch = 7
		}
		children = append(children, startChild(t, t.TempDir(), name, "uniquesender",
			uniqueRaceSpec{Dir: dir, Name: name, Keys: keys, Batch: batch}))
	}
	for _, c := range children {
		c.waitLine("ready")
	}
	for _, c := range children {
		c.send("go")
	}
	idOf := map[string]string{}     // key -> the id every sender got
	storedBy := map[string]string{} // key -> the sender told it stored the message
	dups := map[string]int{}
	for _, c := range children {
		c.waitLine("done")
		for _, line := range c.matching("") {
			f := strings.Fields(line)
			if len(f) > 0 && f[0] == "error" {
				t.Errorf("%s: %s", c.name, line)
				continue
			}
			if len(f) != 3 || (f[0] != "sent" && f[0] != "dup") {
				continue
			}
			key, id := f[1], f[2]
			if prev, ok := idOf[key]; ok && prev != id {
				t.Errorf("key %s: %s got id %s, another sender %s", key, c.name, id, prev)
			}
			idOf[key] = id
			if f[0] == "dup" {
				dups[key]++
				continue
			}
			if prev, ok := storedBy[key]; ok {
				t.Errorf("key %s stored by %s and by %s", key, prev, c.name)
			}
			storedBy[key] = c.name
		}
	}
	if len(idOf) != keys || len(storedBy) != keys {
		t.Fatalf("%d keys answered, %d stored; want %d each", len(idOf), len(storedBy), keys)
	}
	for key, n := range dups {
		if n != uniqueProcs-1 {
			t.Errorf("key %s: %d senders told duplicate, want %d", key, n, uniqueProcs-1)
		}
	}
	if rows := openRaw(t, dir).ids("1"); len(rows) != keys || len(slices.Compact(slices.Sorted(slices.Values(rows)))) != keys {
		t.Fatalf("%d rows for %d keys", len(rows), keys)
	}
	q, err = queuesqlite.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for key, id := range idOf {
		m, err := q.Get(context.Background(), id)
		if err != nil || string(m.Content) != fmt.Sprintf("%q", storedBy[key]) {
			t.Fatalf("get %s (key %s): %v; want the message of %s", id, key, err, storedBy[key])
		}
	}
	checkAtEnd(t, dir)
}

// uniqueSenderRole sends the spec's keys once "go" arrives on stdin,
// printing "sent <key> <id>", "dup <key> <id>" or "error <text>" for each,
// then "done".
func uniqueSenderRole() int {
	var spec uniqueRaceSpec
	q, code := startRacer(&spec, func() string { return spec.Dir })
	if q == nil {
		return code
	}
	defer q.Close()
	const senders = 4
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for first := g * spec.Batch; first < spec.Keys; first += senders * spec.Batch {
				sendUniqueKeys(q, spec, first, min(first+spec.Batch, spec.Keys))
			}
		})
	}
	wg.Wait()
	say("done")
	return 0
}

// sendUniqueKeys sends keys from..to-1 with SendUnique (one key) or
// SendBatchUnique, and prints
// what each got.
func sendUniqueKeys(q *queuesqlite.Queue, spec uniqueRaceSpec, from, to int) {
	var ms []*queuesqlite.Message
	for i := from; i < to; i++ {
		m := queuesqlite.NewMessage("job", spec.Name)
		m.Unique = &queuesqlite.UniqueOpts{Key: fmt.Sprint("key-", i)}
		ms = append(ms, m)
	}
	var res []queuesqlite.SendResult
	var err error
	if len(ms) == 1 {
		var r queuesqlite.SendResult
		r, err = q.SendUnique(context.Background(), ms[0], nil)
		res = []queuesqlite.SendResult{r}
	} else {
		res, err = q.SendBatchUnique(context.Background(), ms, nil)
	}
	if err != nil {
		say("error keys %d..%d: %v", from, to-1, err)
		return
	}
	for i, r := range res {
		kind := "sent"
		if r.Duplicate {
			kind = "dup"
		}
		say("%s key-%d %s", kind, from+i, r.ID)
	}
}
