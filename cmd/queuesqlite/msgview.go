package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// messageJSON is a message in the --json output of get, list and tail: every
// field, times in RFC 3339 (UTC), absent times left out.
type messageJSON struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	Status      string          `json:"status"`
	Destination string          `json:"destination"`
	Source      string          `json:"source"`
	Priority    string          `json:"priority"`
	Content     json.RawMessage `json:"content"`
	Result      json.RawMessage `json:"result,omitempty"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
	Tags        []string        `json:"tags"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"max_attempts"`
	RetryCount  int             `json:"retry_count"`
	LastError   string          `json:"last_error,omitempty"`
	LeaseOwner  string          `json:"lease_owner,omitempty"`
	LeaseExpiry *time.Time      `json:"lease_expiry,omitempty"`
	ShardKey    string          `json:"shard_key,omitempty"`
	Shard       int             `json:"shard"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	RunAt       time.Time       `json:"run_at"`
	ExpireAt    *time.Time      `json:"expire_at,omitempty"`
	FinishedAt  *time.Time      `json:"finished_at,omitempty"`
	// Errors is the attempt history, when it was read (get).
	Errors []queuesqlite.AttemptError `json:"errors,omitempty"`
}

func messageView(m *queuesqlite.Message) messageJSON {
	tags := m.Tags
	if tags == nil {
		tags = []string{}
	}
	return messageJSON{ID: m.ID, Type: m.Type, Status: m.Status.String(), Destination: m.Destination,
		Source: m.Source, Priority: m.Priority.String(), Content: rawOrNull(m.Content), Result: m.Result,
		Metadata: m.Metadata, Tags: tags, Attempt: m.Attempt, MaxAttempts: m.MaxAttempts,
		RetryCount: m.RetryCount, LastError: m.LastError, LeaseOwner: m.LeaseOwner,
		LeaseExpiry: optTime(m.LeaseExpiry), ShardKey: m.ShardKey, Shard: m.Shard,
		CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC(), RunAt: m.RunAt.UTC(),
		ExpireAt: optTime(m.ExpireAt), FinishedAt: optTime(m.FinishedAt), Errors: m.Errors()}
}

// rawOrNull keeps the JSON document null for an empty content, which
// json.RawMessage cannot encode.
func rawOrNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

// optTime is t in UTC, or nil for the zero time.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// writeJSONLine writes v as one line of JSON (JSON Lines), escaped like
// writeJSON.
func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, escapeJSON(b)+"\n")
	return err
}

// timeText formats t for a human, or "-" for the zero time.
func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// statusNames parses --status values: each may be a comma list; names as
// Status.String prints them, case-insensitive.
func statusNames(values []string) ([]queuesqlite.Status, error) {
	var out []queuesqlite.Status
	for _, v := range values {
		for name := range strings.SplitSeq(v, ",") {
			s, err := queuesqlite.ParseStatus(strings.TrimSpace(name))
			if err != nil {
				return nil, fmt.Errorf("--status: unknown status \"%s\" (want one of %s)", clean(name, echoMax), allStatusNames())
			}
			out = append(out, s)
		}
	}
	return out, nil
}

func allStatusNames() string {
	var names []string
	for _, s := range statusOrder {
		names = append(names, s.String())
	}
	return strings.Join(names, ", ")
}

// parseWhen parses a --since/--until value: an RFC 3339 time, or a positive
// duration meaning that long before now.
func parseWhen(flag, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%s: \"%s\" is neither an RFC 3339 time (e.g. 2026-01-02T15:04:05Z) nor a positive duration (e.g. 1h, meaning an hour ago)",
		flag, clean(v, echoMax))
}
