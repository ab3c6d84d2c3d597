package generate

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand"
	"time"

	"ferry/embedded"
	"ferry/model"
)

// Evolve applies n realistic edits to a generated site, one revision each:
// new versions, renames, moves, trash and restore, deletions, comments,
// attachments, labels, restrictions, likes, new users, groups and
// memberships, permission changes, and now and then a new or deleted space.
func Evolve(ctx context.Context, site *embedded.Site, n int, seed int64) error {
	g := &gen{rng: rand.New(rand.NewSource(seed)), site: site, budget: 64 << 20}
	if err := g.load(ctx); err != nil {
		return err
	}
	ops := []struct {
		weight int
		op     func(context.Context) error
	}{
		{30, g.evNewVersion}, {8, g.evNewPage}, {6, g.evMove}, {6, g.evStatus}, {3, g.evDeletePage},
		{8, g.evComment}, {1, g.evDeleteComment}, {5, g.evAttachment}, {1, g.evDeleteAttachment},
		{4, g.evLabel}, {2, g.evRestriction}, {2, g.evProperty}, {3, g.evLike},
		{2, g.evNewUser}, {1, g.evUpdateUser}, {1, g.evGroup}, {3, g.evMembership}, {2, g.evPermission}, {1, g.evUpdateSpace},
	}
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	for i := 0; i < n; i++ {
		var err error
		switch r := g.rng.Intn(total * 100); {
		case r < 30 && i > 0: // rare: a whole space comes or goes
			if g.rng.Intn(2) == 0 {
				err = g.evNewSpace(ctx)
			} else {
				err = g.evDeleteSpace(ctx)
			}
		default:
			r /= 100
			for _, o := range ops {
				if r < o.weight {
					err = o.op(ctx)
					break
				}
				r -= o.weight
			}
		}
		if err != nil {
			return fmt.Errorf("evolve, change %d: %w", i+1, err)
		}
	}
	return g.setClock(ctx)
}

// load reads what evolving needs: users, groups, the next id, the clock.
func (g *gen) load(ctx context.Context) error {
	db := g.site.DB()
	var clock string
	if err := db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'clock'`).Scan(&clock); err != nil {
		return fmt.Errorf("evolve: the site was not made by ferry generate (%v)", err)
	}
	g.clock, _ = time.Parse(time.RFC3339Nano, clock)
	if err := db.QueryRowContext(ctx, `SELECT max(m) FROM (SELECT max(CAST(id AS INTEGER)) m FROM content UNION ALL
		SELECT max(CAST(id AS INTEGER)) FROM comments UNION ALL SELECT max(CAST(id AS INTEGER)) FROM attachments)`).Scan(&g.nextID); err != nil {
		return err
	}
	for _, q := range []struct {
		sql string
		out *[]string
	}{
		{`SELECT account_id FROM users ORDER BY account_id`, &g.users},
		{`SELECT account_id FROM users WHERE status = 'active' ORDER BY account_id`, &g.active},
		{`SELECT id FROM groups WHERE deleted_rev IS NULL ORDER BY id`, &g.groups},
	} {
		rows, err := db.QueryContext(ctx, q.sql)
		if err != nil {
			return err
		}
		for rows.Next() {
			var s string
			rows.Scan(&s)
			*q.out = append(*q.out, s)
		}
		rows.Close()
	}
	if len(g.users) == 0 || len(g.groups) == 0 {
		return fmt.Errorf("evolve: the site has no users or groups")
	}
	if len(g.active) == 0 {
		g.active = g.users
	}
	return nil
}

// one picks one row of query (which must be ordered) deterministically.
func (g *gen) one(ctx context.Context, query string, args []any, dest ...any) bool {
	var n int
	db := g.site.DB()
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM (`+query+`)`, args...).Scan(&n); err != nil || n == 0 {
		return false
	}
	err := db.QueryRowContext(ctx, query+` LIMIT 1 OFFSET ?`, append(args, g.rng.Intn(n))...).Scan(dest...)
	return err == nil
}

func (g *gen) change(ctx context.Context, fn func(*embedded.Tx) error) error {
	return g.site.Update(ctx, g.tick(2*time.Hour), g.activeUser(), fn)
}

const livePages = `SELECT c.id, c.space_id, s.key FROM content c JOIN spaces s ON s.id = c.space_id
	WHERE c.type = 'page' AND c.deleted_rev IS NULL ORDER BY c.id`

func (g *gen) evNewVersion(ctx context.Context) error {
	var id, spaceID, key, typ string
	if !g.one(ctx, `SELECT c.id, c.space_id, s.key, c.type FROM content c JOIN spaces s ON s.id = c.space_id WHERE c.deleted_rev IS NULL ORDER BY c.id`, nil, &id, &spaceID, &key, &typ) {
		return nil
	}
	var number int
	var t string
	g.site.DB().QueryRowContext(ctx, `SELECT number, title FROM content_versions WHERE content_id = ? ORDER BY number DESC LIMIT 1`, id).Scan(&number, &t)
	if g.rng.Intn(6) == 0 {
		t = title(g.rng, g.rng.Intn(1e6)) // a rename
	}
	return g.change(ctx, func(tx *embedded.Tx) error {
		v := model.Version{ContentID: id, Number: number + 1, Title: t, Body: body(g.rng, bodyRefs{spaceKey: key, accountIDs: g.anyUser}, 1+g.rng.Intn(5)),
			Author: g.activeUser(), At: g.clock, Message: sentence(g.rng, 4), MinorEdit: g.rng.Intn(3) == 0}
		if typ == "folder" { // a folder's version is a new title, no body
			v.Body, v.Message, v.MinorEdit = "", "", false
		}
		return tx.AddVersion(v)
	})
}

func (g *gen) evNewPage(ctx context.Context) error {
	var parent, spaceID, key string
	if !g.one(ctx, livePages, nil, &parent, &spaceID, &key) {
		return nil
	}
	return g.change(ctx, func(tx *embedded.Tx) error {
		c := model.Content{ID: g.id(), Type: "page", SpaceID: spaceID, ParentID: parent, Position: g.rng.Intn(5), Status: "current", CreatedAt: g.clock, Author: g.activeUser()}
		if err := tx.CreateContent(c); err != nil {
			return err
		}
		if err := tx.AddVersion(model.Version{ContentID: c.ID, Number: 1, Title: title(g.rng, g.nextID), Body: body(g.rng, bodyRefs{spaceKey: key}, 2), Author: c.Author, At: g.clock}); err != nil {
			return err
		}
		return g.extras(tx, c)
	})
}

func (g *gen) evMove(ctx context.Context) error {
	var id, spaceID, key string
	if !g.one(ctx, livePages, nil, &id, &spaceID, &key) {
		return nil
	}
	var parent string
	if g.rng.Intn(4) > 0 {
		// A new parent in the same space that is not the page or below it.
		g.one(ctx, `WITH RECURSIVE below(id) AS (SELECT ? UNION ALL SELECT c.id FROM content c JOIN below b ON c.parent_id = b.id)
			SELECT id FROM content WHERE space_id = ? AND type = 'page' AND deleted_rev IS NULL AND id NOT IN below ORDER BY id`, []any{id, spaceID}, &parent)
	}
	return g.change(ctx, func(tx *embedded.Tx) error { return tx.MoveContent(id, parent, g.rng.Intn(10)) })
}

func (g *gen) evStatus(ctx context.Context) error {
	var id, status string
	if !g.one(ctx, `SELECT id, status FROM content WHERE deleted_rev IS NULL ORDER BY id`, nil, &id, &status) {
		return nil
	}
	next := map[string]string{"current": "trashed", "trashed": "current", "archived": "current", "draft": "current"}[status]
	if status == "current" && g.rng.Intn(3) == 0 {
		next = "archived"
	}
	return g.change(ctx, func(tx *embedded.Tx) error { return tx.SetContentStatus(id, next) })
}

func (g *gen) evDeletePage(ctx context.Context) error {
	var id, spaceID, key string
	if !g.one(ctx, `SELECT c.id, c.space_id, s.key FROM content c JOIN spaces s ON s.id = c.space_id WHERE c.deleted_rev IS NULL AND c.status = 'trashed' ORDER BY c.id`, nil, &id, &spaceID, &key) {
		return nil
	}
	var parent sql.NullString
	g.site.DB().QueryRowContext(ctx, `SELECT parent_id FROM content WHERE id = ?`, id).Scan(&parent)
	var children []string
	rows, err := g.site.DB().QueryContext(ctx, `SELECT id FROM content WHERE parent_id = ? AND deleted_rev IS NULL ORDER BY id`, id)
	if err != nil {
		return err
	}
	for rows.Next() {
		var c string
		rows.Scan(&c)
		children = append(children, c)
	}
	rows.Close()
	return g.change(ctx, func(tx *embedded.Tx) error {
		for i, c := range children { // purging a page moves its children up
			if err := tx.MoveContent(c, parent.String, i); err != nil {
				return err
			}
		}
		return tx.DeleteContent(id)
	})
}

func (g *gen) evComment(ctx context.Context) error {
	var id, typ string
	if !g.one(ctx, `SELECT id, type FROM content WHERE deleted_rev IS NULL AND type != 'folder' ORDER BY id`, nil, &id, &typ) {
		return nil
	}
	var replyTo, editID string
	location := "footer"
	var number int
	if g.rng.Intn(3) == 0 {
		g.one(ctx, `SELECT cm.id, max(v.number) FROM comments cm JOIN comment_versions v ON v.comment_id = cm.id
			WHERE cm.deleted_rev IS NULL GROUP BY cm.id ORDER BY cm.id`, nil, &editID, &number)
	} else {
		g.one(ctx, `SELECT id, location FROM comments WHERE container_id = ? AND deleted_rev IS NULL ORDER BY id`, []any{id}, &replyTo, &location)
	}
	return g.change(ctx, func(tx *embedded.Tx) error {
		if editID != "" {
			return tx.AddCommentVersion(model.Version{ContentID: editID, Number: number + 1, Body: "<p>" + xmlEscape(sentence(g.rng, 10)) + "</p>", Author: g.activeUser(), At: g.clock})
		}
		// A reply is of its thread's kind: a reply to an inline comment is inline.
		cm := model.Comment{ID: g.id(), ContainerID: id, ParentID: replyTo, Location: location, Status: "current", Author: g.activeUser(), CreatedAt: g.clock}
		if err := tx.CreateComment(cm); err != nil {
			return err
		}
		return tx.AddCommentVersion(model.Version{ContentID: cm.ID, Number: 1, Body: "<p>" + xmlEscape(sentence(g.rng, 10)) + "</p>", Author: cm.Author, At: g.clock})
	})
}

func (g *gen) evDeleteComment(ctx context.Context) error {
	var id string
	if !g.one(ctx, `SELECT id FROM comments WHERE deleted_rev IS NULL AND id NOT IN (SELECT parent_id FROM comments WHERE parent_id IS NOT NULL AND deleted_rev IS NULL) ORDER BY id`, nil, &id) {
		return nil
	}
	return g.change(ctx, func(tx *embedded.Tx) error { return tx.DeleteComment(id) })
}

func (g *gen) evAttachment(ctx context.Context) error {
	var id, media string
	var number int
	if g.rng.Intn(2) == 0 && g.one(ctx, `SELECT a.id, a.media_type, max(v.number) FROM attachments a JOIN attachment_versions v ON v.attachment_id = a.id
		WHERE a.deleted_rev IS NULL GROUP BY a.id ORDER BY a.id`, nil, &id, &media, &number) {
		return g.change(ctx, func(tx *embedded.Tx) error {
			return g.attachmentVersion(tx, model.Attachment{ID: id, MediaType: media, CreatedAt: g.clock}, number+1, g.rng.Intn(2) == 0)
		})
	}
	var content, typ string
	if !g.one(ctx, `SELECT id, type FROM content WHERE deleted_rev IS NULL AND type != 'folder' ORDER BY id`, nil, &content, &typ) {
		return nil
	}
	return g.change(ctx, func(tx *embedded.Tx) error {
		g.budget = max(g.budget, 1<<20)
		_, err := g.attachments(tx, model.Content{ID: content, CreatedAt: g.clock})
		return err
	})
}

func (g *gen) evDeleteAttachment(ctx context.Context) error {
	var id string
	if !g.one(ctx, `SELECT id FROM attachments WHERE deleted_rev IS NULL ORDER BY id`, nil, &id) {
		return nil
	}
	return g.change(ctx, func(tx *embedded.Tx) error { return tx.DeleteAttachment(id) })
}

func (g *gen) evLabel(ctx context.Context) error {
	var l model.Label
	if g.rng.Intn(3) == 0 && g.one(ctx, `SELECT container_id, prefix, name FROM labels WHERE deleted_rev IS NULL ORDER BY 1, 2, 3`, nil, &l.ContainerID, &l.Prefix, &l.Name) {
		return g.change(ctx, func(tx *embedded.Tx) error { return tx.RemoveLabel(l) })
	}
	if !g.one(ctx, `SELECT id FROM content WHERE deleted_rev IS NULL AND type != 'folder' ORDER BY id`, nil, &l.ContainerID) {
		return nil
	}
	l.Prefix, l.Name = "global", pick(g.rng, words)
	return g.change(ctx, func(tx *embedded.Tx) error { return tx.AddLabel(l) })
}

func (g *gen) evRestriction(ctx context.Context) error {
	var r model.Restriction
	if g.rng.Intn(2) == 0 && g.one(ctx, `SELECT container_id, operation, principal_type, principal_id FROM restrictions WHERE deleted_rev IS NULL ORDER BY 1, 2, 3, 4`, nil,
		&r.ContainerID, &r.Operation, &r.PrincipalType, &r.PrincipalID) {
		return g.change(ctx, func(tx *embedded.Tx) error { return tx.RemoveRestriction(r) })
	}
	if !g.one(ctx, `SELECT id FROM content WHERE deleted_rev IS NULL AND type != 'folder' ORDER BY id`, nil, &r.ContainerID) {
		return nil
	}
	r.Operation, r.PrincipalType, r.PrincipalID = []string{"read", "update"}[g.rng.Intn(2)], "user", g.activeUser()
	return g.change(ctx, func(tx *embedded.Tx) error { return tx.AddRestriction(r) })
}

func (g *gen) evProperty(ctx context.Context) error {
	var container, key string
	if g.rng.Intn(3) == 0 && g.one(ctx, `SELECT container_id, key FROM properties WHERE deleted_rev IS NULL ORDER BY 1, 2`, nil, &container, &key) {
		return g.change(ctx, func(tx *embedded.Tx) error { return tx.DeleteProperty(container, key) })
	}
	if !g.one(ctx, `SELECT id FROM content WHERE deleted_rev IS NULL AND type != 'folder' ORDER BY id`, nil, &container) {
		return nil
	}
	value, _ := json.Marshal(map[string]any{"reviewed": true, "at": g.clock})
	return g.change(ctx, func(tx *embedded.Tx) error {
		return tx.SetProperty(model.Property{ContainerID: container, Key: "content-review", Value: value, Version: 1 + g.rng.Intn(5)})
	})
}

func (g *gen) evLike(ctx context.Context) error {
	var container, account string
	if g.rng.Intn(3) == 0 && g.one(ctx, `SELECT container_id, account_id FROM likes WHERE deleted_rev IS NULL ORDER BY 1, 2`, nil, &container, &account) {
		return g.change(ctx, func(tx *embedded.Tx) error { return tx.RemoveLike(container, account) })
	}
	var typ string
	if !g.one(ctx, `SELECT id, type FROM content WHERE deleted_rev IS NULL AND type != 'folder' ORDER BY id`, nil, &container, &typ) {
		return nil
	}
	return g.change(ctx, func(tx *embedded.Tx) error {
		return tx.AddLike(model.Like{ContainerID: container, ContainerType: typ, AccountID: g.activeUser(), At: g.clock})
	})
}

func (g *gen) evNewUser(ctx context.Context) error {
	id := fmt.Sprintf("5b10a2844c20165700edf%06d", len(g.users))
	u := model.User{AccountID: id, DisplayName: pick(g.rng, firstNames) + " " + pick(g.rng, lastNames), Email: fmt.Sprintf("new.user%d@example.com", len(g.users)),
		Status: "active", AccountType: "atlassian"}
	err := g.change(ctx, func(tx *embedded.Tx) error {
		if err := tx.PutUser(u); err != nil {
			return err
		}
		return tx.AddMembership(model.Membership{GroupID: g.groups[0], AccountID: id})
	})
	g.users, g.active = append(g.users, id), append(g.active, id)
	return err
}

func (g *gen) evUpdateUser(ctx context.Context) error {
	var u model.User
	var email sql.NullString
	if !g.one(ctx, `SELECT account_id, email, display_name, status, account_type FROM users ORDER BY account_id`, nil, &u.AccountID, &email, &u.DisplayName, &u.Status, &u.AccountType) {
		return nil
	}
	u.Email = email.String
	u.Status = map[string]string{"active": "inactive", "inactive": "active", "deleted": "deleted"}[u.Status]
	return g.change(ctx, func(tx *embedded.Tx) error { return tx.PutUser(u) })
}

func (g *gen) evGroup(ctx context.Context) error {
	switch g.rng.Intn(3) {
	case 0:
		gr := model.Group{ID: fmt.Sprintf("group-%04d", 100+g.rng.Intn(1e6)), Name: fmt.Sprintf("team-%s-%d", pick(g.rng, words), g.rng.Intn(1000))}
		err := g.change(ctx, func(tx *embedded.Tx) error { return tx.CreateGroup(gr) })
		if err == nil {
			g.groups = append(g.groups, gr.ID)
		}
		return err
	case 1:
		id := g.groups[g.rng.Intn(len(g.groups))]
		return g.change(ctx, func(tx *embedded.Tx) error {
			return tx.RenameGroup(id, fmt.Sprintf("renamed-%s-%d", pick(g.rng, words), g.rng.Intn(1000)))
		})
	}
	if len(g.groups) <= 3 {
		return nil // keep the groups every space's permissions use
	}
	i := 3 + g.rng.Intn(len(g.groups)-3)
	id := g.groups[i]
	g.groups = append(g.groups[:i:i], g.groups[i+1:]...)
	return g.change(ctx, func(tx *embedded.Tx) error {
		// Confluence takes a deleted group's permissions and restrictions with it.
		perms, err := g.ids(ctx, `SELECT id FROM space_permissions WHERE principal_type = 'group' AND principal_id = ? AND deleted_rev IS NULL ORDER BY id`, id)
		if err != nil {
			return err
		}
		for _, p := range perms {
			if err := tx.RevokePermission(p); err != nil {
				return err
			}
		}
		rs, err := g.ids(ctx, `SELECT container_id || char(9) || operation FROM restrictions WHERE principal_type = 'group' AND principal_id = ? AND deleted_rev IS NULL ORDER BY 1`, id)
		if err != nil {
			return err
		}
		for _, r := range rs {
			var container, op string
			fmt.Sscanf(r, "%s\t%s", &container, &op)
			if err := tx.RemoveRestriction(model.Restriction{ContainerID: container, Operation: op, PrincipalType: "group", PrincipalID: id}); err != nil {
				return err
			}
		}
		return tx.DeleteGroup(id)
	})
}

// ids runs a query of one text column.
func (g *gen) ids(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := g.site.DB().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (g *gen) evMembership(ctx context.Context) error {
	var m model.Membership
	if g.rng.Intn(3) == 0 && g.one(ctx, `SELECT group_id, account_id FROM memberships WHERE deleted_rev IS NULL AND group_id != ? ORDER BY 1, 2`, []any{g.groups[0]}, &m.GroupID, &m.AccountID) {
		return g.change(ctx, func(tx *embedded.Tx) error { return tx.RemoveMembership(m) })
	}
	m = model.Membership{GroupID: g.groups[g.rng.Intn(len(g.groups))], AccountID: g.anyUser()}
	return g.change(ctx, func(tx *embedded.Tx) error { return tx.AddMembership(m) })
}

func (g *gen) evPermission(ctx context.Context) error {
	var id, spaceID string
	if g.rng.Intn(3) == 0 && g.one(ctx, `SELECT id FROM space_permissions WHERE deleted_rev IS NULL AND principal_type = 'user' ORDER BY id`, nil, &id) {
		return g.change(ctx, func(tx *embedded.Tx) error { return tx.RevokePermission(id) })
	}
	if !g.one(ctx, `SELECT id FROM spaces WHERE deleted_rev IS NULL ORDER BY id`, nil, &spaceID) {
		return nil
	}
	p := model.SpacePermission{ID: fmt.Sprintf("%s-perm-%d", spaceID, 100+g.rng.Intn(1e6)), SpaceID: spaceID, PrincipalType: "user", PrincipalID: g.activeUser(),
		Operation: []string{"read:space", "create:page", "create:comment"}[g.rng.Intn(3)]}
	return g.change(ctx, func(tx *embedded.Tx) error { return tx.GrantPermission(p) })
}

func (g *gen) evUpdateSpace(ctx context.Context) error {
	var id string
	if !g.one(ctx, `SELECT id FROM spaces WHERE deleted_rev IS NULL ORDER BY id`, nil, &id) {
		return nil
	}
	var sp model.Space
	var logo, homepage sql.NullString
	var categories, settings, lookAndFeel, templates string
	err := g.site.DB().QueryRowContext(ctx, `SELECT id, key, name, type, status, description, logo, categories, homepage, settings, look_and_feel, templates FROM spaces WHERE id = ?`, id).
		Scan(&sp.ID, &sp.Key, &sp.Name, &sp.Type, &sp.Status, &sp.Description, &logo, &categories, &homepage, &settings, &lookAndFeel, &templates)
	if err != nil {
		return err
	}
	sp.Logo, sp.Homepage = logo.String, homepage.String
	json.Unmarshal([]byte(categories), &sp.Categories)
	json.Unmarshal([]byte(settings), &sp.Settings)
	json.Unmarshal([]byte(lookAndFeel), &sp.LookAndFeel)
	json.Unmarshal([]byte(templates), &sp.Templates)
	switch g.rng.Intn(3) {
	case 0:
		sp.Name = fmt.Sprintf("%s %s", pick(g.rng, titleWords), pick(g.rng, titleWords)) // renamed
	case 1:
		sp.Status = map[string]string{"current": "archived", "archived": "current"}[sp.Status]
	default:
		sp.Description = sentence(g.rng, 10)
	}
	return g.change(ctx, func(tx *embedded.Tx) error { return tx.UpdateSpace(sp) })
}

func (g *gen) evNewSpace(ctx context.Context) error {
	var n int
	g.site.DB().QueryRowContext(ctx, `SELECT count(*) FROM spaces`).Scan(&n)
	return g.space(ctx, n, 3+g.rng.Intn(10))
}

func (g *gen) evDeleteSpace(ctx context.Context) error {
	var id string
	if !g.one(ctx, `SELECT id FROM spaces WHERE deleted_rev IS NULL ORDER BY id`, nil, &id) {
		return nil
	}
	var live int
	g.site.DB().QueryRowContext(ctx, `SELECT count(*) FROM spaces WHERE deleted_rev IS NULL`).Scan(&live)
	if live <= 1 {
		return nil
	}
	return g.change(ctx, func(tx *embedded.Tx) error { return tx.DeleteSpace(id) })
}
