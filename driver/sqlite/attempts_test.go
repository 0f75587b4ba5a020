package sqlite

import (
	"strconv"
	"testing"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// TestAttemptErrorLiteralsMatchQueuetype: the bounds the SQL of the attempt
// history is built with are queuetype's.
func TestAttemptErrorLiteralsMatchQueuetype(t *testing.T) {
	if want := strconv.Itoa(queuetype.MaxAttemptErrors); sqlMaxAttemptErrors != want {
		t.Errorf("sqlMaxAttemptErrors = %q, want %q", sqlMaxAttemptErrors, want)
	}
	if want := strconv.Itoa(queuetype.MaxAttemptErrorLength); sqlMaxAttemptErrorLength != want {
		t.Errorf("sqlMaxAttemptErrorLength = %q, want %q", sqlMaxAttemptErrorLength, want)
	}
}
