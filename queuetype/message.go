package queuetype

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// TypeTask is the type of a message sent to a handler.
const TypeTask = "task"

// SourceDefault is the source recorded when a sender names none.
const SourceDefault = "client"

// MaxIDLength bounds a caller-chosen message id.
const MaxIDLength = 256

// Limits of what a message and the listen data may hold; larger values are
// refused with ErrInvalidArgument. Lengths are in bytes.
const (
	MaxDestinationLength = 256  // a destination (handler name)
	MaxListenKeyLength   = 1024 // a listen key or listen prefix
	MaxTags              = 100  // tags per message
	MaxTagLength         = 256  // one tag
	MaxDependencies      = 100  // ids in one message's DependsOn
)

// Times a message may carry (RunAt, ExpireAt, and those Delay and TTL
// give): from the Unix epoch to the end of year 9999, UTC. Times are stored
// as unix microseconds; outside this range they would not round-trip (year
// 300000 overflows and would run, or expire, at once).
var (
	MinTime = time.Unix(0, 0).UTC()
	MaxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// Message is one unit of work: its content, where it goes, and everything the
// queue knows about running it. The same type is what Send takes, what a
// handler receives and what Get returns.
//
// Fields marked "set by the sender" may be filled before Send; the others are
// set by the queue and ignored on Send.
type Message struct {
	ID          string          // set by the sender or generated (UUIDv7) when empty
	Type        string          // "task"
	Status      Status          // set by the queue
	Destination string          // set by the sender: the handler name; required
	Source      string          // set by the sender: who sent it; "client" when empty
	Content     json.RawMessage // set by the sender: the JSON payload; required
	Result      json.RawMessage // the handler's JSON result, once completed
	Priority    Priority        // set by the sender: Low, Normal (default via NewMessage), High, Urgent
	CreatedAt   time.Time       // UTC
	UpdatedAt   time.Time       // UTC
	RunAt       time.Time       // set by the sender: earliest start (zero = now + Delay)
	ExpireAt    time.Time       // set by the sender: never start after this (zero = no expiry)
	FinishedAt  time.Time       // when it reached a terminal status
	Attempt     int             // attempts started so far
	MaxAttempts int             // set by the sender: 0 = the handler's (or the queue's) default
	RetryCount  int             // attempts that failed and were scheduled again
	LastError   string          // the error of the latest failed attempt, with a stack for panics
	Tags        []string        // set by the sender: free-form labels
	Metadata    json.RawMessage // set by the sender: a JSON object of extra data
	LeaseOwner  string          // the worker holding it while processing
	LeaseExpiry time.Time       // when that lease runs out unless renewed, by the owner's clock (for display; rescue follows the owner's heartbeat)
	ShardKey    string          // set by the sender: messages with one key share a shard and keep order

	// DependsOn, set by the sender, names messages (by id) that must
	// complete before this one becomes ready: until then it is stored
	// waiting (status scheduled). A dependency that fails fails it; one
	// cancelled or expired cancels it (see driver.DependencyStore). Each
	// must be stored already, or come earlier in the same batch. At most
	// MaxDependencies, each a valid id, none the message's own. It is used
	// at send time only: it is not read back by Get or List.
	DependsOn []string

	// Unique, set by the sender, refuses duplicates of this message while
	// one is stored (see UniqueOpts). It is used at send time only: it is
	// not read back by Get or List.
	Unique *UniqueOpts

	// Delay and TTL are send-time conveniences: when RunAt (ExpireAt) is
	// zero, Send sets it to now + Delay (now + TTL). They are not stored.
	Delay time.Duration
	TTL   time.Duration

	// Seq orders messages within one storage shard (send order). Drivers set
	// it; callers should not rely on its value (a sharded store encodes the
	// shard in it, see package driver/shard).
	Seq int64
	// Shard is the index of the storage shard holding the message, for
	// display only (Get, the CLI, the HTTP API): the queue does not read it.
	// A sharded store sets it on every message it returns; it is 0 for a
	// store of one shard.
	Shard int

	// history is the attempt history (Errors), when it was read.
	history *attemptHistory

	err error // a content encoding error from NewMessage, reported by Send
	// checked is the content NewMessage produced and knows to be valid
	// JSON, so Validate does not scan it again while Content is still that
	// slice (a changed Content is checked; bytes changed in place are not,
	// until the claim's decode finds them, which fails the message).
	checked []byte
}

// NewMessage builds a message for destination with content encoded as JSON
// and Normal priority. A content value that cannot be encoded makes Send fail
// with ErrInvalidArgument. A json.RawMessage or []byte is taken as already
// encoded JSON; nil is the JSON document null.
func NewMessage(destination string, content any) *Message {
	m := &Message{Destination: destination, Priority: PriorityNormal}
	if content == nil {
		m.Content = json.RawMessage("null")
		return m
	}
	m.Content, m.err = encodeJSON(content)
	if m.err == nil {
		m.checked = m.Content
	}
	return m
}

// sameSlice reports whether a and b are the same bytes of memory.
func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

// SetMetadata encodes v as the message's metadata (a JSON object) and returns m.
func (m *Message) SetMetadata(v any) *Message {
	raw, err := encodeJSON(v)
	if err != nil && m.err == nil {
		m.err = fmt.Errorf("metadata: %w", err)
	}
	m.Metadata = raw
	return m
}

// Decode unmarshals the message content into v.
func (m *Message) Decode(v any) error {
	if err := json.Unmarshal(m.Content, v); err != nil {
		return fmt.Errorf("decode content of message %s: %w", m.ID, err)
	}
	return nil
}

// DecodeResult unmarshals the message result into v.
func (m *Message) DecodeResult(v any) error {
	if len(m.Result) == 0 {
		return fmt.Errorf("message %s has no result (status %s)", m.ID, m.Status)
	}
	if err := json.Unmarshal(m.Result, v); err != nil {
		return fmt.Errorf("decode result of message %s: %w", m.ID, err)
	}
	return nil
}

// Validate reports what is wrong with a message about to be sent, wrapping
// ErrInvalidArgument; nil if it can be stored as it is.
func (m *Message) Validate() error {
	if m == nil {
		return fmt.Errorf("%w: nil message", ErrInvalidArgument)
	}
	if m.err != nil {
		return fmt.Errorf("%w: content: %v", ErrInvalidArgument, m.err)
	}
	if err := ValidateDestination(m.Destination); err != nil {
		return err
	}
	if len(m.ID) > MaxIDLength {
		return fmt.Errorf("%w: message id longer than %d bytes", ErrInvalidArgument, MaxIDLength)
	}
	if !m.Priority.Valid() {
		return fmt.Errorf("%w: unknown priority %d (want 0..3: low, normal, high, urgent)", ErrInvalidArgument, int(m.Priority))
	}
	if len(m.Content) == 0 || (!sameSlice(m.checked, m.Content) && !ValidJSON(m.Content)) {
		return fmt.Errorf("%w: content of message to %q is not valid JSON", ErrInvalidArgument, m.Destination)
	}
	if len(m.Metadata) > 0 && !isJSONObject(m.Metadata) {
		return fmt.Errorf("%w: metadata must be a JSON object", ErrInvalidArgument)
	}
	if m.MaxAttempts < 0 || m.Delay < 0 || m.TTL < 0 {
		return fmt.Errorf("%w: negative max attempts, delay or TTL", ErrInvalidArgument)
	}
	if err := validateTags(m.Tags); err != nil {
		return err
	}
	if err := validateUnique(m.Unique); err != nil {
		return err
	}
	if err := m.ValidateDependsOn(); err != nil {
		return err
	}
	return m.ValidateTimes()
}

// ValidateTimes reports a RunAt or ExpireAt (when set) outside MinTime ..
// MaxTime, wrapping ErrInvalidArgument. Send checks it again once Delay and
// TTL have been turned into times.
func (m *Message) ValidateTimes() error {
	if err := validateTime("RunAt", &m.RunAt); err != nil {
		return err
	}
	return validateTime("ExpireAt", &m.ExpireAt)
}

// validateTime reports a time t (when set) outside MinTime .. MaxTime.
func validateTime(name string, t *time.Time) error {
	if t.IsZero() || !t.Before(MinTime) && !t.After(MaxTime) {
		return nil
	}
	return fmt.Errorf("%w: %s %v is outside %v .. %v", ErrInvalidArgument, name, *t,
		MinTime.Format(time.RFC3339), MaxTime.Format(time.RFC3339))
}

// ValidateDependsOn reports a DependsOn with more than MaxDependencies
// ids, an empty or too long id, an id listed twice or the message's own id
// (when it has one), wrapping ErrInvalidArgument.
func (m *Message) ValidateDependsOn() error {
	if len(m.DependsOn) > MaxDependencies {
		return fmt.Errorf("%w: %d dependencies, more than %d", ErrInvalidArgument, len(m.DependsOn), MaxDependencies)
	}
	seen := make(map[string]bool, len(m.DependsOn))
	for i, id := range m.DependsOn {
		switch {
		case id == "" || len(id) > MaxIDLength:
			return fmt.Errorf("%w: dependency %d: an id of 1..%d bytes is required (got %d)", ErrInvalidArgument, i, MaxIDLength, len(id))
		case id == m.ID:
			return fmt.Errorf("%w: message %q depends on itself", ErrInvalidArgument, id)
		case seen[id]:
			return fmt.Errorf("%w: dependency %q is listed twice", ErrInvalidArgument, id)
		}
		seen[id] = true
	}
	return nil
}

// ValidateDestination reports an empty or too long destination (handler
// name), wrapping ErrInvalidArgument.
func ValidateDestination(name string) error {
	if name == "" {
		return fmt.Errorf("%w: message has no destination (the handler name)", ErrInvalidArgument)
	}
	if len(name) > MaxDestinationLength {
		return fmt.Errorf("%w: destination of %d bytes, longer than %d", ErrInvalidArgument, len(name), MaxDestinationLength)
	}
	return nil
}

// ValidateListenKey reports a listen key (or prefix) longer than
// MaxListenKeyLength, wrapping ErrInvalidArgument.
func ValidateListenKey(key string) error {
	if len(key) > MaxListenKeyLength {
		return fmt.Errorf("%w: listen key of %d bytes, longer than %d", ErrInvalidArgument, len(key), MaxListenKeyLength)
	}
	return nil
}

// validateTags refuses more than MaxTags tags, tags longer than
// MaxTagLength and tags that are not valid UTF-8 (JSON would silently turn
// their bytes into U+FFFD).
func validateTags(tags []string) error {
	if len(tags) > MaxTags {
		return fmt.Errorf("%w: %d tags, more than %d", ErrInvalidArgument, len(tags), MaxTags)
	}
	for i, tag := range tags {
		switch {
		case len(tag) > MaxTagLength:
			return fmt.Errorf("%w: tag %d is %d bytes, longer than %d", ErrInvalidArgument, i, len(tag), MaxTagLength)
		case !utf8.ValidString(tag):
			return fmt.Errorf("%w: tag %d (%q) is not valid UTF-8", ErrInvalidArgument, i, tag)
		}
	}
	return nil
}

// Clone returns a deep copy of m.
func (m *Message) Clone() *Message {
	c := *m
	c.Content = bytes.Clone(m.Content)
	c.Result = bytes.Clone(m.Result)
	c.Metadata = bytes.Clone(m.Metadata)
	if m.Tags != nil {
		c.Tags = append([]string(nil), m.Tags...)
	}
	if m.DependsOn != nil {
		c.DependsOn = append([]string(nil), m.DependsOn...)
	}
	if m.history != nil {
		c.history = &attemptHistory{errors: append([]AttemptError(nil), m.history.errors...)}
	}
	if m.Unique != nil {
		u := *m.Unique
		u.States = append([]Status(nil), m.Unique.States...)
		c.Unique = &u
	}
	return &c
}

func encodeJSON(v any) (json.RawMessage, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return validRaw(x)
	case []byte:
		return validRaw(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return b, nil
}

func validRaw(b []byte) (json.RawMessage, error) {
	if !ValidJSON(b) {
		return nil, fmt.Errorf("not valid JSON")
	}
	return json.RawMessage(b), nil
}

// EncodeJSON encodes v like NewMessage encodes content: raw JSON is checked
// and kept, anything else goes through encoding/json.
func EncodeJSON(v any) (json.RawMessage, error) { return encodeJSON(v) }

func isJSONObject(b []byte) bool {
	if !ValidJSON(b) {
		return false
	}
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' || string(b) == "null"
}

// StoredProblems lists what is wrong with a message as a backend read it
// from storage, other than its tags: each column must hold what the queue
// itself writes there (JSON content and result, a JSON object of metadata,
// a known status and priority). A row a foreign tool or a damaged byte left
// otherwise gives one entry per bad column; nil when sound.
func (m *Message) StoredProblems() []string {
	var problems []string
	if !ValidJSON(m.Content) {
		problems = append(problems, "column content is not valid JSON")
	}
	if len(m.Result) > 0 && !ValidJSON(m.Result) {
		problems = append(problems, "column result is not valid JSON")
	}
	if b := bytes.TrimSpace(m.Metadata); len(b) > 0 && (b[0] != '{' || !ValidJSON(b)) {
		problems = append(problems, "column metadata is not a JSON object")
	}
	if !m.Status.Valid() {
		problems = append(problems, fmt.Sprintf("column status holds the unknown status %d", int(m.Status)))
	}
	if !m.Priority.Valid() {
		problems = append(problems, fmt.Sprintf("column priority holds the unknown priority %d", int(m.Priority)))
	}
	return problems
}
