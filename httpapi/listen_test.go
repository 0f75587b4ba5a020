package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/queue-sqlite/queuesqlite"
)

// TestHandler_ListenData sets, reads and deletes listen data of each kind:
// what Go's SetListenData would store for a string, a JSON value and bytes.
func TestHandler_ListenData(t *testing.T) {
	t.Parallel()
	a := setup(t, nil, nil)
	ctx := t.Context()
	c := obj(t, a.must(http.StatusOK, "PUT", "/v1/listen-data/config/dark_mode", `{"value": "dark_mode=true"}`)["change"])
	if c["key"] != "config/dark_mode" || c["old"] != nil || obj(t, c["new"])["kind"] != "text" {
		t.Fatalf("first set: %v", c)
	}
	e, err := a.q.GetListenData(ctx, "config/dark_mode")
	if err != nil || e.Value.Kind != 0 || e.Value.String() != "dark_mode=true" {
		t.Fatalf("stored %+v, %v; want the text dark_mode=true", e, err)
	}
	if r := a.must(http.StatusOK, "PUT", "/v1/listen-data/config/dark_mode", `{"value": "dark_mode=true"}`); r["change"] != nil {
		t.Fatalf("equal value made a change: %v", r)
	}
	a.must(http.StatusOK, "PUT", "/v1/listen-data/limits", `{"value": {"max":  5, "burst": [1, 2]}}`)
	a.must(http.StatusOK, "PUT", "/v1/listen-data/blob", `{"kind": "bytes", "value": "AAEC"}`)
	a.must(http.StatusOK, "PUT", "/v1/listen-data/quoted", `{"kind": "json", "value": "a string as JSON"}`)
	if v := a.must(http.StatusOK, "GET", "/v1/listen-data/limits", ""); v["kind"] != "json" || obj(t, v["value"])["max"] != json.Number("5") || v["version"] != json.Number("1") {
		t.Fatalf("json entry %v", v)
	}
	var limits map[string]any
	if e, err := a.q.GetListenData(ctx, "limits"); err != nil || e.Value.Decode(&limits) != nil || limits["max"] != float64(5) {
		t.Fatalf("stored limits %v, %v", e, err)
	}
	if e, _ := a.q.GetListenData(ctx, "blob"); string(e.Value.Raw) != "\x00\x01\x02" {
		t.Fatalf("stored bytes %q", e.Value.Raw)
	}
	if v := a.must(http.StatusOK, "GET", "/v1/listen-data/blob", ""); v["kind"] != "bytes" || v["value"] != "AAEC" {
		t.Fatalf("bytes entry %v", v)
	}
	if v := a.must(http.StatusOK, "GET", "/v1/listen-data/quoted", ""); v["kind"] != "json" || v["value"] != "a string as JSON" {
		t.Fatalf("quoted entry %v", v)
	}
	entries := list(t, a.must(http.StatusOK, "GET", "/v1/listen-data?prefix=config/", "")["entries"])
	if len(entries) != 1 || obj(t, entries[0])["value"] != "dark_mode=true" {
		t.Fatalf("prefix list %v", entries)
	}
	del := obj(t, a.must(http.StatusOK, "DELETE", "/v1/listen-data/limits", "")["change"])
	if del["new"] != nil || obj(t, del["old"])["kind"] != "json" {
		t.Fatalf("delete change %v", del)
	}
	if r := a.must(http.StatusOK, "DELETE", "/v1/listen-data/limits", ""); r["change"] != nil {
		t.Fatalf("deleting a missing key made a change: %v", r)
	}
	wantError(t, "get deleted", a.call("GET", "/v1/listen-data/limits", "", ""), 404, "not_found")
	for what, body := range map[string]string{
		"no value": `{}`, "text not a string": `{"kind": "text", "value": 1}`, "bad base64": `{"kind": "bytes", "value": "!!"}`,
		"unknown kind": `{"kind": "xml", "value": "<a/>"}`, "unknown field": `{"value": 1, "ttl": 2}`,
	} {
		wantError(t, what, a.call("PUT", "/v1/listen-data/k", body, ""), 400, "invalid_argument")
	}
	wantError(t, "empty key", a.call("PUT", "/v1/listen-data/", `{"value": 1}`, ""), 400, "invalid_argument")
}

// TestHandler_ListenChangesAndGroups reads the change log in pages and the
// listener groups with their lag.
func TestHandler_ListenChangesAndGroups(t *testing.T) {
	t.Parallel()
	a := setup(t, nil, nil)
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	if err := a.q.Listen("k", func(ctx context.Context, _ *queuesqlite.Change) error {
		select { // the listener holds its first change, so the group lags
		case <-hold:
		case <-ctx.Done():
		}
		return nil
	}, &queuesqlite.ListenOpts{MaxAttempts: 1}); err != nil {
		t.Fatal(err)
	}
	if err := a.q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the listener group", func() bool {
		return len(list(t, a.must(http.StatusOK, "GET", "/v1/listen-groups", "")["groups"])) == 1
	})
	for _, v := range []string{`"a"`, `"b"`, `"c"`} {
		a.must(http.StatusOK, "PUT", "/v1/listen-data/k", `{"value": `+v+`}`)
	}
	page := a.must(http.StatusOK, "GET", "/v1/listen-changes?limit=2", "")
	cs := list(t, page["changes"])
	if len(cs) != 2 || obj(t, obj(t, cs[1])["new"])["value"] != "b" {
		t.Fatalf("first page %v", page)
	}
	rest := a.must(http.StatusOK, "GET", "/v1/listen-changes?after="+page["next_after"].(json.Number).String(), "")
	if cs := list(t, rest["changes"]); len(cs) != 1 || obj(t, obj(t, cs[0])["old"])["value"] != "b" {
		t.Fatalf("second page %v", rest)
	}
	g := a.must(http.StatusOK, "GET", "/v1/listen-groups", "")
	group := obj(t, list(t, g["groups"])[0])
	if group["name"] != queuesqlite.ListenGroupDefault || g["last_seq"] == json.Number("0") || group["lag"] == json.Number("0") {
		t.Fatalf("groups %v: want the default group lagging", g)
	}
	if r := a.must(http.StatusOK, "DELETE", "/v1/listen-groups/old-group", ""); r["dropped"] != "old-group" {
		t.Fatalf("drop group: %v", r)
	}
	wantError(t, "bad after", a.call("GET", "/v1/listen-changes?after=-1", "", ""), 400, "invalid_argument")
	wantError(t, "bad limit", a.call("GET", "/v1/listen-changes?limit=5000", "", ""), 400, "invalid_argument")
}
