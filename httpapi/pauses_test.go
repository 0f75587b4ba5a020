package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/httpapi"
)

// pauseNames lists a pauses reply as "kind:name".
func pauseNames(t *testing.T, body map[string]any, field string) []string {
	t.Helper()
	list, ok := body[field].([]any)
	if !ok {
		t.Fatalf("%s is not a list: %#v", field, body[field])
	}
	var out []string
	for _, v := range list {
		p := obj(t, v)
		if s, _ := p["since"].(string); s == "" {
			t.Fatalf("pause without since: %v", p)
		}
		out = append(out, fmt.Sprintf("%v:%v", p["kind"], p["name"]))
	}
	return out
}

func TestHandler_PauseResume(t *testing.T) {
	t.Parallel()
	a := setup(t, nil, nil)
	if got := pauseNames(t, a.must(http.StatusOK, "GET", "/v1/pauses", ""), "pauses"); len(got) != 0 {
		t.Fatalf("pauses of a new queue: %v, want none", got)
	}
	a.must(http.StatusOK, "POST", "/v1/queues/bulk/pause", "")
	got := pauseNames(t, a.must(http.StatusOK, "POST", "/v1/destinations/email/pause", ""), "pauses")
	if fmt.Sprint(got) != "[destination:email queue:bulk]" {
		t.Fatalf("pauses after pausing: %v, want the destination and the queue", got)
	}
	if got := pauseNames(t, a.must(http.StatusOK, "GET", "/v1/stats", ""), "paused"); fmt.Sprint(got) != "[destination:email queue:bulk]" {
		t.Fatalf("stats paused: %v", got)
	}
	ps, err := a.q.Paused(context.Background())
	if err != nil || len(ps) != 2 || ps[0].Kind != queuesqlite.PauseKindDestination || ps[0].Name != "email" {
		t.Fatalf("the queue's pauses: %+v, %v; want what the API stored", ps, err)
	}
	a.must(http.StatusOK, "POST", "/v1/destinations/email/resume", "")
	got = pauseNames(t, a.must(http.StatusOK, "POST", "/v1/queues/bulk/resume", ""), "pauses")
	if len(got) != 0 {
		t.Fatalf("pauses after resuming both: %v, want none", got)
	}
	if got := pauseNames(t, a.must(http.StatusOK, "GET", "/v1/stats", ""), "paused"); len(got) != 0 {
		t.Fatalf("stats paused after resume: %v, want []", got)
	}
	wantError(t, "unknown query parameter", a.call("POST", "/v1/queues/bulk/pause?x=1", "", ""), http.StatusBadRequest, "invalid_argument")
	long := make([]byte, 257)
	for i := range long {
		long[i] = 'a'
	}
	wantError(t, "name too long", a.call("POST", "/v1/destinations/"+string(long)+"/pause", "", ""), http.StatusBadRequest, "invalid_argument")
}

// Pausing writes: the read-only token may list pauses but not set them.
func TestHandler_PauseNeedsTheFullToken(t *testing.T) {
	t.Parallel()
	a := setup(t, nil, &httpapi.Options{Token: "full", ReadOnlyToken: "read"})
	if r := a.call("GET", "/v1/pauses", "", "read"); r.status != http.StatusOK {
		t.Fatalf("GET /v1/pauses with the read-only token: %d %s", r.status, r.raw)
	}
	wantError(t, "pause with the read-only token", a.call("POST", "/v1/destinations/x/pause", "", "read"), http.StatusForbidden, "forbidden")
	if r := a.call("POST", "/v1/destinations/x/pause", "", "full"); r.status != http.StatusOK {
		t.Fatalf("pause with the full token: %d %s", r.status, r.raw)
	}
}
