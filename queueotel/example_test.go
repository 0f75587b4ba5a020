package queueotel_test

import (
	"context"
	"fmt"
	_ "github.com/queue-sqlite/queuesqlite/driver/sqlite" // the SQLite backend of Open
	"log"
	"os"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/queueotel"
)

// Instrument traces every send and every attempt; the process span is
// linked to the send span through the trace context in the metadata.
func Example() {
	dir, _ := os.MkdirTemp("", "queue-otel-*")
	defer os.RemoveAll(dir)
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	rec := tracetest.NewSpanRecorder() // in a program: an exporter's span processor
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	if _, err := queueotel.Instrument(q, &queueotel.Opts{TracerProvider: tp}); err != nil {
		log.Fatal(err)
	}
	q.Handle("email", func(ctx context.Context, m *queuesqlite.Message) (any, error) { return nil, nil }, nil)
	ctx := context.Background()
	q.Start(ctx)
	id, _ := q.Send(ctx, queuesqlite.NewMessage("email", "hi"), nil)
	q.Wait(ctx, id)
	spans := rec.Ended()
	send, process := spans[0], spans[1]
	fmt.Println(send.Name(), send.SpanKind())
	fmt.Println(process.Name(), process.SpanKind())
	fmt.Println("linked:", process.Links()[0].SpanContext.SpanID() == send.SpanContext().SpanID())
	// Output:
	// send email producer
	// process email consumer
	// linked: true
}
