package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// messageRow holds one row in messageColumns order while it is scanned.
type messageRow struct {
	seq                                 int64
	id, typ, dest, src                  string
	status, priority                    int16
	content, result, tags, metadata     []byte
	created, updated, runAt             time.Time
	expire, finished, leaseExpiry       *time.Time
	attempt, maxAttempts, retries       int32
	lastError, leaseOwner, shardKey, cb *string
}

func (r *messageRow) targets() []any {
	return []any{&r.seq, &r.id, &r.typ, &r.status, &r.dest, &r.src, &r.content, &r.result, &r.priority,
		&r.created, &r.updated, &r.runAt, &r.expire, &r.finished, &r.attempt, &r.maxAttempts, &r.retries,
		&r.lastError, &r.tags, &r.metadata, &r.leaseOwner, &r.leaseExpiry, &r.shardKey, &r.cb}
}

// message decodes the scanned row. A row a foreign tool left undecodable
// (see queuetype.Message.StoredProblems) gives an error naming the message
// and every bad column, wrapping ErrCorrupt; the message is still returned
// as far as it could be read, so one bad row can be dealt with alone.
func (r *messageRow) message() (*queuetype.Message, error) {
	m := &queuetype.Message{
		Seq: r.seq, ID: r.id, Type: r.typ, Status: queuetype.Status(r.status),
		Destination: r.dest, Source: r.src, Content: r.content, Result: r.result,
		Priority: queuetype.Priority(r.priority), CreatedAt: r.created.UTC(), UpdatedAt: r.updated.UTC(),
		RunAt: r.runAt.UTC(), ExpireAt: utc(r.expire), FinishedAt: utc(r.finished),
		Attempt: int(r.attempt), MaxAttempts: int(r.maxAttempts), RetryCount: int(r.retries),
		LastError: str(r.lastError), Metadata: r.metadata, LeaseOwner: str(r.leaseOwner),
		LeaseExpiry: utc(r.leaseExpiry), ShardKey: str(r.shardKey),
	}
	var problems []string
	if len(r.tags) > 0 && string(r.tags) != "null" {
		if err := json.Unmarshal(r.tags, &m.Tags); err != nil {
			m.Tags = nil
			problems = append(problems, "column tags is not a JSON array of strings")
		}
	}
	problems = append(problems, m.StoredProblems()...)
	if len(problems) > 0 {
		return m, fmt.Errorf("%w: message %q (seq %d) cannot be decoded: %s",
			queuetype.ErrCorrupt, m.ID, m.Seq, strings.Join(problems, "; "))
	}
	return m, nil
}

func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// scanMessages runs a row-returning statement and decodes every row. A row
// that cannot be decoded fails the read only where keep says so: keep is
// called with each message and its decode error.
func scanMessages(ctx context.Context, q querier, keep func(*queuetype.Message, error) error, query string, args ...any) ([]*queuetype.Message, error) {
	r, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []*queuetype.Message
	var row messageRow
	targets := row.targets()
	for r.Next() {
		row = messageRow{}
		if err := r.Scan(targets...); err != nil {
			return nil, err
		}
		m, derr := row.message()
		if err := keep(m, derr); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, r.Err()
}

// keepReadable keeps rows as far as they decode (reads show a bad row as
// it is stored).
func keepReadable(*queuetype.Message, error) error { return nil }

// Parameters: times are truncated to microseconds, what PostgreSQL stores;
// absent values are NULL.

func ts(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	v := ts(t)
	return &v
}

func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// nullJSON is raw JSON, or NULL when absent or JSON null.
func nullJSON(b []byte) []byte {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return b
}

// tagsJSON encodes tags as the jsonb array stored, or NULL for none.
func tagsJSON(tags []string) (*string, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(tags)
	if err != nil {
		return nil, err
	}
	s := string(b)
	return &s, nil
}
