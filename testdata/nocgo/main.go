// Command nocgo is a program that uses the queue over a storage driver of
// its own and no SQLite: TestRoot_BuildsWithoutCgo builds it with
// CGO_ENABLED=0, which fails if the root package links a cgo driver.
package main

import (
	"fmt"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/driver"
)

// store stands for another backend; building is all the test needs.
type store struct{ driver.Driver }

func main() {
	q, err := queuesqlite.New(nil, store{})
	fmt.Println(q != nil, err)
}
