package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/internal/pgtest"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// sendLike are n messages shaped as the root package sends them: UUIDv7
// ids, about 100 bytes of content, MaxAttempts left to the default, and a
// callback owner each (as Send with a callback).
func sendLike(n int) driver.InsertParams {
	now := time.Now().UTC()
	content := []byte(`{"t":1733300000000000000,"p":"` + strings.Repeat("x", 70) + `"}`)
	p := driver.InsertParams{MaxAttemptsDefault: 3, Messages: make([]*queuetype.Message, n), CallbackOwners: make([]string, n)}
	for i := range p.Messages {
		p.Messages[i] = &queuetype.Message{ID: uuid.Must(uuid.NewV7()).String(), Type: queuetype.TypeTask,
			Status: queuetype.StatusPending, Destination: "default", Source: queuetype.SourceDefault, Content: content,
			Priority: queuetype.PriorityNormal, CreatedAt: now, UpdatedAt: now, RunAt: now}
		p.CallbackOwners[i] = "instance-0123456789"
	}
	return p
}

// BenchmarkInsertBatch1000 stores batches of 1000 messages, one Insert
// after another (SendBatch's path).
func BenchmarkInsertBatch1000(b *testing.B) {
	db := openSchema(b, pgtest.Schema(b), nil)
	ctx := context.Background()
	const n = 1000
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		p := sendLike(n)
		b.StartTimer()
		if err := db.Insert(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkInsertOne stores one message per Insert from one goroutine
// (Send's path).
func BenchmarkInsertOne(b *testing.B) {
	db := openSchema(b, pgtest.Schema(b), nil)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		p := sendLike(1)
		b.StartTimer()
		if err := db.Insert(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
