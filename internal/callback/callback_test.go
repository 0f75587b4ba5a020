package callback

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPool_SlowCallbackDoesNotBlockSubmitOrOthers(t *testing.T) {
	p := NewPool(2, slog.New(slog.DiscardHandler))
	release := make(chan struct{})
	p.Submit("cb", func() { <-release }) // occupies one goroutine
	var ran atomic.Int32
	for range 100 {
		p.Submit("cb", func() { ran.Add(1) })
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
	if dropped, _ := p.Close(context.Background(), time.Minute); len(dropped) != 0 {
		t.Fatalf("dropped %v", dropped)
	}
	if p.Submit("cb", func() {}) {
		t.Fatal("submit after close accepted")
	}
}

func TestPool_PanicIsContained(t *testing.T) {
	p := NewPool(1, slog.New(slog.DiscardHandler))
	var after atomic.Bool
	p.Submit("cb", func() { panic("bad callback") })
	p.Submit("cb", func() { after.Store(true) })
	if err := p.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !after.Load() {
		t.Fatal("callback after a panicking one did not run")
	}
	p.Close(context.Background(), time.Minute)
}

func TestPool_CloseDropsWhatCannotRunInTime(t *testing.T) {
	p := NewPool(1, slog.New(slog.DiscardHandler))
	release, started := make(chan struct{}), make(chan struct{})
	p.Submit("cb", func() { close(started); <-release })
	p.Submit("cb", func() {})
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var wg sync.WaitGroup
	var dropped []string
	wg.Go(func() { dropped, _ = p.Close(ctx, time.Minute) })
	deadline := time.Now().Add(10 * time.Second)
	for !p.isClosing() {
		if time.Now().After(deadline) {
			t.Fatal("Close did not start closing")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if len(dropped) != 1 {
		t.Fatalf("dropped %v, want 1", dropped)
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

func TestPool_CloseAbandonsACallbackThatNeverReturns(t *testing.T) {
	p := NewPool(1, slog.New(slog.DiscardHandler))
	late := make(chan string, 1)
	p.Late = func(id string) { late <- id }
	release, started := make(chan struct{}), make(chan struct{})
	p.Submit("stuck", func() { close(started); <-release })
	p.Submit("never", func() { t.Error("a dropped callback ran") })
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	closed := make(chan struct{})
	var dropped, abandoned []string
	go func() {
		dropped, abandoned = p.Close(ctx, time.Millisecond)
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for a callback that never returns")
	}
	if !slices.Equal(dropped, []string{"never"}) || !slices.Equal(abandoned, []string{"stuck"}) {
		t.Fatalf("dropped %v, abandoned %v; want [never], [stuck]", dropped, abandoned)
	}
	close(release)
	select {
	case id := <-late:
		if id != "stuck" {
			t.Fatalf("late %q", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the abandoned callback's return was not reported")
	}
}
