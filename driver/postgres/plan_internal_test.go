package postgres

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// TestLeasedStatementsUseTheLeasedIndexInGenericPlans: the statements that
// read leases (migrations/0006_narrower_indexes.sql) use messages_leased in
// the generic plan a cached prepared statement runs (pgx's statement cache
// runs it from the sixth execution on), and the fenced ones (completion,
// lease renewal) probe it by owner and seq, so each of their array
// elements reads one entry rather than every lease of the owner. The
// finished-callback scan uses the narrowed messages_callback.
func TestLeasedStatementsUseTheLeasedIndexInGenericPlans(t *testing.T) {
	d := openIdle(t, 0)
	holdLeases(t, d, planLeases)
	cases := []struct {
		query string
		want  string // a line of the plan matching this
	}{
		{sqlComplete, `Index Cond: \(\(lease_owner = c\.owner\) AND \(seq = c\.seq\)\)`},
		{sqlExtendLeases, `Index Cond: \(\(lease_owner = \$2\) AND \(seq = l\.seq\)\)`},
		{sqlAdoptClaims, `Index Scan using messages_leased`},
		{sqlRescue, `messages_leased`},
		{sqlForgetOwners, `messages_leased`},
		{sqlFinished, `Index Scan using messages_callback`},
	}
	for _, c := range cases {
		plan := genericPlan(t, d, d.sql(c.query))
		if !regexp.MustCompile(c.want).MatchString(plan) {
			t.Errorf("generic plan of %.60q has no %s:\n%s", c.query, c.want, plan)
		}
	}
}

// planLeases is how many leases the plans are made over: enough that
// reading every lease of an owner costs more than one probe by seq.
const planLeases = 1000

// holdLeases stores 2n messages with callbacks, leases n of them to one owner and
// gathers the table's statistics, as on a queue at work.
func holdLeases(t *testing.T, d *DB, n int) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	ms := make([]*queuetype.Message, 2*n)
	for i := range ms {
		ms[i] = &queuetype.Message{ID: fmt.Sprint("p", i), Type: queuetype.TypeTask, Status: queuetype.StatusPending,
			Destination: "x", Source: queuetype.SourceDefault, Content: []byte(`{}`),
			Priority: queuetype.PriorityNormal, CreatedAt: now, UpdatedAt: now, RunAt: now, MaxAttempts: 3}
	}
	owners := make([]string, len(ms)) // each sender waits for its callback
	for i := range owners {
		owners[i] = "me"
	}
	if err := d.Insert(ctx, driver.InsertParams{Messages: ms, CallbackOwners: owners}); err != nil {
		t.Fatal(err)
	}
	got, err := d.Claim(ctx, driver.ClaimParams{Destinations: []string{"x"}, Max: n, Owner: "o", Now: now,
		LeaseUntil: now.Add(time.Minute), Me: "me"})
	if err != nil || len(got) != n {
		t.Fatalf("claim: %d of %d, %v", len(got), n, err)
	}
	if _, err := d.pool.Exec(ctx, d.sql(`ANALYZE {s}.messages`)); err != nil {
		t.Fatal(err)
	}
}

// genericPlan returns the plan PostgreSQL makes for query prepared with
// unknown parameters (EXPLAIN of the prepared statement under
// force_generic_plan, every parameter NULL: the values are not looked at).
func genericPlan(t *testing.T, d *DB, query string) string {
	t.Helper()
	ctx := context.Background()
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	for _, s := range []string{`SET LOCAL plan_cache_mode = force_generic_plan`, `PREPARE generic_plan AS ` + query} {
		if _, err := tx.Exec(ctx, s, pgx.QueryExecModeSimpleProtocol); err != nil {
			t.Fatalf("%.60q: %v", s, err)
		}
	}
	defer func() { _, _ = tx.Exec(ctx, `DEALLOCATE generic_plan`, pgx.QueryExecModeSimpleProtocol) }()
	nulls := strings.TrimSuffix(strings.Repeat("NULL, ", maxParam(query)), ", ")
	rows, err := tx.Query(ctx, `EXPLAIN EXECUTE generic_plan(`+nulls+`)`, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		t.Fatalf("explain %.60q: %v", query, err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("explain %.60q: %v", query, err)
	}
	return strings.Join(lines, "\n")
}

// maxParam returns the highest $N parameter of query.
func maxParam(query string) int {
	n := 0
	for _, m := range regexp.MustCompile(`\$(\d+)`).FindAllStringSubmatch(query, -1) {
		if i, _ := strconv.Atoi(m[1]); i > n {
			n = i
		}
	}
	return n
}
