package httpapi_test

import (
	_ "github.com/queue-sqlite/queuesqlite/driver/sqlite" // the SQLite backend of Open
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/queue-sqlite/queuesqlite/httpapi"
)

// TestHandler_Auth: with tokens set, a request without one or with a wrong
// one is 401, the read-only token reads but cannot write (403), the full
// token does both; health and the OpenAPI document need none.
func TestHandler_Auth(t *testing.T) {
	t.Parallel()
	a := setup(t, nil, &httpapi.Options{Token: "s3cret-full", ReadOnlyToken: "s3cret-read"})
	send := `{"destination": "x", "content": 1}`
	r := a.call("GET", "/v1/stats", "", "")
	wantError(t, "no token", r, 401, "unauthorized")
	if r.header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
	wantError(t, "wrong token", a.call("GET", "/v1/stats", "", "s3cret-ful"), 401, "unauthorized")
	wantError(t, "longer token", a.call("GET", "/v1/stats", "", "s3cret-full!"), 401, "unauthorized")
	wantError(t, "no token, write", a.call("POST", "/v1/messages", send, ""), 401, "unauthorized")
	wantError(t, "read-only token, write", a.call("POST", "/v1/messages", send, "s3cret-read"), 403, "forbidden")
	wantError(t, "read-only token, listen write", a.call("PUT", "/v1/listen-data/k", `{"value": "v"}`, "s3cret-read"), 403, "forbidden")
	if r := a.call("POST", "/v1/messages", send, "s3cret-full"); r.status != http.StatusCreated {
		t.Fatalf("full token, write: %d %s", r.status, r.raw)
	}
	for _, tok := range []string{"s3cret-full", "s3cret-read"} {
		if r := a.call("GET", "/v1/stats", "", tok); r.status != http.StatusOK || r.body["total"] == nil {
			t.Fatalf("token %s, read: %d %s", tok, r.status, r.raw)
		}
	}
	if r := a.call("GET", "/v1/health", "", ""); r.status != http.StatusOK {
		t.Fatalf("health without token: %d", r.status)
	}
	if r := a.call("GET", "/v1/openapi.json", "", ""); r.status != http.StatusOK || r.body["openapi"] == nil {
		t.Fatalf("openapi without token: %d", r.status)
	}
	// The scheme is case-insensitive; other schemes are not a bearer token.
	req, _ := http.NewRequest("GET", a.srv.URL+"/v1/stats", nil)
	req.Header.Set("Authorization", "Basic s3cret-full")
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("Basic scheme: %d", resp.StatusCode)
	}
}

// TestHandler_ReadOnlyTokenAlone: with only a read-only token, nothing can
// write and reads need the token.
func TestHandler_ReadOnlyTokenAlone(t *testing.T) {
	t.Parallel()
	a := setup(t, nil, &httpapi.Options{ReadOnlyToken: "r"})
	wantError(t, "no token", a.call("GET", "/v1/stats", "", ""), 401, "unauthorized")
	wantError(t, "write", a.call("POST", "/v1/messages", `{"destination": "x", "content": 1}`, "r"), 403, "forbidden")
	if r := a.call("GET", "/v1/stats", "", "r"); r.status != http.StatusOK {
		t.Fatalf("read: %d", r.status)
	}
}

// TestLoopbackHostOnly refuses a Host that is not loopback (DNS
// rebinding) and passes loopback names and addresses.
func TestLoopbackHostOnly(t *testing.T) {
	t.Parallel()
	h := httpapi.LoopbackHostOnly(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	for host, want := range map[string]int{
		"127.0.0.1:7420": http.StatusTeapot, "localhost:7420": http.StatusTeapot, "[::1]:7420": http.StatusTeapot,
		"127.0.0.2": http.StatusTeapot, "LOCALHOST": http.StatusTeapot,
		"evil.example:7420": http.StatusMisdirectedRequest, "10.0.0.1:7420": http.StatusMisdirectedRequest,
		"localhost.evil.example": http.StatusMisdirectedRequest, "": http.StatusMisdirectedRequest,
	} {
		req := httptest.NewRequest("GET", "/v1/stats", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Host %q: %d, want %d", host, rec.Code, want)
		}
	}
}

// TestHandler_RefusesCrossSiteWrites: a web page on another site cannot
// make the user's browser write to the API (CSRF), even with no token and
// a request that needs no preflight (a bodiless POST); reads and
// non-browser clients are unaffected.
func TestHandler_RefusesCrossSiteWrites(t *testing.T) {
	t.Parallel()
	a := setup(t, nil, nil)
	a.must(http.StatusCreated, "POST", "/v1/messages", `{"id": "victim", "destination": "nobody", "content": 1}`)
	for name, hdr := range map[string][2]string{
		"Sec-Fetch-Site": {"Sec-Fetch-Site", "cross-site"},
		"Origin":         {"Origin", "https://attacker.example"},
	} {
		req, _ := http.NewRequest("POST", a.srv.URL+"/v1/messages/victim/cancel", nil)
		req.Header.Set(hdr[0], hdr[1])
		resp, err := a.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("cross-site cancel by %s: %d %s", name, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	if s := a.must(http.StatusOK, "GET", "/v1/messages/victim", "")["status"]; s != "pending" {
		t.Fatalf("a cross-site request cancelled the message: %v", s)
	}
	req, _ := http.NewRequest("GET", a.srv.URL+"/v1/messages/victim", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("cross-site read: %d", resp.StatusCode)
	}
}
