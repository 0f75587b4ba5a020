package sqlite

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
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

// insertArgs returns the parameters of sqlInsert for m.
func insertArgs(m *queuetype.Message, callbackOwner string) ([]any, error) {
	tags, err := encodeTags(m.Tags)
	if err != nil {
		return nil, err
	}
	return []any{
		m.ID, m.Type, int64(m.Status), m.Destination, m.Source, string(m.Content),
		int64(m.Priority), micros(m.CreatedAt), micros(m.RunAt), nullMicros(m.ExpireAt),
		int64(m.MaxAttempts), tags, nullJSON(m.Metadata), nullText(m.ShardKey), nullText(callbackOwner),
	}, nil
}

// decodeMessage reads one row in messageColumns order. Values are what the
// driver returns: int64, float64, string, []byte or nil.
func decodeMessage(v []driver.Value) (*queuetype.Message, error) {
	if len(v) != 24 {
		return nil, fmt.Errorf("decode message: %d columns, want 24", len(v))
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
	if tags := asBytes(v[18]); len(tags) > 0 {
		if err := json.Unmarshal(tags, &m.Tags); err != nil {
			return nil, fmt.Errorf("decode tags of message %s: %w", m.ID, err)
		}
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
