package queuesqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/queue-sqlite/queuesqlite"
)

type emailArgs struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
}

func (emailArgs) Kind() string { return "email" }

type ptrArgs struct{ N int }

func (*ptrArgs) Kind() string { return "ptr" }

type emptyKind struct{}

func (emptyKind) Kind() string { return "" }

type shiftyKind struct{ Name string }

func (s shiftyKind) Kind() string { return "shifty-" + s.Name }

// seen is what a typed handler was given, copied out of the Job.
type seen struct {
	args        emailArgs
	id          string
	attempt     int
	maxAttempts int
	metadata    string
	tags        []string
}

// The handler receives the decoded args together with the message's id,
// attempt, max attempts, metadata and tags (which HandleJSON hides), and
// the job went to the destination named by Kind().
func TestHandleJob_ReceivesArgsAndMessage(t *testing.T) {
	q, _ := setup(t, fast())
	got := make(chan seen, 4)
	err := queuesqlite.HandleJob(q, func(ctx context.Context, j *queuesqlite.Job[emailArgs]) (any, error) {
		got <- seen{j.Args, j.ID, j.Attempt, j.MaxAttempts, string(j.Metadata), j.Tags}
		if j.Attempt == 1 {
			return nil, errors.New("first attempt fails")
		}
		return "sent to " + j.Args.To, nil
	}, &queuesqlite.HandlerOpts{MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	start(t, q)
	tmpl := &queuesqlite.Message{Priority: queuesqlite.PriorityHigh, Tags: []string{"welcome"}}
	tmpl.SetMetadata(map[string]string{"tenant": "acme"})
	args := emailArgs{To: "a@example.com", Subject: "hi"}
	id, err := queuesqlite.SendJob(context.Background(), q, args, tmpl, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := wait(t, q, id)
	if m.Status != queuesqlite.StatusCompleted || m.Destination != "email" || m.Priority != queuesqlite.PriorityHigh {
		t.Fatalf("message: status %v destination %q priority %v", m.Status, m.Destination, m.Priority)
	}
	var res string
	if err := m.DecodeResult(&res); err != nil || res != "sent to a@example.com" {
		t.Fatalf("result %q, %v", res, err)
	}
	for attempt := 1; attempt <= 2; attempt++ {
		s := <-got
		if s.args != args || s.id != id || s.attempt != attempt || s.maxAttempts != 3 {
			t.Errorf("attempt %d: handler saw %+v", attempt, s)
		}
		if s.metadata != `{"tenant":"acme"}` || !slices.Equal(s.tags, []string{"welcome"}) {
			t.Errorf("attempt %d: metadata %s tags %v", attempt, s.metadata, s.tags)
		}
	}
	if tmpl.Destination != "" || len(tmpl.Content) != 0 {
		t.Errorf("SendJob modified the template: %+v", tmpl)
	}
}

// A message to a job's kind whose content does not decode into the args
// type fails at its first attempt, with an error naming the kind and the
// problem, and is not retried.
func TestHandleJob_UndecodableContentFailsWithoutRetry(t *testing.T) {
	q, _ := setup(t, fast())
	ran := make(chan struct{}, 1)
	err := queuesqlite.HandleJob(q, func(ctx context.Context, j *queuesqlite.Job[emailArgs]) (any, error) {
		ran <- struct{}{}
		return nil, nil
	}, &queuesqlite.HandlerOpts{MaxAttempts: 5})
	if err != nil {
		t.Fatal(err)
	}
	start(t, q)
	id := send(t, q, queuesqlite.NewMessage("email", map[string]int{"to": 7}), nil)
	m := wait(t, q, id)
	if m.Status != queuesqlite.StatusFailed || m.Attempt != 1 {
		t.Fatalf("status %v after %d attempts, want failed after 1", m.Status, m.Attempt)
	}
	for _, want := range []string{`kind "email"`, "emailArgs", "cannot unmarshal", queuesqlite.ErrSkipRetry.Error()} {
		if !strings.Contains(m.LastError, want) {
			t.Errorf("last error %q does not say %q", m.LastError, want)
		}
	}
	select {
	case <-ran:
		t.Error("the handler ran on content that does not decode")
	default:
	}
}

// SendJob refuses a template that names another destination or carries
// content, and args types whose Kind is empty or varies; nothing is stored.
func TestSendJob_RefusesMistypedDestinations(t *testing.T) {
	q, _ := setup(t, fast())
	ctx := context.Background()
	args := emailArgs{To: "x"}
	cases := map[string]func() error{
		"other destination": func() error {
			_, err := queuesqlite.SendJob(ctx, q, args, &queuesqlite.Message{Destination: "sms"}, nil)
			return err
		},
		"template content": func() error {
			_, err := queuesqlite.SendJob(ctx, q, args, &queuesqlite.Message{Content: json.RawMessage(`{}`)}, nil)
			return err
		},
		"empty kind": func() error {
			_, err := queuesqlite.SendJob(ctx, q, emptyKind{}, nil, nil)
			return err
		},
		"kind from value": func() error {
			_, err := queuesqlite.SendJob(ctx, q, shiftyKind{Name: "a"}, nil, nil)
			return err
		},
		"batch template id": func() error {
			_, err := queuesqlite.SendJobs(ctx, q, []emailArgs{args, args}, &queuesqlite.Message{ID: "same"}, nil)
			return err
		},
		"handler empty kind": func() error {
			return queuesqlite.HandleJob(q, func(context.Context, *queuesqlite.Job[emptyKind]) (any, error) { return nil, nil }, nil)
		},
		"handler nil func": func() error { return queuesqlite.HandleJob[emailArgs](q, nil, nil) },
	}
	for name, call := range cases {
		if err := call(); !errors.Is(err, queuesqlite.ErrInvalidArgument) {
			t.Errorf("%s: got %v, want ErrInvalidArgument", name, err)
		}
	}
	ms, err := q.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 0 {
		t.Errorf("%d messages stored by refused sends", len(ms))
	}
}

// SendJobs sends a batch in input order and SendJobTx sends within the
// caller's transaction (nothing if it rolls back); pointer args types
// decode too.
func TestSendJobs_BatchTxAndPointerArgs(t *testing.T) {
	q, _ := setup(t, fast())
	ctx := context.Background()
	got := make(chan int, 8)
	err := queuesqlite.HandleJob(q, func(ctx context.Context, j *queuesqlite.Job[*ptrArgs]) (any, error) {
		got <- j.Args.N
		return j.Args.N * 10, nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	start(t, q)
	ids, err := queuesqlite.SendJobs(ctx, q, []*ptrArgs{{N: 1}, {N: 2}, {N: 3}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		var res int
		if m := wait(t, q, id); m.DecodeResult(&res) != nil || res != (i+1)*10 || m.Destination != "ptr" {
			t.Errorf("job %d: status %v destination %q result %d", i, m.Status, m.Destination, res)
		}
	}
	var rolledBack string
	errRollback := errors.New("roll back")
	err = q.InTx(ctx, func(tx *sql.Tx) error {
		rolledBack, err = queuesqlite.SendJobTx(ctx, q, tx, &ptrArgs{N: 4}, nil)
		if err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("rolled back tx: %v", err)
	}
	if _, err := q.Get(ctx, rolledBack); !errors.Is(err, queuesqlite.ErrNotFound) {
		t.Errorf("job sent in a rolled back tx: %v", err)
	}
	var committed string
	err = q.InTx(ctx, func(tx *sql.Tx) error {
		committed, err = queuesqlite.SendJobTx(ctx, q, tx, &ptrArgs{N: 5}, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var res int
	if m := wait(t, q, committed); m.DecodeResult(&res) != nil || res != 50 {
		t.Errorf("committed job: status %v result %d", m.Status, res)
	}
}
