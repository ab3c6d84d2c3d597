// Package embedded is a Confluence site in one SQLite file: the source and
// destination of demos, rehearsals and tests. It holds everything in the
// model, with history and attachment bytes.
//
// Every write happens in Update, one SQLite transaction that takes the next
// site revision. Rows carry the revision that created, last changed and
// deleted them (deletions are tombstones, so an incremental export can say
// what went away), and a journal records what kind of change each revision
// made to each entity (moved, status, renamed, ...). Changes reads one
// consistent snapshot and emits the site's history as model.Changes in
// archive order (spec/EVENTS.md), all of it or only what changed after a
// revision.
//
// The schema is versioned by PRAGMA user_version; opening an older site
// applies the missing migrations (schema.go) in place, each in its own
// transaction, and a site newer than this code is refused.
package embedded
