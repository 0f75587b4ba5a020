package notify

import (
	"testing"
	"time"
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
