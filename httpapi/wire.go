package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// messageJSON is a message as responses show it. Absent values are null;
// times are RFC 3339 UTC; status and priority are names.
type messageJSON struct {
	ID             string          `json:"id"`
	Type           string          `json:"type"`
	Status         string          `json:"status"`
	Destination    string          `json:"destination"`
	Source         string          `json:"source"`
	Content        json.RawMessage `json:"content"`
	Result         json.RawMessage `json:"result"`
	Priority       string          `json:"priority"`
	CreatedAt      *time.Time      `json:"created_at"`
	UpdatedAt      *time.Time      `json:"updated_at"`
	RunAt          *time.Time      `json:"run_at"`
	ExpireAt       *time.Time      `json:"expire_at"`
	FinishedAt     *time.Time      `json:"finished_at"`
	Attempt        int             `json:"attempt"`
	MaxAttempts    int             `json:"max_attempts"`
	RetryCount     int             `json:"retry_count"`
	LastError      *string         `json:"last_error"`
	Tags           []string        `json:"tags"`
	Metadata       json.RawMessage `json:"metadata"`
	LeaseOwner     *string         `json:"lease_owner"`
	LeaseExpiresAt *time.Time      `json:"lease_expires_at"`
	ShardKey       *string         `json:"shard_key"`
	Shard          int             `json:"shard"`
	// Errors is the attempt history: in the answers of get and wait
	// (which read it), left out of lists and of cancel and retry.
	Errors *[]attemptErrorJSON `json:"errors,omitempty"`
}

func toMessageJSON(m *queuesqlite.Message) messageJSON {
	tags := m.Tags
	if tags == nil {
		tags = []string{}
	}
	return messageJSON{
		ID: m.ID, Type: m.Type, Status: m.Status.String(), Destination: m.Destination, Source: m.Source,
		Content: rawOrNull(m.Content), Result: rawOrNull(m.Result), Priority: m.Priority.String(),
		CreatedAt: timeOrNull(m.CreatedAt), UpdatedAt: timeOrNull(m.UpdatedAt), RunAt: timeOrNull(m.RunAt),
		ExpireAt: timeOrNull(m.ExpireAt), FinishedAt: timeOrNull(m.FinishedAt),
		Attempt: m.Attempt, MaxAttempts: m.MaxAttempts, RetryCount: m.RetryCount, LastError: strOrNull(m.LastError),
		Tags: tags, Metadata: rawOrNull(m.Metadata), LeaseOwner: strOrNull(m.LeaseOwner),
		LeaseExpiresAt: timeOrNull(m.LeaseExpiry), ShardKey: strOrNull(m.ShardKey), Shard: m.Shard,
		Errors: toAttemptErrorsJSON(m),
	}
}

func toMessagesJSON(ms []*queuesqlite.Message) []messageJSON {
	out := make([]messageJSON, len(ms))
	for i, m := range ms {
		out[i] = toMessageJSON(m)
	}
	return out
}

func rawOrNull(b []byte) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

func timeOrNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func strOrNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// sendJSON is one message to send: every field a sender may set.
type sendJSON struct {
	ID           string          `json:"id"`
	Destination  string          `json:"destination"`
	Content      json.RawMessage `json:"content"`
	Priority     priorityJSON    `json:"priority"`
	Source       string          `json:"source"`
	RunAt        *time.Time      `json:"run_at"`
	ExpireAt     *time.Time      `json:"expire_at"`
	DelaySeconds *float64        `json:"delay_seconds"`
	TTLSeconds   *float64        `json:"ttl_seconds"`
	MaxAttempts  int             `json:"max_attempts"`
	Tags         []string        `json:"tags"`
	Metadata     json.RawMessage `json:"metadata"`
	ShardKey     string          `json:"shard_key"`
	DependsOn    []string        `json:"depends_on"`
}

// priorityJSON accepts a priority by name ("high") or number (2); absent
// is normal.
type priorityJSON struct {
	p   queuesqlite.Priority
	set bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (p *priorityJSON) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err == nil {
		v, err := queuesqlite.ParsePriority(name)
		if err != nil {
			return badRequest(fmt.Sprintf("priority %q: want low, normal, high or urgent (or 0..3)", name))
		}
		p.p, p.set = v, true
		return nil
	}
	n, err := strconv.Atoi(string(b))
	if err != nil || !queuesqlite.Priority(n).Valid() {
		return badRequest("priority: want low, normal, high or urgent (or 0..3)")
	}
	p.p, p.set = queuesqlite.Priority(n), true
	return nil
}

// toMessage validates s and builds the message to send.
func (s *sendJSON) toMessage() (*queuesqlite.Message, error) {
	if len(s.Content) == 0 {
		return nil, badRequest("content is required (any JSON value)")
	}
	if s.RunAt != nil && s.DelaySeconds != nil {
		return nil, badRequest("give run_at or delay_seconds, not both")
	}
	if s.ExpireAt != nil && s.TTLSeconds != nil {
		return nil, badRequest("give expire_at or ttl_seconds, not both")
	}
	if s.MaxAttempts < 0 {
		return nil, badRequest("max_attempts must be 0 (the default) or more")
	}
	for _, tag := range s.Tags {
		if tag == "" {
			return nil, badRequest("tags must not be empty strings")
		}
	}
	delay, err := secondsField("delay_seconds", s.DelaySeconds)
	if err != nil {
		return nil, err
	}
	ttl, err := secondsField("ttl_seconds", s.TTLSeconds)
	if err != nil {
		return nil, err
	}
	m := queuesqlite.NewMessage(s.Destination, json.RawMessage(s.Content))
	if s.Priority.set {
		m.Priority = s.Priority.p
	}
	m.ID, m.Source, m.MaxAttempts, m.Tags, m.ShardKey = s.ID, s.Source, s.MaxAttempts, s.Tags, s.ShardKey
	m.DependsOn = s.DependsOn
	m.Delay, m.TTL = delay, ttl
	if s.RunAt != nil {
		m.RunAt = s.RunAt.UTC()
	}
	if s.ExpireAt != nil {
		m.ExpireAt = s.ExpireAt.UTC()
	}
	if len(s.Metadata) > 0 && string(s.Metadata) != "null" {
		m.Metadata = s.Metadata
	}
	return m, m.Validate()
}

// Listen value kinds on the wire.
const (
	kindText  = "text"
	kindJSON  = "json"
	kindBytes = "bytes"
)

var kindNames = map[queuetype.ValueKind]string{
	queuetype.ValueText: kindText, queuetype.ValueJSON: kindJSON, queuetype.ValueBytes: kindBytes,
}

// valueJSON is a listen value: text as a JSON string, JSON as itself, bytes
// as a base64 string.
type valueJSON struct {
	Kind  string          `json:"kind"`
	Value json.RawMessage `json:"value"`
}

func toValueJSON(v *queuesqlite.Value) *valueJSON {
	if v == nil {
		return nil
	}
	out := &valueJSON{Kind: kindNames[v.Kind]}
	switch v.Kind {
	case queuetype.ValueJSON:
		out.Value = rawOrNull(v.Raw)
	case queuetype.ValueBytes:
		out.Value, _ = json.Marshal(base64.StdEncoding.EncodeToString(v.Raw))
	default:
		out.Value, _ = json.Marshal(string(v.Raw))
	}
	return out
}

// fromValueJSON is the value to store for a set request: kind "text" needs
// a JSON string, "bytes" a base64 string, "json" any JSON; with no kind a
// JSON string is text and anything else JSON (as a Go string or value
// would be stored by SetListenData).
func fromValueJSON(in valueJSON) (any, error) {
	if len(in.Value) == 0 {
		return nil, badRequest("value is required")
	}
	var s string
	isString := json.Unmarshal(in.Value, &s) == nil
	switch {
	case in.Kind == kindText || (in.Kind == "" && isString):
		if !isString {
			return nil, badRequest(`kind "text" needs a JSON string value`)
		}
		return s, nil
	case in.Kind == kindBytes:
		b, err := base64.StdEncoding.DecodeString(s)
		if !isString || err != nil {
			return nil, badRequest(`kind "bytes" needs a base64 string value`)
		}
		return b, nil
	case in.Kind == kindJSON || in.Kind == "":
		var buf bytes.Buffer
		if err := json.Compact(&buf, in.Value); err != nil {
			return nil, badRequest("value is not valid JSON")
		}
		return json.RawMessage(buf.Bytes()), nil
	}
	return nil, badRequest(fmt.Sprintf("kind %q: want text, json or bytes", in.Kind))
}

// entryJSON is one key of the listen data.
type entryJSON struct {
	Key       string          `json:"key"`
	Kind      string          `json:"kind"`
	Value     json.RawMessage `json:"value"`
	Version   int64           `json:"version"`
	UpdatedAt *time.Time      `json:"updated_at"`
}

func toEntryJSON(e *queuesqlite.ListenEntry) entryJSON {
	v := toValueJSON(&e.Value)
	return entryJSON{Key: e.Key, Kind: v.Kind, Value: v.Value, Version: e.Version, UpdatedAt: timeOrNull(e.UpdatedAt)}
}

// changeJSON is one change of listen data; old is null for a new key, new
// null for a deletion.
type changeJSON struct {
	Seq  int64      `json:"seq"`
	Key  string     `json:"key"`
	Old  *valueJSON `json:"old"`
	New  *valueJSON `json:"new"`
	Time *time.Time `json:"time"`
}

func toChangeJSON(c *queuesqlite.Change) *changeJSON {
	if c == nil {
		return nil
	}
	return &changeJSON{Seq: c.Seq, Key: c.Key, Old: toValueJSON(c.Old), New: toValueJSON(c.New), Time: timeOrNull(c.Time)}
}
