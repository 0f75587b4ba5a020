package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/httpapi"
)

// TestHandler_DeleteOneAndMany: DELETE removes one message (404 after, 409
// for a running one); the bulk route deletes a selection and reports the
// running and the missing ids.
func TestHandler_DeleteOneAndMany(t *testing.T) {
	t.Parallel()
	a := setup(t, nil, nil)
	started, release := make(chan struct{}, 1), make(chan struct{})
	defer close(release)
	a.q.Handle("slow", func(ctx context.Context, _ *queuesqlite.Message) (any, error) {
		started <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil, nil
	}, nil)
	if err := a.q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	a.must(http.StatusCreated, "POST", "/v1/messages", `{"id": "run", "destination": "slow", "content": 1}`)
	select {
	case <-started:
	case <-time.After(testDeadline):
		t.Fatal("the handler did not start")
	}
	for _, id := range []string{"a", "b", "c"} {
		a.must(http.StatusCreated, "POST", "/v1/messages", `{"id": "`+id+`", "destination": "nobody", "content": 1}`)
	}
	if got := a.must(http.StatusOK, "DELETE", "/v1/messages/a", ""); fmt.Sprint(got["deleted"]) != "[a]" {
		t.Fatalf("delete a: %v", got)
	}
	wantError(t, "get deleted", a.call("GET", "/v1/messages/a", "", ""), 404, "not_found")
	wantError(t, "delete twice", a.call("DELETE", "/v1/messages/a", "", ""), 404, "not_found")
	wantError(t, "delete running", a.call("DELETE", "/v1/messages/run", "", ""), 409, "invalid_state")

	got := a.must(http.StatusOK, "POST", "/v1/messages/delete", `{"ids": ["b", "run", "ghost", "c"]}`)
	if s := fmt.Sprint(got["deleted"], got["processing"], got["not_found"]); s != "[b c] [run] [ghost]" {
		t.Fatalf("bulk delete: %s, want [b c] [run] [ghost]", s)
	}
	if m := a.must(http.StatusOK, "GET", "/v1/messages/run", ""); m["status"] != "processing" {
		t.Fatalf("the running message: %v, want still processing", m["status"])
	}
	wantError(t, "no ids", a.call("POST", "/v1/messages/delete", `{"ids": []}`, ""), 400, "invalid_argument")
	wantError(t, "empty id", a.call("POST", "/v1/messages/delete", `{"ids": [""]}`, ""), 400, "invalid_argument")
	wantError(t, "unknown field", a.call("POST", "/v1/messages/delete", `{"ids": ["b"], "all": true}`, ""), 400, "invalid_argument")
}

// TestHandler_AttemptErrors: a single message's answer carries every
// attempt's error; lists leave the field out.
func TestHandler_AttemptErrors(t *testing.T) {
	t.Parallel()
	a := setup(t, nil, nil)
	a.q.Handle("flaky", func(_ context.Context, m *queuesqlite.Message) (any, error) {
		return nil, fmt.Errorf("boom %d", m.Attempt)
	}, &queuesqlite.HandlerOpts{MaxAttempts: 2, Backoff: func(int) time.Duration { return time.Millisecond }})
	if err := a.q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	a.must(http.StatusCreated, "POST", "/v1/messages", `{"id": "f", "destination": "flaky", "content": 1}`)
	a.must(http.StatusCreated, "POST", "/v1/messages", `{"id": "n", "destination": "nobody", "content": 1}`)
	r := a.call("GET", "/v1/messages/f/wait?timeout=30", "", "")
	m := obj(t, r.body["message"])
	var got []string
	for _, e := range list(t, m["errors"]) {
		e := obj(t, e)
		if at, _ := e["at"].(string); at == "" {
			t.Fatalf("entry without a time: %v", e)
		}
		got = append(got, fmt.Sprintf("%v:%v", e["attempt"], e["error"]))
	}
	if fmt.Sprint(got) != "[1:boom 1 2:boom 2]" {
		t.Fatalf("errors %v, want both attempts: %s", got, r.raw)
	}
	if errs := list(t, a.must(http.StatusOK, "GET", "/v1/messages/n", "")["errors"]); len(errs) != 0 {
		t.Fatalf("errors of a message that never failed: %v, want []", errs)
	}
	for _, m := range list(t, a.must(http.StatusOK, "GET", "/v1/messages", "")["messages"]) {
		if _, ok := obj(t, m)["errors"]; ok {
			t.Fatalf("a list shows errors: %v", m)
		}
	}
}

// TestHandler_GroupsAndDependsOn: POST /v1/groups sends a group whose
// result GET /v1/groups/{id} reports; depends_on makes a message wait; a
// dependency that is not stored is a 400 that names no file.
func TestHandler_GroupsAndDependsOn(t *testing.T) {
	t.Parallel()
	a := setup(t, nil, nil)
	a.q.Handle("work", func(context.Context, *queuesqlite.Message) (any, error) { return "ok", nil }, nil)
	a.must(http.StatusCreated, "POST", "/v1/messages", `{"id": "p", "destination": "nobody", "content": 1}`)
	a.must(http.StatusCreated, "POST", "/v1/messages", `{"id": "kid", "destination": "work", "content": 1, "depends_on": ["p"]}`)
	if s := a.must(http.StatusOK, "GET", "/v1/messages/kid", "")["status"]; s != "scheduled" {
		t.Fatalf("a message with a dependency: %v, want scheduled (waiting)", s)
	}
	r := a.call("POST", "/v1/messages", `{"destination": "work", "content": 1, "depends_on": ["never-sent"]}`, "")
	wantError(t, "missing dependency", r, 400, "invalid_argument")
	if strings.Contains(r.raw, a.dir) || strings.Contains(r.raw, "/") {
		t.Fatalf("the 400 names a path: %s", r.raw)
	}

	g := a.must(http.StatusCreated, "POST", "/v1/groups",
		`{"messages": [{"id": "g1", "destination": "work", "content": 1}, {"id": "g2", "destination": "work", "content": 2}]}`)
	gid, _ := g["id"].(string)
	if gid == "" || fmt.Sprint(g["message_ids"]) != "[g1 g2]" {
		t.Fatalf("group send: %v", g)
	}
	res := a.must(http.StatusOK, "GET", "/v1/groups/"+gid, "")
	if res["finished"] != false || fmt.Sprint(res["counts"]) != "map[pending:2]" {
		t.Fatalf("group before running: %v", res)
	}
	if err := a.q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the group to finish", func() bool {
		return a.must(http.StatusOK, "GET", "/v1/groups/"+gid, "")["finished"] == true
	})
	res = a.must(http.StatusOK, "GET", "/v1/groups/"+gid, "")
	if fmt.Sprint(res["counts"]) != "map[completed:2]" || res["finished_at"] == nil {
		t.Fatalf("finished group: %v", res)
	}
	wantError(t, "unknown group", a.call("GET", "/v1/groups/nope", "", ""), 404, "not_found")
	wantError(t, "empty group", a.call("POST", "/v1/groups", `{"messages": []}`, ""), 400, "invalid_argument")
}

// TestHandler_ReadOnlyTokenCannotDeleteOrSendGroups: the new writes need
// the full token.
func TestHandler_ReadOnlyTokenCannotDeleteOrSendGroups(t *testing.T) {
	t.Parallel()
	a := setup(t, nil, &httpapi.Options{Token: "full", ReadOnlyToken: "read"})
	if _, err := a.q.Send(t.Context(), queuesqlite.NewMessage("x", 1), nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path, body string }{
		{"DELETE", "/v1/messages/x", ""},
		{"POST", "/v1/messages/delete", `{"ids": ["x"]}`},
		{"POST", "/v1/groups", `{"messages": [{"destination": "x", "content": 1}]}`},
	} {
		wantError(t, c.method+" "+c.path+" read-only", a.call(c.method, c.path, c.body, "read"), 403, "forbidden")
	}
	wantError(t, "read-only group read", a.call("GET", "/v1/groups/nope", "", "read"), 404, "not_found")
}
