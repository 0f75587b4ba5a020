package queuesqlite

import "github.com/queue-sqlite/queuesqlite/queuetype"

// Message is one unit of work; see queuetype.Message for every field.
type Message = queuetype.Message

// Status is where a message is in its life.
type Status = queuetype.Status

// Priority orders ready messages: higher first, then send order.
type Priority = queuetype.Priority

// Statuses.
const (
	StatusPending    = queuetype.StatusPending
	StatusProcessing = queuetype.StatusProcessing
	StatusCompleted  = queuetype.StatusCompleted
	StatusFailed     = queuetype.StatusFailed
	StatusRetrying   = queuetype.StatusRetrying
	StatusExpired    = queuetype.StatusExpired
	StatusCancelled  = queuetype.StatusCancelled
	StatusScheduled  = queuetype.StatusScheduled
)

// Priorities.
const (
	PriorityLow    = queuetype.PriorityLow
	PriorityNormal = queuetype.PriorityNormal
	PriorityHigh   = queuetype.PriorityHigh
	PriorityUrgent = queuetype.PriorityUrgent
)

// NewMessage builds a message for the handler named destination, with
// content encoded as JSON and Normal priority. Set further fields (Priority,
// Delay, TTL, Tags, ...) before Send. An unencodable content makes Send fail
// with ErrInvalidArgument.
func NewMessage(destination string, content any) *Message {
	return queuetype.NewMessage(destination, content)
}

// Callback is told once that a message sent from this process finished:
// completed, failed, expired or cancelled. It runs on the callback pool.
type Callback func(m *Message)

// AllStatuses lists every status in numeric order.
var AllStatuses = queuetype.AllStatuses

// ParseStatus turns a status name ("pending", "failed", ...) into a Status.
func ParseStatus(name string) (Status, error) { return queuetype.ParseStatus(name) }

// ParsePriority turns a priority name ("low", "normal", "high", "urgent")
// into a Priority.
func ParsePriority(name string) (Priority, error) { return queuetype.ParsePriority(name) }

// Limits of messages and listen data (bytes for lengths); larger values are
// refused with ErrInvalidArgument at Send, Handle, Listen and SetListenData.
const (
	MaxDestinationLength = queuetype.MaxDestinationLength
	MaxListenKeyLength   = queuetype.MaxListenKeyLength
	MaxTags              = queuetype.MaxTags
	MaxTagLength         = queuetype.MaxTagLength
)

// MinTime and MaxTime bound RunAt and ExpireAt (also as given by Delay and
// TTL): from the Unix epoch to the end of year 9999, UTC.
var (
	MinTime = queuetype.MinTime
	MaxTime = queuetype.MaxTime
)

// AttemptError is the error of one failed attempt (Message.Errors).
type AttemptError = queuetype.AttemptError

// Bounds of a message's attempt history (Message.Errors): the newest
// MaxAttemptErrors attempts, each error cut at MaxAttemptErrorLength
// characters.
const (
	MaxAttemptErrors      = queuetype.MaxAttemptErrors
	MaxAttemptErrorLength = queuetype.MaxAttemptErrorLength
)
