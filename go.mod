module github.com/queue-sqlite/queuesqlite

go 1.26

require (
	github.com/google/uuid v1.6.0 // indirect
	github.com/mattn/go-sqlite3 v1.14.53 // indirect
)
