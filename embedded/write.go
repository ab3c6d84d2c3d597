package embedded

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"ferry/model"
)

// Tx is one Update's transaction. Its methods write model entities; each
// stamps the rows it touches with the transaction's revision, time and actor.
type Tx struct {
	tx    *sql.Tx
	ctx   context.Context
	rev   int64
	at    string
	actor string
	stmts map[string]*sql.Stmt
}

// Rev is the revision this transaction writes.
func (t *Tx) Rev() int64 { return t.rev }

func (t *Tx) exec(query string, args ...any) (sql.Result, error) {
	st, ok := t.stmts[query]
	if !ok {
		var err error
		if st, err = t.tx.PrepareContext(t.ctx, query); err != nil {
			return nil, fmt.Errorf("prepare %q: %w", query, err)
		}
		t.stmts[query] = st
	}
	return st.ExecContext(t.ctx, args...)
}

// queryRow runs a query that returns one row, with a cached statement.
func (t *Tx) queryRow(query string, args ...any) *sql.Row {
	st, ok := t.stmts[query]
	if !ok {
		var err error
		if st, err = t.tx.PrepareContext(t.ctx, query); err != nil {
			// Let the error surface through Scan: QueryRow on the tx reports it.
			return t.tx.QueryRowContext(t.ctx, query, args...)
		}
		t.stmts[query] = st
	}
	return st.QueryRowContext(t.ctx, args...)
}

// execOne runs a statement that must change exactly one row.
func (t *Tx) execOne(what, id, query string, args ...any) error {
	res, err := t.exec(query, args...)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("%s %s: no such entity", what, id)
	}
	return nil
}

func (t *Tx) closeStmts() {
	for _, st := range t.stmts {
		st.Close()
	}
}

// journal records a change that revisions alone do not tell apart.
func (t *Tx) journal(kind, id, op string) error {
	_, err := t.exec(`INSERT INTO journal(rev, kind, id, op) VALUES (?, ?, ?, ?)`, t.rev, kind, id, op)
	return err
}

func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// stamp is the revision columns of an insert: created_rev, rev, changed_at, changed_by.
func (t *Tx) stamp() []any { return []any{t.rev, t.rev, t.at, null(t.actor)} }

func (t *Tx) ins(query string, args ...any) error {
	_, err := t.exec(query, append(args, t.stamp()...)...)
	return err
}

// PutUser creates the user or replaces its state.
func (t *Tx) PutUser(u model.User) error {
	res, err := t.exec(`UPDATE users SET email = ?, display_name = ?, status = ?, account_type = ?, rev = ?, changed_at = ?, changed_by = ?
		WHERE account_id = ?`, null(u.Email), u.DisplayName, u.Status, u.AccountType, t.rev, t.at, null(t.actor), u.AccountID)
	if err != nil {
		return fmt.Errorf("user %s: %w", u.AccountID, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	return t.ins(`INSERT INTO users(account_id, email, display_name, status, account_type, created_at, created_rev, rev, changed_at, changed_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, u.AccountID, null(u.Email), u.DisplayName, u.Status, u.AccountType, t.at)
}

// CreateGroup adds a group.
func (t *Tx) CreateGroup(g model.Group) error {
	return t.ins(`INSERT INTO groups(id, name, created_at, created_rev, rev, changed_at, changed_by) VALUES (?, ?, ?, ?, ?, ?, ?)`, g.ID, g.Name, t.at)
}

// RenameGroup gives a group a new name.
func (t *Tx) RenameGroup(id, name string) error {
	return t.execOne("rename group", id, `UPDATE groups SET name = ?, rev = ?, changed_at = ?, changed_by = ? WHERE id = ? AND deleted_rev IS NULL`, name, t.rev, t.at, null(t.actor), id)
}

// DeleteGroup deletes a group and its memberships.
func (t *Tx) DeleteGroup(id string) error {
	if _, err := t.exec(`UPDATE memberships SET deleted_rev = ?, rev = ?, changed_at = ?, changed_by = ? WHERE group_id = ? AND deleted_rev IS NULL`, t.rev, t.rev, t.at, null(t.actor), id); err != nil {
		return err
	}
	return t.execOne("delete group", id, `UPDATE groups SET deleted_rev = ?, rev = ?, changed_at = ?, changed_by = ? WHERE id = ? AND deleted_rev IS NULL`, t.rev, t.rev, t.at, null(t.actor), id)
}

// AddMembership puts a user in a group (again, if they had left).
func (t *Tx) AddMembership(m model.Membership) error {
	return t.ins(`INSERT INTO memberships(group_id, account_id, created_rev, rev, changed_at, changed_by) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT(group_id, account_id) DO UPDATE SET created_rev = excluded.created_rev, rev = excluded.rev, deleted_rev = NULL,
		changed_at = excluded.changed_at, changed_by = excluded.changed_by WHERE deleted_rev IS NOT NULL`, m.GroupID, m.AccountID)
}

// RemoveMembership takes a user out of a group.
func (t *Tx) RemoveMembership(m model.Membership) error {
	return t.execOne("remove membership", m.GroupID+":"+m.AccountID, `UPDATE memberships SET deleted_rev = ?, rev = ?, changed_at = ?, changed_by = ?
		WHERE group_id = ? AND account_id = ? AND deleted_rev IS NULL`, t.rev, t.rev, t.at, null(t.actor), m.GroupID, m.AccountID)
}

// InstallApp records an installed app.
func (t *Tx) InstallApp(a model.App) error {
	_, err := t.exec(`INSERT INTO apps(key, name, vendor, version, created_rev, rev, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.Key, a.Name, a.Vendor, a.Version, t.rev, t.rev, t.at)
	return err
}

// RecordAppData records data an app keeps, in a space or site-wide.
func (t *Tx) RecordAppData(d model.AppData, spaceID string) error {
	return t.ins(`INSERT INTO app_data(id, app_key, space_id, container_id, kind, size, created_rev, rev, changed_at, changed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.AppKey, null(spaceID), null(d.ContainerID), d.Kind, d.Size)
}

// blobChunk is how blob bytes are split into rows: SQLite reads a value
// whole, so chunks keep memory flat for any attachment size.
const blobChunk = 1 << 20

var chunkBuffers = sync.Pool{New: func() any { b := make([]byte, blobChunk); return &b }}

// PutBlob stores bytes once per distinct content and returns their digest.
func (t *Tx) PutBlob(data []byte) (string, error) {
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	res, err := t.exec(`INSERT INTO blobs(digest, size) VALUES (?, ?) ON CONFLICT DO NOTHING`, digest, len(data))
	if err != nil {
		return "", err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return digest, nil // already stored
	}
	for n := 0; n*blobChunk < len(data) || n == 0; n++ {
		chunk := data[n*blobChunk : min(len(data), (n+1)*blobChunk)]
		if _, err := t.exec(`INSERT INTO blob_chunks(digest, n, data) VALUES (?, ?, ?)`, digest, n, chunk); err != nil {
			return "", err
		}
	}
	return digest, nil
}

// PutBlobFrom stores the bytes read from r, in chunks, without holding
// them: under a placeholder digest until the real one is known.
func (t *Tx) PutBlobFrom(r io.Reader) (string, int64, error) {
	tmp := fmt.Sprintf("partial-%d", t.rev)
	if _, err := t.exec(`INSERT INTO blobs(digest, size) VALUES (?, 0)`, tmp); err != nil {
		return "", 0, err
	}
	digest, size, err := t.writeChunks(tmp, r)
	if err != nil {
		return "", 0, err
	}
	res, err := t.exec(`INSERT INTO blobs(digest, size) VALUES (?, ?) ON CONFLICT DO NOTHING`, digest, size)
	if err != nil {
		return "", 0, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		_, err = t.exec(`DELETE FROM blob_chunks WHERE digest = ?`, tmp) // stored before
	} else {
		_, err = t.exec(`UPDATE blob_chunks SET digest = ? WHERE digest = ?`, digest, tmp)
	}
	if err == nil {
		_, err = t.exec(`DELETE FROM blobs WHERE digest = ?`, tmp)
	}
	return digest, size, err
}

// PutBlobAs stores the bytes read from r under the digest the caller
// expects, in chunks, without holding them, and fails if they hash to
// another (the transaction then writes nothing). Bytes stored before are
// not read again. Unlike PutBlobFrom, no chunk is written twice.
func (t *Tx) PutBlobAs(digest string, r io.Reader) (int64, error) {
	res, err := t.exec(`INSERT INTO blobs(digest, size) VALUES (?, 0) ON CONFLICT DO NOTHING`, digest)
	if err != nil {
		return 0, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return 0, nil // already stored
	}
	got, size, err := t.writeChunks(digest, r)
	if err != nil {
		return 0, err
	}
	if got != digest {
		return 0, fmt.Errorf("blob %s: its bytes hash to %s", digest, got)
	}
	_, err = t.exec(`UPDATE blobs SET size = ? WHERE digest = ?`, size, digest)
	return size, err
}

// writeChunks stores what r holds as the chunks of the blob named key and
// returns the bytes' SHA-256 and size.
func (t *Tx) writeChunks(key string, r io.Reader) (string, int64, error) {
	h := sha256.New()
	// Pooled: most blobs are small, and a fresh megabyte for each one
	// cost an import of 100,000 blobs a tenth of its time in clearing and GC.
	bp := chunkBuffers.Get().(*[]byte)
	defer chunkBuffers.Put(bp)
	buf := *bp
	var size int64
	for n := 0; ; n++ {
		k, err := io.ReadFull(r, buf)
		if k > 0 || n == 0 {
			h.Write(buf[:k])
			size += int64(k)
			if _, err := t.exec(`INSERT INTO blob_chunks(digest, n, data) VALUES (?, ?, ?)`, key, n, buf[:k]); err != nil {
				return "", 0, err
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return "", 0, err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

// CreateSpace adds a space.
func (t *Tx) CreateSpace(s model.Space) error {
	return t.ins(`INSERT INTO spaces(id, key, name, type, status, description, logo, categories, homepage, settings, look_and_feel, templates, created_at, author,
		created_rev, rev, changed_at, changed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.Key, s.Name, s.Type, s.Status, s.Description, null(s.Logo), jsonText(s.Categories), null(s.Homepage),
		jsonText(s.Settings), jsonText(s.LookAndFeel), jsonText(s.Templates), fmtTime(s.CreatedAt), null(s.Author))
}

// UpdateSpace replaces a space's state (not its id, key or creation).
func (t *Tx) UpdateSpace(s model.Space) error {
	return t.execOne("update space", s.ID, `UPDATE spaces SET name = ?, type = ?, status = ?, description = ?, logo = ?, categories = ?, homepage = ?,
		settings = ?, look_and_feel = ?, templates = ?, rev = ?, changed_at = ?, changed_by = ? WHERE id = ? AND deleted_rev IS NULL`,
		s.Name, s.Type, s.Status, s.Description, null(s.Logo), jsonText(s.Categories), null(s.Homepage),
		jsonText(s.Settings), jsonText(s.LookAndFeel), jsonText(s.Templates), t.rev, t.at, null(t.actor), s.ID)
}

// GrantPermission adds a space permission.
func (t *Tx) GrantPermission(p model.SpacePermission) error {
	return t.ins(`INSERT INTO space_permissions(id, space_id, principal_type, principal_id, operation, created_rev, rev, changed_at, changed_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.ID, p.SpaceID, p.PrincipalType, null(p.PrincipalID), p.Operation)
}

// RevokePermission removes a space permission.
func (t *Tx) RevokePermission(id string) error {
	return t.tombstone("space_permissions", "id = ?", id)
}

// tombstone marks the live row matching where as deleted.
func (t *Tx) tombstone(table, where string, args ...any) error {
	return t.execOne("delete from "+table, fmt.Sprint(args...), `UPDATE `+table+` SET deleted_rev = ?, rev = ?, changed_at = ?, changed_by = ?
		WHERE `+where+` AND deleted_rev IS NULL`, append([]any{t.rev, t.rev, t.at, null(t.actor)}, args...)...)
}

// CreateContent adds a page or blog post (its text comes in versions).
func (t *Tx) CreateContent(c model.Content) error {
	return t.ins(`INSERT INTO content(id, type, space_id, parent_id, position, status, created_at, author, created_rev, rev, changed_at, changed_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.ID, c.Type, c.SpaceID, null(c.ParentID), c.Position, c.Status, fmtTime(c.CreatedAt), null(c.Author))
}

// AddVersion adds the next version of a page or blog post.
func (t *Tx) AddVersion(v model.Version) error {
	_, err := t.AddVersionIfNew(v)
	return err
}

// AddVersionIfNew adds a version of a page or blog post unless one of that
// number exists, and says whether it added it.
func (t *Tx) AddVersionIfNew(v model.Version) (bool, error) {
	res, err := t.exec(`INSERT INTO content_versions(content_id, number, title, body, author, at, message, minor_edit, rev, format) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, v.ContentID, v.Number, v.Title, v.Body, null(v.Author), fmtTime(v.At), v.Message, v.MinorEdit, t.rev, null(v.Format))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// MoveContent gives a page a new parent or position.
func (t *Tx) MoveContent(id, parentID string, position int) error {
	if err := t.execOne("move", id, `UPDATE content SET parent_id = ?, position = ?, rev = ?, changed_at = ?, changed_by = ? WHERE id = ? AND deleted_rev IS NULL`,
		null(parentID), position, t.rev, t.at, null(t.actor), id); err != nil {
		return err
	}
	return t.journal("content", id, "moved")
}

// IsUnder reports whether content id lies in ancestor's subtree (or is
// it): moving ancestor under id would make a circle.
func (t *Tx) IsUnder(id, ancestor string) (bool, error) {
	var n int
	err := t.tx.QueryRowContext(t.ctx, `WITH RECURSIVE up(id) AS (SELECT ? UNION SELECT c.parent_id FROM content c JOIN up ON c.id = up.id WHERE c.parent_id IS NOT NULL)
		SELECT count(*) FROM up WHERE id = ?`, id, ancestor).Scan(&n)
	return n > 0, err
}

// SetContentStatus trashes, restores, archives or publishes content.
func (t *Tx) SetContentStatus(id, status string) error {
	if err := t.execOne("set status of", id, `UPDATE content SET status = ?, rev = ?, changed_at = ?, changed_by = ? WHERE id = ? AND deleted_rev IS NULL`,
		status, t.rev, t.at, null(t.actor), id); err != nil {
		return err
	}
	return t.journal("content", id, "status")
}

// LiftChildren moves the live children of content id up to its parent,
// as Confluence does with the children of a page it purges.
func (t *Tx) LiftChildren(id string) error {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT id FROM content WHERE parent_id = ? AND deleted_rev IS NULL ORDER BY position, id`, id)
	if err != nil {
		return err
	}
	var children []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return err
		}
		children = append(children, c)
	}
	rows.Close()
	var parent sql.NullString
	if len(children) > 0 {
		if err := t.tx.QueryRowContext(t.ctx, `SELECT parent_id FROM content WHERE id = ?`, id).Scan(&parent); err != nil {
			return fmt.Errorf("lift the children of %s: %w", id, err)
		}
	}
	for i, c := range children {
		if err := t.MoveContent(c, parent.String, i); err != nil {
			return err
		}
	}
	return nil
}

// DeleteContent purges a page, blog post or folder with everything on
// it. Its children must have been moved or deleted first.
func (t *Tx) DeleteContent(id string) error {
	var children int
	t.tx.QueryRowContext(t.ctx, `SELECT count(*) FROM content WHERE parent_id = ? AND deleted_rev IS NULL`, id).Scan(&children)
	if children > 0 {
		return fmt.Errorf("delete content %s: it has %d live children; move or delete them first", id, children)
	}
	for _, table := range []string{"comments", "attachments", "labels", "restrictions", "properties"} {
		if _, err := t.exec(`UPDATE `+table+` SET deleted_rev = ?, rev = ?, changed_at = ?, changed_by = ? WHERE container_id = ? AND deleted_rev IS NULL`,
			t.rev, t.rev, t.at, null(t.actor), id); err != nil {
			return err
		}
	}
	if _, err := t.exec(`UPDATE likes SET deleted_rev = ?, rev = ?, changed_at = ?, changed_by = ? WHERE deleted_rev IS NULL AND
		(container_id = ? OR container_id IN (SELECT id FROM comments WHERE container_id = ?))`, t.rev, t.rev, t.at, null(t.actor), id, id); err != nil {
		return err
	}
	return t.tombstone("content", "id = ?", id)
}

// CreateComment adds a comment (its body comes in versions).
func (t *Tx) CreateComment(c model.Comment) error {
	var anchor any
	if c.Anchor != nil {
		anchor = jsonText(c.Anchor)
	}
	return t.ins(`INSERT INTO comments(id, container_id, parent_id, location, anchor, status, author, created_at, created_rev, rev, changed_at, changed_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.ID, c.ContainerID, null(c.ParentID), c.Location, anchor, c.Status, null(c.Author), fmtTime(c.CreatedAt))
}

// AddCommentVersion adds the next version of a comment.
func (t *Tx) AddCommentVersion(v model.Version) error {
	_, err := t.AddCommentVersionIfNew(v)
	return err
}

// AddCommentVersionIfNew adds a version of a comment unless one of that
// number exists, and says whether it added it.
func (t *Tx) AddCommentVersionIfNew(v model.Version) (bool, error) {
	res, err := t.exec(`INSERT INTO comment_versions(comment_id, number, body, author, at, rev, format) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		v.ContentID, v.Number, v.Body, null(v.Author), fmtTime(v.At), t.rev, null(v.Format))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// DeleteComment deletes a comment with its replies and likes.
func (t *Tx) DeleteComment(id string) error {
	if _, err := t.exec(`UPDATE likes SET deleted_rev = ?, rev = ?, changed_at = ?, changed_by = ? WHERE container_id = ? AND deleted_rev IS NULL`,
		t.rev, t.rev, t.at, null(t.actor), id); err != nil {
		return err
	}
	if _, err := t.exec(`UPDATE comments SET deleted_rev = ?, rev = ?, changed_at = ?, changed_by = ? WHERE parent_id = ? AND deleted_rev IS NULL`,
		t.rev, t.rev, t.at, null(t.actor), id); err != nil {
		return err
	}
	return t.tombstone("comments", "id = ?", id)
}

// CreateAttachment adds an attachment (its bytes come in versions).
func (t *Tx) CreateAttachment(a model.Attachment) error {
	return t.ins(`INSERT INTO attachments(id, container_id, filename, media_type, author, created_at, created_rev, rev, changed_at, changed_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, a.ContainerID, a.Filename, a.MediaType, null(a.Author), fmtTime(a.CreatedAt))
}

// AddAttachmentVersion adds the next version of an attachment; its blob
// must have been stored.
func (t *Tx) AddAttachmentVersion(v model.AttachmentVersion) error {
	_, err := t.exec(`INSERT INTO attachment_versions(attachment_id, number, blob, size, media_type, comment, author, at, rev) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.AttachmentID, v.Number, v.Blob, v.Size, v.MediaType, v.Comment, null(v.Author), fmtTime(v.At), t.rev)
	return err
}

// DeleteAttachment deletes an attachment with all its versions.
func (t *Tx) DeleteAttachment(id string) error { return t.tombstone("attachments", "id = ?", id) }

// AddLabel labels content.
func (t *Tx) AddLabel(l model.Label) error {
	return t.ins(`INSERT INTO labels(container_id, prefix, name, created_rev, rev, changed_at, changed_by) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO UPDATE SET created_rev = excluded.created_rev, rev = excluded.rev, deleted_rev = NULL, changed_at = excluded.changed_at,
		changed_by = excluded.changed_by WHERE deleted_rev IS NOT NULL`, l.ContainerID, l.Prefix, l.Name)
}

// RemoveLabel removes a label.
func (t *Tx) RemoveLabel(l model.Label) error {
	return t.tombstone("labels", "container_id = ? AND prefix = ? AND name = ?", l.ContainerID, l.Prefix, l.Name)
}

// AddRestriction restricts content to a principal.
func (t *Tx) AddRestriction(r model.Restriction) error {
	return t.ins(`INSERT INTO restrictions(container_id, operation, principal_type, principal_id, created_rev, rev, changed_at, changed_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET created_rev = excluded.created_rev, rev = excluded.rev, deleted_rev = NULL,
		changed_at = excluded.changed_at, changed_by = excluded.changed_by WHERE deleted_rev IS NOT NULL`, r.ContainerID, r.Operation, r.PrincipalType, r.PrincipalID)
}

// RemoveRestriction lifts a restriction.
func (t *Tx) RemoveRestriction(r model.Restriction) error {
	return t.tombstone("restrictions", "container_id = ? AND operation = ? AND principal_type = ? AND principal_id = ?", r.ContainerID, r.Operation, r.PrincipalType, r.PrincipalID)
}

// SetProperty creates or replaces a content property.
func (t *Tx) SetProperty(p model.Property) error {
	return t.ins(`INSERT INTO properties(container_id, key, value, version, created_rev, rev, changed_at, changed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO UPDATE SET value = excluded.value, version = excluded.version, rev = excluded.rev, changed_at = excluded.changed_at,
		changed_by = excluded.changed_by, created_rev = CASE WHEN deleted_rev IS NULL THEN created_rev ELSE excluded.created_rev END, deleted_rev = NULL`,
		p.ContainerID, p.Key, string(p.Value), p.Version)
}

// DeleteProperty removes a content property.
func (t *Tx) DeleteProperty(containerID, key string) error {
	return t.tombstone("properties", "container_id = ? AND key = ?", containerID, key)
}

// AddLike records a like.
func (t *Tx) AddLike(l model.Like) error {
	return t.ins(`INSERT INTO likes(container_id, container_type, account_id, at, created_rev, rev, changed_at, changed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO UPDATE SET at = excluded.at, created_rev = excluded.created_rev, rev = excluded.rev, deleted_rev = NULL,
		changed_at = excluded.changed_at, changed_by = excluded.changed_by WHERE deleted_rev IS NOT NULL`, l.ContainerID, l.ContainerType, l.AccountID, fmtTime(l.At))
}

// RemoveLike withdraws a like.
func (t *Tx) RemoveLike(containerID, accountID string) error {
	return t.tombstone("likes", "container_id = ? AND account_id = ?", containerID, accountID)
}

// DeleteSpace deletes a space with everything in it.
func (t *Tx) DeleteSpace(id string) error {
	stamp := []any{t.rev, t.rev, t.at, null(t.actor)}
	inSpace := `container_id IN (SELECT id FROM content WHERE space_id = ?)`
	for _, q := range []string{
		`UPDATE likes SET deleted_rev = ?, rev = ?, changed_at = ?, changed_by = ? WHERE deleted_rev IS NULL AND (` + inSpace + ` OR container_id IN
			(SELECT cm.id FROM comments cm JOIN content c ON c.id = cm.container_id WHERE c.space_id = ?))`,
		`UPDATE properties SET deleted_rev = ?, rev = ?, changed_at = ?, changed_by = ? WHERE deleted_rev IS NULL AND ` + inSpace,
		`UPDATE restrictions SET deleted_rev = ?, rev = ?, changed_at = ?, changed_by = ? WHERE deleted_rev IS NULL AND ` + inSpace,
		`UPDATE labels SET deleted_rev = ?, rev = ?, changed_at = ?, changed_by = ? WHERE deleted_rev IS NULL AND ` + inSpace,
		`UPDATE attachments SET deleted_rev = ?, rev = ?, changed_at = ?, changed_by = ? WHERE deleted_rev IS NULL AND ` + inSpace,
		`UPDATE comments SET deleted_rev = ?, rev = ?, changed_at = ?, changed_by = ? WHERE deleted_rev IS NULL AND ` + inSpace,
		`UPDATE content SET deleted_rev = ?, rev = ?, changed_at = ?, changed_by = ? WHERE deleted_rev IS NULL AND space_id = ?`,
		`UPDATE space_permissions SET deleted_rev = ?, rev = ?, changed_at = ?, changed_by = ? WHERE deleted_rev IS NULL AND space_id = ?`,
		`UPDATE app_data SET deleted_rev = ?, rev = ?, changed_at = ?, changed_by = ? WHERE deleted_rev IS NULL AND space_id = ?`,
	} {
		args := append(append([]any{}, stamp...), id)
		if strings.Count(q, "?") == 6 {
			args = append(args, id)
		}
		if _, err := t.exec(q, args...); err != nil {
			return fmt.Errorf("delete space %s: %w", id, err)
		}
	}
	return t.tombstone("spaces", "id = ?", id)
}
