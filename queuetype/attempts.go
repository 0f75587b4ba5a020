package queuetype

import "time"

// Bounds of the attempt history (Message.Errors): the newest
// MaxAttemptErrors entries are kept (older ones are dropped), and each
// entry keeps at most MaxAttemptErrorLength characters of its error (the
// full text of the latest one stays in LastError).
const (
	MaxAttemptErrors      = 20
	MaxAttemptErrorLength = 4096
)

// AttemptError is the error of one failed (or rescued) attempt.
type AttemptError struct {
	Attempt int       `json:"attempt"` // the attempt number, from 1
	At      time.Time `json:"at"`      // when the attempt ended, UTC
	Error   string    `json:"error"`   // its error text, cut at MaxAttemptErrorLength characters
}

// attemptHistory is what a message keeps of its attempts, behind a pointer
// so that a Message without one (every claimed or listed message) stays
// one word larger only.
type attemptHistory struct {
	errors []AttemptError
}

// Errors returns the error of every failed attempt, oldest first: at
// most MaxAttemptErrors entries, the newest. Get reads the history (an
// empty, non-nil slice when no attempt failed); Claim and List do not
// (nil).
func (m *Message) Errors() []AttemptError {
	if m.history == nil {
		return nil
	}
	return m.history.errors
}

// SetErrors sets the attempt history read from storage; drivers call it.
func (m *Message) SetErrors(errs []AttemptError) {
	if errs == nil {
		m.history = nil
		return
	}
	m.history = &attemptHistory{errors: errs}
}
