package main

import (
	"context"
	"fmt"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// reportTTL is how long the expiry case's message may wait to start;
// expiryGrace bounds how much later its expired callback may come.
const (
	reportTTL   = 200 * time.Millisecond
	expiryGrace = 10 * time.Second
)

// sendAndAwait sends m with a callback and returns the message the callback
// was given.
func (d *demo) sendAndAwait(ctx context.Context, m *queuesqlite.Message) (*queuesqlite.Message, error) {
	ch := make(chan *queuesqlite.Message, 1)
	if _, err := d.q.Send(ctx, m, func(m *queuesqlite.Message) { ch <- m }); err != nil {
		return nil, fmt.Errorf("send to %s: %w", m.Destination, err)
	}
	return await(ctx, ch, "the callback of the "+m.Destination+" message")
}

// showRetry sends a message whose handler fails the first attempt and
// shows, through Get, that the second attempt completed it.
func (d *demo) showRetry(ctx context.Context) error {
	fmt.Fprintf(d.out, "\n== retry ==\n")
	cb, err := d.sendAndAwait(ctx, queuesqlite.NewMessage(destFlaky, map[string]string{"city": "Lisbon"}))
	if err != nil {
		return err
	}
	d.expect(destFlaky, queuesqlite.StatusCompleted, 1)
	m, err := d.q.Get(ctx, cb.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "%s fails its first attempt; retried after the %v backoff\n", destFlaky, demoBackoff)
	fmt.Fprintf(d.out, "callback: %s %s\n", m.ID, cb.Status)
	fmt.Fprintf(d.out, "Get: status %s, attempts %d, retries %d, result %s\n", m.Status, m.Attempt, m.RetryCount, m.Result)
	if m.Status != queuesqlite.StatusCompleted || m.Attempt != 2 || m.RetryCount != 1 {
		return fmt.Errorf("retry: want completed after 2 attempts and 1 retry, got %s after %d attempts and %d retries (last error: %s)",
			m.Status, m.Attempt, m.RetryCount, m.LastError)
	}
	return nil
}

// showExpiry holds every worker, sends a message with a short TTL, and
// shows its callback firing with status expired before a worker frees up.
func (d *demo) showExpiry(ctx context.Context) error {
	fmt.Fprintf(d.out, "\n== expiry ==\n")
	ids, err := d.holdWorkers(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "all %d workers are busy with %s tasks\n", len(ids), destHold)
	m := queuesqlite.NewMessage(destReport, map[string]string{"day": "yesterday"})
	m.TTL = reportTTL
	expCtx, cancel := context.WithTimeoutCause(ctx, reportTTL+expiryGrace,
		fmt.Errorf("expiry: %s did not expire within %v of its TTL", destReport, expiryGrace))
	cb, err := d.sendAndAwait(expCtx, m)
	cancel()
	close(d.gate)
	if err != nil {
		return err
	}
	d.expect(destReport, queuesqlite.StatusExpired, 1)
	fmt.Fprintf(d.out, "sent %s with TTL %v; callback: %s %s after %d attempt(s): %s\n",
		destReport, reportTTL, cb.ID, cb.Status, cb.Attempt, cb.LastError)
	if cb.Status != queuesqlite.StatusExpired || cb.Attempt != 0 {
		return fmt.Errorf("expiry: want expired without an attempt, got %s after %d attempt(s)", cb.Status, cb.Attempt)
	}
	return d.releaseWorkers(ctx, ids)
}

// holdWorkers sends one holding task per worker and waits until all run.
func (d *demo) holdWorkers(ctx context.Context) ([]string, error) {
	ms := make([]*queuesqlite.Message, d.opts.workers)
	for i := range ms {
		ms[i] = queuesqlite.NewMessage(destHold, map[string]int{"warehouse": i})
	}
	ids, err := d.q.SendBatch(ctx, ms, nil)
	if err != nil {
		return nil, fmt.Errorf("send to %s: %w", destHold, err)
	}
	for range ids {
		if _, err := await(ctx, d.holding, "every worker to pick up a "+destHold+" task"); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// releaseWorkers waits for the holding tasks (their gate is open) to complete.
func (d *demo) releaseWorkers(ctx context.Context, ids []string) error {
	for _, id := range ids {
		m, err := d.q.Wait(ctx, id)
		if err != nil {
			return fmt.Errorf("wait for %s %s: %w", destHold, id, err)
		}
		if m.Status != queuesqlite.StatusCompleted {
			return fmt.Errorf("expiry: %s %s ended %s, want completed", destHold, id, m.Status)
		}
	}
	d.expect(destHold, queuesqlite.StatusCompleted, len(ids))
	fmt.Fprintf(d.out, "released the workers: %d %s tasks completed\n", len(ids), destHold)
	return nil
}

// showDeadLetter sends a message whose handler fails every attempt, finds
// it with ListFailed, "fixes" the handler and requeues it with Retry.
func (d *demo) showDeadLetter(ctx context.Context) error {
	fmt.Fprintf(d.out, "\n== dead letter ==\n")
	cb, err := d.sendAndAwait(ctx, queuesqlite.NewMessage(destCharge, map[string]int{"order": 1042, "amount_cents": 1999}))
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "%s failed all %d attempts; callback: %s %s\n", destCharge, chargeTries, cb.ID, cb.Status)
	if cb.Status != queuesqlite.StatusFailed || cb.Attempt != chargeTries {
		return fmt.Errorf("dead letter: want failed after %d attempts, got %s after %d", chargeTries, cb.Status, cb.Attempt)
	}
	if err := d.listDeadLetter(ctx, cb.ID); err != nil {
		return err
	}
	return d.requeue(ctx, cb.ID)
}

// listDeadLetter prints ListFailed and checks that id is in it.
func (d *demo) listDeadLetter(ctx context.Context, id string) error {
	failed, err := d.q.ListFailed(ctx, destCharge, 10)
	if err != nil {
		return err
	}
	fmt.Fprintln(d.out, "ListFailed:")
	if err := printFailed(d.out, failed); err != nil {
		return err
	}
	for _, m := range failed {
		if m.ID == id {
			return nil
		}
	}
	return fmt.Errorf("dead letter: %s is not in ListFailed(%q)", id, destCharge)
}

// requeue brings the gateway back, requeues id and waits for it to complete.
func (d *demo) requeue(ctx context.Context, id string) error {
	d.gatewayUp.Store(true)
	m, err := d.q.Retry(ctx, id)
	if err != nil {
		return fmt.Errorf("dead letter: requeue: %w", err)
	}
	fmt.Fprintf(d.out, "gateway back up; Retry(%s): status %s\n", id, m.Status)
	if m, err = d.q.Wait(ctx, id); err != nil {
		return fmt.Errorf("dead letter: wait after requeue: %w", err)
	}
	d.expect(destCharge, queuesqlite.StatusCompleted, 1)
	fmt.Fprintf(d.out, "after Retry: status %s, attempts %d, result %s\n", m.Status, m.Attempt, m.Result)
	if m.Status != queuesqlite.StatusCompleted || m.Attempt != 1 {
		return fmt.Errorf("dead letter: want completed on the first attempt after requeue, got %s after %d", m.Status, m.Attempt)
	}
	return nil
}
