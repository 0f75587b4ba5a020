package notify

import (
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
)

func TestHub_PublishReachesEverySubscriberAndCoalesces(t *testing.T) {
	var h Hub
	a, b := h.Subscribe(), h.Subscribe()
	defer a.Close()
	h.Publish()
	h.Publish()
	for name, s := range map[string]*Sub{"a": a, "b": b} {
		select {
		case <-s.C:
		case <-time.After(5 * time.Second):
			t.Fatalf("subscriber %s got no signal", name)
		}
		select {
		case <-s.C:
			t.Fatalf("subscriber %s got two signals for a burst; want them coalesced", name)
		default:
		}
	}
	b.Close()
	h.Publish()
	select {
	case <-b.C:
		t.Fatal("closed subscription still receives")
	default:
	}
	<-a.C
}

func TestHub_TopicsReachOnlyTheirSubscribers(t *testing.T) {
	var h Hub
	workA := h.Subscribe(driver.Topic{Kind: driver.TopicWork, Key: "a"})
	finished := h.Subscribe(driver.Topic{Kind: driver.TopicFinished, Key: "me"})
	all := h.Subscribe()
	defer workA.Close()
	defer finished.Close()
	defer all.Close()
	pending := func(s *Sub) bool {
		select {
		case <-s.C:
			return true
		default:
			return false
		}
	}
	cases := []struct {
		signal               driver.Topic
		workA, finished, all bool
	}{
		{driver.Topic{Kind: driver.TopicWork, Key: "b"}, false, false, true},
		{driver.Topic{Kind: driver.TopicWork, Key: "a"}, true, false, true},
		{driver.Topic{Kind: driver.TopicWork}, true, false, true},
		{driver.Topic{Kind: driver.TopicFinished, Key: "other"}, false, false, true},
		{driver.Topic{Kind: driver.TopicFinished, Key: "me"}, false, true, true},
		{driver.Topic{Kind: driver.TopicListen}, false, false, true},
		{driver.Topic{Kind: driver.TopicAny}, true, true, true},
	}
	for _, c := range cases {
		h.PublishTopic(c.signal) // Publish is synchronous: the signal is on the channels when it returns
		if got := [3]bool{pending(workA), pending(finished), pending(all)}; got != [3]bool{c.workA, c.finished, c.all} {
			t.Errorf("signal %+v reached (workA, finished, all) = %v, want %v", c.signal, got, [3]bool{c.workA, c.finished, c.all})
		}
	}
}
