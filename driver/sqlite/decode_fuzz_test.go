package sqlite

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"strings"
	"testing"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// FuzzDecodeMessage decodes rows as a damaged or foreign file might hold
// them (any bytes in the text columns, strings or blobs, odd numbers):
// decodeMessage never panics, always returns the message as far as it reads,
// and fails exactly when a column does not hold what the queue writes there
// (tags a JSON array of strings, content JSON, metadata a JSON object, a
// known status), naming that column.
func FuzzDecodeMessage(f *testing.F) {
	f.Add(int64(1), "id-1", int64(2), []byte(`{"a":1}`), []byte(`["x","y"]`), []byte(`{"m":1}`), int64(1700000000000000), false)
	f.Add(int64(-1), "", int64(99), []byte(``), []byte(`[1]`), []byte(`null`), int64(-1), true)
	f.Add(int64(0), "\xff", int64(-5), []byte("\x00"), []byte(`{`), []byte("\xff"), int64(1<<62), true)
	f.Fuzz(func(t *testing.T, seq int64, id string, status int64, content, tags, metadata []byte, when int64, asBlob bool) {
		text := func(b []byte) driver.Value {
			if asBlob {
				return b
			}
			return string(b)
		}
		var tagsVal driver.Value
		if len(tags) > 0 {
			tagsVal = text(tags)
		}
		vals := []driver.Value{seq, id, "task", status, "dest", "client", text(content), nil, int64(1),
			when, when, when, nil, when, int64(1), int64(3), int64(0), nil, tagsVal, text(metadata),
			nil, when, nil, nil}
		m, err := decodeMessage(vals)
		var want []string
		bad := map[string]bool{
			"tags":     len(tags) > 0 && json.Unmarshal(tags, &want) != nil,
			"content":  !json.Valid(content),
			"metadata": len(metadata) > 0 && !jsonObject(metadata),
			"status":   !queuetype.Status(status).Valid(),
		}
		wantErr := bad["tags"] || bad["content"] || bad["metadata"] || bad["status"]
		if (err != nil) != wantErr {
			t.Fatalf("decode with tags %q content %q metadata %q status %d: %v (want error: %t)", tags, content, metadata, status, err, wantErr)
		}
		for column, isBad := range bad {
			if isBad && !strings.Contains(err.Error(), "column "+column) {
				t.Fatalf("error %q does not name the bad column %s", err, column)
			}
		}
		if m == nil || m.Seq != seq || m.ID != id || string(m.Content) != string(content) || m.CreatedAt.UnixMicro() != when {
			t.Fatalf("decoded %+v from seq %d id %q content %q time %d", m, seq, id, content, when)
		}
	})
}

// jsonObject reports whether b is a JSON object, as the decoder requires
// of stored metadata.
func jsonObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}
