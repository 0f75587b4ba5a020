package main

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
)

// TestBench_QuickJSON runs `bench --quick --json` in-process and checks that
// every line is a JSON object naming its scenario with a positive rate. It
// asserts no absolute speed.
func TestBench_QuickJSON(t *testing.T) {
	out := ok(t, "bench", "--quick", "--json", "--dir", t.TempDir())
	sc := bufio.NewScanner(strings.NewReader(out))
	lines := 0
	for sc.Scan() {
		var r struct {
			Scenario string   `json:"scenario"`
			PerSec   float64  `json:"per_sec"`
			P50ms    *float64 `json:"p50_ms"`
			P99ms    *float64 `json:"p99_ms"`
			Error    string   `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if r.Scenario == "" || r.PerSec <= 0 || r.Error != "" {
			t.Errorf("line %q: want a scenario with per_sec > 0 and no error", sc.Text())
		}
		if strings.HasPrefix(r.Scenario, "latency") && (r.P50ms == nil || r.P99ms == nil || *r.P50ms <= 0) {
			t.Errorf("latency line %q lacks p50_ms/p99_ms", sc.Text())
		}
		lines++
	}
	if lines == 0 {
		t.Fatalf("no JSON lines in output %q", out)
	}
}

// TestBench_Table prints the text table for one scenario.
func TestBench_Table(t *testing.T) {
	out := ok(t, "bench", "--quick", "--only", "send-1", "--dir", t.TempDir())
	if !strings.Contains(out, "send-1") || !strings.Contains(out, "queuesqlite") {
		t.Fatalf("table output:\n%s", out)
	}
}

// TestBench_UnknownScenario fails with the list of scenarios.
func TestBench_UnknownScenario(t *testing.T) {
	r := cli(t, "bench", "--only", "nope")
	if r.code == 0 || !strings.Contains(r.stderr, "send-1") {
		t.Fatalf("code %d, stderr %q", r.code, r.stderr)
	}
}
