package queuesqlite_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/dbtest"
)

// resultKinds are the ways a handler hands back the fuzzed bytes.
var resultKinds = []func(raw []byte) any{
	func(raw []byte) any { return json.RawMessage(raw) }, // taken as encoded JSON
	func(raw []byte) any { return raw },                  // []byte: taken as encoded JSON too
	func(raw []byte) any { return string(raw) },          // a Go string: encoded as a JSON string
	func(raw []byte) any { return map[string]any{"v": string(raw), "n": len(raw)} },
}

// FuzzResult sends messages whose handler returns fuzzed bytes in each of
// the ways above, through a real queue: raw JSON is stored byte for byte
// (JSON null as no result), invalid raw JSON fails the message at once with
// the encoding error (no retry, no panic), and Go values come back as they
// were encoded.
func FuzzResult(f *testing.F) {
	for _, seed := range []string{`{"status":"success","size":[100,200]}`, ` [1, 2] `, `"text"`, `null`, `42`,
		``, `{`, `{"a":}`, "\xff\xfe", `"\xff"`, "\x00", `{"a":"b"} x`, strings.Repeat("[", 2000) + strings.Repeat("]", 2000)} {
		for kind := range resultKinds {
			f.Add([]byte(seed), uint8(kind))
		}
	}
	dir := f.TempDir()
	q, err := queuesqlite.Open(dir, &queuesqlite.Config{Workers: 2, MaintenanceInterval: 20 * time.Millisecond,
		Backoff: func(int) time.Duration { return time.Millisecond }})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		if err := q.Close(); err != nil {
			f.Error(err)
		}
		dbtest.CheckInvariants(f, dir)
	})
	err = q.Handle("echo", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		var in struct {
			Raw  []byte
			Kind uint8
		}
		if err := m.Decode(&in); err != nil {
			return nil, err
		}
		return resultKinds[in.Kind](in.Raw), nil
	}, &queuesqlite.HandlerOpts{MaxAttempts: 3})
	if err != nil {
		f.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte, kind uint8) {
		kind %= uint8(len(resultKinds))
		ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
		defer cancel()
		id, err := q.Send(ctx, queuesqlite.NewMessage("echo", map[string]any{"Raw": raw, "Kind": kind}), nil)
		if err != nil {
			t.Fatal(err)
		}
		m, err := q.Wait(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, m, raw, kind)
	})
}

func checkResult(t *testing.T, m *queuesqlite.Message, raw []byte, kind uint8) {
	t.Helper()
	show := base64.StdEncoding.EncodeToString(raw)
	if kind >= 2 { // Go values: always encodable
		var back any
		if m.Status != queuesqlite.StatusCompleted || m.DecodeResult(&back) != nil {
			t.Fatalf("kind %d of %s: %s %q, error %q", kind, show, m.Status, m.Result, m.LastError)
		}
		want, _ := json.Marshal(resultKinds[kind](raw))
		if !bytes.Equal(m.Result, want) {
			t.Fatalf("kind %d of %s: stored %q, want %q", kind, show, m.Result, want)
		}
		return
	}
	if !json.Valid(raw) {
		if m.Status != queuesqlite.StatusFailed || m.Attempt != 1 || !strings.Contains(m.LastError, "encode result") {
			t.Fatalf("invalid JSON result %s: %s after %d attempts, error %q; want failed at once", show, m.Status, m.Attempt, m.LastError)
		}
		return
	}
	want := raw
	if string(raw) == "null" {
		want = nil // JSON null is stored as no result
	}
	if m.Status != queuesqlite.StatusCompleted || !bytes.Equal(m.Result, want) {
		t.Fatalf("JSON result %s: %s, stored %q, want %q", show, m.Status, m.Result, want)
	}
}
