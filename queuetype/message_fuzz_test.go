package queuetype

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzMessage builds messages from fuzzed content, metadata and fields, as
// a sender (or a file written by someone else) might supply them: nothing
// panics, Validate accepts exactly what its documentation allows (wrapping
// ErrInvalidArgument otherwise), and an accepted message decodes and clones
// faithfully.
func FuzzMessage(f *testing.F) {
	f.Add("process_image", []byte(`{"url":"https://example.com/a.jpg"}`), []byte(`{"trace":"x"}`), "", 1, 0, "a,b")
	f.Add("job", []byte(`null`), []byte(``), "id-1", 3, 5, "")
	f.Add("", []byte(`{}`), []byte(``), "", 1, 0, "")
	f.Add("job", []byte(`{`), []byte(``), "", 1, 0, "")
	f.Add("job", []byte(``), []byte(``), "", 1, 0, "")
	f.Add("job", []byte(`1`), []byte(`[1,2]`), "", 1, 0, "")
	f.Add("job", []byte(`1`), []byte(` null `), "", 1, 0, "")
	f.Add("job", []byte(`"\xff"`), []byte("{\"\xfe\":1}"), "", 1, 0, "")
	f.Add("job", []byte(`1`), []byte(``), strings.Repeat("i", MaxIDLength+1), 1, 0, "")
	f.Add("job", []byte(`1`), []byte(``), "", 4, 0, "")
	f.Add("job", []byte(`1`), []byte(``), "", -1, -1, "")
	f.Add("job", []byte(strings.Repeat(`{"a":`, 1000)+"1"+strings.Repeat("}", 1000)), []byte(``), "", 0, 1, "")
	f.Add("job", []byte(`1`), []byte(``), "", 1, 0, "ok,\xffbad")
	f.Add("job", []byte(`1`), []byte(``), "", 1, 0, "ünïcode,日本")
	f.Add("job", []byte(`1`), []byte(``), "", 1, 0, strings.Repeat("t,", MaxTags)+"t")
	f.Add("job", []byte(`1`), []byte(``), "", 1, 0, strings.Repeat("t", MaxTagLength+1))
	f.Add(strings.Repeat("d", MaxDestinationLength), []byte(`1`), []byte(``), "", 1, 0, "")
	f.Add(strings.Repeat("d", MaxDestinationLength+1), []byte(`1`), []byte(``), "", 1, 0, "")
	f.Fuzz(func(t *testing.T, dest string, content, metadata []byte, id string, priority, maxAttempts int, tags string) {
		m := NewMessage(dest, json.RawMessage(content))
		m.ID, m.Priority, m.MaxAttempts = id, Priority(priority), maxAttempts
		m.Metadata = metadata
		if tags != "" {
			m.Tags = strings.Split(tags, ",")
		}
		err := m.Validate()
		want := dest != "" && len(dest) <= MaxDestinationLength && len(id) <= MaxIDLength && priority >= 0 &&
			priority <= 3 && maxAttempts >= 0 && json.Valid(content) && (len(metadata) == 0 || isObjectOrNull(metadata)) &&
			tagsOK(m.Tags)
		if (err == nil) != want {
			t.Fatalf("Validate() = %v, want valid=%t", err, want)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("Validate() = %v, does not wrap ErrInvalidArgument", err)
			}
			return
		}
		var v any
		if err := m.Decode(&v); err != nil {
			t.Fatalf("Decode of valid content %q: %v", content, err)
		}
		c := m.Clone()
		if !reflect.DeepEqual(c, m) || (len(m.Content) > 0 && &c.Content[0] == &m.Content[0]) {
			t.Fatalf("Clone is not a deep copy")
		}
		var r any
		m.Result = content
		if err := m.DecodeResult(&r); err != nil {
			t.Fatalf("DecodeResult of valid JSON %q: %v", content, err)
		}
	})
}

// tagsOK is what Validate documents for tags: at most MaxTags, each valid
// UTF-8 of at most MaxTagLength bytes.
func tagsOK(tags []string) bool {
	if len(tags) > MaxTags {
		return false
	}
	for _, tag := range tags {
		if len(tag) > MaxTagLength || !utf8.ValidString(tag) {
			return false
		}
	}
	return true
}

// FuzzMessage_Times sends fuzzed RunAt and ExpireAt (unix seconds plus
// nanoseconds): Validate accepts exactly the times in MinTime .. MaxTime,
// and what it accepts survives the stored unix microseconds.
func FuzzMessage_Times(f *testing.F) {
	f.Add(int64(0), int64(0), int64(0), int64(0))
	f.Add(time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), int64(0), int64(0), int64(0))
	f.Add(int64(0), int64(0), time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), int64(0))
	f.Add(MaxTime.Unix(), int64(MaxTime.Nanosecond()), MaxTime.Unix()+1, int64(0))
	f.Add(int64(-1), int64(999_999_999), int64(1), int64(0))
	f.Add(int64(-62135596800), int64(1), int64(0), int64(0)) // just after the zero time
	f.Add(int64(1<<62), int64(0), int64(-1<<62), int64(0))
	f.Fuzz(func(t *testing.T, runSec, runNsec, expSec, expNsec int64) {
		m := NewMessage("job", nil)
		m.RunAt, m.ExpireAt = time.Unix(runSec, runNsec), time.Unix(expSec, expNsec)
		if runSec == 0 && runNsec == 0 {
			m.RunAt = time.Time{}
		}
		if expSec == 0 && expNsec == 0 {
			m.ExpireAt = time.Time{}
		}
		in := func(tm time.Time) bool { return tm.IsZero() || !tm.Before(MinTime) && !tm.After(MaxTime) }
		err := m.Validate()
		if want := in(m.RunAt) && in(m.ExpireAt); (err == nil) != want {
			t.Fatalf("Validate() of RunAt %v ExpireAt %v = %v, want valid=%t", m.RunAt, m.ExpireAt, err, want)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("Validate() = %v, does not wrap ErrInvalidArgument", err)
			}
			return
		}
		for _, tm := range []time.Time{m.RunAt, m.ExpireAt} {
			if back := time.UnixMicro(tm.UnixMicro()); !tm.IsZero() && !back.Equal(tm.Truncate(time.Microsecond)) {
				t.Fatalf("accepted time %v does not survive unix microseconds: %v", tm, back)
			}
		}
	})
}

func isObjectOrNull(b []byte) bool {
	var obj map[string]json.RawMessage
	if !json.Valid(b) {
		return false // TrimSpace below also trims \v, which JSON does not allow
	}
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return true
	}
	return json.Unmarshal(b, &obj) == nil && obj != nil
}

// FuzzMessage_SetMetadata encodes fuzzed metadata objects: Validate accepts
// them and the metadata decodes back to what was set.
func FuzzMessage_SetMetadata(f *testing.F) {
	f.Add("trace", "abc")
	f.Add("", "\xff")
	f.Fuzz(func(t *testing.T, key, value string) {
		m := NewMessage("job", 1).SetMetadata(map[string]string{key: value})
		if err := m.Validate(); err != nil {
			t.Fatalf("Validate after SetMetadata: %v", err)
		}
		var back map[string]string
		if err := json.Unmarshal(m.Metadata, &back); err != nil || len(back) != 1 {
			t.Fatalf("metadata %q does not decode: %v", m.Metadata, err)
		}
	})
}

// FuzzStatusAndPriorityNames parses fuzzed names: no panic, and a name that
// parses prints back to itself (ignoring case).
func FuzzStatusAndPriorityNames(f *testing.F) {
	for _, s := range []string{"pending", "PROCESSING", "urgent", "Low", "", "status(9)", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if s, err := ParseStatus(name); err == nil {
			if !strings.EqualFold(s.String(), name) || !s.Valid() {
				t.Fatalf("ParseStatus(%q) = %v", name, s)
			}
		} else if !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("ParseStatus(%q): %v", name, err)
		}
		var p Priority
		if err := p.UnmarshalText([]byte(name)); err == nil {
			if !strings.EqualFold(p.String(), name) || !p.Valid() {
				t.Fatalf("Priority.UnmarshalText(%q) = %v", name, p)
			}
		} else if !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("Priority.UnmarshalText(%q): %v", name, err)
		}
	})
}

// Validate trusts only the content NewMessage checked: content replaced
// afterwards is checked again.
func TestValidate_ChecksContentReplacedAfterNewMessage(t *testing.T) {
	m := NewMessage("dest", json.RawMessage(`{"a":1}`))
	if err := m.Validate(); err != nil {
		t.Fatalf("valid message: %v", err)
	}
	m.Content = json.RawMessage(`{"a":`)
	if err := m.Validate(); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("content replaced by invalid JSON: %v, want ErrInvalidArgument", err)
	}
	m.Content = append(json.RawMessage(nil), `{"a":2`...)
	if err := m.Validate(); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("content replaced by a copy with invalid JSON: %v, want ErrInvalidArgument", err)
	}
	if err := NewMessage("dest", json.RawMessage(`{`)).Validate(); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("invalid raw content: %v, want ErrInvalidArgument", err)
	}
}
