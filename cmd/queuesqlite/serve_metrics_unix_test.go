//go:build unix

package main

import (
	"strings"
	"testing"
)

// TestServe_Metrics: a running serve publishes the queue's Prometheus
// metrics at /metrics, to the read-only token as to the full one, never
// without a token, and refuses writes there.
func TestServe_Metrics(t *testing.T) {
	t.Parallel()
	s := startServe(t, t.TempDir(), []string{envToken + "=full-tok", envReadOnlyToken + "=ro-tok"})
	for _, id := range []string{"m1", "m2"} {
		body := `{"id": "` + id + `", "destination": "later", "content": 1}`
		if code, text := s.request("POST", "/v1/messages", body, "full-tok", ""); code != 201 {
			t.Fatalf("send: %d %s", code, text)
		}
	}
	if code, text := s.request("GET", "/metrics", "", "", ""); code != 401 {
		t.Fatalf("metrics without token: %d %s", code, text)
	}
	if code, _ := s.request("POST", "/metrics", "", "full-tok", ""); code != 405 {
		t.Fatalf("POST /metrics: %d, want 405", code)
	}
	for _, tok := range []string{"ro-tok", "full-tok"} {
		code, text := s.request("GET", "/metrics", "", tok, "")
		if code != 200 {
			t.Fatalf("metrics with %s: %d %s", tok, code, text)
		}
		for _, want := range []string{
			`queuesqlite_messages_sent_total{destination="later"} 2`,
			`queuesqlite_queue_depth{destination="later",status="pending"} 2`,
			`queuesqlite_write_transactions_total `,
			`go_goroutines `,
		} {
			if !strings.Contains(text, want) {
				t.Fatalf("metrics lack %q:\n%s", want, text)
			}
		}
	}
	if code, text := s.request("GET", "/v1/stats", "", "ro-tok", ""); code != 200 {
		t.Fatalf("the API beside /metrics: %d %s", code, text)
	}
	s.stop()
}
