package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestRun_Quick runs the program in quick mode against every peer (and
// River on PostgreSQL when BENCH_PG_DSN is set) and checks that each system
// produced sane, positive numbers. It asserts no absolute speed.
func TestRun_Quick(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every peer")
	}
	args := []string{"-quick", "-json", "-dir", t.TempDir(), "-only", "send-1,batch-1000,drain,latency-200"}
	if dsn := os.Getenv("BENCH_PG_DSN"); dsn != "" {
		args = append(args, "-pg-dsn", dsn)
	}
	var out, errb bytes.Buffer
	if err := run(t.Context(), args, &out, &errb); err != nil {
		t.Fatalf("run: %v\n%s", err, errb.String())
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var r struct {
			Scenario, System, Error string
			PerSec                  float64 `json:"per_sec"`
			P50ms                   float64 `json:"p50_ms"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if r.PerSec <= 0 || r.Error != "" || (r.Scenario == "latency-200" && r.P50ms <= 0) {
			t.Errorf("%s on %s: %s", r.Scenario, r.System, sc.Text())
		}
		seen[r.System] = true
	}
	for _, want := range []string{"queuesqlite", "goqite", "goqite (tuned)", "river-sqlite", "river-sqlite (tuned)", "backlite"} {
		if !seen[want] {
			t.Errorf("no results for %s", want)
		}
	}
}

// TestRun_Table prints the Markdown table for one scenario and system.
func TestRun_Table(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(t.Context(), []string{"-quick", "-markdown", "-only", "send-1", "-systems", "goqite", "-dir", t.TempDir()}, &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "| scenario | queuesqlite | goqite |") {
		t.Fatalf("table:\n%s", out.String())
	}
}

// TestRun_BadFlags rejects unknown scenarios.
func TestRun_BadFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(t.Context(), []string{"-only", "nope"}, &out, &errb); err == nil {
		t.Fatal("unknown scenario accepted")
	}
}
