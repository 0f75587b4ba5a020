package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

var _ driver.Deleter = (*DB)(nil)

// Delete implements driver.Deleter: one statement for every id.
func (d *DB) Delete(ctx context.Context, ids []string) (driver.DeleteResult, error) {
	var res driver.DeleteResult
	if len(ids) == 0 {
		return res, nil
	}
	r, err := d.poolQ().query(ctx, d.sql(sqlDelete), ids)
	if err != nil {
		return res, d.wrap("delete", err)
	}
	defer r.Close()
	deleted, running := map[string]bool{}, map[string]bool{}
	for r.Next() {
		var id string
		var gone bool
		if err := r.Scan(&id, &gone); err != nil {
			return driver.DeleteResult{}, d.wrap("delete", err)
		}
		if gone {
			deleted[id] = true
		} else {
			running[id] = true
		}
	}
	if err := r.Err(); err != nil {
		return driver.DeleteResult{}, d.wrap("delete", err)
	}
	for _, id := range ids {
		switch {
		case deleted[id]:
			res.Deleted = append(res.Deleted, id)
			delete(deleted, id) // an id given twice is reported once
		case running[id]:
			res.Processing = append(res.Processing, id)
			delete(running, id)
		}
	}
	if len(res.Deleted) > 0 {
		d.signal(driver.Topic{Kind: driver.TopicAny})
	}
	return res, nil
}

// storedAttemptError is one entry of the attempt_errors column.
type storedAttemptError struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Error   string    `json:"error"`
}

// decodeAttemptErrors reads the attempt_errors column: never nil, so a
// message read with its history tells "no failed attempt" (empty) from
// "not read" (nil). A value that does not decode (a foreign tool's) reads
// as no history.
func decodeAttemptErrors(raw []byte) []queuetype.AttemptError {
	var stored []storedAttemptError
	if len(raw) == 0 || json.Unmarshal(raw, &stored) != nil {
		return []queuetype.AttemptError{}
	}
	out := make([]queuetype.AttemptError, len(stored))
	for i, e := range stored {
		out[i] = queuetype.AttemptError{Attempt: e.Attempt, At: e.At.UTC(), Error: e.Error}
	}
	return out
}

// encodeAttemptErrors is the attempt_errors value of a history: NULL for
// none.
func encodeAttemptErrors(errs []queuetype.AttemptError) *string {
	if len(errs) == 0 {
		return nil
	}
	stored := make([]storedAttemptError, len(errs))
	for i, e := range errs {
		stored[i] = storedAttemptError{Attempt: e.Attempt, At: ts(e.At), Error: e.Error}
	}
	b, _ := json.Marshal(stored) // plain fields: cannot fail
	s := string(b)
	return &s
}

// getWithErrors reads one message with its attempt history; nil when it
// is not stored.
func (d *DB) getWithErrors(ctx context.Context, id string) (*queuetype.Message, error) {
	ms, err := scanWithErrors(ctx, d.poolQ(), d.sql(sqlGetWithErrors), id)
	if err != nil || len(ms) == 0 {
		return nil, err
	}
	return ms[0], nil
}

// scanWithErrors runs a statement returning messageColumns (or
// exportColumns) and then attempt_errors, and decodes every row with its
// history; a row with bad columns comes back as far as it reads.
func scanWithErrors(ctx context.Context, q querier, query string, args ...any) ([]*queuetype.Message, error) {
	r, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []*queuetype.Message
	var row messageRow
	var history []byte
	targets := append(row.targets(), &history)
	for r.Next() {
		row, history = messageRow{}, nil
		if err := r.Scan(targets...); err != nil {
			return nil, err
		}
		m, _ := row.message()
		m.SetErrors(decodeAttemptErrors(history))
		out = append(out, m)
	}
	return out, r.Err()
}
