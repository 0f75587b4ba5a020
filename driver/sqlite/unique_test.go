package sqlite_test

import (
	"testing"

	"github.com/queue-sqlite/queuesqlite/driver/drivertest"
)

func TestConformance_Unique(t *testing.T) {
	drivertest.RunUnique(t, openShard)
}
