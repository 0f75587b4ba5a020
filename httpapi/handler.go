// Package httpapi serves a queue over HTTP with JSON: send and batch send,
// get, long-poll wait, cancel, retry, delete (one or a selection), groups
// (send and result), filtered listing with cursor paging
// across shards, dead letters, stats, shards, listen data and its change
// log, listener groups, and pauses of destinations and worker queues. An
// application mounts the Handler in its own server; `queuesqlite serve`
// runs it standalone. The routes are described by an OpenAPI document
// served at GET /v1/openapi.json.
//
// The same handler serves a web dashboard at /ui/ (and redirects / there):
// static files embedded in the binary, no other origin, that read and
// write only through the JSON API with the user's token. Its charts come
// from GET /v1/stats/history, a ring of samples the handler takes every
// Options.SampleInterval once the dashboard or the history is first asked
// for, until Shutdown.
//
// The handler is a producer and inspector: it runs no message handlers.
// Workers (Go processes with the queue open on the same directory) run what
// it sends.
//
// Security: with Options.Token set, every route except health and the
// OpenAPI document needs "Authorization: Bearer <token>"; a read-only token
// allows only reads. Without tokens the handler is open to anyone who
// reaches it: mount it behind the application's own authentication, or
// serve it on loopback only, wrapped in LoopbackHostOnly, as `queuesqlite
// serve` does. Request bodies are size-limited, JSON is decoded
// strictly (unknown fields are refused), every input is validated with a
// 4xx JSON error, and server faults answer a generic 500 with the detail
// only in the log.
package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// Defaults and limits of Options.
const (
	MaxBodyDefault      = 1 << 20  // 1 MiB: one message, or one listen value
	MaxBatchBodyDefault = 16 << 20 // 16 MiB: a whole batch
	MaxBatchDefault     = 10_000   // messages in one batch
	WaitDefault         = 30 * time.Second
	MaxWaitDefault      = 2 * time.Minute
	// MaxKeyLength bounds a listen key, in bytes.
	MaxKeyLength = 1024
)

// Options configures the Handler. A zero (or negative) field takes its
// default.
type Options struct {
	// Token, when set, is required as "Authorization: Bearer <token>" on
	// every request except GET /v1/health and GET /v1/openapi.json.
	Token string
	// ReadOnlyToken, when set, is accepted for reads (GET) only; a write
	// with it is refused with 403.
	ReadOnlyToken string
	// MaxBody bounds a request body other than a batch, in bytes, and each
	// message of a batch. Default MaxBodyDefault.
	MaxBody int64
	// MaxBatchBody bounds a batch request body. Default MaxBatchBodyDefault.
	MaxBatchBody int64
	// MaxBatch bounds the messages of one batch. Default MaxBatchDefault.
	MaxBatch int
	// MaxWait bounds the timeout a wait request may ask for. Default
	// MaxWaitDefault; a request without one waits WaitDefault (or MaxWait
	// if shorter).
	MaxWait time.Duration
	// Logger receives the detail of server errors (the client sees a
	// generic message). nil: quiet.
	Logger *slog.Logger
	// SampleInterval is how often the dashboard's history (GET
	// /v1/stats/history) is sampled. Default SampleIntervalDefault.
	SampleInterval time.Duration
}

// Handler is the HTTP API of one queue. It implements http.Handler.
type Handler struct {
	q        *queuesqlite.Queue
	opts     Options
	mux      *http.ServeMux
	root     http.Handler // mux behind the cross-origin protection
	log      *slog.Logger
	stopWait context.Context // cancelled by Shutdown: ends every long poll
	shutdown context.CancelFunc
	polls    atomic.Int64 // long polls in progress
	sampler  *sampler     // the dashboard's history
}

// New returns the handler serving q. It does not own q: the caller closes
// it (after the HTTP server has shut down).
func New(q *queuesqlite.Queue, opts *Options) *Handler {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.MaxBody = positive(o.MaxBody, MaxBodyDefault)
	o.MaxBatchBody = positive(o.MaxBatchBody, MaxBatchBodyDefault)
	o.MaxBatch = positive(o.MaxBatch, MaxBatchDefault)
	o.MaxWait = positive(o.MaxWait, MaxWaitDefault)
	o.SampleInterval = positive(o.SampleInterval, SampleIntervalDefault)
	h := &Handler{q: q, opts: o, mux: http.NewServeMux(), log: o.Logger, sampler: newSampler(q, o.SampleInterval)}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h.stopWait, h.shutdown = context.WithCancel(context.Background())
	for _, rt := range routes {
		h.mux.Handle(rt.method+" "+rt.path, h.wrap(rt))
	}
	h.mountUI()
	h.mux.HandleFunc("/", h.unmatched)
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, &apiError{http.StatusForbidden, "cross_origin", "cross-origin browser requests may not write"})
	}))
	h.root = cop.Handler(h.mux)
	return h
}

// positive is v, or def when v is zero or negative.
func positive[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// ServeHTTP implements http.Handler. Writes from a browser on another
// origin are refused (403), so a web page cannot use a user's access to
// the API (CSRF); non-browser clients send no such headers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.root.ServeHTTP(w, r)
}

// Shutdown ends the long polls in progress: each answers at once with the
// message as it is. Call it before http.Server.Shutdown, which otherwise
// waits for them. Later wait requests answer at once too. It also stops
// the dashboard's sampler and returns once it has ended.
func (h *Handler) Shutdown() {
	h.shutdown()
	h.sampler.wait()
}

// route is one endpoint: its method and ServeMux path, whether it writes
// (and so needs the full token), and whether it needs no token at all.
type route struct {
	method, path string
	write        bool
	public       bool
	fn           func(h *Handler, w http.ResponseWriter, r *http.Request) error
}

// routes lists every endpoint; the OpenAPI document must list the same.
var routes = []route{
	{method: "GET", path: "/v1/health", public: true, fn: (*Handler).health},
	{method: "GET", path: "/v1/openapi.json", public: true, fn: (*Handler).openAPI},
	{method: "POST", path: "/v1/messages", write: true, fn: (*Handler).send},
	{method: "POST", path: "/v1/messages/batch", write: true, fn: (*Handler).sendBatch},
	{method: "GET", path: "/v1/messages", fn: (*Handler).list},
	{method: "GET", path: "/v1/messages/{id}", fn: (*Handler).get},
	{method: "GET", path: "/v1/messages/{id}/wait", fn: (*Handler).wait},
	{method: "POST", path: "/v1/messages/{id}/cancel", write: true, fn: (*Handler).cancel},
	{method: "POST", path: "/v1/messages/{id}/retry", write: true, fn: (*Handler).retry},
	{method: "DELETE", path: "/v1/messages/{id}", write: true, fn: (*Handler).deleteMessage},
	{method: "POST", path: "/v1/messages/delete", write: true, fn: (*Handler).deleteMessages},
	{method: "POST", path: "/v1/groups", write: true, fn: (*Handler).sendGroup},
	{method: "GET", path: "/v1/groups/{id}", fn: (*Handler).groupResult},
	{method: "GET", path: "/v1/dead-letters", fn: (*Handler).deadLetters},
	{method: "GET", path: "/v1/stats", fn: (*Handler).stats},
	{method: "GET", path: "/v1/stats/history", fn: (*Handler).history},
	{method: "GET", path: "/v1/access", fn: (*Handler).access},
	{method: "GET", path: "/v1/shards", fn: (*Handler).shards},
	{method: "GET", path: "/v1/listen-data", fn: (*Handler).listListen},
	{method: "GET", path: "/v1/listen-data/{key...}", fn: (*Handler).getListen},
	{method: "PUT", path: "/v1/listen-data/{key...}", write: true, fn: (*Handler).setListen},
	{method: "DELETE", path: "/v1/listen-data/{key...}", write: true, fn: (*Handler).deleteListen},
	{method: "GET", path: "/v1/listen-changes", fn: (*Handler).listenChanges},
	{method: "GET", path: "/v1/listen-groups", fn: (*Handler).listenGroups},
	{method: "DELETE", path: "/v1/listen-groups/{name}", write: true, fn: (*Handler).dropListenGroup},
	{method: "GET", path: "/v1/pauses", fn: (*Handler).listPauses},
	{method: "POST", path: "/v1/destinations/{name}/pause", write: true, fn: (*Handler).pauseDestination},
	{method: "POST", path: "/v1/destinations/{name}/resume", write: true, fn: (*Handler).resumeDestination},
	{method: "POST", path: "/v1/queues/{name}/pause", write: true, fn: (*Handler).pauseQueue},
	{method: "POST", path: "/v1/queues/{name}/resume", write: true, fn: (*Handler).resumeQueue},
}

// wrap adds to a route what every request gets: security headers,
// authentication, panic containment and error rendering.
func (h *Handler) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.log.Error("http handler panic", "method", r.Method, "path", r.URL.Path, "panic", v)
				h.writeError(w, r, errInternal)
			}
		}()
		if !rt.public {
			if err := h.authorize(r, rt.write); err != nil {
				h.writeError(w, r, err)
				return
			}
		}
		if err := rt.fn(h, w, r); err != nil {
			h.writeError(w, r, err)
		}
	})
}

// unmatched answers requests no route takes: 405 when the path exists with
// other methods, else 404; both as JSON.
func (h *Handler) unmatched(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		for _, m := range allow {
			w.Header().Add("Allow", m)
		}
		h.writeError(w, r, &apiError{http.StatusMethodNotAllowed, "method_not_allowed", r.Method + " is not allowed on " + r.URL.Path})
		return
	}
	h.writeError(w, r, &apiError{http.StatusNotFound, "not_found", "no such endpoint: " + r.URL.Path})
}

// healthJSON is the health answer, with the long polls in progress.
type healthJSON struct {
	Status    string `json:"status"`
	LongPolls int64  `json:"long_polls"`
}

func (h *Handler) health(w http.ResponseWriter, _ *http.Request) error {
	return writeJSON(w, http.StatusOK, healthJSON{"ok", h.polls.Load()})
}
