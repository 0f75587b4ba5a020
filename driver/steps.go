package driver

import (
	"io/fs"
	"sort"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// SchemaSteps reads a backend's embedded migration scripts (the files
// matching pattern in fsys, e.g. "migrations/*.sql") in name order: step i
// (from 1) brings a store to schema version i.
func SchemaSteps(fsys fs.FS, pattern string) ([]string, error) {
	names, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		out[i] = string(b)
	}
	return out, nil
}

// ListenWrite says what a SetListen of p does to the entry stored (old,
// nil when the key is absent): the change to log and the version to store,
// or nil when nothing changes (deleting what is not there, or writing an
// equal value), in which case nothing is written. Both backends decide
// alike through it.
func ListenWrite(old *queuetype.ListenEntry, p SetListenParams) (*queuetype.Change, int64) {
	if (p.Value == nil && old == nil) || (p.Value != nil && old != nil && old.Value.Equal(*p.Value)) {
		return nil, 0
	}
	change := &queuetype.Change{Key: p.Key, New: p.Value, Time: p.Now}
	version := int64(1)
	if old != nil {
		change.Old, version = &old.Value, old.Version+1
	}
	return change, version
}
