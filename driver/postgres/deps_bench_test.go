package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/queue-sqlite/queuesqlite/driver/drivertest"
	"github.com/queue-sqlite/queuesqlite/internal/pgtest"
)

// BenchmarkResolveDependencies times the release of one child whose parent
// just completed, beside many children still waiting (drivertest.BenchmarkResolve).
func BenchmarkResolveDependencies(b *testing.B) {
	for _, waiting := range []int{1000, 20000} {
		b.Run(fmt.Sprint("waiting=", waiting), func(b *testing.B) {
			db := openSchema(b, pgtest.Schema(b), nil)
			drivertest.BenchmarkResolve(b, db, waiting, func() {
				if _, err := db.Pool().Exec(context.Background(), "ANALYZE "+db.Schema()+".dependencies, "+db.Schema()+".messages"); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
