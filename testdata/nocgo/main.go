// Command nocgo is a program that uses the queue over PostgreSQL and no
// SQLite: TestRoot_BuildsWithoutCgo builds it with CGO_ENABLED=0, which
// fails if the root package or the PostgreSQL backend links a cgo driver.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/driver/postgres"
)

func main() {
	db, err := postgres.Open(context.Background(), os.Getenv("DSN"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	q, err := queuesqlite.New(nil, db)
	fmt.Println(q != nil, err)
}
