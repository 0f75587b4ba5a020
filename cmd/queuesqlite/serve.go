package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/httpapi"
)

func init() { register(newServeCmd) }

// Defaults of `serve`.
const (
	serveAddrDefault  = "127.0.0.1:7420"
	serveDrainDefault = 10 * time.Second
	// Environment variables that give the tokens without showing them in
	// the process list.
	envToken         = "QUEUESQLITE_TOKEN"
	envReadOnlyToken = "QUEUESQLITE_READ_ONLY_TOKEN"
	// HTTP server timeouts, beyond the longest long poll for writes.
	serveHeaderTimeout = 10 * time.Second
	serveReadTimeout   = time.Minute
	serveIdleTimeout   = 2 * time.Minute
	serveWriteSlack    = 30 * time.Second
	serveMaxHeader     = 64 << 10
)

// serveOpts are the flags of `serve`.
type serveOpts struct {
	addr, token, readOnlyToken string
	maxBody                    int64
	maxWait, drain             durationFlag
}

func newServeCmd() *cobra.Command {
	o := serveOpts{maxWait: durationFlag{httpapi.MaxWaitDefault}, drain: durationFlag{serveDrainDefault}}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the queue's HTTP API (send, wait, list, stats, listen data)",
		Long: "Serve the JSON HTTP API of the queue in --dir or --dsn (OpenAPI document at /v1/openapi.json).\n" +
			"It sends and inspects; it runs no handlers: Go workers with the same directory open\n" +
			"run the messages. It listens on 127.0.0.1 unless told otherwise, and refuses any\n" +
			"other address without a token. SIGTERM (or Ctrl-C) stops it gracefully: long polls\n" +
			"answer, requests in flight finish, then the queue drains and closes.\n" +
			"A web dashboard (overview, messages, dead letters, listeners, shards) is served at /ui/\n" +
			"from the binary itself; it uses the same API and asks for the token when one is set.",
		Example: "  QUEUESQLITE_TOKEN=$(openssl rand -hex 16) queuesqlite serve --dir data/queue --addr 0.0.0.0:7420\n" +
			"  queuesqlite serve --dir data/queue            # 127.0.0.1:7420, no token\n" +
			"  queuesqlite serve --dsn postgres://app@db/app  # a PostgreSQL queue",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd, &o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", serveAddrDefault, "address to listen on (a port of 0 picks a free one)")
	f.StringVar(&o.token, "token", "", "bearer token required for every request (default $"+envToken+", which keeps it out of the process list)")
	f.StringVar(&o.readOnlyToken, "read-only-token", "", "bearer token allowed to read only (default $"+envReadOnlyToken+")")
	f.Int64Var(&o.maxBody, "max-body", httpapi.MaxBodyDefault, "largest request body (and batch message) in bytes")
	f.Var(&o.maxWait, "max-wait", "longest long poll a client may ask for")
	f.Var(&o.drain, "drain-timeout", "at shutdown, how long requests in flight and the queue may take to finish")
	return cmd
}

func runServe(cmd *cobra.Command, o *serveOpts) error {
	o.token = cmp.Or(o.token, os.Getenv(envToken))
	o.readOnlyToken = cmp.Or(o.readOnlyToken, os.Getenv(envReadOnlyToken))
	if o.maxBody <= 0 {
		return fmt.Errorf("--max-body must be positive, not %d", o.maxBody)
	}
	if o.token != "" && o.token == o.readOnlyToken {
		return errors.New("--token and --read-only-token must differ")
	}
	ln, err := listen(o.addr, o.token != "" || o.readOnlyToken != "")
	if err != nil {
		return err
	}
	defer ln.Close()
	logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
	q, err := openQueue(cmd, queuesqlite.Config{Logger: logger}, false)
	if err != nil {
		return err
	}
	defer q.Close()
	api := httpapi.New(q, &httpapi.Options{Token: o.token, ReadOnlyToken: o.readOnlyToken,
		MaxBody: o.maxBody, MaxWait: o.maxWait.d, Logger: logger})
	h, err := withMetrics(api, q) // /metrics: serve_metrics.go
	if err != nil {
		return err
	}
	if o.token == "" && o.readOnlyToken == "" {
		h = httpapi.LoopbackHostOnly(h)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: serveHeaderTimeout, ReadTimeout: serveReadTimeout,
		WriteTimeout: o.maxWait.d + serveWriteSlack, IdleTimeout: serveIdleTimeout, MaxHeaderBytes: serveMaxHeader,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	fmt.Fprintf(cmd.OutOrStdout(), "queuesqlite serve: listening on http://%s (queue %s, %d shard(s))\n",
		ln.Addr(), q.Dir(), q.ShardCount())
	fmt.Fprintf(cmd.OutOrStdout(), "queuesqlite serve: dashboard at http://%s/ui/\n", ln.Addr())
	return serveUntilSignal(cmd.Context(), cmd, srv, ln, api, q, o.drain.d)
}

// listen opens the address, refusing one that is not loopback unless a
// token protects it.
func listen(addr string, withToken bool) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--addr %q: want host:port, e.g. %s", addr, serveAddrDefault)
	}
	if !withToken && !httpapi.IsLoopbackHost(host) {
		return nil, fmt.Errorf("--addr %s is not a loopback address: set a token (--token or $%s) to serve beyond this machine", addr, envToken)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !withToken && !tcp.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("--addr %s resolved to %s, not a loopback address: set a token to serve beyond this machine", addr, tcp.IP)
	}
	return ln, nil
}

// serveUntilSignal serves until SIGTERM, SIGINT or ctx's end, then shuts
// down in order: long polls answer, the HTTP server finishes the requests
// in flight, the queue stops (draining) and closes, all within drain.
func serveUntilSignal(ctx context.Context, cmd *cobra.Command, srv *http.Server, ln net.Listener,
	api *httpapi.Handler, q *queuesqlite.Queue, drain time.Duration) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(cmd.OutOrStdout(), "queuesqlite serve: shutting down")
	deadline, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	api.Shutdown()
	err := srv.Shutdown(deadline)
	if err != nil {
		err = fmt.Errorf("shut down the HTTP server: %w", err)
	}
	_ = q.Stop(deadline)
	if cerr := q.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close queue: %w", cerr)
	}
	if err == nil {
		fmt.Fprintln(cmd.OutOrStdout(), "queuesqlite serve: stopped")
	}
	return err
}
