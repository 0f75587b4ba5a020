package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestMain runs a child job (a worker or sender process of the
// multi-process scenarios, which re-execute this binary) instead of the
// tests when childEnv says so.
func TestMain(m *testing.M) {
	if job := os.Getenv(childEnv); job != "" {
		if err := runChild(context.Background(), job, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRun_Quick runs the program in quick mode against every peer (and
// River on PostgreSQL when BENCH_PG_DSN is set) and checks that each system
// produced sane, positive numbers. It asserts no absolute speed.
func TestRun_Quick(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every peer")
	}
	args := []string{"-quick", "-json", "-dir", t.TempDir(), "-only", "send-1,batch-1000,drain,latency",
		"-sizes", "100", "-syncs", "NORMAL", "-rates", "200"}
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
			Scenario, Kind, System, Error string
			PerSec                        float64 `json:"per_sec"`
			P50ms                         float64 `json:"p50_ms"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if r.PerSec <= 0 || r.Error != "" || (r.Kind == "latency" && r.P50ms <= 0) {
			t.Errorf("%s on %s: %s", r.Scenario, r.System, sc.Text())
		}
		seen[r.System] = true
	}
	for _, want := range []string{"queuesqlite", "floor", "goqite", "goqite (tuned)", "river-sqlite", "river-sqlite (tuned)", "backlite"} {
		if !seen[want] {
			t.Errorf("no results for %s", want)
		}
	}
}

// TestRun_Processes runs the multi-process scenarios on our SQLite queue
// (and on the PostgreSQL systems when BENCH_PG_DSN is set): worker and
// sender children are this test binary re-executed (TestMain). It checks
// every run finished with a rate (and a latency), not how fast.
func TestRun_Processes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	args := []string{"-quick", "-json", "-dir", t.TempDir(), "-only", "drain-1x100,drain-4x25,latency-xproc",
		"-rates", "200", "-systems", "ours"}
	if dsn := os.Getenv("BENCH_PG_DSN"); dsn != "" {
		args = append(args, "-pg-dsn", dsn)
	}
	var out, errb bytes.Buffer
	if err := run(t.Context(), args, &out, &errb); err != nil {
		t.Fatalf("run: %v\n%s", err, errb.String())
	}
	got := 0
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var r struct {
			Scenario, Kind, System, Error string
			PerSec                        float64 `json:"per_sec"`
			P50ms                         float64 `json:"p50_ms"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		got++
		if r.PerSec <= 0 || r.Error != "" || (r.Kind == kindsXproc && r.P50ms <= 0) {
			t.Errorf("%s on %s: %s", r.Scenario, r.System, sc.Text())
		}
	}
	if got < 3 {
		t.Errorf("%d results, want at least 3 (drain-1x100, drain-4x25, latency-xproc-200)\n%s", got, out.String())
	}
}

// TestRun_Table prints the Markdown table for one scenario: ours, the
// floor, our ratio to the floor, then the peer.
func TestRun_Table(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(t.Context(), []string{"-quick", "-markdown", "-only", "send-1", "-sizes", "100", "-syncs", "NORMAL",
		"-systems", "floor,goqite", "-dir", t.TempDir()}, &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "| scenario | queuesqlite | floor | ours/floor | goqite |") {
		t.Fatalf("table:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "| send-1 100B | ") || strings.Contains(out.String(), "failed") {
		t.Fatalf("no send-1 100B row, or a failed run:\n%s", out.String())
	}
}

// TestRun_BadFlags rejects unknown scenarios and bad dimensions.
func TestRun_BadFlags(t *testing.T) {
	for _, args := range [][]string{{"-only", "nope"}, {"-sizes", "0"}, {"-syncs", "OFF"}, {"-rates", "x"}} {
		var out, errb bytes.Buffer
		if err := run(t.Context(), args, &out, &errb); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

// TestFloor_DrainAllSizes drains through the floor at every size and both
// synchronous levels and checks each finished with a rate and its
// transactions counted: the floor must be a working queue, or its column
// means nothing.
func TestFloor_DrainAllSizes(t *testing.T) {
	var out, errb bytes.Buffer
	args := []string{"-quick", "-json", "-only", "drain,latency", "-rates", "1000", "-systems", "floor", "-dir", t.TempDir()}
	if err := run(t.Context(), args, &out, &errb); err != nil {
		t.Fatalf("run: %v\n%s", err, errb.String())
	}
	got := 0
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var r struct {
			Scenario, Kind, System, Error string
			PerSec                        float64 `json:"per_sec"`
			TxPerMsg                      float64 `json:"write_tx_per_msg"`
			Ratio                         float64 `json:"ours_vs_floor"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.System != "floor" {
			continue
		}
		got++
		if r.Error != "" || r.PerSec <= 0 || r.Ratio <= 0 || (r.Kind == "drain" && r.TxPerMsg <= 0) {
			t.Errorf("%s: %s", r.Scenario, sc.Text())
		}
	}
	if want := 4 * 2 * 2; got != want {
		t.Errorf("%d floor results, want %d", got, want)
	}
}
