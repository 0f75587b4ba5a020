package queuetype

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// ValueKind says how a listen value was given, so it comes back the same way.
type ValueKind int

// Value kinds.
const (
	ValueText  ValueKind = 0 // a Go string
	ValueJSON  ValueKind = 1 // JSON: json.RawMessage, or any other Go value encoded as JSON
	ValueBytes ValueKind = 2 // a []byte
)

// Value is a listen value exactly as it was set.
type Value struct {
	Kind ValueKind
	Raw  []byte
}

// NewValue makes the Value for v: a string stays text, a []byte stays
// bytes, a json.RawMessage stays JSON (it must be valid), and anything else
// is encoded as JSON.
func NewValue(v any) (Value, error) {
	switch x := v.(type) {
	case string:
		return Value{Kind: ValueText, Raw: []byte(x)}, nil
	case json.RawMessage:
		if !ValidJSON(x) {
			return Value{}, fmt.Errorf("%w: listen value is not valid JSON", ErrInvalidArgument)
		}
		return Value{Kind: ValueJSON, Raw: bytes.Clone(x)}, nil
	case []byte:
		return Value{Kind: ValueBytes, Raw: bytes.Clone(x)}, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return Value{}, fmt.Errorf("%w: listen value: %v", ErrInvalidArgument, err)
	}
	return Value{Kind: ValueJSON, Raw: b}, nil
}

// String returns the value as text (JSON and bytes as they are stored).
func (v Value) String() string { return string(v.Raw) }

// Decode unmarshals a JSON value (or a text value holding JSON) into dst.
func (v Value) Decode(dst any) error { return json.Unmarshal(v.Raw, dst) }

// Equal reports whether two values are the same kind and bytes.
func (v Value) Equal(o Value) bool { return v.Kind == o.Kind && bytes.Equal(v.Raw, o.Raw) }

// ListenEntry is one key of the listen data.
type ListenEntry struct {
	Key       string
	Value     Value
	Version   int64 // how many times the key has changed
	UpdatedAt time.Time
}

// Change is one change of listen data, as listeners receive it.
type Change struct {
	Seq  int64  // strictly increasing over all keys
	Key  string // the key that changed
	Old  *Value // nil when the key did not exist
	New  *Value // nil when the key was deleted
	Time time.Time
}

// Deleted reports whether the change removed the key.
func (c *Change) Deleted() bool { return c.New == nil }
