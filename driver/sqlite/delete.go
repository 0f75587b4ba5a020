package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	qdriver "github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

var _ qdriver.Deleter = (*DB)(nil)

// Delete implements driver.Deleter: one write transaction for every id.
// The commit changes the file's data_version, so other handles' Changes
// fire.
func (d *DB) Delete(ctx context.Context, ids []string) (qdriver.DeleteResult, error) {
	var res qdriver.DeleteResult
	err := d.w.do(ctx, false, func(t *tx) error {
		res = qdriver.DeleteResult{}
		for _, id := range ids {
			seq, ok, err := t.queryInt(sqlDelete, id)
			if err != nil {
				return err
			}
			if ok {
				res.Deleted = append(res.Deleted, id)
				if _, err := t.exec(sqlDepDropChild, seq); err != nil {
					return err
				}
				continue
			}
			status, stored, err := t.queryInt(sqlStatusOf, id)
			if err != nil {
				return err
			}
			if stored && queuetype.Status(status) == queuetype.StatusProcessing {
				res.Processing = append(res.Processing, id)
			}
		}
		return nil
	})
	if err != nil {
		return qdriver.DeleteResult{}, d.wrap("delete", err)
	}
	return res, nil
}

// storedAttemptError is one entry of the attempt_errors column.
type storedAttemptError struct {
	Attempt int    `json:"attempt"`
	At      int64  `json:"at"` // unix microseconds
	Error   string `json:"error"`
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
		out[i] = queuetype.AttemptError{Attempt: e.Attempt, At: time.UnixMicro(e.At).UTC(), Error: e.Error}
	}
	return out
}

// encodeAttemptErrors is the attempt_errors value of a history: NULL for
// none.
func encodeAttemptErrors(errs []queuetype.AttemptError) any {
	if len(errs) == 0 {
		return nil
	}
	stored := make([]storedAttemptError, len(errs))
	for i, e := range errs {
		stored[i] = storedAttemptError{Attempt: e.Attempt, At: micros(e.At), Error: e.Error}
	}
	b, _ := json.Marshal(stored) // plain fields: cannot fail
	return string(b)
}

// getWithErrors is Get with the attempt history; ok is false on a file of
// a schema before the history (read through a read-only handle), for
// which the caller reads without it.
func (d *DB) getWithErrors(ctx context.Context, id string) (m *queuetype.Message, ok bool, err error) {
	ms, err := d.readMessages(ctx, sqlGetWithErrors, id)
	switch {
	case isNoSuchColumn(err):
		return nil, false, nil
	case err != nil || len(ms) == 0:
		return nil, true, err
	}
	return ms[0], true, nil
}

// isNoSuchColumn reports the error of a statement naming a column the
// file's schema does not have.
func isNoSuchColumn(err error) bool {
	return err != nil && !errors.Is(err, sql.ErrNoRows) && strings.Contains(err.Error(), "no such column")
}
