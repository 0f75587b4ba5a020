package netlab

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestLab_HostsReachTheServerUntilCut: every host reaches the lab's
// server; a cut host does not while the others still do; healed, it does
// again; the server comes back after a restart.
func TestLab_HostsReachTheServerUntilCut(t *testing.T) {
	l := New(t, 2)
	pg := l.StartPostgres(t)
	isReady := filepath.Join(pgBin(), "pg_isready")
	reach := func(h *Host) error {
		out, err := h.Command(isReady, "-h", pg.Host, "-p", fmt.Sprint(pg.Port), "-t", "2").CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	for _, h := range l.Hosts {
		if err := reach(h); err != nil {
			t.Fatalf("host %s cannot reach the server: %v", h.Name, err)
		}
	}
	l.Hosts[1].Cut()
	if err := reach(l.Hosts[1]); err == nil {
		t.Fatal("a cut host still reaches the server")
	}
	if err := reach(l.Hosts[0]); err != nil {
		t.Fatalf("host 0 lost the server when host 1 was cut: %v", err)
	}
	l.Hosts[1].Heal()
	// The server's neighbour entry for the host may have gone stale while
	// it was cut: the first packets can be lost, so try for a while.
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if err = reach(l.Hosts[1]); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("a healed host cannot reach the server within 30 s: %v", err)
	}
	pg.Restart()
	if err := reach(l.Hosts[0]); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
}
