package callback

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPool_SlowCallbackDoesNotBlockSubmitOrOthers(t *testing.T) {
	p := NewPool(2, slog.New(slog.DiscardHandler))
	release := make(chan struct{})
	p.Submit(func() { <-release }) // occupies one goroutine
	var ran atomic.Int32
	for range 100 {
		p.Submit(func() { ran.Add(1) })
	}
	deadline := time.Now().Add(10 * time.Second)
	for ran.Load() < 100 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of 100 callbacks ran while one was slow", ran.Load())
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	if err := p.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if dropped := p.Close(context.Background()); dropped != 0 {
		t.Fatalf("dropped %d", dropped)
	}
	if p.Submit(func() {}) {
		t.Fatal("submit after close accepted")
	}
}

func TestPool_PanicIsContained(t *testing.T) {
	p := NewPool(1, slog.New(slog.DiscardHandler))
	var after atomic.Bool
	p.Submit(func() { panic("bad callback") })
	p.Submit(func() { after.Store(true) })
	if err := p.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !after.Load() {
		t.Fatal("callback after a panicking one did not run")
	}
	p.Close(context.Background())
}

func TestPool_CloseDropsWhatCannotRunInTime(t *testing.T) {
	p := NewPool(1, slog.New(slog.DiscardHandler))
	release, started := make(chan struct{}), make(chan struct{})
	p.Submit(func() { close(started); <-release })
	p.Submit(func() {})
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var wg sync.WaitGroup
	var dropped int
	wg.Go(func() { dropped = p.Close(ctx) })
	deadline := time.Now().Add(10 * time.Second)
	for !p.isClosing() {
		if time.Now().After(deadline) {
			t.Fatal("Close did not start closing")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if dropped != 1 {
		t.Fatalf("dropped %d, want 1", dropped)
	}
}

func TestRegistry_TakeOnce(t *testing.T) {
	var r Registry[func()]
	r.Add("a", func() {})
	if _, ok := r.Take("a"); !ok {
		t.Fatal("first take missed")
	}
	if _, ok := r.Take("a"); ok {
		t.Fatal("second take found the callback again")
	}
	if r.Len() != 0 {
		t.Fatal("registry not empty")
	}
}

func (p *Pool) isClosing() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closing
}

func TestRegistry_UUIDAndOtherIDsAreDistinct(t *testing.T) {
	var r Registry[int]
	lower := "01a215ea-eabf-7b39-99b3-9fffae0e7af2"
	upper := "01A215EA-EABF-7B39-99B3-9FFFAE0E7AF2" // the same UUID, another message id
	r.Add(lower, 1)
	r.Add(upper, 2)
	r.Add("job-42", 3)
	if r.Len() != 3 {
		t.Fatalf("len %d, want 3", r.Len())
	}
	for id, want := range map[string]int{upper: 2, lower: 1, "job-42": 3} {
		if got, ok := r.Take(id); !ok || got != want {
			t.Fatalf("take %s: %d %v, want %d", id, got, ok, want)
		}
	}
	if r.Len() != 0 {
		t.Fatalf("len %d after taking all", r.Len())
	}
}

func TestRegistry_AddNewKeepsTheFirstCallback(t *testing.T) {
	var r Registry[int]
	for _, id := range []string{"01a215ea-eabf-7b39-99b3-9fffae0e7af2", "plain-id"} {
		if !r.AddNew(id, 1) {
			t.Fatalf("%s: first AddNew refused", id)
		}
		if r.AddNew(id, 2) {
			t.Fatalf("%s: second AddNew replaced the first callback", id)
		}
		if fn, ok := r.Take(id); !ok || fn != 1 {
			t.Fatalf("%s: take gave %v %v, want the first callback", id, fn, ok)
		}
		if !r.AddNew(id, 3) {
			t.Fatalf("%s: AddNew after Take refused", id)
		}
	}
}
