package embedded

import (
	"database/sql"

	"ferry/model"
)

// removal emits one removal event per row of q, whose columns are id,
// parent, changed_at and changed_by.
//
// A fifth column, when the query has one, is the content's type: the page
// tree holds folders too, which go as folder.deleted.
func (r *reader) removal(t model.EventType, space, q string, args ...any) error {
	return r.query(q, func(rows *sql.Rows) error {
		var id, parent, at, typ string
		var by sql.NullString
		dest := []any{&id, &parent, &at, &by}
		if cols, _ := rows.Columns(); len(cols) == 5 {
			dest = append(dest, &typ)
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		t := t
		if typ == "folder" {
			t = model.FolderDeleted
		}
		return r.change(t, id, parent, space, at, by, &model.Deleted{ID: id})
	}, args...)
}

// removed selects rows that existed at the watermark and are gone now.
const removed = ` AND created_rev <= ?2 AND deleted_rev > ?2`

func (r *reader) spaceRemovals(s spaceRef) error {
	if s.createdRev > r.since {
		return nil // new since the watermark: nothing of it was copied before
	}
	steps := []struct {
		t model.EventType
		q string
	}{
		{model.AppDataRemoved, `SELECT id, coalesce(container_id, ''), changed_at, changed_by FROM app_data WHERE space_id = ?1` + removed + ` ORDER BY id`},
		{model.LikeRemoved, `SELECT container_id || ':' || account_id, container_id, changed_at, changed_by FROM likes WHERE ` + likesInSpace + removed + ` ORDER BY 1`},
		{model.PropertyDeleted, `SELECT container_id || ':' || key, container_id, changed_at, changed_by FROM properties WHERE ` + inSpace + removed + ` ORDER BY 1`},
		{model.RestrictionRemoved, `SELECT container_id || ':' || operation || ':' || principal_type || ':' || principal_id, container_id, changed_at, changed_by
			FROM restrictions WHERE ` + inSpace + removed + ` ORDER BY 1`},
		{model.LabelRemoved, `SELECT container_id || ':' || prefix || ':' || name, container_id, changed_at, changed_by FROM labels WHERE ` + inSpace + removed + ` ORDER BY 1`},
		{model.AttachmentDeleted, `SELECT id, container_id, changed_at, changed_by FROM attachments WHERE ` + inSpace + removed + ` ORDER BY id`},
		{model.CommentDeleted, `WITH RECURSIVE tree(id, depth) AS (
			SELECT cm.id, 0 FROM comments cm JOIN content c ON c.id = cm.container_id WHERE c.space_id = ?1 AND +cm.parent_id IS NULL
			UNION ALL SELECT cm.id, t.depth + 1 FROM comments cm JOIN tree t ON cm.parent_id = t.id)
			SELECT cm.id, cm.container_id, cm.changed_at, cm.changed_by FROM tree JOIN comments cm ON cm.id = tree.id
			WHERE 1` + removed + ` ORDER BY tree.depth DESC, cm.id`},
		{model.BlogpostDeleted, `SELECT id, '', changed_at, changed_by FROM content WHERE space_id = ?1 AND type = 'blogpost'` + removed + ` ORDER BY id`},
		{model.PageDeleted, `WITH RECURSIVE tree(id, depth) AS (
			SELECT id, 0 FROM content WHERE space_id = ?1 AND type IN ('page', 'folder') AND +parent_id IS NULL
			UNION ALL SELECT c.id, t.depth + 1 FROM content c JOIN tree t ON c.parent_id = t.id)
			SELECT c.id, coalesce(c.parent_id, ''), c.changed_at, c.changed_by, c.type FROM tree JOIN content c ON c.id = tree.id
			WHERE 1` + removed + ` ORDER BY tree.depth DESC, c.id`},
		{model.SpacePermissionRevoked, `SELECT id, space_id, changed_at, changed_by FROM space_permissions WHERE space_id = ?1` + removed + ` ORDER BY id`},
		{model.SpaceDeleted, `SELECT id, '', changed_at, changed_by FROM spaces WHERE id = ?1` + removed},
	}
	// The tree walks run only where something was removed: they read
	// every page or comment of the space, the gates only what was removed.
	gates := map[model.EventType]string{
		model.CommentDeleted: `SELECT 1 FROM comments cm INDEXED BY comments_removed JOIN content c ON c.id = cm.container_id
			WHERE cm.deleted_rev > ?2 AND cm.created_rev <= ?2 AND c.space_id = ?1 LIMIT 1`,
		model.PageDeleted: `SELECT 1 FROM content INDEXED BY content_removed WHERE deleted_rev > ?2 AND created_rev <= ?2 AND space_id = ?1 AND type IN ('page', 'folder') LIMIT 1`,
	}
	for _, st := range steps {
		if gate, ok := gates[st.t]; ok {
			found := false
			if err := r.query(gate, func(*sql.Rows) error { found = true; return nil }, s.id, r.since); err != nil {
				return err
			}
			if !found {
				continue
			}
		}
		if err := r.removal(st.t, s.key, st.q, s.id, r.since); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) globalRemovals() error {
	if err := r.removal(model.MembershipRemoved, "", r.scope()+`SELECT group_id || ':' || account_id, group_id, changed_at, changed_by FROM memberships
		WHERE group_id IN rg AND created_rev <= ? AND deleted_rev > ? ORDER BY group_id, account_id`, r.since, r.since); err != nil {
		return err
	}
	return r.removal(model.GroupDeleted, "", r.scope()+`SELECT id, '', changed_at, changed_by FROM groups
		WHERE id IN rg AND created_rev <= ? AND deleted_rev > ? ORDER BY id`, r.since, r.since)
}
