package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/internal/pgtest"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// TestClaimGenericPlanReadsTheReadyIndexAndThePrimaryKey: the claim's
// generic plan (the one sqlGenericPlans makes it run) reads the ready
// index per destination and finds the picked rows through the primary
// key (an index or bitmap scan by seq = ANY), never scanning or hashing
// the table, however many rows a LIMIT $4
// is guessed to pass.
func TestClaimGenericPlanReadsTheReadyIndexAndThePrimaryKey(t *testing.T) {
	d := openIdle(t, 0)
	holdLeases(t, d, planLeases)
	plan := genericPlan(t, d, d.sql(sqlClaim))
	for _, want := range []string{"Index Scan using messages_ready on messages", "Index Cond: (seq = ANY ("} {
		if !strings.Contains(plan, want) {
			t.Errorf("generic plan of the claim has no %q:\n%s", want, plan)
		}
	}
	for _, bad := range []string{"Seq Scan on messages", "Hash Join", "Merge Join"} {
		if strings.Contains(plan, bad) {
			t.Errorf("generic plan of the claim has %q:\n%s", bad, plan)
		}
	}
}

// TestClaimsRunGenericPlans: plain claims and claims with outcomes folded
// in run the cached claim statement with its generic plan from the first
// execution on (no planning per claim), and the setting stays in the
// claim's transaction: the session keeps its own plan_cache_mode.
func TestClaimsRunGenericPlans(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1 // every statement on one session, whose prepared statements the test reads
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	d, err := OpenPool(ctx, pool, &Options{Schema: pgtest.Schema(t), PollOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	const claims = 8
	now := time.Now().UTC()
	ms := make([]*queuetype.Message, 2*claims)
	for i := range ms {
		ms[i] = &queuetype.Message{ID: fmt.Sprint("g", i), Type: queuetype.TypeTask, Status: queuetype.StatusPending,
			Destination: "x", Source: queuetype.SourceDefault, Content: []byte(`{}`),
			Priority: queuetype.PriorityNormal, CreatedAt: now, UpdatedAt: now, RunAt: now, MaxAttempts: 3}
	}
	if err := d.Insert(ctx, driver.InsertParams{Messages: ms}); err != nil {
		t.Fatal(err)
	}
	p := driver.ClaimParams{Destinations: []string{"x"}, Max: 1, Owner: "o", Now: now, LeaseUntil: now.Add(time.Minute), Me: "me"}
	var held []*queuetype.Message
	for range claims {
		got, err := d.Claim(ctx, p)
		if err != nil || len(got) != 1 {
			t.Fatalf("claim: %d, %v", len(got), err)
		}
		held = append(held, got...)
	}
	for _, m := range held {
		c := &driver.Completion{Seq: m.Seq, Attempt: m.Attempt, Owner: "o", Status: queuetype.StatusCompleted, Now: now, Me: "me"}
		got, err := d.CompleteAndClaim(ctx, []*driver.Completion{c}, p)
		if err != nil || len(got) != 1 || !c.Applied {
			t.Fatalf("complete and claim: %d, applied %v, %v", len(got), c.Applied, err)
		}
	}
	var generic, custom int64
	err = pool.QueryRow(ctx, `SELECT COALESCE(sum(generic_plans), 0), COALESCE(sum(custom_plans), 0)
		FROM pg_prepared_statements WHERE statement LIKE 'WITH picked AS%'`).Scan(&generic, &custom)
	if err != nil {
		t.Fatal(err)
	}
	if generic != 2*claims || custom != 0 {
		t.Fatalf("claim statement ran %d generic and %d custom plans, want %d and 0", generic, custom, 2*claims)
	}
	var mode string
	if err := pool.QueryRow(ctx, `SHOW plan_cache_mode`).Scan(&mode); err != nil || mode != "auto" {
		t.Fatalf("the session's plan_cache_mode is %q (%v), want auto", mode, err)
	}
}
