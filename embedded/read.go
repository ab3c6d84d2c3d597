package embedded

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"ferry/model"
)

// reader reads one snapshot: a dedicated connection in a deferred read
// transaction, so writers may go on while an export runs.
type reader struct {
	conn   *sql.Conn
	ctx    context.Context
	since  int64
	spaces string // JSON array of space keys to keep; "" for all
	emit   func(*model.Change) error
}

// Changes emits, in archive order (spec/EVENTS.md), every change made
// after revision since (0: the whole site), limited to the spaces whose
// keys are listed (nil: all) plus the users and groups they reference. It
// returns the revision the snapshot holds, the watermark to continue from.
func (s *Site) Changes(ctx context.Context, since int64, spaces []string, emit func(*model.Change) error) (int64, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN DEFERRED"); err != nil {
		return 0, err
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")
	var rev int64
	if err := conn.QueryRowContext(ctx, `SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'rev'`).Scan(&rev); err != nil {
		return 0, err
	}
	if since > rev {
		return 0, fmt.Errorf("site %s is at revision %d, older than the watermark %d: it is not the site the previous archive came from, or it was restored from a backup", s.path, rev, since)
	}
	r := &reader{conn: conn, ctx: ctx, since: since, emit: emit}
	if spaces != nil {
		if err := r.checkSpaces(spaces); err != nil {
			return 0, err
		}
		r.spaces = jsonText(spaces)
	}
	if err := r.all(); err != nil {
		return 0, err
	}
	return rev, nil
}

func (r *reader) checkSpaces(keys []string) error {
	for _, k := range keys {
		var n int
		if err := r.conn.QueryRowContext(r.ctx, `SELECT count(*) FROM spaces WHERE key = ? COLLATE NOCASE AND (deleted_rev IS NULL OR deleted_rev > ?)`, k, r.since).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("no space with key %q in the site (keys are compared case-insensitively)", k)
		}
	}
	return nil
}

// scope is a CTE naming the spaces (sp), groups (rg) and users (ru) an
// export covers. With a spaces filter, an incremental export also needs
// rg_new and ru_new: those referenced by what changed after the
// watermark, which the destination may not have yet although their own
// rows did not change.
func (r *reader) scope() string {
	if r.spaces == "" {
		return `WITH sp(id) AS (SELECT id FROM spaces), rg(id) AS (SELECT id FROM groups), ru(id) AS (SELECT account_id FROM users),
		rg_new(id) AS (SELECT NULL WHERE 0), ru_new(id) AS (SELECT NULL WHERE 0) `
	}
	sp := `sp(id) AS (SELECT id FROM spaces WHERE lower(key) IN (SELECT lower(value) FROM json_each('` + strings.ReplaceAll(r.spaces, "'", "''") + `')))`
	return "WITH " + sp + ", " + referenced("", "0") + ", " + referenced("_new", fmt.Sprint(r.since)) + " "
}

// referenced renders the CTEs of the groups and users referenced by rows
// of the spaces in sp changed after revision since, named with suffix.
func referenced(suffix, since string) string {
	after := " AND rev > " + since
	return strings.NewReplacer("$", suffix, "@", after).Replace(`sc$(id) AS (SELECT id FROM content WHERE space_id IN sp),
	rg$(id) AS (
		SELECT principal_id FROM space_permissions WHERE space_id IN sp AND principal_type = 'group'@
		UNION SELECT principal_id FROM restrictions WHERE container_id IN sc$ AND principal_type = 'group'@),
	ru$(id) AS (
		SELECT author FROM spaces WHERE id IN sp@ UNION SELECT changed_by FROM spaces WHERE id IN sp@
		UNION SELECT principal_id FROM space_permissions WHERE space_id IN sp AND principal_type = 'user'@
		UNION SELECT author FROM content WHERE id IN sc$@ UNION SELECT changed_by FROM content WHERE id IN sc$@
		UNION SELECT author FROM content_versions WHERE content_id IN sc$@
		UNION SELECT author FROM comments WHERE container_id IN sc$@ UNION SELECT changed_by FROM comments WHERE container_id IN sc$@
		UNION SELECT v.author FROM comment_versions v JOIN comments c ON c.id = v.comment_id WHERE c.container_id IN sc$ AND v.rev > ` + since + `
		UNION SELECT author FROM attachments WHERE container_id IN sc$@
		UNION SELECT v.author FROM attachment_versions v JOIN attachments a ON a.id = v.attachment_id WHERE a.container_id IN sc$ AND v.rev > ` + since + `
		UNION SELECT principal_id FROM restrictions WHERE container_id IN sc$ AND principal_type = 'user'@
		UNION SELECT changed_by FROM labels WHERE container_id IN sc$@ UNION SELECT changed_by FROM properties WHERE container_id IN sc$@
		UNION SELECT account_id FROM likes WHERE (container_id IN sc$ OR container_id IN (SELECT id FROM comments WHERE container_id IN sc$))@
		UNION SELECT account_id FROM memberships WHERE group_id IN rg$)`)
}

// query runs a query and calls each for every row.
func (r *reader) query(q string, scan func(*sql.Rows) error, args ...any) error {
	rows, err := r.conn.QueryContext(r.ctx, q, args...)
	if err != nil {
		return fmt.Errorf("read site: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (r *reader) all() error {
	steps := []func() error{r.users, r.groups, r.memberships, r.apps}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	var spaces []spaceRef
	err := r.query(r.scope()+`SELECT id, key, created_rev, deleted_rev IS NOT NULL FROM spaces WHERE id IN sp AND (deleted_rev IS NULL OR deleted_rev > ?) ORDER BY key`,
		func(rows *sql.Rows) error {
			var s spaceRef
			if err := rows.Scan(&s.id, &s.key, &s.createdRev, &s.deleted); err != nil {
				return err
			}
			spaces = append(spaces, s) // one small record per space, not the site
			return nil
		}, r.since)
	if err != nil {
		return err
	}
	for _, s := range spaces {
		if s.deleted {
			continue
		}
		if err := r.space(s); err != nil {
			return err
		}
	}
	if r.since == 0 {
		return nil
	}
	for i := len(spaces) - 1; i >= 0; i-- {
		if err := r.spaceRemovals(spaces[i]); err != nil {
			return err
		}
	}
	return r.globalRemovals()
}

type spaceRef struct {
	id, key    string
	createdRev int64
	deleted    bool
}

// change builds a Change and emits it.
func (r *reader) change(t model.EventType, id, parent, space, at string, actor sql.NullString, payload any) error {
	return r.emit(&model.Change{Type: t, ID: id, Parent: parent, Space: space, At: parseTime(at), Actor: actor.String, Payload: payload})
}

func (r *reader) users() error {
	return r.query(r.scope()+`SELECT account_id, coalesce(email, ''), display_name, status, account_type, created_at, created_rev, rev, changed_at, changed_by
		FROM users WHERE (account_id IN ru AND rev > ?1) OR (account_id IN ru_new AND rev <= ?1) ORDER BY account_id`, func(rows *sql.Rows) error {
		var u model.User
		var createdAt, changedAt string
		var createdRev, rev int64
		var by sql.NullString
		if err := rows.Scan(&u.AccountID, &u.Email, &u.DisplayName, &u.Status, &u.AccountType, &createdAt, &createdRev, &rev, &changedAt, &by); err != nil {
			return err
		}
		if createdRev > r.since || rev <= r.since { // new, or newly referenced
			return r.change(model.UserCreated, u.AccountID, "", "", createdAt, sql.NullString{}, &u)
		}
		return r.change(model.UserUpdated, u.AccountID, "", "", changedAt, by, &u)
	}, r.since)
}

func (r *reader) groups() error {
	return r.query(r.scope()+`SELECT id, name, created_at, created_rev, rev, changed_at, changed_by FROM groups
		WHERE deleted_rev IS NULL AND ((id IN rg AND rev > ?1) OR (id IN rg_new AND rev <= ?1)) ORDER BY id`, func(rows *sql.Rows) error {
		var g model.Group
		var createdAt, changedAt string
		var createdRev, rev int64
		var by sql.NullString
		if err := rows.Scan(&g.ID, &g.Name, &createdAt, &createdRev, &rev, &changedAt, &by); err != nil {
			return err
		}
		if createdRev > r.since || rev <= r.since { // new, or newly referenced
			return r.change(model.GroupCreated, g.ID, "", "", createdAt, sql.NullString{}, &g)
		}
		return r.change(model.GroupRenamed, g.ID, "", "", changedAt, by, &g)
	}, r.since)
}

func (r *reader) memberships() error {
	return r.query(r.scope()+`SELECT group_id, account_id, changed_at, changed_by FROM memberships
		WHERE deleted_rev IS NULL AND ((group_id IN rg AND created_rev > ?1) OR group_id IN rg_new) ORDER BY group_id, account_id`, func(rows *sql.Rows) error {
		var m model.Membership
		var at string
		var by sql.NullString
		if err := rows.Scan(&m.GroupID, &m.AccountID, &at, &by); err != nil {
			return err
		}
		return r.change(model.MembershipAdded, m.GroupID+":"+m.AccountID, m.GroupID, "", at, by, &m)
	}, r.since)
}

func (r *reader) apps() error {
	return r.query(`SELECT key, name, vendor, version, changed_at FROM apps WHERE created_rev > ? ORDER BY key`, func(rows *sql.Rows) error {
		var a model.App
		var at string
		if err := rows.Scan(&a.Key, &a.Name, &a.Vendor, &a.Version, &at); err != nil {
			return err
		}
		return r.change(model.AppInstalled, a.Key, "", "", at, sql.NullString{}, &a)
	}, r.since)
}

// space emits everything in one space that changed after the watermark.
func (r *reader) space(s spaceRef) error {
	steps := []func(spaceRef) error{r.spaceItself, r.permissions, r.pages, r.blogposts, r.comments, r.attachments,
		r.labels, r.restrictions, r.properties, r.likes, r.appData}
	for _, step := range steps {
		if err := step(s); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) spaceItself(s spaceRef) error {
	return r.query(`SELECT id, key, name, type, status, description, coalesce(logo, ''), categories, coalesce(homepage, ''), settings, look_and_feel, templates,
		created_at, coalesce(author, ''), created_rev, changed_at, changed_by FROM spaces WHERE id = ? AND rev > ?`, func(rows *sql.Rows) error {
		var sp model.Space
		var categories, settings, lookAndFeel, templates, createdAt, changedAt string
		var createdRev int64
		var by sql.NullString
		if err := rows.Scan(&sp.ID, &sp.Key, &sp.Name, &sp.Type, &sp.Status, &sp.Description, &sp.Logo, &categories, &sp.Homepage,
			&settings, &lookAndFeel, &templates, &createdAt, &sp.Author, &createdRev, &changedAt, &by); err != nil {
			return err
		}
		json.Unmarshal([]byte(categories), &sp.Categories)
		json.Unmarshal([]byte(settings), &sp.Settings)
		json.Unmarshal([]byte(lookAndFeel), &sp.LookAndFeel)
		json.Unmarshal([]byte(templates), &sp.Templates)
		sp.CreatedAt = parseTime(createdAt)
		if createdRev > r.since {
			return r.change(model.SpaceCreated, sp.ID, "", sp.Key, createdAt, sql.NullString{String: sp.Author}, &sp)
		}
		return r.change(model.SpaceUpdated, sp.ID, "", sp.Key, changedAt, by, &sp)
	}, s.id, r.since)
}

func (r *reader) permissions(s spaceRef) error {
	return r.query(`SELECT id, principal_type, coalesce(principal_id, ''), operation, changed_at, changed_by FROM space_permissions
		WHERE space_id = ? AND deleted_rev IS NULL AND created_rev > ? ORDER BY id`, func(rows *sql.Rows) error {
		p := model.SpacePermission{SpaceID: s.id}
		var at string
		var by sql.NullString
		if err := rows.Scan(&p.ID, &p.PrincipalType, &p.PrincipalID, &p.Operation, &at, &by); err != nil {
			return err
		}
		return r.change(model.SpacePermissionGranted, p.ID, s.id, s.key, at, by, &p)
	}, s.id, r.since)
}

// contentEvents are the event types of pages and of blog posts.
type contentEvents struct{ created, version, moved, status model.EventType }

var (
	pageEvents   = contentEvents{model.PageCreated, model.PageVersion, model.PageMoved, model.PageStatus}
	folderEvents = contentEvents{model.FolderCreated, model.FolderVersion, model.FolderMoved, model.FolderStatus}
	blogEvents   = contentEvents{model.BlogpostCreated, model.BlogpostVersion, "", model.BlogpostStatus}
)

// pageTree orders a space's live pages and folders parents first.
// In the tree queries, "+parent_id IS NULL" keeps SQLite from starting
// at the index by parent (every top-level page or comment of the whole
// site) instead of at the space's own rows.
const pageTree = `WITH RECURSIVE tree(id, depth) AS (
	SELECT id, 0 FROM content WHERE space_id = ?1 AND type IN ('page', 'folder') AND +parent_id IS NULL AND deleted_rev IS NULL
	UNION ALL SELECT c.id, t.depth + 1 FROM content c JOIN tree t ON c.parent_id = t.id WHERE c.deleted_rev IS NULL) `

// The orders of a space's pages (parents first, then by position),
// blog posts (by creation) and comments (replies after their parents),
// written to export_order (see order).
const (
	pagesOrder = pageTree + `INSERT INTO temp.export_order(id) SELECT c.id FROM tree CROSS JOIN content c ON c.id = tree.id
		ORDER BY tree.depth, c.position, c.id`
	blogpostsOrder = `INSERT INTO temp.export_order(id) SELECT id FROM content
		WHERE space_id = ?1 AND type = 'blogpost' AND deleted_rev IS NULL ORDER BY created_at, id`
	commentsOrder = commentTree + `INSERT INTO temp.export_order(id) SELECT cm.id FROM tree CROSS JOIN comments cm ON cm.id = tree.id
		ORDER BY tree.depth, cm.created_at, cm.id`
)

func (r *reader) pages(s spaceRef) error {
	if err := r.order(pagesOrder, s.id); err != nil {
		return err
	}
	return r.contentRows(s, pageEvents)
}

func (r *reader) blogposts(s spaceRef) error {
	if err := r.order(blogpostsOrder, s.id); err != nil {
		return err
	}
	return r.contentRows(s, blogEvents)
}

// order fills the connection's temporary table export_order with the ids
// that q selects, in q's order, which its rowid keeps. Pages, blog posts
// and comments are then read by walking that table (contentInOrder,
// commentsInOrder) and joined with their versions by index, so SQLite
// sorts only their ids, never their bodies. At 400,000 pages, sorting the
// bodies spilled 0.8 GB to temporary files, and reading a space's pages
// took 2.8 s against 0.9 s this way for the largest space (186,000
// versions), 7.8-8.0 s against 6.1-6.7 s for all of them.
//
// q walks the tree with CROSS JOIN, which keeps the tree as the outer
// loop: left to choose, SQLite scanned every row of content for each
// space (32 s against 1.2 s at 400,000 pages).
func (r *reader) order(q string, args ...any) error {
	for _, stmt := range []string{`CREATE TEMP TABLE IF NOT EXISTS export_order(k INTEGER PRIMARY KEY, id TEXT NOT NULL)`, `DELETE FROM temp.export_order`} {
		if _, err := r.conn.ExecContext(r.ctx, stmt); err != nil {
			return fmt.Errorf("read site: %w", err)
		}
	}
	if _, err := r.conn.ExecContext(r.ctx, q, args...); err != nil {
		return fmt.Errorf("read site: %w", err)
	}
	return nil
}

// contentInOrder reads the content listed in export_order, in its order,
// each item with its versions after revision ?1.
const contentInOrder = `SELECT c.id, c.type, coalesce(c.parent_id, ''), c.position, c.status, c.created_at, coalesce(c.author, ''),
	c.created_rev, c.rev, c.changed_at, c.changed_by,
	v.number, v.title, v.body, v.author, v.at, v.message, v.minor_edit, coalesce(v.format, '')
	FROM temp.export_order o JOIN content c ON c.id = o.id LEFT JOIN content_versions v ON v.content_id = c.id AND v.rev > ?1
	WHERE c.rev > ?1 OR v.number IS NOT NULL
	ORDER BY o.k, v.number`

// commentsInOrder reads the comments listed in export_order, in its order,
// each with its versions after revision ?1.
const commentsInOrder = `SELECT cm.id, cm.container_id, coalesce(cm.parent_id, ''), cm.location, coalesce(cm.anchor, ''), cm.status,
	coalesce(cm.author, ''), cm.created_at, cm.created_rev, v.number, v.body, v.author, v.at, coalesce(v.format, '')
	FROM temp.export_order o JOIN comments cm ON cm.id = o.id LEFT JOIN comment_versions v ON v.comment_id = cm.id AND v.rev > ?1
	WHERE cm.created_rev > ?1 OR v.number IS NOT NULL
	ORDER BY o.k, v.number`

// contentRows emits pages or blog posts from rows of content joined with
// their new versions: "created" for new content, its versions, and for
// content from before the watermark, after its versions, the moves and
// status changes the journal records.
func (r *reader) contentRows(s spaceRef, ev contentEvents) error {
	type older struct {
		c  model.Content
		ev contentEvents
		at string
		by sql.NullString
	}
	var last string
	var pending *older
	flush := func() error {
		if pending == nil {
			return nil
		}
		o := pending
		pending = nil
		return r.journalEvents(s, &o.c, o.ev, o.at, o.by)
	}
	err := r.query(contentInOrder, func(rows *sql.Rows) error {
		var c model.Content
		var createdAt, changedAt string
		var createdRev, rev int64
		var by sql.NullString
		var num sql.NullInt64
		var title, body, vAuthor, vAt, msg sql.NullString
		var minor sql.NullBool
		var format string
		if err := rows.Scan(&c.ID, &c.Type, &c.ParentID, &c.Position, &c.Status, &createdAt, &c.Author, &createdRev, &rev, &changedAt, &by,
			&num, &title, &body, &vAuthor, &vAt, &msg, &minor, &format); err != nil {
			return err
		}
		c.SpaceID, c.CreatedAt = s.id, parseTime(createdAt)
		ev := ev
		if c.Type == "folder" {
			ev = folderEvents
		}
		if c.ID != last {
			if err := flush(); err != nil {
				return err
			}
			last = c.ID
			switch {
			case createdRev > r.since:
				if err := r.change(ev.created, c.ID, c.ParentID, s.key, createdAt, sql.NullString{String: c.Author}, &c); err != nil {
					return err
				}
			case rev > r.since:
				pending = &older{c, ev, changedAt, by}
			}
		}
		if !num.Valid {
			return nil
		}
		v := model.Version{ContentID: c.ID, Number: int(num.Int64), Title: title.String, Body: body.String, Author: vAuthor.String,
			At: parseTime(vAt.String), Message: msg.String, MinorEdit: minor.Bool, Format: format}
		return r.change(ev.version, c.ID, c.ParentID, s.key, vAt.String, vAuthor, &v)
	}, r.since)
	if err != nil {
		return err
	}
	return flush()
}

// journalEvents emits the moves and status changes of content created
// before the watermark, with its current place and status.
func (r *reader) journalEvents(s spaceRef, c *model.Content, ev contentEvents, at string, by sql.NullString) error {
	var ops []string
	err := r.query(`SELECT DISTINCT op FROM journal WHERE kind = 'content' AND id = ? AND rev > ? ORDER BY op`, func(rows *sql.Rows) error {
		var op string
		if err := rows.Scan(&op); err != nil {
			return err
		}
		ops = append(ops, op)
		return nil
	}, c.ID, r.since)
	if err != nil {
		return err
	}
	for _, op := range ops {
		switch {
		case op == "moved" && ev.moved != "":
			err = r.change(ev.moved, c.ID, c.ParentID, s.key, at, by, &model.Move{ID: c.ID, ParentID: c.ParentID, Position: c.Position})
		case op == "status":
			err = r.change(ev.status, c.ID, c.ParentID, s.key, at, by, &model.StatusChange{ID: c.ID, Status: c.Status})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// commentTree orders a space's live comments, replies after their parents.
const commentTree = `WITH RECURSIVE tree(id, depth) AS (
	SELECT cm.id, 0 FROM comments cm JOIN content c ON c.id = cm.container_id
		WHERE c.space_id = ?1 AND +cm.parent_id IS NULL AND cm.deleted_rev IS NULL
	UNION ALL SELECT cm.id, t.depth + 1 FROM comments cm JOIN tree t ON cm.parent_id = t.id WHERE cm.deleted_rev IS NULL) `

func (r *reader) comments(s spaceRef) error {
	if err := r.order(commentsOrder, s.id); err != nil {
		return err
	}
	var cur string
	return r.query(commentsInOrder, func(rows *sql.Rows) error {
		var c model.Comment
		var anchor, createdAt string
		var createdRev int64
		var num sql.NullInt64
		var body, vAuthor, vAt sql.NullString
		var format string
		if err := rows.Scan(&c.ID, &c.ContainerID, &c.ParentID, &c.Location, &anchor, &c.Status, &c.Author, &createdAt, &createdRev,
			&num, &body, &vAuthor, &vAt, &format); err != nil {
			return err
		}
		if c.ID != cur {
			cur = c.ID
			if createdRev > r.since {
				if anchor != "" {
					c.Anchor = &model.InlineAnchor{}
					json.Unmarshal([]byte(anchor), c.Anchor)
				}
				c.CreatedAt = parseTime(createdAt)
				if err := r.change(model.CommentCreated, c.ID, c.ContainerID, s.key, createdAt, sql.NullString{String: c.Author}, &c); err != nil {
					return err
				}
			}
		}
		if !num.Valid {
			return nil
		}
		v := model.Version{ContentID: c.ID, Number: int(num.Int64), Body: body.String, Author: vAuthor.String, At: parseTime(vAt.String), Format: format}
		return r.change(model.CommentVersion, c.ID, c.ContainerID, s.key, vAt.String, vAuthor, &v)
	}, r.since)
}

func (r *reader) attachments(s spaceRef) error {
	var cur string
	return r.query(`SELECT a.id, a.container_id, a.filename, a.media_type, coalesce(a.author, ''), a.created_at, a.created_rev,
		v.number, v.blob, v.size, v.media_type, v.comment, v.author, v.at
		FROM attachments a JOIN content c ON c.id = a.container_id LEFT JOIN attachment_versions v ON v.attachment_id = a.id AND v.rev > ?2
		WHERE c.space_id = ?1 AND a.deleted_rev IS NULL AND (a.created_rev > ?2 OR v.number IS NOT NULL)
		ORDER BY a.id, v.number`, func(rows *sql.Rows) error {
		var a model.Attachment
		var createdAt string
		var createdRev int64
		var num, size sql.NullInt64
		var blob, mediaType, comment, vAuthor, vAt sql.NullString
		if err := rows.Scan(&a.ID, &a.ContainerID, &a.Filename, &a.MediaType, &a.Author, &createdAt, &createdRev,
			&num, &blob, &size, &mediaType, &comment, &vAuthor, &vAt); err != nil {
			return err
		}
		if a.ID != cur {
			cur = a.ID
			if createdRev > r.since {
				a.CreatedAt = parseTime(createdAt)
				if err := r.change(model.AttachmentCreated, a.ID, a.ContainerID, s.key, createdAt, sql.NullString{String: a.Author}, &a); err != nil {
					return err
				}
			}
		}
		if !num.Valid {
			return nil
		}
		v := model.AttachmentVersion{AttachmentID: a.ID, Number: int(num.Int64), Blob: blob.String, Size: size.Int64, MediaType: mediaType.String,
			Comment: comment.String, Author: vAuthor.String, At: parseTime(vAt.String)}
		return r.change(model.AttachmentVersionAdded, a.ID, a.ContainerID, s.key, vAt.String, vAuthor, &v)
	}, s.id, r.since)
}

// inSpace restricts container_id to content of space ?1.
const inSpace = `container_id IN (SELECT id FROM content WHERE space_id = ?1)`

func (r *reader) labels(s spaceRef) error {
	return r.query(`SELECT container_id, prefix, name, changed_at, changed_by FROM labels
		WHERE `+inSpace+` AND deleted_rev IS NULL AND created_rev > ?2 ORDER BY container_id, prefix, name`, func(rows *sql.Rows) error {
		var l model.Label
		var at string
		var by sql.NullString
		if err := rows.Scan(&l.ContainerID, &l.Prefix, &l.Name, &at, &by); err != nil {
			return err
		}
		return r.change(model.LabelAdded, l.ContainerID+":"+l.Prefix+":"+l.Name, l.ContainerID, s.key, at, by, &l)
	}, s.id, r.since)
}

func restrictionID(x model.Restriction) string {
	return x.ContainerID + ":" + x.Operation + ":" + x.PrincipalType + ":" + x.PrincipalID
}

func (r *reader) restrictions(s spaceRef) error {
	return r.query(`SELECT container_id, operation, principal_type, principal_id, changed_at, changed_by FROM restrictions
		WHERE `+inSpace+` AND deleted_rev IS NULL AND created_rev > ?2 ORDER BY container_id, operation, principal_type, principal_id`, func(rows *sql.Rows) error {
		var x model.Restriction
		var at string
		var by sql.NullString
		if err := rows.Scan(&x.ContainerID, &x.Operation, &x.PrincipalType, &x.PrincipalID, &at, &by); err != nil {
			return err
		}
		return r.change(model.RestrictionAdded, restrictionID(x), x.ContainerID, s.key, at, by, &x)
	}, s.id, r.since)
}

func (r *reader) properties(s spaceRef) error {
	return r.query(`SELECT container_id, key, value, version, changed_at, changed_by FROM properties
		WHERE `+inSpace+` AND deleted_rev IS NULL AND rev > ?2 ORDER BY container_id, key`, func(rows *sql.Rows) error {
		var p model.Property
		var value, at string
		var by sql.NullString
		if err := rows.Scan(&p.ContainerID, &p.Key, &value, &p.Version, &at, &by); err != nil {
			return err
		}
		p.Value = json.RawMessage(value)
		return r.change(model.PropertySet, p.ContainerID+":"+p.Key, p.ContainerID, s.key, at, by, &p)
	}, s.id, r.since)
}

// likesInSpace restricts likes to those on content or comments of space ?1.
const likesInSpace = `(container_id IN (SELECT id FROM content WHERE space_id = ?1)
	OR container_id IN (SELECT cm.id FROM comments cm JOIN content c ON c.id = cm.container_id WHERE c.space_id = ?1))`

func (r *reader) likes(s spaceRef) error {
	return r.query(`SELECT container_id, container_type, account_id, at, changed_by FROM likes
		WHERE `+likesInSpace+` AND deleted_rev IS NULL AND created_rev > ?2 ORDER BY container_id, account_id`, func(rows *sql.Rows) error {
		var l model.Like
		var at string
		var by sql.NullString
		if err := rows.Scan(&l.ContainerID, &l.ContainerType, &l.AccountID, &at, &by); err != nil {
			return err
		}
		l.At = parseTime(at)
		return r.change(model.LikeAdded, l.ContainerID+":"+l.AccountID, l.ContainerID, s.key, at, sql.NullString{String: l.AccountID}, &l)
	}, s.id, r.since)
}

func (r *reader) appData(s spaceRef) error {
	return r.query(`SELECT id, app_key, coalesce(container_id, ''), kind, size, changed_at FROM app_data
		WHERE space_id = ?1 AND deleted_rev IS NULL AND created_rev > ?2 ORDER BY id`, func(rows *sql.Rows) error {
		var d model.AppData
		var at string
		if err := rows.Scan(&d.ID, &d.AppKey, &d.ContainerID, &d.Kind, &d.Size, &at); err != nil {
			return err
		}
		return r.change(model.AppDataRecorded, d.ID, d.ContainerID, s.key, at, sql.NullString{}, &d)
	}, s.id, r.since)
}
