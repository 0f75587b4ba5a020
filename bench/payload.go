package main

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/queue-sqlite/queuesqlite/internal/benchkit"
)

// payloadHead is how every benchmark content starts: the send time in Unix
// nanoseconds, then the padding that makes it the scenario's size.
const payloadHead = `{"t":`

// payloadBase is the length of a content with an empty pad: the head, 19
// digits of time, `,"p":""}`.
const payloadBase = len(payloadHead) + 19 + len(`,"p":""}`)

// padFor returns the pad that makes a content size bytes long (none when
// size is below the bare content's length).
func padFor(size int) string {
	return strings.Repeat("x", max(size-payloadBase, 0))
}

// content encodes p with pad as the JSON document {"t":..., "p":pad}.
func content(p benchkit.Payload, pad string) []byte {
	b := make([]byte, 0, payloadBase+len(pad))
	b = append(b, payloadHead...)
	b = strconv.AppendInt(b, p.Sent, 10)
	b = append(b, `,"p":"`...)
	b = append(b, pad...)
	return append(b, `"}`...)
}

// handle is the no-op handler body of the systems that hand us the raw
// content: it reads the send time from the content's head (without scanning
// the pad, so the handler's cost does not grow with the size) and reports
// the start.
func handle(env *benchkit.Env, raw []byte) error {
	rest, ok := strings.CutPrefix(string(raw[:min(len(raw), len(payloadHead)+20)]), payloadHead)
	if !ok {
		return benchkit.Handle(env, raw)
	}
	end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(rest)
	}
	t, err := strconv.ParseInt(rest[:end], 10, 64)
	if err != nil {
		var p benchkit.Payload
		if err := json.Unmarshal(raw, &p); err != nil {
			return err
		}
		t = p.Sent
	}
	env.Started(t)
	return nil
}
