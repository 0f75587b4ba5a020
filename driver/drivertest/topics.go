package drivertest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// topicLog collects the signals a TopicWatcher delivers.
type topicLog struct {
	mu   sync.Mutex
	got  []driver.Topic
	wake chan struct{}
}

func watchTopics(t *testing.T, d driver.Driver) *topicLog {
	t.Helper()
	w, ok := d.(driver.TopicWatcher)
	if !ok || !w.TellsTopics() {
		t.Skip("backend (in this configuration) tells no topics (its Changes signal is checked by TwoHandles)")
	}
	l := &topicLog{wake: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.WatchTopics(ctx, func(tp driver.Topic) {
			l.mu.Lock()
			l.got = append(l.got, tp)
			l.mu.Unlock()
			select {
			case l.wake <- struct{}{}:
			default:
			}
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return l
}

// waitFor waits until a signal of kind k (with key, or ""), arrived, and
// returns every signal seen up to and including it.
func (l *topicLog) waitFor(t *testing.T, want driver.Topic) []driver.Topic {
	t.Helper()
	deadline := time.After(eventually)
	for {
		l.mu.Lock()
		for i, tp := range l.got {
			if tp.Kind == want.Kind && (tp.Key == want.Key || tp.Key == "") {
				seen := append([]driver.Topic(nil), l.got[:i+1]...)
				l.got = l.got[i+1:]
				l.mu.Unlock()
				return seen
			}
		}
		l.mu.Unlock()
		select {
		case <-l.wake:
		case <-deadline:
			t.Fatalf("no %+v signal within %v", want, eventually)
		}
	}
}

// testTopics: a commit on handle A gives handle B a signal of the right
// topic, and no signal names a destination or owner the commit did not
// touch. Signals of A's commits arrive in commit order, so everything B
// saw before the signal of a later commit belongs to the earlier ones.
func testTopics(t *testing.T, open OpenFunc) {
	t.Run("EachSignalNamesWhatChanged", func(t *testing.T) {
		t.Parallel()
		h, b := twoHandles(t, open)
		a := h.Driver
		log := watchTopics(t, b)
		ctx := context.Background()

		insert(t, a, newMsg("t1", "dest-a", 1))
		seen := log.waitFor(t, driver.Topic{Kind: driver.TopicWork, Key: "dest-a"})
		wantOnly(t, "insert into dest-a", seen, driver.Topic{Kind: driver.TopicWork, Key: "dest-a"})

		ms, err := a.Claim(ctx, driver.ClaimParams{Destinations: []string{"dest-a"}, Max: 1, Owner: "w",
			Now: t0, LeaseUntil: t0.Add(time.Minute), Me: "sender"})
		if err != nil || len(ms) != 1 {
			t.Fatalf("claim: %v %d", err, len(ms))
		}
		c := &driver.Completion{Seq: ms[0].Seq, Attempt: ms[0].Attempt, Owner: "w",
			Status: queuetype.StatusCompleted, Now: t0, Me: "sender"}
		if err := a.Complete(ctx, []*driver.Completion{c}); err != nil || !c.Applied {
			t.Fatalf("complete: %v applied=%v", err, c.Applied)
		}
		seen = log.waitFor(t, driver.Topic{Kind: driver.TopicFinished})
		wantOnly(t, "claim and complete in dest-a", seen, driver.Topic{Kind: driver.TopicWork, Key: "dest-a"},
			driver.Topic{Kind: driver.TopicFinished})

		if ls, ok := a.(driver.ListenStore); ok {
			set(t, ls, "k", value(t, 1), t0)
			seen = log.waitFor(t, driver.Topic{Kind: driver.TopicListen})
			wantOnly(t, "listen change", seen, driver.Topic{Kind: driver.TopicListen},
				driver.Topic{Kind: driver.TopicFinished}, driver.Topic{Kind: driver.TopicWork, Key: "dest-a"})
		}
	})
}

// wantOnly fails when a seen signal with a key names none of the allowed
// topics (a keyless one matches any key of its kind).
func wantOnly(t *testing.T, what string, seen []driver.Topic, allowed ...driver.Topic) {
	t.Helper()
	for _, tp := range seen {
		ok := false
		for _, a := range allowed {
			if tp.Kind == a.Kind && (tp.Key == "" || a.Key == "" || tp.Key == a.Key) {
				ok = true
			}
		}
		if !ok {
			t.Fatalf("%s: got signal %+v, which names nothing the commits touched (allowed %+v)", what, tp, allowed)
		}
	}
}
