package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/httpapi"
	"github.com/queue-sqlite/queuesqlite/internal/dbtest"
)

// testDeadline bounds every wait; it is never a measure of speed.
const testDeadline = 30 * time.Second

// api is a test server over a real queue in a fresh directory.
type api struct {
	t   *testing.T
	q   *queuesqlite.Queue
	h   *httpapi.Handler
	srv *httptest.Server
	dir string
}

// setup opens a queue with cfg (short timings when nil) and serves it with
// opts. Everything is closed, and the files checked, when the test ends.
func setup(t *testing.T, cfg *queuesqlite.Config, opts *httpapi.Options) *api {
	t.Helper()
	if cfg == nil {
		cfg = &queuesqlite.Config{}
	}
	cfg.MaintenanceInterval = 20 * time.Millisecond
	cfg.StopTimeout = time.Second
	cfg.Backoff = func(int) time.Duration { return time.Millisecond }
	dir := t.TempDir()
	q, err := queuesqlite.Open(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := httpapi.New(q, opts)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		h.Shutdown()
		srv.Close()
		if err := q.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		dbtest.CheckInvariants(t, dir)
	})
	return &api{t: t, q: q, h: h, srv: srv, dir: dir}
}

// reply is a response: its status, decoded JSON body and headers.
type reply struct {
	status int
	body   map[string]any
	raw    string
	header http.Header
}

// call sends a request; body, when not "", is sent as JSON. token "" sends
// no Authorization header.
func (a *api) call(method, path, body, token string) reply {
	a.t.Helper()
	return a.callType(method, path, body, token, "application/json")
}

func (a *api) callType(method, path, body, token, contentType string) reply {
	a.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(a.t.Context(), method, a.srv.URL+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != "" && contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, raw: string(raw), header: resp.Header}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		a.t.Fatalf("%s %s: content type %q, body %s", method, path, ct, raw)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&r.body); err != nil {
		a.t.Fatalf("%s %s: body is not a JSON object: %v: %s", method, path, err, raw)
	}
	return r
}

// must sends a request and fails the test unless the status is want.
func (a *api) must(want int, method, path, body string) map[string]any {
	a.t.Helper()
	r := a.call(method, path, body, "")
	if r.status != want {
		a.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.raw)
	}
	return r.body
}

// wantError checks an error reply: its status and code, and that it shows
// nothing of the server's inside.
func wantError(t *testing.T, what string, r reply, status int, code string) {
	t.Helper()
	e, _ := r.body["error"].(map[string]any)
	if r.status != status || e == nil || e["code"] != code || e["message"] == "" {
		t.Fatalf("%s: status %d body %s, want %d with code %q", what, r.status, r.raw, status, code)
	}
	for _, leak := range []string{"goroutine", "SELECT", "INSERT", ".db", "sqlite", "panic", "json: ", "httpapi."} {
		if strings.Contains(r.raw, leak) {
			t.Fatalf("%s: error body leaks %q: %s", what, leak, r.raw)
		}
	}
}

// msg returns the message object of a reply field.
func obj(t *testing.T, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("not a JSON object: %#v", v)
	}
	return m
}

func list(t *testing.T, v any) []any {
	t.Helper()
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("not a JSON array: %#v", v)
	}
	return l
}

// eventually polls cond until it holds, failing the test after the deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newBenchServer serves h on loopback for a benchmark.
func newBenchServer(b *testing.B, h http.Handler) string {
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	return srv.URL
}
