// Package importer replays an archive into a destination site: in archive
// order, idempotently, resumably, and without overwriting what the
// destination already holds unless told to.
//
// Before anything is written, the archive is verified whole and a plan is
// made: which source users match destination accounts (by email, compared
// case-insensitively), which groups merge (--merge-groups) or are copied
// under a new name, which space keys collide (compared case-insensitively)
// and what the conflict policy does with them, and who gains access through
// a merge. A conflict under the fail policy stops the import there.
//
// Events are then applied in batches. Each batch's writes, the map from
// source ids to destination ids (which is also every entity's provenance:
// source site, source id, archive) and the archive's checkpoint commit in
// one transaction, so an import killed at any moment resumes from its last
// checkpoint and ends as an uninterrupted one would. A dry run takes the
// same path in one transaction that is rolled back.
package importer
