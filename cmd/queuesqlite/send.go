package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite"
)

func init() { register(newSendCmd) }

// sendOpts are the flags of `send`.
type sendOpts struct {
	priority    priorityFlag
	delay, ttl  durationFlag
	id          string
	maxAttempts int
}

func newSendCmd() *cobra.Command {
	o := sendOpts{priority: priorityFlag{queuesqlite.PriorityNormal}}
	cmd := &cobra.Command{
		Use:   "send <destination> <json>",
		Short: "Send one message and print its id",
		Long: "Send one message to the handler named destination, with a JSON content, and print\n" +
			"its id. A process that has a handler for that destination and shares the queue\n" +
			"directory runs it.",
		Example: `  queuesqlite send process_image '{"url":"https://example.com/a.jpg"}' --priority high --ttl 1m`,
		RunE:    func(cmd *cobra.Command, args []string) error { return runSend(cmd, &o, args) },
	}
	f := cmd.Flags()
	f.Var(&o.priority, "priority", "priority: low, normal, high or urgent")
	f.Var(&o.delay, "delay", "run no earlier than this long from now, e.g. 5s")
	f.Var(&o.ttl, "ttl", "expire unless started within this long, e.g. 1m")
	f.StringVar(&o.id, "id", "", "message id (default: a generated UUIDv7); a duplicate id is refused")
	f.IntVar(&o.maxAttempts, "max-attempts", 0, "attempts before the message fails (0 = the handler's default)")
	return cmd
}

// runSend sends the message the arguments describe and prints its id. The
// queue is created if the directory has none.
func runSend(cmd *cobra.Command, o *sendOpts, args []string) error {
	m, err := o.message(args)
	if err != nil {
		return err
	}
	q, err := openQueue(cmd, queuesqlite.Config{}, false)
	if err != nil {
		return err
	}
	defer q.Close()
	id, err := q.Send(cmd.Context(), m, nil)
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), clean(id, fieldMax))
	return q.Close()
}

// message builds the message to send from the arguments and flags.
func (o *sendOpts) message(args []string) (*queuesqlite.Message, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("send needs a destination and a JSON content, got %d argument(s); e.g. queuesqlite send process_image '{\"url\":\"https://example.com/a.jpg\"}'", len(args))
	}
	if !json.Valid([]byte(args[1])) {
		return nil, fmt.Errorf("the content \"%s\" is not valid JSON (quote it for the shell, e.g. '{\"n\":1}')", clean(args[1], echoMax))
	}
	if o.maxAttempts < 0 {
		return nil, fmt.Errorf("--max-attempts must be 0 (the default) or more, not %d", o.maxAttempts)
	}
	m := queuesqlite.NewMessage(args[0], json.RawMessage(args[1]))
	m.ID, m.Priority, m.Delay, m.TTL, m.MaxAttempts = o.id, o.priority.p, o.delay.d, o.ttl.d, o.maxAttempts
	m.Source = "queuesqlite-cli"
	// Every check Send makes, before the queue (and its directory) is
	// created for a message that would be refused.
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}
