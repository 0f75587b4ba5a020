package main

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/queue-sqlite/queuesqlite"
)

// listenPrefix is the key prefix of the demo's listen data.
const listenPrefix = "demo/"

// registerListener listens to every key under listenPrefix.
func (d *demo) registerListener() error {
	d.changes = make(chan *queuesqlite.Change, 16)
	return d.q.ListenPrefix(listenPrefix, func(ctx context.Context, c *queuesqlite.Change) error {
		d.changes <- c
		return nil
	}, nil)
}

// showListeners changes listen data (once with an equal value, which fires
// nothing) and, in one transaction, sends a message and sets a key; it
// prints the changes the listener receives, in order.
func (d *demo) showListeners(ctx context.Context) error {
	fmt.Fprintf(d.out, "\n== listeners ==\n")
	key := listenPrefix + "theme"
	for _, v := range []string{"light", "light", "dark"} {
		if _, err := d.q.SetListenData(ctx, key, v); err != nil {
			return err
		}
	}
	var id string
	err := d.q.InTx(ctx, func(tx *sql.Tx) error {
		ids, err := d.q.SendTx(ctx, tx, queuesqlite.NewMessage(destEmail, emailIn{To: "ops@example.com", Subject: "theme changed"}))
		if err != nil {
			return err
		}
		id = ids[0]
		_, err = d.q.SetListenDataTx(ctx, tx, listenPrefix+"last_mail", map[string]string{"id": id})
		return err
	})
	if err != nil {
		return fmt.Errorf("send and set in one transaction: %w", err)
	}
	d.expect(destEmail, queuesqlite.StatusCompleted, 1)
	fmt.Fprintf(d.out, "set %s to light, light (equal: no change), dark; sent %s and set %slast_mail in one transaction\n",
		key, id, listenPrefix)
	// Each key's changes arrive in order; different keys run on lanes of
	// their own, so the three are printed in seq order once all are in.
	var got []*queuesqlite.Change
	for range 3 { // light, dark, last_mail
		c, err := await(ctx, d.changes, "a listener call")
		if err != nil {
			return err
		}
		got = append(got, c)
	}
	slices.SortFunc(got, func(a, b *queuesqlite.Change) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, c := range got {
		fmt.Fprintf(d.out, "listener: change #%d %s: %s\n", c.Seq, c.Key, describeChange(c))
	}
	if _, err := d.q.Wait(ctx, id); err != nil {
		return err
	}
	select {
	case c := <-d.changes:
		return fmt.Errorf("listeners: unexpected extra change #%d %s", c.Seq, c.Key)
	default:
	}
	return nil
}

func describeChange(c *queuesqlite.Change) string {
	switch {
	case c.Old == nil:
		return fmt.Sprintf("(new) -> %s", c.New)
	case c.Deleted():
		return fmt.Sprintf("%s -> (deleted)", c.Old)
	}
	return fmt.Sprintf("%s -> %s", c.Old, c.New)
}
