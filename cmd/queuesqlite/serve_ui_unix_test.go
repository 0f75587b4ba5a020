//go:build unix

package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestServe_Dashboard: `serve` announces the dashboard and serves it from
// the binary (/ leads to it), still only to loopback host names, and
// stops cleanly once the dashboard's sampler runs.
func TestServe_Dashboard(t *testing.T) {
	t.Parallel()
	s := startServe(t, t.TempDir(), nil, "--addr", "127.0.0.1:0")
	if code, body := s.request("GET", "/", "", "", ""); code != 200 || !strings.Contains(body, `<script src="app.js">`) {
		t.Fatalf("GET / (following the redirect): %d %.200s", code, body)
	}
	if code, _ := s.request("GET", "/ui/app.js", "", "", "attacker.example"); code != http.StatusMisdirectedRequest {
		t.Fatalf("dashboard for a foreign Host: %d", code)
	}
	if code, body := s.request("GET", "/v1/stats/history", "", "", ""); code != 200 || !strings.Contains(body, `"interval_seconds":5`) {
		t.Fatalf("history: %d %s", code, body)
	}
	s.mu.Lock()
	out := strings.Join(s.out, "\n")
	s.mu.Unlock()
	if !strings.Contains(out, "dashboard at http://127.0.0.1:") || !strings.Contains(out, "/ui/") {
		t.Fatalf("serve does not announce the dashboard:\n%s", out)
	}
	s.stop()
}
