// Package queueotel traces a queue with OpenTelemetry, following the
// messaging semantic conventions. It is a separate package so programs
// that do not trace do not link OpenTelemetry.
//
// The send middleware starts a producer span "send <destination>" around
// every Send, SendBatch and SendTx (one span per call; a batch's messages
// share it) and stores the span's W3C trace context in each message's
// metadata, under MetadataKey:
//
//	{"trace_context": {"traceparent": "00-4bf9...-00f0...-01"}, ...the sender's own keys}
//
// The handler middleware starts a consumer span "process <destination>"
// for every attempt, linked to the send span through that trace context
// (and, with Opts.ProcessAsChild, its child). A failed attempt sets the
// span's status to Error and records the error; the attempt number is the
// queuesqlite.attempt attribute.
//
//	t, err := queueotel.Instrument(q, nil) // uses otel.GetTracerProvider()
package queueotel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/queue-sqlite/queuesqlite"
)

// MetadataKey is the metadata key under which the send middleware stores
// the trace context: a JSON object of the propagator's fields
// ("traceparent" and, when set, "tracestate" for W3C trace context).
const MetadataKey = "trace_context"

// System is the messaging.system attribute of every span.
const System = "queuesqlite"

// AttemptKey is the attribute that carries the attempt number (1 for the
// first run) on process spans.
const AttemptKey = attribute.Key("queuesqlite.attempt")

// instrumentation is the tracer's name.
const instrumentation = "github.com/queue-sqlite/queuesqlite/queueotel"

// Opts configures tracing. A zero field takes its default.
type Opts struct {
	// TracerProvider makes the tracer. Default otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// Propagator writes and reads the trace context in the metadata.
	// Default W3C trace context (propagation.TraceContext).
	Propagator propagation.TextMapPropagator
	// ProcessAsChild makes each process span a child of its send span (one
	// trace from send to processing) instead of a new trace linked to it.
	// Either way the link is there. Default false, as the conventions
	// recommend for work that runs later than it was sent.
	ProcessAsChild bool
}

// Tracing holds the tracer and propagator of the middleware.
type Tracing struct {
	tracer  trace.Tracer
	prop    propagation.TextMapPropagator
	asChild bool
}

// New returns the tracing middleware; opts may be nil.
func New(opts *Opts) *Tracing {
	var o Opts
	if opts != nil {
		o = *opts
	}
	if o.TracerProvider == nil {
		o.TracerProvider = otel.GetTracerProvider()
	}
	if o.Propagator == nil {
		o.Propagator = propagation.TraceContext{}
	}
	return &Tracing{tracer: o.TracerProvider.Tracer(instrumentation), prop: o.Propagator, asChild: o.ProcessAsChild}
}

// Instrument installs the tracing middleware on q (Queue.UseSend and
// Queue.UseHandler) and returns it.
func Instrument(q *queuesqlite.Queue, opts *Opts) (*Tracing, error) {
	if q == nil {
		return nil, errors.New("queueotel: nil queue")
	}
	t := New(opts)
	if err := q.UseSend(t.SendMiddleware); err != nil {
		return nil, err
	}
	if err := q.UseHandler(t.HandlerMiddleware); err != nil {
		return nil, err
	}
	return t, nil
}

// SendMiddleware starts the send span and puts its context in each
// message's metadata.
func (t *Tracing) SendMiddleware(next queuesqlite.SendFunc) queuesqlite.SendFunc {
	return func(ctx context.Context, ms []*queuesqlite.Message) error {
		dest := commonDestination(ms)
		attrs := []attribute.KeyValue{semconv.MessagingSystemKey.String(System), semconv.MessagingOperationTypeSend,
			semconv.MessagingOperationName("send")}
		if dest != "" {
			attrs = append(attrs, semconv.MessagingDestinationName(dest))
		}
		if len(ms) == 1 {
			attrs = append(attrs, semconv.MessagingMessageID(ms[0].ID))
		} else {
			attrs = append(attrs, semconv.MessagingBatchMessageCount(len(ms)))
		}
		ctx, span := t.tracer.Start(ctx, spanName("send", dest), trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(attrs...))
		defer span.End()
		carrier := propagation.MapCarrier{}
		t.prop.Inject(ctx, carrier)
		for _, m := range ms {
			setTraceContext(m, carrier)
		}
		err := next(ctx, ms)
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		return err
	}
}

// HandlerMiddleware starts the process span of each attempt, linked to the
// send span whose context the message carries.
func (t *Tracing) HandlerMiddleware(next queuesqlite.HandlerFunc) queuesqlite.HandlerFunc {
	return func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
			semconv.MessagingSystemKey.String(System), semconv.MessagingOperationTypeProcess,
			semconv.MessagingOperationName("process"), semconv.MessagingDestinationName(m.Destination),
			semconv.MessagingMessageID(m.ID), AttemptKey.Int(m.Attempt))}
		if sent := t.sendContext(m); sent.IsValid() {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sent}))
			if t.asChild {
				ctx = trace.ContextWithRemoteSpanContext(ctx, sent)
			}
		}
		ctx, span := t.tracer.Start(ctx, spanName("process", m.Destination), opts...)
		defer span.End()
		result, err := next(ctx, m)
		if err != nil && !queuesqlite.IsRunAgain(err) {
			recordFailure(span, err)
		}
		return result, err
	}
}

// recordFailure marks the span as failed, with error.type "panic" for a
// handler panic.
func recordFailure(span trace.Span, err error) {
	var pe *queuesqlite.PanicError
	errType := "error"
	if errors.As(err, &pe) {
		errType = "panic"
	}
	span.SetAttributes(semconv.ErrorTypeKey.String(errType))
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}

// sendContext returns the span context stored in m's metadata (invalid if
// none).
func (t *Tracing) sendContext(m *queuesqlite.Message) trace.SpanContext {
	carrier, ok := traceContext(m)
	if !ok {
		return trace.SpanContext{}
	}
	return trace.SpanContextFromContext(t.prop.Extract(context.Background(), carrier))
}

func spanName(op, dest string) string {
	if dest == "" {
		return op
	}
	return fmt.Sprintf("%s %s", op, dest)
}

// commonDestination is the batch's destination, or "" if it has several.
func commonDestination(ms []*queuesqlite.Message) string {
	if len(ms) == 0 {
		return ""
	}
	for _, m := range ms[1:] {
		if m.Destination != ms[0].Destination {
			return ""
		}
	}
	return ms[0].Destination
}

// setTraceContext stores carrier under MetadataKey in m's metadata, keeping
// the other keys. Metadata that is not a JSON object is left alone (the
// send then fails validation, as it would without tracing).
func setTraceContext(m *queuesqlite.Message, carrier propagation.MapCarrier) {
	if len(carrier) == 0 {
		return
	}
	md := map[string]json.RawMessage{}
	if len(m.Metadata) > 0 {
		if err := json.Unmarshal(m.Metadata, &md); err != nil || md == nil {
			return
		}
	}
	raw, err := json.Marshal(map[string]string(carrier))
	if err != nil {
		return
	}
	md[MetadataKey] = raw
	out, err := json.Marshal(md)
	if err != nil {
		return
	}
	m.Metadata = out // a new slice: the old one may be the caller's
}

// traceContext reads the carrier stored under MetadataKey.
func traceContext(m *queuesqlite.Message) (propagation.MapCarrier, bool) {
	if len(m.Metadata) == 0 {
		return nil, false
	}
	var md map[string]json.RawMessage
	if err := json.Unmarshal(m.Metadata, &md); err != nil {
		return nil, false
	}
	raw, ok := md[MetadataKey]
	if !ok {
		return nil, false
	}
	var carrier map[string]string
	if err := json.Unmarshal(raw, &carrier); err != nil {
		return nil, false
	}
	return carrier, true
}
