// Command queuesqlite runs the demo of the queuesqlite task queue and
// inspects and repairs queue directories: stats, listing, getting and
// cancelling messages, following outcomes (tail), dead letters, listen data,
// cleanup, integrity checks, and sending a message from the shell.
//
// Each subcommand lives in its own file and registers itself with register,
// so a new subcommand never touches this file.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite/driver/postgres"
)

// dirDefault is the queue directory used when --dir is not given.
const dirDefault = "data/queue"

// subcommands holds the constructors of the root's subcommands, filled by
// the init functions of the subcommand files.
var subcommands []func() *cobra.Command

// register adds a subcommand constructor; call it from an init function.
func register(f func() *cobra.Command) {
	subcommands = append(subcommands, f)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the process exit code:
// 0 on success, 1 on any error (printed to stderr).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "queuesqlite: %s\n", cleanLines(err.Error(), errorMax))
		return 1
	}
	return 0
}

// newRootCmd builds the command tree with every registered subcommand.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "queuesqlite",
		Short:         "A persistent task queue on SQLite: demo and operator tools",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			_, _, err := queueFlags(cmd)
			return err
		},
	}
	pf := root.PersistentFlags()
	pf.String("dir", dirDefault, "queue directory")
	pf.Int("shards", 0, "number of shard files (0 = what the directory has, or 1 for a new queue)")
	pf.String("dsn", "", "a PostgreSQL queue instead of --dir: a DSN (postgres://user@host/db or key=value; PG* variables fill in the rest)")
	pf.String("schema", postgres.SchemaDefault, "with --dsn: the schema that holds the queue")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())
	})
	for _, f := range subcommands {
		root.AddCommand(f())
	}
	return root
}
