package confluencexml

import (
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"ferry/embedded"
	"ferry/model"
)

// body returns the body of a content version, and whether it is wiki markup.
func (b *builder) body(o *Object) (string, bool, error) {
	var body string
	var bodyType int
	st, err := b.ix.stmt(b.ctx, `SELECT body, body_type FROM bodies WHERE content_id = ? ORDER BY id DESC LIMIT 1`)
	if err != nil {
		return "", false, err
	}
	err = st.QueryRowContext(b.ctx, o.ID).Scan(&body, &bodyType)
	if err == sql.ErrNoRows {
		return "", false, nil
	}
	return unescapeCDATA(body), bodyType == 0, err
}

// unescapeCDATA undoes what Confluence does to a body: it sits in a CDATA
// section, so Confluence writes a space after each "]]" in it, lest a
// CDATA section inside it (a macro's plain-text body) end the outer one:
// "<![CDATA[code]] >". The space is taken out again, as
// xwiki-contrib/confluence's importer does.
func unescapeCDATA(body string) string { return strings.ReplaceAll(body, "]] ", "]]") }

// history returns the versions of a current content object, oldest first.
func (b *builder) history(current *Object, class string) ([]*Object, error) {
	var out []*Object
	err := b.ix.each(b.ctx, `SELECT o.data FROM versions v JOIN objects o ON o.id = v.id AND o.class = v.class
		WHERE v.orig = ? AND v.class = ? ORDER BY v.number, v.id`, func(o *Object) error {
		if b.published(current, o, class) {
			out = append(out, o)
		}
		return nil
	}, current.ID, class)
	return out, err
}

// published reports whether o is a version of current's history: not an
// unpublished edit (a draft beside the published versions), which is
// reported.
func (b *builder) published(current, o *Object, class string) bool {
	if o.ID != current.ID && strings.EqualFold(strings.TrimSpace(o.Props["contentStatus"]), "draft") {
		b.rep.skipObject(o, class+".draft", "an unpublished draft: ferry copies published versions", "of "+class+" "+current.ID)
		return false
	}
	return true
}

func contentStatus(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "current":
		return "current"
	case "deleted":
		return "trashed"
	case "draft":
		return "draft"
	case "archived":
		return "archived"
	}
	return "current"
}

// buildContent creates pages (parents first) and blog posts with their
// whole history.
func (b *builder) buildContent() error {
	for _, class := range []string{"Page", "BlogPost"} {
		if err := b.fillTree(class); err != nil {
			return err
		}
		kind := map[string]string{"Page": "page", "BlogPost": "blogpost"}[class]
		err := b.eachHistory(class, func(o *Object, versions []version) error {
			return b.contentItem(o, class, kind, versions)
		})
		if err != nil {
			return err
		}
	}
	if err := b.flush(); err != nil { // the pages, before the spaces point at them
		return err
	}
	return b.ix.each(b.ctx, `SELECT data FROM objects WHERE class = 'Space' AND json_extract(data, '$.r.homePage.i') IS NOT NULL`, func(o *Object) error {
		home := o.Refs["homePage"].ID
		if b.content[home] != o.ID {
			b.rep.skipObject(o, "Space.homePage", "the space's home page is not in the export", "")
			return nil
		}
		return b.update(zeroTime, func(tx *embedded.Tx) error { return tx.SetHomepage(o.ID, home) })
	})
}

// version is one version of a content object, with its body.
type version struct {
	*Object
	body string
	wiki bool
}

// eachHistory calls fn for each current object of a class, parents before
// children, with its versions (drafts too: see published), oldest first,
// and their bodies: one query
// streaming them all, where asking for each object's history and each
// version's body took two queries per version.
func (b *builder) eachHistory(class string, fn func(current *Object, versions []version) error) error {
	st, err := b.ix.stmt(b.ctx, `SELECT t.id, o.data, b.body, b.body_type FROM tree t
		JOIN versions v ON v.orig = t.id AND v.class = ?1
		JOIN objects o ON o.id = v.id AND o.class = ?1
		LEFT JOIN bodies b ON b.rowid = (SELECT rowid FROM bodies WHERE content_id = v.id ORDER BY id DESC LIMIT 1)
		ORDER BY t.depth, t.id, v.number, v.id`)
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(b.ctx, class)
	if err != nil {
		return err
	}
	defer rows.Close()
	var current *Object
	var versions []version
	var group string
	done := func() error {
		if current == nil {
			return nil // its versions, but not itself (cannot be: it is its own original)
		}
		if err := fn(current, versions); err != nil {
			var oe *ObjectError
			if errors.As(err, &oe) {
				return err
			}
			return &ObjectError{Class: current.Class, ID: current.ID, Line: current.Line, Err: err}
		}
		return nil
	}
	for rows.Next() {
		var id, data string
		var body sql.NullString
		var bodyType sql.NullInt64
		if err := rows.Scan(&id, &data, &body, &bodyType); err != nil {
			return err
		}
		if id != group {
			if err := done(); err != nil {
				return err
			}
			group, current, versions = id, nil, versions[:0]
		}
		o := &Object{}
		if err := json.Unmarshal([]byte(data), o); err != nil {
			return err
		}
		if o.ID == id {
			current = o
		}
		versions = append(versions, version{Object: o, body: unescapeCDATA(body.String), wiki: body.Valid && bodyType.Int64 == 0})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return done()
}

func (b *builder) contentItem(o *Object, class, kind string, versions []version) error {
	space := o.Refs["space"].ID
	if b.spaces[space] == "" {
		b.rep.skipObject(o, class, "its space is not in the export", "")
		return nil
	}
	c := model.Content{ID: o.ID, Type: kind, SpaceID: space, Status: contentStatus(o.Props["contentStatus"]),
		CreatedAt: b.dateOf(o, "creationDate"), Author: b.user(o, "creator", "creatorName")}
	c.Position, _ = strconv.Atoi(strings.TrimSpace(o.Props["position"]))
	if kind == "page" {
		if parent := o.Refs["parent"].ID; parent != "" {
			if b.content[parent] == space {
				c.ParentID = parent
			} else {
				b.rep.skipObject(o, class+".parent", "its parent page is not in the export (or in another space): the page is attached to the space root", "parent "+parent)
			}
		}
	}
	var vs []model.Version
	for _, v := range versions {
		if !b.published(o, v.Object, class) {
			continue
		}
		body, wiki := v.body, v.wiki
		n, _ := strconv.Atoi(strings.TrimSpace(v.Props["version"]))
		if n <= 0 || len(vs) > 0 && n <= vs[len(vs)-1].Number {
			n = len(vs) + 1
			if len(vs) > 0 && n <= vs[len(vs)-1].Number {
				n = vs[len(vs)-1].Number + 1
			}
		}
		mv := model.Version{ContentID: o.ID, Number: n, Title: v.Props["title"], Body: body, Author: b.user(v.Object, "lastModifier", "lastModifierName"),
			At: b.dateOf(v.Object, "lastModificationDate"), Message: v.Props["versionComment"]}
		if mv.Author == "" {
			mv.Author = b.user(v.Object, "creator", "creatorName")
		}
		if mv.At.Equal(zeroTime) {
			mv.At = c.CreatedAt
		}
		if wiki {
			mv.Format = "wiki"
			b.rep.Wiki++
		}
		vs = append(vs, mv)
	}
	b.content[o.ID] = space
	b.created(kind)
	size := 0
	for _, v := range vs {
		size += len(v.Body)
	}
	return b.queue(size, func(tx *embedded.Tx) error {
		if err := tx.CreateContent(c); err != nil {
			return err
		}
		for _, v := range vs {
			if err := tx.AddVersion(v); err != nil {
				return err
			}
		}
		return nil
	})
}

// fillTree puts the current objects of a class (those that are their own
// original) in the tree table with their depth along parent chains within
// the export; a missing parent is the root. Bounded, so a cycle cannot loop
// forever.
func (b *builder) fillTree(class string) error {
	for _, q := range []string{`CREATE TABLE IF NOT EXISTS tree (id TEXT PRIMARY KEY, parent TEXT, depth INT)`, `DELETE FROM tree`,
		`CREATE INDEX IF NOT EXISTS tree_in_order ON tree(depth, id)`} {
		if _, err := b.ix.db.ExecContext(b.ctx, q); err != nil {
			return err
		}
	}
	if _, err := b.ix.db.ExecContext(b.ctx, `INSERT INTO tree SELECT o.id, json_extract(o.data, '$.r.parent.i'), 0
		FROM objects o JOIN versions v ON v.id = o.id AND v.class = o.class WHERE o.class = ? AND v.orig = o.id`, class); err != nil {
		return err
	}
	for i := 0; i < 1000; i++ {
		res, err := b.ix.db.ExecContext(b.ctx, `UPDATE tree SET depth = (SELECT p.depth + 1 FROM tree p WHERE p.id = tree.parent)
			WHERE parent IN (SELECT id FROM tree) AND depth != (SELECT p.depth + 1 FROM tree p WHERE p.id = tree.parent)`)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			break
		}
	}
	return nil
}
