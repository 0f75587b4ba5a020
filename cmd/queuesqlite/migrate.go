package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite/driver/postgres"
	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
	"github.com/queue-sqlite/queuesqlite/migrate"
)

func init() { register(newMigrateCmd) }

func newMigrateCmd() *cobra.Command {
	var from, to string
	var batch int
	cmd := &cobra.Command{
		Use:   "migrate --from DIR --to DSN",
		Short: "Move a stopped SQLite queue into PostgreSQL (resumable, idempotent by id)",
		Long: "Move every message (status, attempts, result, times), listen value, change-log entry and\n" +
			"listener cursor of the SQLite queue in DIR into the queue in --schema of the PostgreSQL\n" +
			"database DSN names. Stop every process using DIR first: the move holds its lock. If it is\n" +
			"interrupted, run it again: it resumes where it stopped, and a message already moved is\n" +
			"skipped, so nothing is lost or duplicated. The source is left as it was.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runMigrate(cmd, from, to, batch) },
	}
	cmd.Flags().StringVar(&from, "from", "", "the SQLite queue directory to move")
	cmd.Flags().StringVar(&to, "to", "", "the PostgreSQL database to move it into (a DSN)")
	cmd.Flags().IntVar(&batch, "batch", migrate.BatchSizeDefault, "messages per step")
	return cmd
}

func runMigrate(cmd *cobra.Command, from, to string, batch int) error {
	if from == "" || to == "" {
		return errors.New("migrate needs --from DIR (the SQLite queue) and --to DSN (the PostgreSQL database)")
	}
	if batch < 1 {
		return fmt.Errorf("--batch must be at least 1, not %d", batch)
	}
	if _, err := os.Stat(sqlite.ShardPath(from, 0)); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no queue in %s (%s not found); check --from", from, sqlite.ShardPath(from, 0))
	}
	_, schema := pgFlags(cmd)
	dst, err := postgres.Open(cmd.Context(), to, &postgres.Options{Schema: schema})
	if err != nil {
		return err
	}
	defer dst.Close()
	res, err := migrateWithProgress(cmd, from, dst, batch)
	if err != nil {
		return err
	}
	verb := "moved"
	if res.Resumed {
		verb = "finished an interrupted move of"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s %s into schema %s: %d messages, %d listen values, %d changes, %d listener groups\n",
		verb, from, schema, res.Messages, res.ListenValues, res.Changes, res.Groups)
	return nil
}

// migrateWithProgress runs the move, showing the messages it has gone
// through on stderr: a bar on a terminal, lines otherwise.
func migrateWithProgress(cmd *cobra.Command, from string, dst *postgres.DB, batch int) (*migrate.Result, error) {
	var res *migrate.Result
	err := withCountedProgress(cmd, workMigrating, func(report func(int, int)) (err error) {
		res, err = migrate.FromDir(cmd.Context(), from, dst, &migrate.Options{BatchSize: batch, Progress: report})
		return err
	})
	return res, err
}
