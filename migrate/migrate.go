// Package migrate moves a stopped SQLite queue into another backend (for
// scaling out to PostgreSQL): every message with its status, attempts,
// result and times, the listen data with its change log, and every
// listener group's cursor. A move is resumable and idempotent: it records
// its progress in the destination after each batch, a message already
// copied is skipped, and running it again after a crash (or after it
// finished) continues where it stopped, losing and duplicating nothing.
//
// The source must be stopped: FromDir takes the directory's lock
// exclusively, so it fails while any process has the queue open, and no
// process can open it while the move runs. Callbacks registered by the
// processes that sent messages are not moved (they lived in those
// processes); the outcomes are, so Get and Wait on the destination see
// them.
package migrate

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// BatchSizeDefault is how many messages one step copies.
const BatchSizeDefault = 1000

// listenPage is how many listen changes one read returns.
const listenPage = 1000

// Options tunes a move.
type Options struct {
	// BatchSize is the messages per step (default BatchSizeDefault).
	BatchSize int
	// Progress, when set, is called after each step with the messages
	// examined so far (copied or found already there) and the total.
	Progress func(done, total int)
}

// Result reports a move.
type Result struct {
	Messages     int  // messages in the source, all now in the destination
	Resumed      bool // an earlier, interrupted move of this source was continued
	ListenValues int  // listen keys moved
	Changes      int  // change-log entries moved
	Groups       int  // listener group cursors moved
}

// Destination is what a move writes into: a driver that imports messages
// and keeps metadata (the progress record); one that also imports listen
// data gets it.
type Destination interface {
	driver.Importer
	Meta(ctx context.Context, key string) (string, bool, error)
	SetMeta(ctx context.Context, key, value string) error
}

// FromDir moves the stopped SQLite queue in dir into dst.
func FromDir(ctx context.Context, dir string, dst Destination, opts *Options) (*Result, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.BatchSize = cmp.Or(o.BatchSize, BatchSizeDefault)
	if o.BatchSize < 1 {
		return nil, fmt.Errorf("%w: batch size %d", queuetype.ErrInvalidArgument, o.BatchSize)
	}
	src, err := sqlite.OpenDirExclusive(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	m := &mover{src: src, dst: dst, o: o, key: progressKey(src, dir)}
	return m.run(ctx)
}

// progressKey names the move's progress records in the destination: by
// the source's store id, so moves of two queues into one store do not mix.
func progressKey(src *sqlite.Dir, dir string) string {
	id := src.DBs[0].StoreID()
	if id == "" {
		abs, _ := filepath.Abs(dir)
		id = abs
	}
	return "migrate/" + id
}

type mover struct {
	src   *sqlite.Dir
	dst   Destination
	o     Options
	key   string
	total int
	done  int
}

func (m *mover) run(ctx context.Context) (*Result, error) {
	res := &Result{}
	for _, db := range m.src.DBs {
		n, err := db.Count(ctx)
		if err != nil {
			return nil, err
		}
		m.total += n
	}
	res.Messages = m.total
	m.report()
	for i, db := range m.src.DBs {
		resumed, err := m.moveShard(ctx, i, db)
		if err != nil {
			return nil, fmt.Errorf("move shard %d of %s: %w", i, m.src.Path, err)
		}
		res.Resumed = res.Resumed || resumed
	}
	if err := m.moveListen(ctx, res); err != nil {
		return nil, fmt.Errorf("move listen data of %s: %w", m.src.Path, err)
	}
	return res, m.dst.SetMeta(ctx, m.key+"/done", strconv.Itoa(m.total))
}

// moveShard copies one source file's messages in seq order, recording the
// last seq copied after each batch.
func (m *mover) moveShard(ctx context.Context, i int, db *sqlite.DB) (bool, error) {
	key := fmt.Sprintf("%s/shard/%d", m.key, i)
	after, resumed, err := m.progress(ctx, key)
	if err != nil {
		return false, err
	}
	if resumed {
		// Messages before the recorded seq are in the destination already.
		skipped, err := db.CountUpTo(ctx, after)
		if err != nil {
			return false, err
		}
		m.done += skipped
	}
	for {
		ms, err := db.Export(ctx, after, m.o.BatchSize)
		if err != nil || len(ms) == 0 {
			return resumed, err
		}
		if err := m.dst.Import(ctx, ms); err != nil {
			return resumed, err
		}
		after = ms[len(ms)-1].Seq
		if err := m.dst.SetMeta(ctx, key, strconv.FormatInt(after, 10)); err != nil {
			return resumed, err
		}
		m.done += len(ms)
		m.report()
	}
}

// progress reads a recorded seq.
func (m *mover) progress(ctx context.Context, key string) (int64, bool, error) {
	v, ok, err := m.dst.Meta(ctx, key)
	if err != nil || !ok {
		return 0, false, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%w: the progress record %s is %q", queuetype.ErrCorrupt, key, v)
	}
	return n, true, nil
}

func (m *mover) report() {
	if m.o.Progress != nil {
		m.o.Progress(m.done, m.total)
	}
}

// moveListen copies the listen data of the first file (where it lives).
func (m *mover) moveListen(ctx context.Context, res *Result) error {
	first := m.src.DBs[0]
	var p driver.ListenImport
	var err error
	if p.Entries, err = first.ListListen(ctx, ""); err != nil {
		return err
	}
	for after := int64(0); ; {
		cs, err := first.ListenChanges(ctx, after, listenPage)
		if err != nil {
			return err
		}
		if len(cs) == 0 {
			break
		}
		p.Changes = append(p.Changes, cs...)
		after = cs[len(cs)-1].Seq
	}
	if p.Groups, err = first.ListenGroups(ctx); err != nil {
		return err
	}
	if len(p.Entries)+len(p.Changes)+len(p.Groups) == 0 {
		return nil
	}
	li, ok := m.dst.(driver.ListenImporter)
	if !ok {
		return fmt.Errorf("%w: the source has listen data, and the destination cannot import it", queuetype.ErrInvalidArgument)
	}
	if err := li.ImportListen(ctx, p); err != nil {
		return err
	}
	res.ListenValues, res.Changes, res.Groups = len(p.Entries), len(p.Changes), len(p.Groups)
	return nil
}
