package queuesqlite_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// tracing returns a handler middleware that records "<name>>" before and
// "<<name>" after the call, with the attempt.
func tracing(rec *recorder, name string) queuesqlite.HandlerMiddleware {
	return func(next queuesqlite.HandlerFunc) queuesqlite.HandlerFunc {
		return func(ctx context.Context, m *queuesqlite.Message) (any, error) {
			rec.add(fmt.Sprintf("%s> attempt %d", name, m.Attempt))
			res, err := next(ctx, m)
			rec.add("<" + name)
			return res, err
		}
	}
}

// TestQueue_HandlerMiddlewareOrder: Config's middleware wraps UseHandler's,
// the first listed outermost, around the handler; all see the attempt.
func TestQueue_HandlerMiddlewareOrder(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	cfg := fast()
	cfg.HandlerMiddleware = []queuesqlite.HandlerMiddleware{tracing(rec, "a"), tracing(rec, "b")}
	q, _ := setup(t, cfg)
	if err := q.UseHandler(tracing(rec, "c")); err != nil {
		t.Fatal(err)
	}
	if err := q.UseHandler(nil); !errors.Is(err, queuesqlite.ErrInvalidArgument) {
		t.Fatalf("UseHandler(nil): %v", err)
	}
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		rec.add("handler")
		return "ok", nil
	}, nil)
	start(t, q)
	m := wait(t, q, send(t, q, queuesqlite.NewMessage("job", 1), nil))
	if m.Status != queuesqlite.StatusCompleted || string(m.Result) != `"ok"` {
		t.Fatalf("message %s %s", m.Status, m.Result)
	}
	want := []string{"a> attempt 1", "b> attempt 1", "c> attempt 1", "handler", "<c", "<b", "<a"}
	if got := rec.list(); !slices.Equal(got, want) {
		t.Fatalf("order %q, want %q", got, want)
	}
}

// TestQueue_HandlerMiddlewareCanRefuse: a middleware that returns an error
// without calling the handler fails the attempt like the handler would.
func TestQueue_HandlerMiddlewareCanRefuse(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	q.UseHandler(func(next queuesqlite.HandlerFunc) queuesqlite.HandlerFunc {
		return func(ctx context.Context, m *queuesqlite.Message) (any, error) {
			var md map[string]string
			json.Unmarshal(m.Metadata, &md)
			if md["auth"] != "yes" {
				return nil, fmt.Errorf("not authorised: %w", queuesqlite.ErrSkipRetry)
			}
			return next(ctx, m)
		}
	})
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) { return "ran", nil }, nil)
	start(t, q)
	refused := wait(t, q, send(t, q, queuesqlite.NewMessage("job", 1), nil))
	allowed := wait(t, q, send(t, q, queuesqlite.NewMessage("job", 2).SetMetadata(map[string]string{"auth": "yes"}), nil))
	if refused.Status != queuesqlite.StatusFailed || !strings.Contains(refused.LastError, "not authorised") {
		t.Fatalf("refused message: %s %q", refused.Status, refused.LastError)
	}
	if allowed.Status != queuesqlite.StatusCompleted {
		t.Fatalf("allowed message: %s %q", allowed.Status, allowed.LastError)
	}
}

// errorLog collects what the error handler is told.
type errorLog struct {
	mu   sync.Mutex
	errs []error
	atts []int
}

func (l *errorLog) handle(_ context.Context, m *queuesqlite.Message, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
	l.atts = append(l.atts, m.Attempt)
}

func (l *errorLog) snapshot() ([]error, []int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.errs), slices.Clone(l.atts)
}

// TestQueue_ErrorHandlerSeesEveryFailedAttempt: each failed attempt is
// reported once, with its attempt number; a success and a RunAgainAfter
// are not failures.
func TestQueue_ErrorHandlerSeesEveryFailedAttempt(t *testing.T) {
	t.Parallel()
	var log errorLog
	cfg := fast()
	cfg.ErrorHandler = log.handle
	q, _ := setup(t, cfg)
	var mu sync.Mutex
	runs := 0
	q.Handle("flaky", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		runs++
		if runs == 1 {
			return nil, queuesqlite.RunAgainAfter(0)
		}
		return nil, fmt.Errorf("boom %d", m.Attempt)
	}, &queuesqlite.HandlerOpts{MaxAttempts: 3})
	q.Handle("fine", func(ctx context.Context, m *queuesqlite.Message) (any, error) { return nil, nil }, nil)
	start(t, q)
	wait(t, q, send(t, q, queuesqlite.NewMessage("fine", 1), nil))
	m := wait(t, q, send(t, q, queuesqlite.NewMessage("flaky", 1), nil))
	if m.Status != queuesqlite.StatusFailed {
		t.Fatalf("status %s", m.Status)
	}
	errs, atts := log.snapshot()
	if !slices.Equal(atts, []int{1, 2, 3}) {
		t.Fatalf("error handler saw attempts %v (errors %v), want [1 2 3]", atts, errs)
	}
	for i, err := range errs {
		if want := fmt.Sprintf("boom %d", i+1); err.Error() != want {
			t.Fatalf("error %d: %q, want %q", i, err, want)
		}
	}
}

// TestQueue_PanicReachesMiddlewareAndErrorHandler: a handler panic is a
// *PanicError to the middleware and to the error handler, and a panic in
// a middleware itself is caught the same way.
func TestQueue_PanicReachesMiddlewareAndErrorHandler(t *testing.T) {
	t.Parallel()
	var log errorLog
	cfg := fast()
	cfg.ErrorHandler = log.handle
	q, _ := setup(t, cfg)
	seen := make(chan error, 10)
	q.UseHandler(func(next queuesqlite.HandlerFunc) queuesqlite.HandlerFunc {
		return func(ctx context.Context, m *queuesqlite.Message) (any, error) {
			if string(m.Content) == `"middleware panics"` {
				panic("in middleware")
			}
			res, err := next(ctx, m)
			seen <- err
			return res, err
		}
	})
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) { panic("in handler") },
		&queuesqlite.HandlerOpts{MaxAttempts: 1})
	start(t, q)
	m := wait(t, q, send(t, q, queuesqlite.NewMessage("job", "handler panics"), nil))
	var pe *queuesqlite.PanicError
	var err error
	select {
	case err = <-seen:
	case <-time.After(testDeadline):
		t.Fatal("the middleware saw no return")
	}
	if !errors.As(err, &pe) || pe.Value != "in handler" || !strings.Contains(pe.Stack, "middleware_test.go") {
		t.Fatalf("middleware saw %v", err)
	}
	if m.Status != queuesqlite.StatusFailed || !strings.Contains(m.LastError, "panic: in handler") {
		t.Fatalf("message %s %q", m.Status, m.LastError)
	}
	m = wait(t, q, send(t, q, queuesqlite.NewMessage("job", "middleware panics"), nil))
	if m.Status != queuesqlite.StatusFailed || !strings.Contains(m.LastError, "panic: in middleware") {
		t.Fatalf("message %s %q", m.Status, m.LastError)
	}
	errs, _ := log.snapshot()
	if len(errs) != 2 {
		t.Fatalf("error handler saw %d errors, want 2: %v", len(errs), errs)
	}
	for i, want := range []string{"in handler", "in middleware"} {
		if !errors.As(errs[i], &pe) || pe.Value != want {
			t.Fatalf("error %d: %v, want a PanicError %q", i, errs[i], want)
		}
	}
}

// stamp is a send middleware that adds {"stamp": name} to each message's
// metadata and records the batch sizes it saw.
func stamp(name string, sizes *[]int) queuesqlite.SendMiddleware {
	return func(next queuesqlite.SendFunc) queuesqlite.SendFunc {
		return func(ctx context.Context, ms []*queuesqlite.Message) error {
			*sizes = append(*sizes, len(ms))
			for _, m := range ms {
				if m.ID == "" {
					return errors.New("middleware saw a message without id")
				}
				md := map[string]string{}
				json.Unmarshal(m.Metadata, &md)
				md["stamp"] = name
				m.SetMetadata(md)
			}
			return next(ctx, ms)
		}
	}
}

func metadataOf(t *testing.T, q *queuesqlite.Queue, id string) map[string]string {
	t.Helper()
	m, err := q.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	md := map[string]string{}
	if err := json.Unmarshal(m.Metadata, &md); err != nil {
		t.Fatalf("metadata %q: %v", m.Metadata, err)
	}
	return md
}

// TestQueue_SendMiddlewareChangesWhatIsStored: Send, SendBatch and SendTx
// go through the send middleware, which sees ids and whose metadata
// changes are stored, while the caller's message stays as it was.
func TestQueue_SendMiddlewareChangesWhatIsStored(t *testing.T) {
	t.Parallel()
	var sizes []int
	cfg := fast()
	cfg.SendMiddleware = []queuesqlite.SendMiddleware{stamp("config", &sizes)}
	q, _ := setup(t, cfg)
	ctx := context.Background()
	orig := queuesqlite.NewMessage("job", 1).SetMetadata(map[string]string{"user": "ann"})
	before := string(orig.Metadata)
	id := send(t, q, orig, nil)
	if got := metadataOf(t, q, id); got["stamp"] != "config" || got["user"] != "ann" {
		t.Fatalf("stored metadata %v", got)
	}
	if string(orig.Metadata) != before || orig.ID != "" {
		t.Fatalf("caller's message changed: %q id %q", orig.Metadata, orig.ID)
	}
	q.UseSend(stamp("use", &sizes))
	ids, err := q.SendBatch(ctx, []*queuesqlite.Message{queuesqlite.NewMessage("job", 2), queuesqlite.NewMessage("job", 3)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	db, _ := q.DB()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	txIDs, err := q.SendTx(ctx, tx, queuesqlite.NewMessage("job", 4))
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, id := range append(ids, txIDs...) {
		if got := metadataOf(t, q, id)["stamp"]; got != "use" { // the inner middleware writes last
			t.Fatalf("message %s stamp %q, want use", id, got)
		}
	}
	if want := []int{1, 2, 2, 1, 1}; !slices.Equal(sizes, want) {
		t.Fatalf("batch sizes seen %v, want %v", sizes, want)
	}
}

// TestQueue_SendMiddlewareCanRefuse: a refused send stores nothing, returns
// the middleware's error and leaves no callback behind.
func TestQueue_SendMiddlewareCanRefuse(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	errForbidden := errors.New("forbidden content")
	q.UseSend(func(next queuesqlite.SendFunc) queuesqlite.SendFunc {
		return func(ctx context.Context, ms []*queuesqlite.Message) error {
			for _, m := range ms {
				if strings.Contains(string(m.Content), "secret") {
					return errForbidden
				}
			}
			return next(ctx, ms)
		}
	})
	ctx := context.Background()
	m := queuesqlite.NewMessage("job", "a secret")
	m.ID = "refused-1"
	if _, err := q.Send(ctx, m, func(*queuesqlite.Message) {}); !errors.Is(err, errForbidden) {
		t.Fatalf("Send: %v, want the middleware's error", err)
	}
	if _, err := q.Get(ctx, "refused-1"); !errors.Is(err, queuesqlite.ErrNotFound) {
		t.Fatalf("refused message was stored: %v", err)
	}
	if _, err := q.Send(ctx, queuesqlite.NewMessage("job", "fine"), nil); err != nil {
		t.Fatal(err)
	}
}

// TestQueue_SendMiddlewareMayNotBreakRouting: changing an id, a destination
// or the batch, or storing invalid metadata, is refused with
// ErrInvalidArgument and stores nothing.
func TestQueue_SendMiddlewareMayNotBreakRouting(t *testing.T) {
	t.Parallel()
	cases := map[string]func(ms []*queuesqlite.Message) []*queuesqlite.Message{
		"ID":          func(ms []*queuesqlite.Message) []*queuesqlite.Message { ms[0].ID = "other"; return ms },
		"Destination": func(ms []*queuesqlite.Message) []*queuesqlite.Message { ms[0].Destination = "x"; return ms },
		"Batch":       func(ms []*queuesqlite.Message) []*queuesqlite.Message { return ms[:0] },
		"Metadata": func(ms []*queuesqlite.Message) []*queuesqlite.Message {
			ms[0].Metadata = json.RawMessage(`[1]`)
			return ms
		},
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			q, _ := setup(t, fast())
			q.UseSend(func(next queuesqlite.SendFunc) queuesqlite.SendFunc {
				return func(ctx context.Context, ms []*queuesqlite.Message) error { return next(ctx, change(ms)) }
			})
			m := queuesqlite.NewMessage("job", 1)
			m.ID = "mine"
			if _, err := q.Send(context.Background(), m, nil); !errors.Is(err, queuesqlite.ErrInvalidArgument) {
				t.Fatalf("Send: %v, want ErrInvalidArgument", err)
			}
			for _, id := range []string{"mine", "other"} {
				if _, err := q.Get(context.Background(), id); !errors.Is(err, queuesqlite.ErrNotFound) {
					t.Fatalf("message %s stored: %v", id, err)
				}
			}
		})
	}
}

// TestQueue_OnOutcomeTellsRecordedStatuses: every recorded outcome is
// reported with its message and stored status.
func TestQueue_OnOutcomeTellsRecordedStatuses(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	var mu sync.Mutex
	got := map[string][]queuesqlite.Status{}
	if err := q.OnOutcome(nil); !errors.Is(err, queuesqlite.ErrInvalidArgument) {
		t.Fatalf("OnOutcome(nil): %v", err)
	}
	q.OnOutcome(func(m *queuesqlite.Message, s queuesqlite.Status) {
		mu.Lock()
		got[m.ID] = append(got[m.ID], s)
		mu.Unlock()
	})
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		if string(m.Content) == `"fail"` && m.Attempt < 2 {
			return nil, errors.New("once")
		}
		if string(m.Content) == `"fail"` {
			return nil, queuesqlite.ErrSkipRetry
		}
		return nil, nil
	}, &queuesqlite.HandlerOpts{MaxAttempts: 3})
	start(t, q)
	ok := send(t, q, queuesqlite.NewMessage("job", "ok"), nil)
	bad := send(t, q, queuesqlite.NewMessage("job", "fail"), nil)
	wait(t, q, ok)
	wait(t, q, bad)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got[ok], []queuesqlite.Status{queuesqlite.StatusCompleted}) {
		t.Fatalf("ok: %v", got[ok])
	}
	if !slices.Equal(got[bad], []queuesqlite.Status{queuesqlite.StatusRetrying, queuesqlite.StatusFailed}) {
		t.Fatalf("bad: %v", got[bad])
	}
}

// TestQueue_ErrorHandlerPanicIsContained: a panicking error handler is
// logged and the attempt's outcome stays what the handler returned.
func TestQueue_ErrorHandlerPanicIsContained(t *testing.T) {
	t.Parallel()
	logs := &logCapture{}
	cfg := fast()
	cfg.Logger = slog.New(logs)
	cfg.ErrorHandler = func(context.Context, *queuesqlite.Message, error) { panic("in error handler") }
	q, _ := setup(t, cfg)
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		return nil, fmt.Errorf("plain failure: %w", queuesqlite.ErrSkipRetry)
	}, nil)
	start(t, q)
	m := wait(t, q, send(t, q, queuesqlite.NewMessage("job", 1), nil))
	if m.Status != queuesqlite.StatusFailed || !strings.Contains(m.LastError, "plain failure") || strings.Contains(m.LastError, "panic") {
		t.Fatalf("message %s %q", m.Status, m.LastError)
	}
	if !logs.has("error handler panicked") {
		t.Fatalf("the panic was not logged: %v", logs.msgs)
	}
}
