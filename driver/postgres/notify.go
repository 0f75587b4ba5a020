package postgres

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queue-sqlite/queuesqlite/driver"
)

// Wake-ups between handles. A commit's topics go out in one NOTIFY on the
// schema's channel, sent after the commit by one goroutine per handle (so
// a handle's notifications keep commit order, and those that pile up while
// one is on its way go out together, in one transaction, each destination
// once). The transactions of the application (InsertTx, SetListenTx)
// notify inside the transaction, because only its commit can tell when
// they are visible, and so does an insert statement that is the handle's
// only one under way (see wake.go).

// payload is one notification: the sending handle ("" for one sent inside
// an application's transaction, which the sender hears too) and the topics.
type payload struct {
	Handle string   `json:"h,omitempty"`
	Topics [][2]any `json:"t"`
	topics []driver.Topic
}

func encodePayloads(handle string, topics []driver.Topic) []string {
	var out []string
	p := payload{Handle: handle}
	size := 0
	flush := func() {
		if len(p.Topics) > 0 {
			b, _ := json.Marshal(p) // strings and numbers always encode
			out = append(out, string(b))
		}
		p.Topics, size = nil, 0
	}
	for _, t := range topics {
		if size+len(t.Key)+16 > notifyPayloadMax {
			flush()
		}
		p.Topics = append(p.Topics, [2]any{int(t.Kind), t.Key})
		size += len(t.Key) + 16
	}
	flush()
	return out
}

func decodePayload(s string) (payload, bool) {
	var raw struct {
		Handle string            `json:"h"`
		Topics []json.RawMessage `json:"t"`
	}
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return payload{}, false
	}
	p := payload{Handle: raw.Handle}
	for _, r := range raw.Topics {
		var pair []any
		if json.Unmarshal(r, &pair) != nil || len(pair) != 2 {
			return payload{}, false
		}
		kind, ok1 := pair[0].(float64)
		key, ok2 := pair[1].(string)
		if !ok1 || !ok2 {
			return payload{}, false
		}
		p.topics = append(p.topics, driver.Topic{Kind: driver.TopicKind(kind), Key: key})
	}
	return p, true
}

// signal queues topics to notify the other handles of, after a commit.
func (d *DB) signal(topics ...driver.Topic) {
	if d.notifier == nil || len(topics) == 0 {
		return
	}
	d.notifier.add(topics)
}

// signalInTx notifies inside a caller's transaction: delivered at its
// commit, never if it rolls back.
func (d *DB) signalInTx(ctx context.Context, q querier, topics []driver.Topic) error {
	if d.opts.PollOnly || len(topics) == 0 {
		return nil
	}
	for _, p := range encodePayloads("", dedupe(topics)) {
		if _, err := q.exec(ctx, sqlNotify, d.channel, p); err != nil {
			return err
		}
	}
	return nil
}

func dedupe(topics []driver.Topic) []driver.Topic {
	seen := make(map[driver.Topic]bool, len(topics))
	out := topics[:0:0]
	for _, t := range topics {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// notifier sends a handle's notifications, one at a time, coalescing what
// waits.
type notifier struct {
	d       *DB
	mu      sync.Mutex
	pending []driver.Topic
	seen    map[driver.Topic]bool
	kick    chan struct{}
	// sends counts the statements run, for tests.
	sends atomic.Int64
}

func newNotifier(d *DB) *notifier {
	return &notifier{d: d, seen: map[driver.Topic]bool{}, kick: make(chan struct{}, 1)}
}

func (n *notifier) add(topics []driver.Topic) {
	n.mu.Lock()
	for _, t := range topics {
		if !n.seen[t] {
			n.seen[t] = true
			n.pending = append(n.pending, t)
		}
	}
	n.mu.Unlock()
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

func (n *notifier) take() []driver.Topic {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.pending
	n.pending = nil
	clear(n.seen)
	return out
}

// run sends what is pending until ctx ends. A notification that cannot be
// sent (the server is away) is dropped: the other handles' fallback poll,
// and the TopicAny they report when they reconnect, cover it.
func (n *notifier) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.kick:
		}
		payloads := encodePayloads(n.d.handle, n.take())
		if len(payloads) == 0 {
			continue
		}
		n.sends.Add(1)
		if _, err := n.d.pool.Exec(ctx, sqlNotifyAfter, n.d.channel, payloads); err != nil && ctx.Err() == nil {
			n.d.opts.Logger.Warn("postgres notify failed; other hosts find the work at their next poll",
				"schema", n.d.schema, "err", redact(err))
		}
	}
}

// watchers are the functions WatchTopics registered.
type watchers struct {
	mu  sync.RWMutex
	fns map[int]func(driver.Topic)
	id  int
}

func (w *watchers) add(fn func(driver.Topic)) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fns == nil {
		w.fns = map[int]func(driver.Topic){}
	}
	w.id++
	w.fns[w.id] = fn
	return w.id
}

func (w *watchers) remove(id int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.fns, id)
}

// TellsTopics implements driver.TopicWatcher: false for PollOnly, whose
// handles hear of no commit and only report TopicAny every PollInterval
// (through Changes and WatchTopics alike).
func (d *DB) TellsTopics() bool { return !d.opts.PollOnly }

// WatchTopics implements driver.TopicWatcher.
func (d *DB) WatchTopics(ctx context.Context, fn func(driver.Topic)) {
	id := d.watchers.add(fn)
	defer d.watchers.remove(id)
	<-ctx.Done()
}

// deliver hands topics to every watcher and fires Changes.
func (d *DB) deliver(topics ...driver.Topic) {
	d.watchers.mu.RLock()
	for _, fn := range d.watchers.fns {
		for _, t := range topics {
			fn(t)
		}
	}
	d.watchers.mu.RUnlock()
	select {
	case d.changes <- struct{}{}:
	default:
	}
}

// startWatching starts hearing other handles' changes: LISTEN on a
// connection of its own (established before Open returns, so nothing
// committed after Open is missed), or only the poll for PollOnly.
func (d *DB) startWatching(ctx, bg context.Context) error {
	every := d.opts.FallbackPoll
	if d.opts.PollOnly {
		every = d.opts.PollInterval
	} else {
		conn, err := d.listenConn(ctx)
		if err != nil {
			return d.wrap("listen", err)
		}
		d.bg.Go(func() { d.listenLoop(bg, conn) })
	}
	d.bg.Go(func() { d.poll(bg, every) })
	return nil
}

// poll reports "something changed" every interval.
func (d *DB) poll(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.deliver(driver.Topic{Kind: driver.TopicAny})
		}
	}
}

// listenConn opens a connection outside the pool and listens on the
// schema's channel.
func (d *DB) listenConn(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, d.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{d.channel}.Sanitize()); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

// listenLoop delivers notifications until ctx ends, reconnecting (with
// backoff) when the connection drops; after a reconnect it reports
// TopicAny, since notifications sent meanwhile are lost.
func (d *DB) listenLoop(ctx context.Context, conn *pgx.Conn) {
	backoff := reconnectMin
	for {
		if conn != nil {
			d.receive(ctx, conn)
			conn.Close(context.Background())
			conn = nil
		}
		if ctx.Err() != nil {
			return
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		var err error
		if conn, err = d.listenConn(ctx); err != nil {
			conn = nil
			backoff = min(backoff*2, reconnectMax)
			continue
		}
		backoff = reconnectMin
		d.opts.Logger.Info("postgres listen connection restored", "schema", d.schema)
		d.deliver(driver.Topic{Kind: driver.TopicAny})
	}
}

// receive delivers the notifications of one connection until it fails.
func (d *DB) receive(ctx context.Context, conn *pgx.Conn) {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() == nil {
				d.opts.Logger.Warn("postgres listen connection lost; reconnecting", "schema", d.schema, "err", redact(err))
			}
			return
		}
		p, ok := decodePayload(n.Payload)
		switch {
		case !ok:
			d.deliver(driver.Topic{Kind: driver.TopicAny})
		case p.Handle != d.handle:
			d.deliver(p.topics...)
		}
	}
}
