package benchkit_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/queue-sqlite/queuesqlite/internal/benchkit"
)

// TestRun_OursQuick runs every default scenario once, small, on our queue
// and checks that each produced a sane, positive measurement. It asserts
// no absolute speed.
func TestRun_OursQuick(t *testing.T) {
	var steps int
	results, err := benchkit.Run(context.Background(), []benchkit.System{benchkit.Ours()}, benchkit.Options{
		Quick: true, Dir: t.TempDir(),
		Progress: func(done, total int, _ string) {
			steps = done
			if done > total {
				t.Errorf("progress %d of %d", done, total)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) == 0 || steps != len(results) {
		t.Fatalf("%d results, %d progress steps", len(results), steps)
	}
	for _, r := range results {
		checkResult(t, r)
	}
}

func checkResult(t *testing.T, r benchkit.Result) {
	t.Helper()
	if r.Error != "" || r.Runs != 1 || r.PerSec <= 0 {
		t.Errorf("%s: %+v", r.Scenario, r)
	}
	switch {
	case r.Scenario == "latency-200" && (r.P50ms <= 0 || r.P99ms < r.P50ms):
		t.Errorf("latency: p50 %v p99 %v", r.P50ms, r.P99ms)
	case strings.HasPrefix(r.Scenario, "drain") && r.PeakRSSMB <= 0, r.WriteTxPerMsg <= 0 && r.Scenario != "latency-200" && !strings.HasPrefix(r.Scenario, "claim"):
		t.Errorf("%s: rss %v MB, write tx/msg %v", r.Scenario, r.PeakRSSMB, r.WriteTxPerMsg)
	}
}

// TestRun_Only runs the named scenarios and no others.
func TestRun_Only(t *testing.T) {
	results, err := benchkit.Run(context.Background(), []benchkit.System{benchkit.Ours()}, benchkit.Options{
		Quick: true, Dir: t.TempDir(), Only: []string{"claim-1k"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0].Scenario != "claim-1k" {
		t.Fatalf("results: %+v", results)
	}
	checkResult(t, results[0])
}

func fakeResults() []benchkit.Result {
	return []benchkit.Result{
		{Scenario: "send-1", System: "us", N: 10, Runs: 3, PerSec: 2000, PerSecMin: 1900, PerSecMax: 2100, Ratio: 1},
		{Scenario: "send-1", System: "peer", N: 10, Runs: 3, PerSec: 1000, PerSecMin: 900, PerSecMax: 1100, Ratio: 0.5},
		{Scenario: "latency-200", System: "us", N: 10, Runs: 3, PerSec: 200, P50ms: 0.5, P99ms: 1, Ratio: 1},
		{Scenario: "latency-200", System: "peer", N: 10, Runs: 3, PerSec: 200, P50ms: 5, P99ms: 9, Ratio: 10},
		{Scenario: "drain", System: "us", N: 10, Runs: 3, PerSec: 9000, PeakRSSMB: 40, WriteTxPerMsg: 0.02, Ratio: 1},
	}
}

func TestBuildTable(t *testing.T) {
	systems := []benchkit.System{{Name: "us"}, {Name: "peer", Note: "tuned poll"}, {Name: "absent"}}
	tab := benchkit.BuildTable(systems, fakeResults())
	if got := strings.Join(tab.Header, ","); got != "scenario,us,peer" {
		t.Fatalf("header %q", got)
	}
	var text, md bytes.Buffer
	if err := tab.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := tab.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2.00k/s (1.90k–2.10k)", "×0.50", "×10.00", "drain peak RSS", "0.0200", "tuned poll"} {
		if !strings.Contains(text.String(), want) || !strings.Contains(md.String(), want) {
			t.Errorf("%q missing in\n%s\n%s", want, text.String(), md.String())
		}
	}
	if !strings.HasPrefix(md.String(), "| scenario | us | peer |\n| --- | --- | --- |\n") {
		t.Errorf("markdown header:\n%s", md.String())
	}
}

func TestWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := benchkit.WriteJSON(&buf, fakeResults()); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	lines := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		for _, k := range []string{"scenario", "system", "per_sec"} {
			if _, ok := m[k]; !ok {
				t.Errorf("line %q lacks %s", sc.Text(), k)
			}
		}
		if m["scenario"] == "latency-200" && (m["p50_ms"] == nil || m["p99_ms"] == nil) {
			t.Errorf("latency line %q lacks percentiles", sc.Text())
		}
		lines++
	}
	if lines != len(fakeResults()) {
		t.Fatalf("%d lines", lines)
	}
}

func TestCounter_Wait(t *testing.T) {
	var c benchkit.Counter
	done := make(chan error)
	go func() { done <- c.Wait(context.Background(), 3) }()
	for range 3 {
		c.Add(1)
	}
	if err := <-done; err != nil || c.Load() != 3 {
		t.Fatalf("wait: %v, count %d", err, c.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Wait(ctx, 10); err == nil {
		t.Fatal("wait past a cancelled context returned nil")
	}
}

func TestProcStatus(t *testing.T) {
	if rss := benchkit.ProcStatus("VmRSS"); rss < 0 {
		t.Fatalf("VmRSS %d", rss)
	}
}
