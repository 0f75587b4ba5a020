// Package queuetype holds the plain types shared by the queue, its storage
// drivers and its background components: the message row, its status and
// priority, and the sentinel errors callers match with errors.Is.
//
// It imports nothing from the rest of the module, so every other package can
// depend on it without cycles. Users normally reach these types through the
// aliases in package queuesqlite.
package queuetype

import (
	"fmt"
	"strings"
)

// Status is where a message is in its life. The numeric values of the first
// five match the original queue-sqlite and are stored in the database; they
// never change.
type Status int

// The statuses a message moves through.
const (
	// StatusPending: ready to run as soon as a worker is free.
	StatusPending Status = 0
	// StatusProcessing: claimed by a worker that holds a lease on it.
	StatusProcessing Status = 1
	// StatusCompleted: the handler returned a result. Terminal.
	StatusCompleted Status = 2
	// StatusFailed: attempts used up, or the handler said not to retry.
	// Kept for inspection and requeue (the dead-letter set). Terminal.
	StatusFailed Status = 3
	// StatusRetrying: an attempt failed; waiting for its backoff to pass.
	StatusRetrying Status = 4
	// StatusExpired: its expire time passed before it could start. Terminal.
	StatusExpired Status = 5
	// StatusCancelled: cancelled before it ran. Terminal.
	StatusCancelled Status = 6
	// StatusScheduled: sent with a delay (or snoozed); waiting for its run time.
	StatusScheduled Status = 7
)

// AllStatuses lists every status in numeric order.
var AllStatuses = []Status{
	StatusPending, StatusProcessing, StatusCompleted, StatusFailed,
	StatusRetrying, StatusExpired, StatusCancelled, StatusScheduled,
}

var statusNames = [...]string{"pending", "processing", "completed", "failed", "retrying", "expired", "cancelled", "scheduled"}

// String returns the lower-case name of the status.
func (s Status) String() string {
	if s < 0 || int(s) >= len(statusNames) {
		return fmt.Sprintf("status(%d)", int(s))
	}
	return statusNames[s]
}

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool { return s >= 0 && int(s) < len(statusNames) }

// Terminal reports whether a message in this status is finished: it will not
// run again unless it is explicitly requeued.
func (s Status) Terminal() bool {
	switch s {
	case StatusCompleted, StatusFailed, StatusExpired, StatusCancelled:
		return true
	}
	return false
}

// ParseStatus turns a status name (as printed by String) into a Status.
func ParseStatus(name string) (Status, error) {
	for i, n := range statusNames {
		if strings.EqualFold(n, name) {
			return Status(i), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown status %q", ErrInvalidArgument, name)
}

// MarshalText encodes the status as its name.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a status name.
func (s *Status) UnmarshalText(b []byte) error {
	v, err := ParseStatus(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Priority orders ready messages: higher runs first, equal priorities run in
// send order.
type Priority int

// The four priorities, numbered as in the original queue-sqlite.
const (
	PriorityLow    Priority = 0
	PriorityNormal Priority = 1
	PriorityHigh   Priority = 2
	PriorityUrgent Priority = 3
)

var priorityNames = [...]string{"low", "normal", "high", "urgent"}

// String returns the lower-case name of the priority.
func (p Priority) String() string {
	if !p.Valid() {
		return fmt.Sprintf("priority(%d)", int(p))
	}
	return priorityNames[p]
}

// Valid reports whether p is Low, Normal, High or Urgent.
func (p Priority) Valid() bool { return p >= PriorityLow && p <= PriorityUrgent }

// ParsePriority turns a priority name into a Priority.
func ParsePriority(name string) (Priority, error) {
	for i, n := range priorityNames {
		if strings.EqualFold(n, name) {
			return Priority(i), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown priority %q (want low, normal, high or urgent)", ErrInvalidArgument, name)
}

// MarshalText encodes the priority as its name.
func (p Priority) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText decodes a priority name.
func (p *Priority) UnmarshalText(b []byte) error {
	v, err := ParsePriority(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}
