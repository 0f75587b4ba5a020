package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite"
)

func init() {
	register(newPauseCmd)
	register(newResumeCmd)
}

func newPauseCmd() *cobra.Command {
	return pauseCmd(true, "pause", "Stop every process from starting the messages of a destination or worker queue",
		"Pause a destination (handler name) or a worker queue, in every process on the\n"+
			"queue: their messages wait until resumed; running ones finish. The pause is\n"+
			"stored, so it holds for processes started later. `stats` lists the pauses.")
}

func newResumeCmd() *cobra.Command {
	return pauseCmd(false, "resume", "Let the messages of a paused destination or worker queue run again",
		"Resume a destination or worker queue paused with `pause`. A destination paused\n"+
			"by name stays paused when its worker queue resumes, and the other way round.")
}

// pauseCmd builds the pause or the resume command: one destination or one
// worker queue per call.
func pauseCmd(pause bool, use, short, long string) *cobra.Command {
	var dest, queue string
	cmd := &cobra.Command{
		Use:   use + " (--destination NAME | --queue NAME)",
		Short: short,
		Long:  long,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (dest == "") == (queue == "") {
				return errors.New(use + " needs one of --destination or --queue")
			}
			return withQueue(cmd, func(q *queuesqlite.Queue) error {
				kind, name, err := setPause(cmd, q, pause, dest, queue)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%sd %s %s\n", use, kind, clean(name, fieldMax))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&dest, "destination", "", "the destination (handler name) to "+use)
	cmd.Flags().StringVar(&queue, "queue", "", "the worker queue to "+use)
	return cmd
}

// setPause pauses or resumes the destination or the queue (whichever is
// set) and says which it was.
func setPause(cmd *cobra.Command, q *queuesqlite.Queue, pause bool, dest, queue string) (queuesqlite.PauseKind, string, error) {
	ctx := cmd.Context()
	switch {
	case dest != "" && pause:
		return queuesqlite.PauseKindDestination, dest, q.PauseDestination(ctx, dest)
	case dest != "":
		return queuesqlite.PauseKindDestination, dest, q.ResumeDestination(ctx, dest)
	case pause:
		return queuesqlite.PauseKindQueue, queue, q.PauseQueue(ctx, queue)
	default:
		return queuesqlite.PauseKindQueue, queue, q.ResumeQueue(ctx, queue)
	}
}
