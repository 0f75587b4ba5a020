package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/httpapi"
)

// TestHandler_SendEveryField sends a message with every field a sender may
// set and reads them all back.
func TestHandler_SendEveryField(t *testing.T) {
	t.Parallel()
	a := setup(t, nil, nil)
	runAt := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	body := fmt.Sprintf(`{"id": "m-1", "destination": "resize", "content": {"url": "https://example.com/a.jpg"},
		"priority": "urgent", "source": "python", "run_at": %q, "ttl_seconds": 7200, "max_attempts": 7,
		"tags": ["img", "batch-9"], "metadata": {"trace": "abc"}, "shard_key": "user-4"}`, runAt.Format(time.RFC3339))
	if id := a.must(http.StatusCreated, "POST", "/v1/messages", body)["id"]; id != "m-1" {
		t.Fatalf("id %v", id)
	}
	m := a.must(http.StatusOK, "GET", "/v1/messages/m-1", "")
	want := map[string]any{"id": "m-1", "type": "task", "status": "scheduled", "destination": "resize", "source": "python",
		"priority": "urgent", "run_at": runAt.Format(time.RFC3339), "max_attempts": json.Number("7"),
		"shard_key": "user-4", "attempt": json.Number("0"), "result": nil, "finished_at": nil, "last_error": nil}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	if obj(t, m["content"])["url"] != "https://example.com/a.jpg" || obj(t, m["metadata"])["trace"] != "abc" {
		t.Errorf("content %v, metadata %v", m["content"], m["metadata"])
	}
	if fmt.Sprint(m["tags"]) != "[img batch-9]" {
		t.Errorf("tags %v", m["tags"])
	}
	created, _ := time.Parse(time.RFC3339Nano, m["created_at"].(string))
	expire, _ := time.Parse(time.RFC3339Nano, m["expire_at"].(string))
	if d := expire.Sub(created); d != 2*time.Hour {
		t.Errorf("expire_at - created_at = %v, want 2h (ttl_seconds)", d)
	}
	a.must(http.StatusCreated, "POST", "/v1/messages", `{"destination": "resize", "content": 1, "priority": 0, "delay_seconds": 0.5}`)
}

// TestHandler_WaitReturnsWhenFinished long-polls a message that a worker
// of the same queue runs, and gets its result.
func TestHandler_WaitReturnsWhenFinished(t *testing.T) {
	t.Parallel()
	a := setup(t, nil, nil)
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	queuesqlite.HandleJSON(a.q, "add", func(ctx context.Context, in struct{ A, B int }) (int, error) {
		started <- struct{}{}
		<-release
		return in.A + in.B, nil
	}, nil)
	if err := a.q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	id := a.must(http.StatusCreated, "POST", "/v1/messages", `{"destination": "add", "content": {"A": 2, "B": 3}}`)["id"].(string)
	select {
	case <-started:
	case <-time.After(testDeadline):
		t.Fatal("the worker did not start the message")
	}
	done := make(chan reply, 1)
	go func() { done <- a.call("GET", "/v1/messages/"+id+"/wait?timeout=60", "", "") }()
	if s := a.must(http.StatusOK, "GET", "/v1/messages/"+id, "")["status"]; s != "processing" {
		t.Fatalf("status %v while the handler runs", s)
	}
	close(release)
	select {
	case r := <-done:
		m := obj(t, r.body["message"])
		if r.status != http.StatusOK || r.body["done"] != true || m["status"] != "completed" || m["result"] != json.Number("5") {
			t.Fatalf("wait: %d %s", r.status, r.raw)
		}
	case <-time.After(testDeadline):
		t.Fatal("wait did not return after the message finished")
	}
}

// TestHandler_WaitTimesOut answers 200 with done false and the message as
// it is when nothing finishes it in time, and 404 for a missing message.
func TestHandler_WaitTimesOut(t *testing.T) {
	t.Parallel()
	a := setup(t, nil, nil)
	id := a.must(http.StatusCreated, "POST", "/v1/messages", `{"destination": "nobody", "content": {}}`)["id"].(string)
	r := a.call("GET", "/v1/messages/"+id+"/wait?timeout=0.05", "", "")
	if r.status != http.StatusOK || r.body["done"] != false || obj(t, r.body["message"])["status"] != "pending" {
		t.Fatalf("wait timeout: %d %s", r.status, r.raw)
	}
	wantError(t, "wait missing", a.call("GET", "/v1/messages/ghost/wait?timeout=0.05", "", ""), 404, "not_found")
	wantError(t, "negative timeout", a.call("GET", "/v1/messages/"+id+"/wait?timeout=-1", "", ""), 400, "invalid_argument")
	wantError(t, "infinite timeout", a.call("GET", "/v1/messages/"+id+"/wait?timeout=inf", "", ""), 400, "invalid_argument")
	// Longer than the server's maximum: shortened to it, not refused.
	short := setup(t, nil, &httpapi.Options{MaxWait: 50 * time.Millisecond})
	sid := short.must(http.StatusCreated, "POST", "/v1/messages", `{"destination": "nobody", "content": {}}`)["id"].(string)
	if r := short.call("GET", "/v1/messages/"+sid+"/wait?timeout=100000", "", ""); r.status != http.StatusOK || r.body["done"] != false {
		t.Fatalf("wait beyond the maximum: %d %s", r.status, r.raw)
	}
	wantError(t, "timeout not a number", a.call("GET", "/v1/messages/"+id+"/wait?timeout=soon", "", ""), 400, "invalid_argument")
}

// TestHandler_ShutdownEndsWaits: Shutdown answers the long polls in
// progress at once instead of holding the server's shutdown.
func TestHandler_ShutdownEndsWaits(t *testing.T) {
	t.Parallel()
	a := setup(t, nil, nil)
	id := a.must(http.StatusCreated, "POST", "/v1/messages", `{"destination": "nobody", "content": {}}`)["id"].(string)
	done := make(chan reply, 1)
	go func() { done <- a.call("GET", "/v1/messages/"+id+"/wait?timeout=120", "", "") }()
	// The poll may not have reached Wait yet when Shutdown runs: a wait that
	// starts after Shutdown answers at once too, so either order ends it.
	a.h.Shutdown()
	select {
	case r := <-done:
		if r.status != http.StatusOK || r.body["done"] != false {
			t.Fatalf("wait after shutdown: %d %s", r.status, r.raw)
		}
	case <-time.After(testDeadline):
		t.Fatal("Shutdown did not end the long poll")
	}
}

// TestHandler_Batch sends a batch in order, and refuses a batch with one
// bad message without storing any of it.
func TestHandler_Batch(t *testing.T) {
	t.Parallel()
	a := setup(t, nil, &httpapi.Options{MaxBatch: 3, MaxBody: 200})
	r := a.must(http.StatusCreated, "POST", "/v1/messages/batch",
		`{"messages": [{"id": "b1", "destination": "x", "content": 1}, {"destination": "x", "content": 2, "priority": "high"}, {"id": "b3", "destination": "y", "content": 3}]}`)
	ids := list(t, r["ids"])
	if len(ids) != 3 || ids[0] != "b1" || ids[2] != "b3" {
		t.Fatalf("ids %v", ids)
	}
	if p := a.must(http.StatusOK, "GET", fmt.Sprintf("/v1/messages/%s", ids[1]), "")["priority"]; p != "high" {
		t.Fatalf("second message priority %v", p)
	}
	bad := a.call("POST", "/v1/messages/batch", `{"messages": [{"destination": "x", "content": 1}, {"destination": "", "content": 2}]}`, "")
	wantError(t, "batch with a bad message", bad, 400, "invalid_argument")
	if msg := obj(t, bad.body["error"])["message"].(string); !strings.HasPrefix(msg, "messages[1]: ") {
		t.Fatalf("error does not name the message: %q", msg)
	}
	wantError(t, "unknown field in a message", a.call("POST", "/v1/messages/batch", `{"messages": [{"destination": "x", "content": 1, "colour": 2}]}`, ""), 400, "invalid_argument")
	wantError(t, "empty batch", a.call("POST", "/v1/messages/batch", `{"messages": []}`, ""), 400, "invalid_argument")
	wantError(t, "batch too long", a.call("POST", "/v1/messages/batch", `{"messages": [{"destination":"x","content":1},{"destination":"x","content":1},{"destination":"x","content":1},{"destination":"x","content":1}]}`, ""), 400, "invalid_argument")
	big := fmt.Sprintf(`{"messages": [{"destination": "x", "content": %q}]}`, strings.Repeat("a", 300))
	wantError(t, "message over the limit", a.call("POST", "/v1/messages/batch", big, ""), 413, "too_large")
	wantError(t, "duplicate id", a.call("POST", "/v1/messages/batch", `{"messages": [{"id": "b1", "destination": "x", "content": 1}]}`, ""), 409, "duplicate")
	if total := a.must(http.StatusOK, "GET", "/v1/stats", "")["total"]; total != json.Number("3") {
		t.Fatalf("after refused batches the queue holds %v messages, want 3", total)
	}
}

// TestHandler_CancelRetryDeadLetters: cancel a waiting message, refuse to
// cancel twice, requeue it; a failing handler's message is a dead letter
// that retry requeues.
func TestHandler_CancelRetryDeadLetters(t *testing.T) {
	t.Parallel()
	a := setup(t, nil, nil)
	a.must(http.StatusCreated, "POST", "/v1/messages", `{"id": "c1", "destination": "nobody", "content": 1}`)
	if s := a.must(http.StatusOK, "POST", "/v1/messages/c1/cancel", "")["status"]; s != "cancelled" {
		t.Fatalf("cancel: %v", s)
	}
	wantError(t, "cancel twice", a.call("POST", "/v1/messages/c1/cancel", "", ""), 409, "invalid_state")
	wantError(t, "cancel missing", a.call("POST", "/v1/messages/ghost/cancel", "", ""), 404, "not_found")
	if s := a.must(http.StatusOK, "POST", "/v1/messages/c1/retry", "")["status"]; s != "pending" {
		t.Fatalf("retry cancelled: %v", s)
	}
	wantError(t, "retry pending", a.call("POST", "/v1/messages/c1/retry", "", ""), 409, "invalid_state")

	a.q.Handle("fail", func(context.Context, *queuesqlite.Message) (any, error) {
		return nil, fmt.Errorf("card declined: %w", queuesqlite.ErrSkipRetry)
	}, nil)
	if err := a.q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	a.must(http.StatusCreated, "POST", "/v1/messages", `{"id": "f1", "destination": "fail", "content": 1}`)
	r := a.call("GET", "/v1/messages/f1/wait?timeout=30", "", "")
	if m := obj(t, r.body["message"]); m["status"] != "failed" || !strings.Contains(fmt.Sprint(m["last_error"]), "card declined") {
		t.Fatalf("failing message: %s", r.raw)
	}
	dead := list(t, a.must(http.StatusOK, "GET", "/v1/dead-letters?destination=fail", "")["messages"])
	if len(dead) != 1 || obj(t, dead[0])["id"] != "f1" {
		t.Fatalf("dead letters %v", dead)
	}
	wantError(t, "dead letters with status", a.call("GET", "/v1/dead-letters?status=pending", "", ""), 400, "invalid_argument")
	if s := a.must(http.StatusOK, "POST", "/v1/messages/f1/retry", "")["status"]; s != "pending" {
		t.Fatalf("retry failed: %v", s)
	}
}

// TestHandler_ListPagesAcrossShards follows next_cursor through a sharded
// queue with filters: every match once, in send order, nothing else.
func TestHandler_ListPagesAcrossShards(t *testing.T) {
	t.Parallel()
	a := setup(t, &queuesqlite.Config{Shards: 3}, nil)
	var want []string
	for i := range 30 {
		tag := "odd"
		if i%2 == 0 {
			tag = "even"
			want = append(want, fmt.Sprintf("m%02d", i))
		}
		a.must(http.StatusCreated, "POST", "/v1/messages", fmt.Sprintf(`{"id": "m%02d", "destination": "d", "content": %d, "tags": [%q]}`, i, i, tag))
	}
	var got []string
	shards := map[string]bool{}
	path := "/v1/messages?tag=even&status=pending,scheduled&limit=4"
	for pages := 0; ; pages++ {
		if pages > 30 {
			t.Fatal("paging does not end")
		}
		r := a.must(http.StatusOK, "GET", path, "")
		for _, v := range list(t, r["messages"]) {
			m := obj(t, v)
			got = append(got, m["id"].(string))
			shards[fmt.Sprint(m["shard"])] = true
		}
		next, ok := r["next_cursor"].(string)
		if !ok {
			break
		}
		path = "/v1/messages?tag=even&status=pending,scheduled&limit=4&cursor=" + url.QueryEscape(next)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("listed %v\nwant %v", got, want)
	}
	if len(shards) < 2 {
		t.Fatalf("messages came from shards %v only", shards)
	}
	future := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	if ms := list(t, a.must(http.StatusOK, "GET", "/v1/messages?created_from="+future, "")["messages"]); len(ms) != 0 {
		t.Fatalf("created_from in the future listed %d", len(ms))
	}
	if ms := list(t, a.must(http.StatusOK, "GET", "/v1/messages?created_before="+future+"&status=completed", "")["messages"]); len(ms) != 0 {
		t.Fatalf("no message is completed, listed %d", len(ms))
	}
	for what, q := range map[string]string{
		"bad cursor": "cursor=zzz", "bad status": "status=done", "bad time": "created_from=yesterday",
		"limit zero": "limit=0", "limit too big": "limit=1001", "unknown parameter": "stauts=pending", "repeated": "tag=a&tag=b",
	} {
		wantError(t, what, a.call("GET", "/v1/messages?"+q, "", ""), 400, "invalid_argument")
	}
}

// TestHandler_BadInput: every malformed request gets a clear 4xx JSON
// error, and nothing is stored.
func TestHandler_BadInput(t *testing.T) {
	t.Parallel()
	a := setup(t, nil, &httpapi.Options{MaxBody: 400})
	a.must(http.StatusCreated, "POST", "/v1/messages", `{"id": "dup", "destination": "x", "content": 1}`)
	cases := []struct {
		what, method, path, body string
		status                   int
		code                     string
	}{
		{"not JSON", "POST", "/v1/messages", `{"destination": `, 400, "invalid_argument"},
		{"unknown field", "POST", "/v1/messages", `{"destination": "x", "content": 1, "prio": 2}`, 400, "invalid_argument"},
		{"two values", "POST", "/v1/messages", `{"destination": "x", "content": 1} {}`, 400, "invalid_argument"},
		{"not an object", "POST", "/v1/messages", `[1]`, 400, "invalid_argument"},
		{"empty body", "POST", "/v1/messages", ``, 415, "unsupported_media_type"},
		{"too large", "POST", "/v1/messages", `{"destination": "x", "content": "` + strings.Repeat("a", 500) + `"}`, 413, "too_large"},
		{"no content", "POST", "/v1/messages", `{"destination": "x"}`, 400, "invalid_argument"},
		{"no destination", "POST", "/v1/messages", `{"content": 1}`, 400, "invalid_argument"},
		{"bad priority", "POST", "/v1/messages", `{"destination": "x", "content": 1, "priority": "asap"}`, 400, "invalid_argument"},
		{"priority out of range", "POST", "/v1/messages", `{"destination": "x", "content": 1, "priority": 9}`, 400, "invalid_argument"},
		{"wrong type", "POST", "/v1/messages", `{"destination": 5, "content": 1}`, 400, "invalid_argument"},
		{"negative delay", "POST", "/v1/messages", `{"destination": "x", "content": 1, "delay_seconds": -1}`, 400, "invalid_argument"},
		{"run_at and delay", "POST", "/v1/messages", `{"destination": "x", "content": 1, "delay_seconds": 1, "run_at": "2030-01-01T00:00:00Z"}`, 400, "invalid_argument"},
		{"bad time", "POST", "/v1/messages", `{"destination": "x", "content": 1, "run_at": "tomorrow"}`, 400, "invalid_argument"},
		{"metadata not object", "POST", "/v1/messages", `{"destination": "x", "content": 1, "metadata": [1]}`, 400, "invalid_argument"},
		{"empty tag", "POST", "/v1/messages", `{"destination": "x", "content": 1, "tags": [""]}`, 400, "invalid_argument"},
		{"negative attempts", "POST", "/v1/messages", `{"destination": "x", "content": 1, "max_attempts": -2}`, 400, "invalid_argument"},
		{"id too long", "POST", "/v1/messages", `{"id": "` + strings.Repeat("i", 300) + `", "destination": "x", "content": 1}`, 400, "invalid_argument"},
		{"duplicate", "POST", "/v1/messages", `{"id": "dup", "destination": "x", "content": 1}`, 409, "duplicate"},
		{"get missing", "GET", "/v1/messages/nope", "", 404, "not_found"},
		{"get id too long", "GET", "/v1/messages/" + strings.Repeat("i", 300), "", 400, "invalid_argument"},
		{"query on get", "GET", "/v1/messages/dup?x=1", "", 400, "invalid_argument"},
		{"query on send", "POST", "/v1/messages?priority=high", `{"destination": "x", "content": 1}`, 400, "invalid_argument"},
		{"no such route", "GET", "/v1/nothing", "", 404, "not_found"},
		{"wrong method", "DELETE", "/v1/messages", "", 405, "method_not_allowed"},
	}
	for _, c := range cases {
		r := a.call(c.method, c.path, c.body, "")
		if c.what == "empty body" {
			r = a.callType(c.method, c.path, "x", "", "text/plain")
		}
		wantError(t, c.what, r, c.status, c.code)
	}
	if r := a.call("DELETE", "/v1/messages", "", ""); !slices.Contains(r.header.Values("Allow"), "POST") {
		t.Fatalf("405 without Allow: %v", r.header)
	}
	if total := a.must(http.StatusOK, "GET", "/v1/stats", "")["total"]; total != json.Number("1") {
		t.Fatalf("bad requests stored messages: total %v", total)
	}
}

// TestHandler_StatsAndShards counts per status, destination and shard.
func TestHandler_StatsAndShards(t *testing.T) {
	t.Parallel()
	a := setup(t, &queuesqlite.Config{Shards: 2}, nil)
	for i := range 6 {
		a.must(http.StatusCreated, "POST", "/v1/messages", fmt.Sprintf(`{"id": "s%d", "destination": "d%d", "content": 1}`, i, i%2))
	}
	a.must(http.StatusOK, "POST", "/v1/messages/s0/cancel", "")
	st := a.must(http.StatusOK, "GET", "/v1/stats", "")
	if st["total"] != json.Number("6") || obj(t, st["by_status"])["pending"] != json.Number("5") ||
		obj(t, st["by_status"])["cancelled"] != json.Number("1") || obj(t, obj(t, st["by_destination"])["d1"])["pending"] != json.Number("3") ||
		st["shard_count"] != json.Number("2") {
		t.Fatalf("stats %v", st)
	}
	sh := a.must(http.StatusOK, "GET", "/v1/shards", "")
	shards := list(t, sh["shards"])
	if sh["count"] != json.Number("2") || len(shards) != 2 {
		t.Fatalf("shards %v", sh)
	}
	n0, _ := obj(t, shards[0])["total"].(json.Number).Int64()
	n1, _ := obj(t, shards[1])["total"].(json.Number).Int64()
	if n0+n1 != 6 {
		t.Fatalf("shard totals %d + %d, want 6", n0, n1)
	}
}

// TestHandler_ClosedQueue answers 503 once the queue is closed.
func TestHandler_ClosedQueue(t *testing.T) {
	t.Parallel()
	a := setup(t, nil, nil)
	if err := a.q.Close(); err != nil {
		t.Fatal(err)
	}
	wantError(t, "send to closed", a.call("POST", "/v1/messages", `{"destination": "x", "content": 1}`, ""), 503, "closed")
	wantError(t, "stats of closed", a.call("GET", "/v1/stats", "", ""), 503, "closed")
}
