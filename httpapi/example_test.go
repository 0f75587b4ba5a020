package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/httpapi"
)

// Mount the API under /queue/ in an application's own server, next to its
// other routes, with a token; workers run in this process here, but any Go
// process with the queue open on the same directory would do.
func Example() {
	dir, _ := os.MkdirTemp("", "queue")
	defer os.RemoveAll(dir)
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	queuesqlite.HandleJSON(q, "greet", func(ctx context.Context, in struct{ Name string }) (string, error) {
		return "hello " + in.Name, nil
	}, nil)
	_ = q.Start(context.Background())

	api := httpapi.New(q, &httpapi.Options{Token: "change-me"})
	mux := http.NewServeMux()
	mux.Handle("/queue/", http.StripPrefix("/queue", api))
	srv := httptest.NewServer(mux) // in production: http.ListenAndServe(addr, mux)
	defer srv.Close()
	defer api.Shutdown()

	do := func(method, path, body string) string {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer change-me")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprint(resp.StatusCode, " ", strings.TrimSpace(string(b)))
	}
	fmt.Println(do("POST", "/queue/v1/messages", `{"id": "g-1", "destination": "greet", "content": {"Name": "Ada"}}`))
	answer := do("GET", "/queue/v1/messages/g-1/wait?timeout=30", "")
	fmt.Println(answer[:3], strings.Contains(answer, `"done":true`), strings.Contains(answer, `"result":"hello Ada"`))
	// Output:
	// 201 {"id":"g-1"}
	// 200 true true
}
