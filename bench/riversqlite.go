package main

import (
	"context"
	"database/sql"
	"time"

	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/queue-sqlite/queuesqlite/internal/benchkit"
)

// riverSQLiteSystem is River on its SQLite driver (database/sql over
// mattn/go-sqlite3, one connection as its driver documentation advises).
func riverSQLiteSystem(t riverTuning) system {
	s := system{
		Name:   "river-sqlite",
		Note:   "River v0.51.2 + riversqlite, one connection, FetchCooldown/FetchPollInterval defaults (100ms/1s)",
		SQLite: true,
		Open: func(ctx context.Context, e env) (benchkit.Instance, error) {
			return openRiverSQLite(ctx, e, t)
		},
	}
	if t != (riverTuning{}) {
		s.Name, s.Tuned = "river-sqlite (tuned)", true
		s.Note = "as river-sqlite, with " + tuningText(t)
	}
	return s
}

func tuningText(t riverTuning) string {
	return "FetchCooldown " + t.cooldown.String() + ", FetchPollInterval " + t.poll.String()
}

func openRiverSQLite(ctx context.Context, e env, t riverTuning) (benchkit.Instance, error) {
	db, err := openSQLite(e.Dir, "river.db", e.Sync, 1)
	if err != nil {
		return nil, err
	}
	if err := migrateRiver(ctx, riversqlite.New(db), ""); err != nil {
		db.Close()
		return nil, err
	}
	r, err := newRiver[*sql.Tx](riversqlite.New(db), e, t, "", db.Close)
	if err != nil {
		db.Close()
		return nil, err
	}
	return r, nil
}

// tunedRiver is the River tuning of the "(tuned)" variants: the minimum
// FetchCooldown River accepts and poll as FetchPollInterval.
func tunedRiver(poll time.Duration) riverTuning {
	return riverTuning{cooldown: time.Millisecond, poll: poll}
}
