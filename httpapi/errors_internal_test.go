package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/queue-sqlite/queuesqlite"
)

// TestWriteError_ServerFaultIsGeneric: an error that is not the client's
// answers 500 with a fixed message, and its detail (here SQL and a file
// path) reaches only the log. Storage full keeps its path out too.
func TestWriteError_ServerFaultIsGeneric(t *testing.T) {
	var logged bytes.Buffer
	h := &Handler{log: slog.New(slog.NewTextHandler(&logged, nil))}
	cases := []struct {
		err    error
		status int
		code   string
	}{
		{errors.New("SELECT seq FROM messages WHERE id = ?: disk I/O error /var/q/queue_shard_0.db"), 500, "internal"},
		{&queuesqlite.StorageError{Op: "send", Path: "/var/q/queue_shard_0.db", Err: fmt.Errorf("%w: sqlite3: database or disk is full", queuesqlite.ErrStorageFull)}, 507, "storage_full"},
		{fmt.Errorf("insert /var/q/queue_shard_0.db: %w: UNIQUE constraint failed: messages.id", queuesqlite.ErrDuplicate), 409, "duplicate"},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		h.writeError(rec, httptest.NewRequest("GET", "/v1/stats", nil), c.err)
		body := rec.Body.String()
		if rec.Code != c.status || !strings.Contains(body, `"code":"`+c.code+`"`) {
			t.Errorf("%v: %d %s, want %d %s", c.err, rec.Code, body, c.status, c.code)
		}
		for _, leak := range []string{"SELECT", "queue_shard", "sqlite3", "UNIQUE"} {
			if strings.Contains(body, leak) {
				t.Errorf("%v: response leaks %q: %s", c.err, leak, body)
			}
		}
	}
	if !strings.Contains(logged.String(), "SELECT seq FROM messages") {
		t.Errorf("the 500's detail is not in the log: %s", logged.String())
	}
}

// TestHandler_PanicIsContained: a panicking route answers a generic 500
// and the server goes on.
func TestHandler_PanicIsContained(t *testing.T) {
	var logged bytes.Buffer
	h := &Handler{log: slog.New(slog.NewTextHandler(&logged, nil))}
	boom := route{method: "GET", path: "/boom", public: true, fn: func(*Handler, http.ResponseWriter, *http.Request) error {
		panic("secret internal state")
	}}
	rec := httptest.NewRecorder()
	h.wrap(boom).ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "secret") || !strings.Contains(logged.String(), "secret internal state") {
		t.Fatalf("panic: %d %s; log %s", rec.Code, rec.Body.String(), logged.String())
	}
}
