package queueotel_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/queueotel"
)

const testDeadline = 30 * time.Second

func setup(t *testing.T, opts *queueotel.Opts) (*queuesqlite.Queue, *tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	t.Helper()
	q, err := queuesqlite.Open(t.TempDir(), &queuesqlite.Config{Workers: 2, MaintenanceInterval: 20 * time.Millisecond,
		Backoff: func(int) time.Duration { return time.Millisecond }, StopTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	var o queueotel.Opts
	if opts != nil {
		o = *opts
	}
	o.TracerProvider = tp
	if _, err := queueotel.Instrument(q, &o); err != nil {
		t.Fatal(err)
	}
	return q, rec, tp
}

func waitFor(t *testing.T, q *queuesqlite.Queue, id string) *queuesqlite.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	m, err := q.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// spansNamed returns the ended spans with that name, in end order.
func spansNamed(rec *tracetest.SpanRecorder, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	out := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		out[kv.Key] = kv.Value
	}
	return out
}

// wantAttrs fails unless s has each attribute with that value.
func wantAttrs(t *testing.T, s sdktrace.ReadOnlySpan, want map[string]any) {
	t.Helper()
	got := attrs(s)
	for k, v := range want {
		if g, ok := got[attribute.Key(k)]; !ok || g.AsInterface() != v {
			t.Errorf("span %q: %s = %v, want %v", s.Name(), k, g.AsInterface(), v)
		}
	}
}

// TestTracing_SendAndProcessSpansAreLinked: a send span (producer, child of
// the caller's span) and a process span (consumer) linked to it through
// the trace context stored in the message's metadata, with the messaging
// attributes; the sender's own metadata keys are kept.
func TestTracing_SendAndProcessSpansAreLinked(t *testing.T) {
	t.Parallel()
	q, rec, tp := setup(t, nil)
	q.Handle("email", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		if !trace.SpanContextFromContext(ctx).IsValid() {
			return nil, errors.New("handler context carries no span")
		}
		return nil, nil
	}, nil)
	ctx := context.Background()
	q.Start(ctx)
	appCtx, app := tp.Tracer("app").Start(ctx, "signup")
	id, err := q.Send(appCtx, queuesqlite.NewMessage("email", "hi").SetMetadata(map[string]string{"user": "ann"}), nil)
	app.End()
	if err != nil {
		t.Fatal(err)
	}
	m := waitFor(t, q, id)
	if m.Status != queuesqlite.StatusCompleted {
		t.Fatalf("message %s %q", m.Status, m.LastError)
	}
	var md map[string]json.RawMessage
	json.Unmarshal(m.Metadata, &md)
	if string(md["user"]) != `"ann"` || len(md[queueotel.MetadataKey]) == 0 {
		t.Fatalf("stored metadata %s", m.Metadata)
	}
	sends, procs := spansNamed(rec, "send email"), spansNamed(rec, "process email")
	if len(sends) != 1 || len(procs) != 1 {
		t.Fatalf("%d send and %d process spans, want 1 and 1", len(sends), len(procs))
	}
	send, proc := sends[0], procs[0]
	if send.SpanKind() != trace.SpanKindProducer || proc.SpanKind() != trace.SpanKindConsumer {
		t.Fatalf("kinds %v %v", send.SpanKind(), proc.SpanKind())
	}
	if send.Parent().SpanID() != app.SpanContext().SpanID() {
		t.Fatalf("send span's parent %v, want the caller's span", send.Parent().SpanID())
	}
	wantAttrs(t, send, map[string]any{"messaging.system": "queuesqlite", "messaging.operation.type": "send",
		"messaging.destination.name": "email", "messaging.message.id": id})
	wantAttrs(t, proc, map[string]any{"messaging.system": "queuesqlite", "messaging.operation.type": "process",
		"messaging.destination.name": "email", "messaging.message.id": id, "queuesqlite.attempt": int64(1)})
	if len(proc.Links()) != 1 {
		t.Fatalf("process links %v, want the send span %v", proc.Links(), send.SpanContext())
	}
	if link := proc.Links()[0].SpanContext; link.SpanID() != send.SpanContext().SpanID() || link.TraceID() != send.SpanContext().TraceID() {
		t.Fatalf("process span linked to %v, want the send span %v", link, send.SpanContext())
	}
	if proc.Parent().IsValid() {
		t.Fatalf("process span has parent %v; by default it starts a trace linked to the send", proc.Parent())
	}
}

// TestTracing_ProcessAsChild: with ProcessAsChild the process span is the
// send span's child, in the same trace, and still linked.
func TestTracing_ProcessAsChild(t *testing.T) {
	t.Parallel()
	q, rec, _ := setup(t, &queueotel.Opts{ProcessAsChild: true})
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) { return nil, nil }, nil)
	q.Start(context.Background())
	id, _ := q.Send(context.Background(), queuesqlite.NewMessage("job", 1), nil)
	waitFor(t, q, id)
	send, proc := spansNamed(rec, "send job"), spansNamed(rec, "process job")
	if len(send) != 1 || len(proc) != 1 {
		t.Fatalf("%d send and %d process spans", len(send), len(proc))
	}
	if proc[0].Parent().SpanID() != send[0].SpanContext().SpanID() || proc[0].SpanContext().TraceID() != send[0].SpanContext().TraceID() {
		t.Fatalf("process parent %v, want the send span %v", proc[0].Parent(), send[0].SpanContext())
	}
	if len(proc[0].Links()) != 1 {
		t.Fatalf("links %v", proc[0].Links())
	}
}

// TestTracing_FailedAttemptsRecordError: each attempt has its own span with
// its attempt number; failures (a panic included) set the Error status.
func TestTracing_FailedAttemptsRecordError(t *testing.T) {
	t.Parallel()
	q, rec, _ := setup(t, nil)
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		switch m.Attempt {
		case 1:
			return nil, errors.New("flaky")
		case 2:
			panic("worse")
		}
		return "ok", nil
	}, &queuesqlite.HandlerOpts{MaxAttempts: 3})
	q.Start(context.Background())
	id, _ := q.Send(context.Background(), queuesqlite.NewMessage("job", 1), nil)
	if m := waitFor(t, q, id); m.Status != queuesqlite.StatusCompleted {
		t.Fatalf("status %s", m.Status)
	}
	procs := spansNamed(rec, "process job")
	if len(procs) != 3 {
		t.Fatalf("%d process spans, want 3", len(procs))
	}
	for i, want := range []struct {
		code    codes.Code
		errType any
	}{{codes.Error, "error"}, {codes.Error, "panic"}, {codes.Unset, nil}} {
		s := procs[i]
		if got := attrs(s)["queuesqlite.attempt"].AsInt64(); got != int64(i+1) {
			t.Errorf("span %d: attempt %d", i, got)
		}
		if s.Status().Code != want.code || attrs(s)["error.type"].AsInterface() != want.errType {
			t.Errorf("span %d: status %v error.type %v, want %v %v", i, s.Status(), attrs(s)["error.type"].AsInterface(), want.code, want.errType)
		}
	}
}

// TestTracing_BatchAndSendTx: a batch is one send span whose context every
// message carries; SendTx is traced the same way.
func TestTracing_BatchAndSendTx(t *testing.T) {
	t.Parallel()
	q, rec, _ := setup(t, nil)
	ctx := context.Background()
	ids, err := q.SendBatch(ctx, []*queuesqlite.Message{queuesqlite.NewMessage("a", 1), queuesqlite.NewMessage("a", 2)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	db, _ := q.DB()
	tx, _ := db.BeginTx(ctx, nil)
	txIDs, err := q.SendTx(ctx, tx, queuesqlite.NewMessage("b", 1), queuesqlite.NewMessage("c", 1))
	if err != nil {
		t.Fatal(err)
	}
	tx.Commit()
	batch, mixed := spansNamed(rec, "send a"), spansNamed(rec, "send")
	if len(batch) != 1 || len(mixed) != 1 {
		t.Fatalf("%d 'send a' and %d 'send' spans, want 1 and 1", len(batch), len(mixed))
	}
	wantAttrs(t, batch[0], map[string]any{"messaging.batch.message_count": int64(2), "messaging.destination.name": "a"})
	if _, ok := attrs(mixed[0])["messaging.destination.name"]; ok {
		t.Fatalf("a batch to several destinations names one")
	}
	for span, group := range map[sdktrace.ReadOnlySpan][]string{batch[0]: ids, mixed[0]: txIDs} {
		for _, id := range group {
			m, err := q.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			var md map[string]map[string]string
			json.Unmarshal(m.Metadata, &md)
			tp := md[queueotel.MetadataKey]["traceparent"]
			want := "00-" + span.SpanContext().TraceID().String() + "-" + span.SpanContext().SpanID().String() + "-01"
			if tp != want {
				t.Fatalf("message %s traceparent %q, want %q", id, tp, want)
			}
		}
	}
}

// TestTracing_FailedSendRecordsError: a send the queue refuses ends its
// span with the Error status.
func TestTracing_FailedSendRecordsError(t *testing.T) {
	t.Parallel()
	q, rec, _ := setup(t, nil)
	first := queuesqlite.NewMessage("a", 1)
	first.ID = "same"
	if _, err := q.Send(context.Background(), first, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Send(context.Background(), first, nil); !errors.Is(err, queuesqlite.ErrDuplicate) {
		t.Fatalf("second send: %v", err)
	}
	spans := spansNamed(rec, "send a")
	if len(spans) != 2 || spans[0].Status().Code != codes.Unset || spans[1].Status().Code != codes.Error {
		t.Fatalf("send spans %v", spans)
	}
}
