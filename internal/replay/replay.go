// Package replay reads an archive's events back as model changes: the one
// place where the generic envelope meets Confluence's model on the way in.
package replay

import (
	"fmt"

	"ferry/archive"
	"ferry/model"
)

// Each calls fn with every event of f, in seq order, as a change. want,
// if set, names the event types whose payloads are decoded; the others
// come with a nil payload (cheap passes that need only some types).
func Each(f *archive.File, want func(model.EventType) bool, fn func(seq int64, c *model.Change) error) error {
	it := f.Events()
	defer it.Close()
	for it.Next() {
		ev := it.Event()
		t := model.EventType(ev.Type)
		var payload any
		if want == nil || want(t) {
			var err error
			if payload, err = model.Decode(t, ev.Payload); err != nil {
				return fmt.Errorf("archive %s seq %d: %w", f.Header().ArchiveID, ev.Seq, err)
			}
		}
		c := &model.Change{Type: t, ID: ev.ID, Parent: ev.Parent, Space: ev.Space, At: ev.At, Actor: ev.Actor, Payload: payload}
		if err := fn(ev.Seq, c); err != nil {
			return err
		}
	}
	return it.Err()
}
