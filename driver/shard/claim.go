package shard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// Claim implements driver.Driver: the shards whose best ready message has
// the highest priority are claimed from first, so priority holds across
// shards; shards whose best priorities tie take turns at the front from
// one claim to the next, so none starves. Within a priority, send order
// holds per shard only.
func (d *Driver) Claim(ctx context.Context, p driver.ClaimParams) ([]*queuetype.Message, error) {
	order, err := d.claimOrder(ctx, p.Destinations)
	if err != nil {
		return nil, err
	}
	n := p.Max
	var out []*queuetype.Message
	for _, shard := range order {
		p.Max = n - len(out)
		ms, err := d.shards[shard].Claim(ctx, p)
		mark(shard, ms...)
		out = append(out, ms...)
		if err != nil {
			return out, err
		}
		if len(out) >= n {
			break
		}
	}
	return out, nil
}

// head is one shard's best ready priority.
type head struct {
	prio queuetype.Priority
	ok   bool
	err  error
}

// heads reads every shard's best ready priority in parallel.
func (d *Driver) heads(ctx context.Context, destinations []string) []head {
	hs := make([]head, len(d.shards))
	_ = d.each(func(i int, s driver.Driver) error {
		p, ok, err := s.Head(ctx, destinations)
		hs[i] = head{p, ok, err}
		return nil
	})
	return hs
}

// claimOrder orders the shards that have ready work by the priority of
// their best ready message, highest first, rotated among equals.
func (d *Driver) claimOrder(ctx context.Context, destinations []string) ([]int, error) {
	n := len(d.shards)
	hs := d.heads(ctx, destinations)
	turn := int(d.turn.Add(1) % uint64(n))
	var order []int
	for k := range n {
		i := (turn + k) % n // rotated, so equal priorities start at a different shard each time
		if hs[i].err != nil {
			return nil, hs[i].err
		}
		if hs[i].ok {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return int(hs[b].prio - hs[a].prio) })
	return order, nil
}

// Head implements driver.Driver: the best of every shard's.
func (d *Driver) Head(ctx context.Context, destinations []string) (queuetype.Priority, bool, error) {
	var best queuetype.Priority
	found := false
	for _, h := range d.heads(ctx, destinations) {
		if h.err != nil {
			return 0, false, h.err
		}
		if h.ok && (!found || h.prio > best) {
			best, found = h.prio, true
		}
	}
	return best, found, nil
}

// Complete implements driver.Driver: each shard's outcomes in one call,
// shards in parallel; Applied is set on the caller's completions.
func (d *Driver) Complete(ctx context.Context, cs []*driver.Completion) error {
	byShard := map[int][]*driver.Completion{}
	for _, c := range cs {
		local, shard, err := d.split(c.Seq)
		if err != nil {
			return err
		}
		cc := *c
		cc.Seq = local
		byShard[shard] = append(byShard[shard], &cc)
	}
	err := inParts(byShard, func(shard int, part []*driver.Completion) error {
		return d.shards[shard].Complete(ctx, part)
	})
	pos := map[int]int{}
	for _, c := range cs {
		_, shard := Split(c.Seq)
		c.Applied = byShard[shard][pos[shard]].Applied
		pos[shard]++
	}
	return err
}

// ExtendLeases implements driver.Driver, shard by shard.
func (d *Driver) ExtendLeases(ctx context.Context, p driver.LeaseParams) ([]int64, error) {
	byShard := map[int]*driver.LeaseParams{}
	for i, seq := range p.Seqs {
		local, shard, err := d.split(seq)
		if err != nil {
			return nil, err
		}
		sp := byShard[shard]
		if sp == nil {
			sp = &driver.LeaseParams{Owner: p.Owner, Until: p.Until}
			byShard[shard] = sp
		}
		sp.Seqs = append(sp.Seqs, local)
		if p.Attempts != nil {
			sp.Attempts = append(sp.Attempts, p.Attempts[i])
		}
	}
	var held []int64
	for shard, sp := range byShard {
		got, err := d.shards[shard].ExtendLeases(ctx, *sp)
		for _, seq := range got {
			held = append(held, Seq(seq, shard))
		}
		if err != nil {
			return held, err
		}
	}
	slices.Sort(held)
	return held, nil
}

// AckCallbacks implements driver.Driver, shard by shard.
func (d *Driver) AckCallbacks(ctx context.Context, seqs []int64) error {
	byShard := map[int][]int64{}
	for _, seq := range seqs {
		local, shard, err := d.split(seq)
		if err != nil {
			return err
		}
		byShard[shard] = append(byShard[shard], local)
	}
	return inParts(byShard, func(shard int, part []int64) error {
		return d.shards[shard].AckCallbacks(ctx, part)
	})
}

// inParts runs fn on each shard's part, in parallel when there are
// several, and returns the errors joined, each naming its shard.
func inParts[T any](parts map[int][]T, fn func(shard int, part []T) error) error {
	if len(parts) == 1 {
		for shard, part := range parts {
			if err := fn(shard, part); err != nil {
				return fmt.Errorf("shard %d: %w", shard, err)
			}
		}
		return nil
	}
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for shard, part := range parts {
		wg.Go(func() {
			if err := fn(shard, part); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("shard %d: %w", shard, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
