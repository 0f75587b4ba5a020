package sqlite

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// micros encodes a time as UTC unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

// nullMicros encodes a time, or NULL for the zero time.
func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// nullText encodes a string, or NULL for "".
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullJSON encodes raw JSON as text, or NULL when absent or JSON null.
func nullJSON(b []byte) any {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return string(b)
}

func encodeTags(tags []string) (any, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(tags)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// insertArgs returns the parameters of sqlInsert for m. A message without
// MaxAttempts stores standIn, marked unset, for its worker to resolve.
func insertArgs(m *queuetype.Message, callbackOwner string, standIn int) ([]any, error) {
	tags, err := encodeTags(m.Tags)
	if err != nil {
		return nil, err
	}
	maxAttempts, unset, err := storedMaxAttempts(m, standIn)
	if err != nil {
		return nil, err
	}
	return []any{
		m.ID, m.Type, int64(m.Status), m.Destination, m.Source, string(m.Content),
		int64(m.Priority), micros(m.CreatedAt), micros(m.RunAt), nullMicros(m.ExpireAt),
		maxAttempts, tags, nullJSON(m.Metadata), nullText(m.ShardKey), nullText(callbackOwner), unset,
	}, nil
}

// storedMaxAttempts returns the max_attempts and max_attempts_unset columns
// for m: its own MaxAttempts, or standIn marked unset when it has none.
func storedMaxAttempts(m *queuetype.Message, standIn int) (maxAttempts, unset int64, err error) {
	if m.MaxAttempts > 0 {
		return int64(m.MaxAttempts), 0, nil
	}
	if standIn <= 0 {
		return 0, 0, fmt.Errorf("%w: message %q has no MaxAttempts and the insert no MaxAttemptsDefault",
			queuetype.ErrInvalidArgument, m.ID)
	}
	return int64(standIn), 1, nil
}

// messageColumnCount is the number of columns in messageColumns.
const messageColumnCount = 24

// decodeMessage reads one row in messageColumns order, optionally followed
// by attempt_errors (then the message carries its history, see
// Message.Errors). Values are what the
// driver returns: int64, float64, string, []byte or nil. A row that a
// foreign tool or a damaged byte left undecodable (text columns that are not
// the JSON they must hold, an unknown status or priority) gives an error
// naming the message and every bad column, wrapping ErrCorrupt; the message
// is then still returned as far as it could be read (tags that do not decode
// are left out, the other columns as stored), so one bad row can be dealt
// with alone.
func decodeMessage(v []driver.Value) (*queuetype.Message, error) {
	if len(v) != messageColumnCount && len(v) != messageColumnCount+1 {
		return nil, fmt.Errorf("decode message: %d columns, want %d (or %d with attempt_errors)", len(v), messageColumnCount, messageColumnCount+1)
	}
	m := &queuetype.Message{
		Seq:         asInt(v[0]),
		ID:          asString(v[1]),
		Type:        asString(v[2]),
		Status:      queuetype.Status(asInt(v[3])),
		Destination: asString(v[4]),
		Source:      asString(v[5]),
		Content:     asBytes(v[6]),
		Result:      asBytes(v[7]),
		Priority:    queuetype.Priority(asInt(v[8])),
		CreatedAt:   asTime(v[9]),
		UpdatedAt:   asTime(v[10]),
		RunAt:       asTime(v[11]),
		ExpireAt:    asTime(v[12]),
		FinishedAt:  asTime(v[13]),
		Attempt:     int(asInt(v[14])),
		MaxAttempts: int(asInt(v[15])),
		RetryCount:  int(asInt(v[16])),
		LastError:   asString(v[17]),
		Metadata:    asBytes(v[19]),
		LeaseOwner:  asString(v[20]),
		LeaseExpiry: asTime(v[21]),
		ShardKey:    asString(v[22]),
	}
	if len(v) > messageColumnCount {
		m.SetErrors(decodeAttemptErrors(asBytes(v[messageColumnCount])))
	}
	var problems []string
	if tags := asBytes(v[18]); len(tags) > 0 {
		if err := json.Unmarshal(tags, &m.Tags); err != nil {
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

func asInt(v driver.Value) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	}
	return 0
}

func asString(v driver.Value) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

func asBytes(v driver.Value) []byte {
	switch x := v.(type) {
	case string:
		return []byte(x)
	case []byte:
		return append([]byte(nil), x...)
	}
	return nil
}

func asTime(v driver.Value) time.Time {
	if x, ok := v.(int64); ok {
		return time.UnixMicro(x).UTC()
	}
	return time.Time{}
}
