package embedded

import (
	"database/sql"
	"fmt"
	"strings"
)

// What an import needs of a destination beyond writing entities: the map
// from source ids to this site's ids (which is also the provenance of
// everything imported), checkpoints, and lookups to match what exists.
// All of it happens in the import's transactions, so a checkpoint is never
// ahead of the writes it covers.

// Lookup returns the destination id an import recorded for a source entity.
func (t *Tx) Lookup(sourceSite, kind, sourceID string) (destID string, owned, ok bool, err error) {
	err = t.queryRow(`SELECT dest_id, owned FROM id_map WHERE source_site = ? AND kind = ? AND source_id = ?`,
		sourceSite, kind, sourceID).Scan(&destID, &owned)
	if err == sql.ErrNoRows {
		return "", false, false, nil
	}
	return destID, owned, err == nil, err
}

// Record remembers where a source entity went and which archive put it there.
func (t *Tx) Record(sourceSite, kind, sourceID, destID, archiveID string, owned bool) error {
	_, err := t.exec(`INSERT INTO id_map(source_site, kind, source_id, dest_id, archive_id, owned) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT DO UPDATE SET dest_id = excluded.dest_id`, sourceSite, kind, sourceID, destID, archiveID, owned)
	return err
}

// ImportState is what the site knows of an archive's import.
type ImportState struct {
	Seq  int64
	Done bool
}

// Imported returns the state of an archive's import, if it was started.
func (t *Tx) Imported(archiveID string) (ImportState, bool, error) {
	var s ImportState
	err := t.queryRow(`SELECT seq, done FROM imports WHERE archive_id = ?`, archiveID).Scan(&s.Seq, &s.Done)
	if err == sql.ErrNoRows {
		return s, false, nil
	}
	return s, err == nil, err
}

// Checkpoint records that an archive's events up to seq are applied.
func (t *Tx) Checkpoint(archiveID, parentID, sourceSite string, seq int64, done bool) error {
	var finished any
	if done {
		finished = t.at
	}
	_, err := t.exec(`INSERT INTO imports(archive_id, parent_id, source_site, seq, done, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO UPDATE SET seq = excluded.seq, done = excluded.done, finished_at = excluded.finished_at`,
		archiveID, parentID, sourceSite, seq, done, t.at, finished)
	return err
}

// UserByEmail finds a live account by email, case-insensitively.
func (t *Tx) UserByEmail(email string) (string, bool, error) {
	return t.one(`SELECT account_id FROM users WHERE lower(email) = lower(?) ORDER BY account_id LIMIT 1`, email)
}

// UserExists reports whether an account id is taken.
func (t *Tx) UserExists(accountID string) (bool, error) {
	_, ok, err := t.one(`SELECT account_id FROM users WHERE account_id = ?`, accountID)
	return ok, err
}

// AppInstalled reports whether an app with this key is installed.
func (t *Tx) AppInstalled(key string) (bool, error) {
	_, ok, err := t.one(`SELECT key FROM apps WHERE key = ?`, key)
	return ok, err
}

// GroupByName finds a live group by name.
func (t *Tx) GroupByName(name string) (string, bool, error) {
	return t.one(`SELECT id FROM groups WHERE name = ? AND deleted_rev IS NULL ORDER BY id LIMIT 1`, name)
}

// SpaceByKey finds a live space by key, case-insensitively, and returns
// its id and key as stored.
func (t *Tx) SpaceByKey(key string) (id, storedKey string, ok bool, err error) {
	err = t.queryRow(`SELECT id, key FROM spaces WHERE key = ? COLLATE NOCASE AND deleted_rev IS NULL`, key).Scan(&id, &storedKey)
	if err == sql.ErrNoRows {
		return "", "", false, nil
	}
	return id, storedKey, err == nil, err
}

// FreeSpaceKey returns a key based on key that no space uses, compared
// case-insensitively.
func (t *Tx) FreeSpaceKey(key string) (string, error) {
	base := strings.ToUpper(key)
	for n := 1; ; n++ {
		candidate := fmt.Sprintf("%s%d", base, n)
		if _, _, ok, err := t.SpaceByKey(candidate); err != nil || !ok {
			return candidate, err
		}
	}
}

// GroupMembers lists a live group's members.
func (t *Tx) GroupMembers(groupID string) ([]string, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT account_id FROM memberships WHERE group_id = ? AND deleted_rev IS NULL ORDER BY account_id`, groupID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// versionTables names each versioned kind's table and owner column.
var versionTables = map[string][2]string{
	"content":    {"content_versions", "content_id"},
	"comment":    {"comment_versions", "comment_id"},
	"attachment": {"attachment_versions", "attachment_id"},
}

// VersionExists reports whether content, a comment or an attachment
// already has a version of this number.
func (t *Tx) VersionExists(kind, id string, number int) (bool, error) {
	tc, ok := versionTables[kind]
	if !ok {
		return false, fmt.Errorf("no versions of %s", kind)
	}
	_, found, err := t.one(`SELECT 1 FROM `+tc[0]+` WHERE `+tc[1]+` = ? AND number = ?`, id, number)
	return found, err
}

// NewID returns a fresh id for an imported entity, counted in the site.
func (t *Tx) NewID(prefix string) (string, error) {
	var n int64
	err := t.queryRow(`INSERT INTO meta(key, value) VALUES ('next_id', '1')
		ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1 RETURNING CAST(value AS INTEGER)`).Scan(&n)
	return fmt.Sprintf("%s%d", prefix, n), err
}

// HasBlob reports whether a blob with this digest is stored.
func (t *Tx) HasBlob(digest string) (bool, error) {
	_, ok, err := t.one(`SELECT digest FROM blobs WHERE digest = ?`, digest)
	return ok, err
}

func (t *Tx) one(query string, args ...any) (string, bool, error) {
	var s string
	err := t.queryRow(query, args...).Scan(&s)
	if err == sql.ErrNoRows {
		return "", false, nil
	}
	return s, err == nil, err
}

// SetHomepage points a space at its homepage.
func (t *Tx) SetHomepage(spaceID, contentID string) error {
	return t.execOne("set homepage of", spaceID, `UPDATE spaces SET homepage = ?, rev = ?, changed_at = ?, changed_by = ? WHERE id = ? AND deleted_rev IS NULL`,
		null(contentID), t.rev, t.at, null(t.actor), spaceID)
}

// MappedFrom counts the source entities of a kind that map to a
// destination id (several do when source accounts were merged).
func (t *Tx) MappedFrom(sourceSite, kind, destID string) (int, error) {
	var n int
	err := t.queryRow(`SELECT count(*) FROM id_map WHERE source_site = ? AND kind = ? AND dest_id = ?`, sourceSite, kind, destID).Scan(&n)
	return n, err
}
