package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/internal/pgtest"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// A claim that committed but whose answer was lost (as when the server
// dies around COMMIT) is taken back by the owner's next claim, and only
// that claim's rows: an answered claim's rows are not handed out twice.
func TestClaim_TakesBackAClaimWhoseAnswerWasLost(t *testing.T) {
	schema := pgtest.Schema(t)
	d, err := Open(context.Background(), pgtest.DSN(), &Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	now := time.Now().UTC()
	var ms []*queuetype.Message
	for i := range 6 {
		ms = append(ms, &queuetype.Message{ID: fmt.Sprint("m", i), Type: queuetype.TypeTask, Status: queuetype.StatusPending,
			Destination: "x", Source: queuetype.SourceDefault, Content: []byte(`1`), Priority: queuetype.PriorityNormal,
			CreatedAt: now, UpdatedAt: now, RunAt: now, MaxAttempts: 3})
	}
	if err := d.Insert(ctx, driver.InsertParams{Messages: ms}); err != nil {
		t.Fatal(err)
	}
	claim := func(max int) []*queuetype.Message {
		got, err := d.Claim(ctx, driver.ClaimParams{Destinations: []string{"x"}, Max: max, Owner: "o", Now: now,
			LeaseUntil: now.Add(time.Minute), Me: "me"})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	answered := claim(2)
	lostUntil := d.claims.stamp(now.Add(time.Minute))
	// the claim whose answer was lost: committed, never seen by the caller
	if _, err := d.pool.Exec(ctx, d.sql(`UPDATE {s}.messages SET status = {processing}, lease_owner = 'o', attempt = 1,
		lease_expires_at = $1 WHERE id IN ('m2', 'm3')`), lostUntil); err != nil {
		t.Fatal(err)
	}
	d.claims.add("o", lostUntil)
	got := claim(10)
	ids := map[string]bool{}
	for _, m := range got {
		ids[m.ID] = true
	}
	if len(got) != 4 || !ids["m2"] || !ids["m3"] || !ids["m4"] || !ids["m5"] {
		t.Fatalf("next claim took %v, want m2 and m3 back and m4, m5 new", ids)
	}
	for _, m := range answered {
		if ids[m.ID] {
			t.Fatalf("an answered claim's row %s was handed out again", m.ID)
		}
	}
	if again := claim(10); len(again) != 0 {
		t.Fatalf("a third claim took %d, want 0 (the lost claim is forgotten once taken back)", len(again))
	}
}
