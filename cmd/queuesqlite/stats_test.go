package main

import (
	"encoding/json"
	"regexp"
	"testing"
)

func TestStats_Table(t *testing.T) {
	t.Parallel()
	s := seed(t, 2)
	out := ok(t, "stats", "--dir", s.dir)
	// given 3 completed (ok), 2 failed (charge), 1 failed (other), 1 pending (nobody) -> want these rows
	for _, row := range []string{
		`(?m)^queue .*: 7 messages in 2 shard\(s\)$`,
		`(?m)^oldest pending: \S+ ago \(sent \S+\)$`,
		`(?m)^pending +1$`,
		`(?m)^completed +3$`,
		`(?m)^failed +3$`,
		`(?m)^expired +0$`,
		//                pending sched proc retry compl failed exp canc total
		`(?m)^ok +0 +0 +0 +0 +3 +0 +0 +0 +3$`,
		`(?m)^charge +0 +0 +0 +0 +0 +2 +0 +0 +2$`,
		`(?m)^other +0 +0 +0 +0 +0 +1 +0 +0 +1$`,
		`(?m)^nobody +1 +0 +0 +0 +0 +0 +0 +0 +1$`,
		`(?m)^SHARD +pending .* total$`,
		`(?m)^1 +\d+( +\d+){8}$`,
	} {
		if !regexp.MustCompile(row).MatchString(out) {
			t.Errorf("stats output has no line matching %s:\n%s", row, out)
		}
	}
}

func TestStats_JSON(t *testing.T) {
	t.Parallel()
	s := seed(t, 2)
	var got statsJSON
	if err := json.Unmarshal([]byte(ok(t, "stats", "--dir", s.dir, "--json")), &got); err != nil {
		t.Fatal(err)
	}
	if got.Total != 7 || got.ByStatus["completed"] != 3 || got.ByStatus["failed"] != 3 || got.ByStatus["pending"] != 1 {
		t.Errorf("total %d, by status %v; want 7 with 3 completed, 3 failed, 1 pending", got.Total, got.ByStatus)
	}
	if c := got.ByDestination["charge"]; c["failed"] != 2 || c["completed"] != 0 {
		t.Errorf("charge: %v, want 2 failed", c)
	}
	if got.OldestPending == nil || got.OldestPendingAge < 0 {
		t.Errorf("oldest pending %v (age %vs), want a time and a non-negative age", got.OldestPending, got.OldestPendingAge)
	}
	sum := 0
	for i, sh := range got.Shards {
		if sh.Shard != i {
			t.Errorf("shard %d listed as %d", i, sh.Shard)
		}
		sum += sh.Total
	}
	if len(got.Shards) != 2 || sum != 7 {
		t.Errorf("%d shards holding %d messages, want 2 holding 7", len(got.Shards), sum)
	}
}
