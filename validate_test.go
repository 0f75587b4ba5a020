package queuesqlite_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// Item 9: times that do not fit the stored microseconds, tags that are not
// valid UTF-8 and over-long names are refused at Send, Handle, Listen and
// SetListenData with ErrInvalidArgument naming what is wrong, and nothing
// is stored.
func TestSend_OutOfRangeTimesTagsAndNamesAreRefused(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	ctx := context.Background()
	far := time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC)
	msg := func(edit func(m *queuesqlite.Message)) *queuesqlite.Message {
		m := queuesqlite.NewMessage("job", 1)
		edit(m)
		return m
	}
	cases := []struct {
		name string
		m    *queuesqlite.Message
		want string // in the error
	}{
		{"RunAt in year 300000", msg(func(m *queuesqlite.Message) { m.RunAt = far }), "RunAt"},
		{"ExpireAt in year 300000", msg(func(m *queuesqlite.Message) { m.ExpireAt = far }), "ExpireAt"},
		{"RunAt before 1970", msg(func(m *queuesqlite.Message) { m.RunAt = time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC) }), "RunAt"},
		{"tag not UTF-8", msg(func(m *queuesqlite.Message) { m.Tags = []string{"ok", "bad\xff"} }), "UTF-8"},
		{"too many tags", msg(func(m *queuesqlite.Message) { m.Tags = make([]string, queuesqlite.MaxTags+1) }), "tags"},
		{"tag too long", msg(func(m *queuesqlite.Message) { m.Tags = []string{strings.Repeat("t", queuesqlite.MaxTagLength+1)} }), "tag 0"},
		{"destination too long", queuesqlite.NewMessage(strings.Repeat("d", queuesqlite.MaxDestinationLength+1), 1), "destination"},
	}
	for _, c := range cases {
		_, err := q.Send(ctx, c.m, nil)
		if !errors.Is(err, queuesqlite.ErrInvalidArgument) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Send error %v, want ErrInvalidArgument naming %q", c.name, err, c.want)
		}
	}
	if st, err := q.Stats(ctx); err != nil || len(st.ByDestination) != 0 {
		t.Fatalf("refused sends stored something: %+v, %v", st, err)
	}

	// The edges of the range are stored and come back as they were.
	edge := msg(func(m *queuesqlite.Message) { m.RunAt, m.ExpireAt = queuesqlite.MaxTime, queuesqlite.MaxTime })
	id := send(t, q, edge, nil)
	if got, err := q.Get(ctx, id); err != nil || !got.RunAt.Equal(queuesqlite.MaxTime) || got.Status != queuesqlite.StatusScheduled {
		t.Fatalf("message at MaxTime: %v, %v; want scheduled at %v", got, err, queuesqlite.MaxTime)
	}

	long := strings.Repeat("k", queuesqlite.MaxListenKeyLength+1)
	noop := func(context.Context, *queuesqlite.Message) (any, error) { return nil, nil }
	listener := func(context.Context, *queuesqlite.Change) error { return nil }
	for what, err := range map[string]error{
		"Handle":        q.Handle(strings.Repeat("d", queuesqlite.MaxDestinationLength+1), noop, nil),
		"Listen":        q.Listen(long, listener, nil),
		"ListenPrefix":  q.ListenPrefix(long, listener, nil),
		"SetListenData": func() error { _, err := q.SetListenData(ctx, long, "v"); return err }(),
	} {
		if !errors.Is(err, queuesqlite.ErrInvalidArgument) {
			t.Errorf("%s with a name over the limit: %v, want ErrInvalidArgument", what, err)
		}
	}
	if err := q.Handle(strings.Repeat("d", queuesqlite.MaxDestinationLength), noop, nil); err != nil {
		t.Errorf("Handle at the length limit: %v", err)
	}
	if _, err := q.SetListenData(ctx, strings.Repeat("k", queuesqlite.MaxListenKeyLength), "v"); err != nil {
		t.Errorf("SetListenData at the length limit: %v", err)
	}
}
