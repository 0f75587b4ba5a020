package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/queue-sqlite/queuesqlite/internal/pgtest"
)

// pgArgs are the flags of a PostgreSQL queue in a fresh schema.
func pgArgs(t *testing.T) []string {
	t.Helper()
	return []string{"--dsn", pgtest.DSN(), "--schema", pgtest.Schema(t)}
}

func TestPostgres_SendStatsGetCancel(t *testing.T) {
	t.Parallel()
	pg := pgArgs(t)
	id := strings.TrimSpace(ok(t, append([]string{"send", "resize", `{"url":"a.jpg"}`, "--priority", "urgent"}, pg...)...))
	later := strings.TrimSpace(ok(t, append([]string{"send", "resize", `[1]`, "--delay", "1h", "--id", "later-1"}, pg...)...))
	if id == "" || later != "later-1" {
		t.Fatalf("printed ids %q and %q", id, later)
	}
	var st statsJSON
	if err := json.Unmarshal([]byte(ok(t, append([]string{"stats", "--json"}, pg...)...)), &st); err != nil {
		t.Fatal(err)
	}
	if r := st.ByDestination["resize"]; r["pending"] != 1 || r["scheduled"] != 1 {
		t.Fatalf("stats: %+v, want resize 1 pending and 1 scheduled", st)
	}
	if out := ok(t, append([]string{"get", id}, pg...)...); !strings.Contains(out, "a.jpg") || !strings.Contains(out, "urgent") {
		t.Fatalf("get %s printed:\n%s", id, out)
	}
	ok(t, append([]string{"cancel", "later-1"}, pg...)...)
	if out := ok(t, append([]string{"get", "later-1"}, pg...)...); !strings.Contains(out, "cancelled") {
		t.Fatalf("get after cancel printed:\n%s", out)
	}
	if out := ok(t, append([]string{"doctor"}, pg...)...); !strings.Contains(out, "is sound") {
		t.Fatalf("doctor printed:\n%s", out)
	}
}

func TestPostgres_MissingSchemaIsRefusedNotCreated(t *testing.T) {
	t.Parallel()
	pg := pgArgs(t)
	fails(t, "no queue in schema", append([]string{"stats"}, pg...)...)
	fails(t, "no queue in schema", append([]string{"stats"}, pg...)...) // still none: the first did not create it
}

func TestPostgres_FlagsThatDoNotApply(t *testing.T) {
	t.Parallel()
	pg := pgArgs(t)
	fails(t, "leave --dir and --shards out", append([]string{"stats", "--dir", t.TempDir()}, pg...)...)
	fails(t, "leave --dir and --shards out", append([]string{"stats", "--shards", "2"}, pg...)...)
	fails(t, "works on SQLite queue directories", append([]string{"reshard", "--to", "2"}, pg...)...)
	fails(t, "invalid argument", "stats", "--dsn", pgtest.DSN(), "--schema", "bad-name;drop")
}

func TestMigrate_MovesADirectoryIntoPostgres(t *testing.T) {
	t.Parallel()
	pgtest.Require(t)
	dir := filepath.Join(t.TempDir(), "q")
	for i := range 30 {
		ok(t, "send", "--dir", dir, "job", `{"n":1}`, "--id", "m"+string(rune('a'+i%26))+strings.Repeat("x", i/26))
	}
	ok(t, "send", "--dir", dir, "job", `{"n":2}`, "--delay", "1h", "--id", "later")
	schema := pgtest.Schema(t)
	r := cli(t, "migrate", "--from", dir, "--to", pgtest.DSN(), "--schema", schema, "--batch", "7")
	if r.code != 0 || !strings.Contains(r.stdout, "moved "+dir) || !strings.Contains(r.stdout, "31 messages") {
		t.Fatalf("migrate: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "31") {
		t.Fatalf("migrate showed no progress on stderr:\n%s", r.stderr)
	}
	pg := []string{"--dsn", pgtest.DSN(), "--schema", schema}
	var st statsJSON
	if err := json.Unmarshal([]byte(ok(t, append([]string{"stats", "--json"}, pg...)...)), &st); err != nil {
		t.Fatal(err)
	}
	if j := st.ByDestination["job"]; j["pending"] != 30 || j["scheduled"] != 1 {
		t.Fatalf("stats in PostgreSQL after the move: %+v, want job 30 pending and 1 scheduled", st)
	}
	again := ok(t, "migrate", "--from", dir, "--to", pgtest.DSN(), "--schema", schema)
	if !strings.Contains(again, "finished an interrupted move") || !strings.Contains(again, "31 messages") {
		t.Fatalf("repeated migrate printed:\n%s", again)
	}
	fails(t, "--from", "migrate", "--to", pgtest.DSN())
	fails(t, "no queue in", "migrate", "--from", filepath.Join(t.TempDir(), "none"), "--to", pgtest.DSN(), "--schema", schema)
}
