package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/httpapi"
)

// get fetches url without following redirects.
func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// externalRef finds a reference to another origin: a CDN script, a web
// font, a remote image.
var externalRef = regexp.MustCompile(`(?i)(src|href|url)\s*[=(]\s*["']?\s*(https?:)?//`)

// TestUI_ServedFromTheBinary: the dashboard's page, script and style come
// from the handler itself, with a strict content security policy, refer
// to no other origin, and / redirects to it, also under a mount prefix.
func TestUI_ServedFromTheBinary(t *testing.T) {
	a := setup(t, nil, nil)
	want := map[string]string{"/ui/": "text/html", "/ui/app.js": "text/javascript", "/ui/style.css": "text/css"}
	for path, ct := range want {
		resp, body := get(t, a.srv.URL+path)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), ct) || len(body) < 100 {
			t.Fatalf("GET %s: %d %q (%d bytes)", path, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Fatalf("GET %s: content security policy %q", path, csp)
		}
		if m := externalRef.FindString(body); m != "" {
			t.Fatalf("GET %s refers to another origin: %q", path, m)
		}
	}
	_, index := get(t, a.srv.URL+"/ui/")
	if !strings.Contains(index, `<script src="app.js"></script>`) || strings.Contains(index, "<script>") {
		t.Fatalf("index.html must load app.js and hold no inline script:\n%s", index)
	}
	for _, path := range []string{"/", "/ui"} {
		resp, _ := get(t, a.srv.URL+path)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "ui/" {
			t.Fatalf("GET %s: %d Location %q, want 302 to ui/", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if r := a.call("GET", "/nope", "", ""); r.status != 404 {
		t.Fatalf("GET /nope: %d, want the JSON 404", r.status)
	}
	mux := http.NewServeMux()
	mux.Handle("/queue/", http.StripPrefix("/queue", a.h))
	prefixed := httptest.NewServer(mux)
	defer prefixed.Close()
	resp, _ := get(t, prefixed.URL+"/queue/")
	if loc, err := resp.Location(); err != nil || loc.Path != "/queue/ui/" {
		t.Fatalf("under /queue/, / redirects to %v (%v), want /queue/ui/", loc, err)
	}
	if resp, _ := get(t, prefixed.URL+"/queue/ui/app.js"); resp.StatusCode != 200 {
		t.Fatalf("GET /queue/ui/app.js: %d", resp.StatusCode)
	}
}

// TestUI_ScriptInsertsDataAsText: the script has no way to turn a string
// into markup (the browser test checks the behaviour; this keeps the
// dangerous APIs out of the source).
func TestUI_ScriptInsertsDataAsText(t *testing.T) {
	a := setup(t, nil, nil)
	_, js := get(t, a.srv.URL+"/ui/app.js")
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(js, sink) {
			t.Errorf("app.js uses %s", sink)
		}
	}
}

// TestAccess_TellsWhatTheTokenAllows: the dashboard learns whether it may
// show write actions.
func TestAccess_TellsWhatTheTokenAllows(t *testing.T) {
	a := setup(t, nil, &httpapi.Options{Token: "full", ReadOnlyToken: "ro"})
	wantError(t, "no token", a.call("GET", "/v1/access", "", ""), 401, "unauthorized")
	for token, canWrite := range map[string]bool{"full": true, "ro": false} {
		r := a.call("GET", "/v1/access", "", token)
		if r.status != 200 || r.body["token_required"] != true || r.body["can_write"] != canWrite {
			t.Fatalf("token %s: %d %s", token, r.status, r.raw)
		}
	}
	open := setup(t, nil, nil)
	if b := open.must(200, "GET", "/v1/access", ""); b["token_required"] != false || b["can_write"] != true {
		t.Fatalf("without tokens: %v", b)
	}
}

// TestHistory_ThroughputAndLatency: once asked for, the history fills with
// samples whose rates and latency reflect the messages that ran.
func TestHistory_ThroughputAndLatency(t *testing.T) {
	a := setup(t, nil, &httpapi.Options{SampleInterval: 20 * time.Millisecond})
	queuesqlite.HandleJSON(a.q, "add", func(_ context.Context, in struct{ A, B int }) (int, error) { return in.A + in.B, nil }, nil)
	if err := a.q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	first := a.must(200, "GET", "/v1/stats/history", "")
	if first["interval_seconds"] != json.Number("0.02") {
		t.Fatalf("interval: %v", first["interval_seconds"])
	}
	eventually(t, "a first sample", func() bool {
		return len(list(t, a.must(200, "GET", "/v1/stats/history", "")["samples"])) > 0
	})
	for range 5 {
		a.must(201, "POST", "/v1/messages", `{"destination": "add", "content": {"A": 1, "B": 2}}`)
	}
	eventually(t, "samples with throughput and latency", func() bool {
		var finished, latency bool
		for _, s := range list(t, a.must(200, "GET", "/v1/stats/history", "")["samples"]) {
			m := obj(t, s)
			if f, ok := m["finished_per_second"].(json.Number); ok && f.String() != "0" {
				finished = true
			}
			if n, ok := m["latency_count"].(json.Number); ok && n.String() != "0" && m["latency_p50_seconds"] != nil && m["latency_p95_seconds"] != nil {
				latency = true
			}
		}
		return finished && latency
	})
	if r := a.call("GET", "/v1/stats/history?x=1", "", ""); r.status != 400 {
		t.Fatalf("unknown parameter: %d", r.status)
	}
}
