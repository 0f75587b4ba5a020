package sqlite

import (
	"context"
	"time"

	qdriver "github.com/queue-sqlite/queuesqlite/driver"
)

var (
	_ qdriver.Exporter       = (*DB)(nil)
	_ qdriver.Importer       = (*DB)(nil)
	_ qdriver.ListenImporter = (*DB)(nil)
)

// ImportListen implements driver.ListenImporter.
func (d *DB) ImportListen(ctx context.Context, p qdriver.ListenImport) error {
	now := micros(time.Now())
	err := d.w.do(ctx, true, func(t *tx) error {
		for _, e := range p.Entries {
			kind, raw := valueArgs(&e.Value)
			if _, err := t.exec(sqlImportListenEntry, e.Key, kind, raw, e.Version, micros(e.UpdatedAt)); err != nil {
				return err
			}
		}
		for _, c := range p.Changes {
			oldKind, oldRaw := valueArgs(c.Old)
			newKind, newRaw := valueArgs(c.New)
			if _, err := t.exec(sqlImportListenChange, c.Seq, c.Key, oldKind, oldRaw, newKind, newRaw, micros(c.Time)); err != nil {
				return err
			}
		}
		for _, g := range p.Groups {
			if _, err := t.exec(sqlImportListenGroup, g.Name, g.Cursor, now); err != nil {
				return err
			}
		}
		return nil
	})
	return d.wrap("import listen data", err)
}
