package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/httpapi"
)

// BenchmarkHandler_Send measures one message per request over a real
// loopback connection, with several clients in parallel.
func BenchmarkHandler_Send(b *testing.B) {
	dir := b.TempDir()
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	srv := newBenchServer(b, httpapi.New(q, nil))
	body := `{"destination": "bench", "content": {"n": 1}, "tags": ["t"]}`
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := http.Post(srv+"/v1/messages", "application/json", strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}
