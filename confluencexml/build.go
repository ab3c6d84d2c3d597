package confluencexml

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"ferry/embedded"
	"ferry/model"
)

// Report says what a conversion found and did.
type Report struct {
	Objects map[string]int64 `json:"objects_by_class"`
	Created map[string]int64 `json:"created_by_kind"`
	Skipped []model.Skipped  `json:"skipped"`
	Wiki    int64            `json:"wiki_markup_versions"`
	// Seconds is the time of each pass: "index" (parsing entities.xml
	// into the on-disk index) and "build" (the staging site from it).
	Seconds map[string]float64 `json:"seconds_per_pass"`
}

func (r *Report) skip(class, id, reason string, objects int64) {
	r.Skipped = append(r.Skipped, model.Skipped{Class: class, ID: id, Objects: objects, Reason: reason})
}

// skipObject reports one object: its class (or a part of it, such as
// "Attachment.version"), id and line, a reason every object skipped for
// it shares, and what about this one.
func (r *Report) skipObject(o *Object, class, reason, detail string) {
	r.Skipped = append(r.Skipped, model.Skipped{Class: class, ID: truncate(o.ID, 80), Objects: 1, Line: o.Line, Reason: reason, Detail: detail})
}

// The classes the build reads; every other class is reported as not copied.
var mapped = map[string]string{
	"ConfluenceUserImpl": "users", "InternalUser": "users (names, emails, status)", "InternalGroup": "groups",
	"InternalMembership": "memberships", "HibernateMembership": "memberships", "Space": "spaces", "SpaceDescription": "space descriptions",
	"SpacePermission": "space permissions", "Page": "pages", "BlogPost": "blog posts", "BodyContent": "bodies",
	"Comment": "comments", "Attachment": "attachments", "Label": "labels", "Labelling": "labels",
	"ContentPermissionSet": "restrictions", "ContentPermission": "restrictions", "ContentProperty": "content properties",
}

// builder turns the index into an embedded site.
type builder struct {
	ctx      context.Context
	ix       *index
	site     *embedded.Site
	files    attachmentFiles
	rep      *Report
	users    map[string]string // user key and lower-cased user name → account id
	groups   map[string]string // lower-cased group name → group id
	spaces   map[string]string // space id → key
	content  map[string]string // current page and blog post id → space id
	comments map[string]bool
	undated  time.Time       // for objects without a date
	badDates map[string]bool // dates reported as unreadable, by object and property
	queued   []func(*embedded.Tx) error
	queuedN  int        // bytes of text the queued writes hold
	inFlight chan error // the batch being written, if one is
}

// queue adds a write to the next batch: many small transactions are what
// makes a conversion slow. Writes that read no site state are queued.
func (b *builder) queue(size int, fn func(*embedded.Tx) error) error {
	b.queued = append(b.queued, fn)
	if b.queuedN += size; len(b.queued) >= 500 || b.queuedN >= 16<<20 {
		return b.flush()
	}
	return nil
}

// flush writes the queued batch in one transaction, on the other core:
// while it is written, the next is read from the index. One batch at a
// time is in flight, and every other write waits for it (see update), so
// writes keep their order.
func (b *builder) flush() error {
	if err := b.settle(); err != nil {
		return err
	}
	if len(b.queued) == 0 {
		return nil
	}
	q := b.queued
	b.queued, b.queuedN = nil, 0
	done := make(chan error, 1)
	b.inFlight = done
	go func() {
		done <- b.write(b.undated, func(tx *embedded.Tx) error {
			for _, fn := range q {
				if err := fn(tx); err != nil {
					return err
				}
			}
			return nil
		})
	}()
	return nil
}

// settle waits for the batch in flight, and says how its write went.
func (b *builder) settle() error {
	if b.inFlight == nil {
		return nil
	}
	err := <-b.inFlight
	b.inFlight = nil
	return err
}

// attachmentFiles opens attachments/<container>/<attachment>/<version>.
type attachmentFiles interface {
	open(container, attachment, version string) (io.ReadCloser, error) // nil, nil when absent
}

var zeroTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// epoch finds the export's earliest date, the time given to what has none
// of its own (users, groups, memberships), so reports do not show 1970.
func (b *builder) epoch() error {
	var min sql.NullString
	if err := b.ix.db.QueryRowContext(b.ctx, `SELECT min(d) FROM (SELECT json_extract(data, '$.p.creationDate') AS d FROM objects) WHERE d > '1971'`).Scan(&min); err != nil {
		return err
	}
	if t := parseDate(min.String); !t.Equal(zeroTime) {
		b.undated = t
	}
	return nil
}

func parseDate(s string) time.Time {
	if s == "" {
		return zeroTime
	}
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02 15:04:05.000", "2006-01-02 15:04:05", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return zeroTime
}

// date parses an object's date, or gives the export's earliest when it
// has none.
func (b *builder) date(s string) time.Time {
	if t := parseDate(s); !t.Equal(zeroTime) {
		return t
	}
	return b.undated
}

// readErr remembers the error a reader gave, so that a failed write can
// tell a damaged source file from a failing site.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// dateOf is an object's date property; one ferry cannot read is
// reported, and the object dated as one without a date. (The build reads
// each object's dates once.)
func (b *builder) dateOf(o *Object, name string) time.Time {
	s := strings.TrimSpace(o.Props[name])
	t := parseDate(s)
	if s != "" && t.Equal(zeroTime) {
		b.rep.Skipped = append(b.rep.Skipped, model.Skipped{Class: o.Class, ID: truncate(o.ID, 80), Objects: 1, Line: o.Line,
			Detail: name + " " + strconv.Quote(truncate(s, 60)),
			Reason: "a date ferry cannot read: the object is copied, dated as the export's earliest"})
	}
	return b.date(s)
}

// update writes fn's changes in their own transaction, after the batch in
// flight.
func (b *builder) update(at time.Time, fn func(*embedded.Tx) error) error {
	if err := b.settle(); err != nil {
		return err
	}
	return b.write(at, fn)
}

func (b *builder) write(at time.Time, fn func(*embedded.Tx) error) error {
	if at.Equal(zeroTime) {
		at = b.undated
	}
	return b.site.Update(b.ctx, at, "", fn)
}

func (b *builder) created(kind string) { b.rep.Created[kind]++ }

// user resolves a user reference (a key) or a user name property.
func (b *builder) user(o *Object, ref, name string) string {
	if r, ok := o.Refs[ref]; ok && r.ID != "" {
		if id := b.users[r.ID]; id != "" {
			return id
		}
	}
	if n := strings.TrimSpace(o.Props[name]); n != "" {
		if id := b.users[n]; id != "" {
			return id
		}
		return b.users[strings.ToLower(n)]
	}
	return ""
}

func (b *builder) run() error {
	b.undated = zeroTime
	steps := []func() error{b.epoch, b.buildUsers, b.buildGroups, b.buildSpaces, b.buildPermissions, b.buildContent,
		b.buildComments, b.buildAttachments, b.buildLabels, b.buildRestrictions, b.buildProperties}
	for _, step := range steps {
		err := step()
		if err == nil {
			err = b.flush()
		}
		if err := errors.Join(err, b.settle()); err != nil {
			return err
		}
	}
	var unmapped []string
	for class := range b.rep.Objects {
		if mapped[class] == "" {
			unmapped = append(unmapped, class)
		}
	}
	sort.Strings(unmapped)
	for _, class := range unmapped {
		b.rep.skip(class, "", "ferry does not map this class of the XML export", b.rep.Objects[class])
	}
	return nil
}

func (b *builder) buildUsers() error {
	type crowdUser struct{ display, email, active string }
	lookup := func(name string) (crowdUser, bool) {
		var c crowdUser
		var display, email, active sql.NullString
		err := b.ix.db.QueryRowContext(b.ctx, `SELECT display, email, active FROM crowd WHERE lower_name = ?`, strings.ToLower(name)).Scan(&display, &email, &active)
		c = crowdUser{display.String, email.String, active.String}
		return c, err == nil
	}
	seen := map[string]bool{}
	err := b.ix.each(b.ctx, `SELECT data FROM objects WHERE class = 'ConfluenceUserImpl' ORDER BY id`, func(o *Object) error {
		name := o.Props["name"]
		u := model.User{AccountID: o.ID, Email: o.Props["email"], DisplayName: name, Status: "active", AccountType: "atlassian"}
		if c, ok := lookup(name); ok {
			u.DisplayName = c.display
			if u.Email == "" {
				u.Email = c.email
			}
			if c.active == "false" {
				u.Status = "inactive"
			}
			seen[strings.ToLower(name)] = true
		}
		if u.DisplayName == "" {
			u.DisplayName = o.ID
		}
		b.users[o.ID] = o.ID
		if name != "" {
			b.users[strings.ToLower(name)] = o.ID
		}
		b.created("user")
		return b.queue(0, func(tx *embedded.Tx) error { return tx.PutUser(u) }) // undated: batched
	})
	if err != nil {
		return err
	}
	// Directory users without a Confluence user record.
	rows, err := b.ix.db.QueryContext(b.ctx, `SELECT lower_name, coalesce(display, ''), coalesce(email, ''), coalesce(active, '') FROM crowd ORDER BY lower_name`)
	if err != nil {
		return err
	}
	var extra []model.User
	for rows.Next() {
		var name, display, email, active string
		if err := rows.Scan(&name, &display, &email, &active); err != nil {
			rows.Close()
			return err
		}
		if seen[name] || b.users[name] != "" {
			continue
		}
		u := model.User{AccountID: "user:" + name, Email: email, DisplayName: display, Status: "active", AccountType: "atlassian"}
		if active == "false" {
			u.Status = "inactive"
		}
		if u.DisplayName == "" {
			u.DisplayName = name
		}
		b.users[name] = u.AccountID
		extra = append(extra, u)
	}
	rows.Close()
	for _, u := range extra {
		b.created("user")
		if err := b.queue(0, func(tx *embedded.Tx) error { return tx.PutUser(u) }); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) buildGroups() error {
	err := b.ix.each(b.ctx, `SELECT data FROM objects WHERE class = 'InternalGroup' ORDER BY id`, func(o *Object) error {
		name := o.Props["name"]
		if name == "" || b.groups[strings.ToLower(name)] != "" {
			b.rep.skipObject(o, "InternalGroup", "a group without a name, or a second group of the same name", "")
			return nil
		}
		b.groups[strings.ToLower(name)] = o.ID
		b.created("group")
		return b.update(b.dateOf(o, "createdDate"), func(tx *embedded.Tx) error { return tx.CreateGroup(model.Group{ID: o.ID, Name: name}) })
	})
	if err != nil {
		return err
	}
	// Older exports write a membership as HibernateMembership, naming the
	// group and user by their objects' ids (parentGroup, userMember), as
	// xwiki-contrib/confluence's importer reads it; later ones by name.
	err = b.ix.each(b.ctx, `SELECT data FROM objects WHERE class = 'HibernateMembership' ORDER BY id`, func(o *Object) error {
		var groupName, userName string
		if g, err := b.ix.get(b.ctx, o.Refs["parentGroup"].ID, "InternalGroup"); err != nil {
			return err
		} else if g != nil {
			groupName = g.Props["name"]
		}
		if u, err := b.ix.get(b.ctx, o.Refs["userMember"].ID, "InternalUser"); err != nil {
			return err
		} else if u != nil {
			userName = u.Props["name"]
		}
		return b.membership(o, groupName, userName, o.Refs["groupMember"].ID == "")
	})
	if err != nil {
		return err
	}
	return b.ix.each(b.ctx, `SELECT data FROM objects WHERE class = 'InternalMembership' ORDER BY id`, func(o *Object) error {
		return b.membership(o, o.Props["parentName"], o.Props["childName"], o.Props["membershipType"] == "" || o.Props["membershipType"] == "GROUP_USER")
	})
}

// membership adds a user to a group, both named; ofUser is false for a
// group in a group, which ferry's model has no place for.
func (b *builder) membership(o *Object, groupName, userName string, ofUser bool) error {
	group, user := b.groups[strings.ToLower(groupName)], b.users[strings.ToLower(userName)]
	if group == "" || user == "" || !ofUser {
		b.rep.skipObject(o, o.Class, "a membership of a group or user not in the export, or of a group in a group", "")
		return nil
	}
	b.created("membership")
	return b.queue(0, func(tx *embedded.Tx) error { // undated: batched
		return tx.AddMembership(model.Membership{GroupID: group, AccountID: user})
	})
}

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

func (b *builder) buildSpaces() error {
	return b.ix.each(b.ctx, `SELECT data FROM objects WHERE class = 'Space' ORDER BY id`, func(o *Object) error {
		key := strings.TrimSpace(o.Props["key"])
		if key == "" {
			b.rep.skipObject(o, "Space", "a space without a key", "")
			return nil
		}
		s := model.Space{ID: o.ID, Key: key, Name: o.Props["name"], Type: "global", Status: "current",
			CreatedAt: b.dateOf(o, "creationDate"), Author: b.user(o, "creator", "creatorName"),
			Settings: map[string]string{}, LookAndFeel: map[string]string{}, Categories: []string{}, Templates: []model.Template{}}
		if strings.EqualFold(o.Props["spaceType"], "personal") {
			s.Type = "personal"
		}
		if strings.EqualFold(o.Props["spaceStatus"], "archived") {
			s.Status = "archived"
		}
		if d := o.Refs["description"]; d.ID != "" {
			desc, _, err := b.body(&Object{ID: d.ID})
			if err != nil {
				return err
			}
			s.Description = desc
		}
		b.spaces[o.ID] = key
		b.created("space")
		return b.update(s.CreatedAt, func(tx *embedded.Tx) error { return tx.CreateSpace(s) })
	})
}

// spacePermissionOps maps Confluence Server permission types to ferry's
// operations (Confluence Cloud's names).
var spacePermissionOps = map[string]string{
	"VIEWSPACE": "read:space", "EDITSPACE": "create:page", "EDITBLOG": "create:blogpost", "COMMENT": "create:comment",
	"CREATEATTACHMENT": "create:attachment", "REMOVEPAGE": "delete:page", "REMOVEBLOG": "delete:blogpost",
	"REMOVECOMMENT": "delete:comment", "REMOVEATTACHMENT": "delete:attachment", "REMOVEMAIL": "delete:mail",
	"EXPORTSPACE": "export:space", "SETSPACEPERMISSIONS": "administer:space", "SETPAGEPERMISSIONS": "restrict_content:space",
	"REMOVEOWNCONTENT": "delete_own:space", "ARCHIVEPAGE": "archive:page",
}

func (b *builder) buildPermissions() error {
	return b.ix.each(b.ctx, `SELECT data FROM objects WHERE class = 'SpacePermission' ORDER BY id`, func(o *Object) error {
		space := o.Refs["space"].ID
		op := spacePermissionOps[strings.ToUpper(strings.TrimSpace(o.Props["type"]))]
		p := model.SpacePermission{ID: o.ID, SpaceID: space, Operation: op, PrincipalType: "anonymous"}
		switch {
		case b.spaces[space] == "":
			b.rep.skipObject(o, "SpacePermission", "a global permission, or one for a space not in the export", "")
			return nil
		case op == "":
			b.rep.skipObject(o, "SpacePermission", "a permission type with no equivalent in ferry's model", "type "+strconv.Quote(truncate(o.Props["type"], 60)))
			return nil
		case o.Props["group"] != "":
			p.PrincipalType = "group"
			if p.PrincipalID = b.groups[strings.ToLower(o.Props["group"])]; p.PrincipalID == "" {
				// The group is not in the export (a space export): create it
				// by name, so the permission keeps its meaning.
				p.PrincipalID = "group:" + strings.ToLower(o.Props["group"])
				b.groups[strings.ToLower(o.Props["group"])] = p.PrincipalID
				b.created("group")
				if err := b.update(zeroTime, func(tx *embedded.Tx) error {
					return tx.CreateGroup(model.Group{ID: p.PrincipalID, Name: o.Props["group"]})
				}); err != nil {
					return err
				}
			}
		case o.Refs["userSubject"].ID != "" || o.Props["userName"] != "":
			p.PrincipalType = "user"
			if p.PrincipalID = b.user(o, "userSubject", "userName"); p.PrincipalID == "" {
				b.rep.skipObject(o, "SpacePermission", "granted to a user not in the export", "")
				return nil
			}
		}
		b.created("space_permission")
		return b.queue(0, func(tx *embedded.Tx) error { return tx.GrantPermission(p) })
	})
}

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

func (b *builder) buildComments() error {
	if err := b.fillTree("Comment"); err != nil {
		return err
	}
	return b.eachHistory("Comment", func(o *Object, versions []version) error {
		container := containerOf(o)
		if b.content[container.ID] == "" {
			b.rep.skipObject(o, "Comment", "on content ferry does not copy or the export lacks: not copied", "on "+container.Class+" "+container.ID)
			return nil
		}
		cm := model.Comment{ID: o.ID, ContainerID: container.ID, Location: "footer", Status: contentStatus(o.Props["contentStatus"]),
			Author: b.user(o, "creator", "creatorName"), CreatedAt: b.dateOf(o, "creationDate")}
		if p := o.Refs["parent"].ID; p != "" {
			if b.comments[p] {
				cm.ParentID = p
			} else {
				b.rep.skipObject(o, "Comment.parent", "the comment it replies to is not copied: it becomes a top-level comment", "replies to "+p)
			}
		}
		if sel, ok, err := b.prop(o.ID, "inline-original-selection"); err != nil {
			return err
		} else if ok {
			marker, _, _ := b.prop(o.ID, "inline-marker-ref")
			cm.Location = "inline"
			cm.Anchor = &model.InlineAnchor{Selection: sel, MarkerRef: marker}
		}
		var vs []model.Version
		for _, v := range versions {
			if !b.published(o, v.Object, "Comment") {
				continue
			}
			body, wiki := v.body, v.wiki
			mv := model.Version{ContentID: o.ID, Number: len(vs) + 1, Body: body, Author: b.user(v.Object, "lastModifier", "lastModifierName"),
				At: b.dateOf(v.Object, "lastModificationDate")}
			if mv.Author == "" {
				mv.Author = cm.Author
			}
			if mv.At.Equal(zeroTime) {
				mv.At = cm.CreatedAt
			}
			if wiki {
				mv.Format = "wiki"
				b.rep.Wiki++
			}
			vs = append(vs, mv)
		}
		b.comments[o.ID] = true
		b.created("comment")
		size := 0
		for _, v := range vs {
			size += len(v.Body)
		}
		return b.queue(size, func(tx *embedded.Tx) error {
			if err := tx.CreateComment(cm); err != nil {
				return err
			}
			for _, v := range vs {
				if err := tx.AddCommentVersion(v); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// containerOf is the content a comment or attachment belongs to, under
// the names exports of different ages give it.
func containerOf(o *Object) Ref {
	for _, name := range []string{"containerContent", "content", "owner"} {
		if r := o.Refs[name]; r.ID != "" {
			return r
		}
	}
	return Ref{Class: "nothing", ID: "(none)"}
}

// prop returns a content property's value.
func (b *builder) prop(contentID, name string) (string, bool, error) {
	var v string
	st, err := b.ix.stmt(b.ctx, `SELECT value FROM owned_props WHERE content_id = ? AND name = ? LIMIT 1`)
	if err != nil {
		return "", false, err
	}
	err = st.QueryRowContext(b.ctx, contentID, name).Scan(&v)
	if err == sql.ErrNoRows {
		return "", false, nil
	}
	return v, err == nil, err
}

// safeID is what an id or version number may look like to name a file:
// Confluence's are decimal numbers; no leading dot, so never "." or "..".
var safeID = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$`)

func (b *builder) buildAttachments() error {
	return b.ix.each(b.ctx, `SELECT o.data FROM objects o JOIN versions v ON v.id = o.id AND v.class = o.class
		WHERE o.class = 'Attachment' AND v.orig = o.id ORDER BY o.id`, func(o *Object) error {
		container := containerOf(o)
		if b.content[container.ID] == "" {
			b.rep.skipObject(o, "Attachment", "attached to content ferry does not copy or the export lacks: not copied", "to "+container.Class+" "+container.ID)
			return nil
		}
		if strings.EqualFold(strings.TrimSpace(o.Props["contentStatus"]), "deleted") {
			b.rep.skipObject(o, "Attachment", "deleted (in the trash) at the source: ferry copies live attachments", "")
			return nil
		}
		mediaType, _, _ := b.prop(o.ID, "MEDIA_TYPE")
		if mediaType == "" {
			mediaType = o.Props["contentType"]
		}
		// Older exports name the file "fileName", where later ones say "title"
		// (the forms xwiki-contrib/confluence's importer reads).
		a := model.Attachment{ID: o.ID, ContainerID: container.ID, Filename: cmp.Or(o.Props["title"], o.Props["fileName"]), MediaType: mediaType,
			Author: b.user(o, "creator", "creatorName"), CreatedAt: b.dateOf(o, "creationDate")}
		versions, err := b.history(o, "Attachment")
		if err != nil {
			return err
		}
		b.created("attachment")
		if err := b.update(a.CreatedAt, func(tx *embedded.Tx) error { return tx.CreateAttachment(a) }); err != nil {
			return err
		}
		number := 0
		for _, v := range versions {
			ver := versionOf(v)
			var f io.ReadCloser
			err := checkAttachmentPath(container.ID, o.ID, ver)
			if err == nil {
				f, err = b.files.open(container.ID, o.ID, ver)
			}
			if errors.Is(err, errUnsafePath) || errors.Is(err, errNotRegular) {
				b.rep.skipObject(v, "Attachment.version", "a file that would be read from outside attachments/, or is not a regular file: refused, not read", truncate(err.Error(), 200))
				continue
			}
			if err != nil {
				// One file the export cannot give (a damaged zip member)
				// loses that version, not the conversion.
				b.rep.skipObject(v, "Attachment.version", "the version's file cannot be read from the export: that version is not copied", truncate(err.Error(), 200))
				continue
			}
			if f == nil {
				b.rep.skipObject(v, "Attachment.version", "the export lacks the version's file: that version is not copied", fmt.Sprintf("attachments/%s/%s/%s", container.ID, o.ID, ver))
				continue
			}
			av := model.AttachmentVersion{AttachmentID: o.ID, Number: number + 1, MediaType: mediaType, Comment: v.Props["versionComment"],
				Author: b.user(v, "lastModifier", "lastModifierName"), At: b.dateOf(v, "lastModificationDate")}
			src := &readErr{r: f}
			err = b.update(av.At, func(tx *embedded.Tx) error {
				digest, size, err := tx.PutBlobFrom(src)
				if err != nil {
					return err
				}
				av.Blob, av.Size = digest, size
				return tx.AddAttachmentVersion(av)
			})
			f.Close()
			if err != nil && src.err != nil { // the file broke off (a damaged zip member): rolled back
				b.rep.skipObject(v, "Attachment.version", "the version's file cannot be read from the export: that version is not copied", truncate(src.err.Error(), 200))
				continue
			}
			if err != nil {
				return err
			}
			number++
		}
		return nil
	})
}

func (b *builder) buildLabels() error {
	return b.ix.each(b.ctx, `SELECT data FROM objects WHERE class = 'Labelling' ORDER BY id`, func(o *Object) error {
		label, err := b.ix.get(b.ctx, o.Refs["label"].ID, "Label")
		if err != nil {
			return err
		}
		content := o.Refs["content"]
		switch {
		case label == nil:
			b.rep.skipObject(o, "Labelling", "its label is not in the export", "")
			return nil
		case b.content[content.ID] == "":
			b.rep.skipObject(o, "Labelling", "a label on something other than a page or blog post: not copied", "on "+content.Class+" "+content.ID)
			return nil
		}
		prefix := strings.ToLower(strings.TrimSpace(label.Props["namespace"]))
		if prefix == "" {
			prefix = "global"
		}
		b.created("label")
		return b.queue(0, func(tx *embedded.Tx) error {
			return tx.AddLabel(model.Label{ContainerID: content.ID, Prefix: prefix, Name: label.Props["name"]})
		})
	})
}

func (b *builder) buildRestrictions() error {
	return b.ix.each(b.ctx, `SELECT data FROM objects WHERE class = 'ContentPermission' ORDER BY id`, func(o *Object) error {
		set, err := b.ix.get(b.ctx, o.Refs["owningSet"].ID, "ContentPermissionSet")
		if err != nil {
			return err
		}
		if set == nil || b.content[set.Refs["owningContent"].ID] == "" {
			b.rep.skipObject(o, "ContentPermission", "its permission set or content is not copied", "")
			return nil
		}
		r := model.Restriction{ContainerID: set.Refs["owningContent"].ID, Operation: "read"}
		if strings.EqualFold(set.Props["type"], "Edit") {
			r.Operation = "update"
		}
		switch {
		case o.Props["groupName"] != "":
			r.PrincipalType, r.PrincipalID = "group", b.groups[strings.ToLower(o.Props["groupName"])]
		default:
			r.PrincipalType, r.PrincipalID = "user", b.user(o, "userSubject", "userName")
		}
		if r.PrincipalID == "" {
			b.rep.skipObject(o, "ContentPermission", "granted to a user or group not in the export", "")
			return nil
		}
		b.created("restriction")
		return b.queue(0, func(tx *embedded.Tx) error { return tx.AddRestriction(r) })
	})
}

// attachmentMeta are the properties in which Confluence keeps an
// attachment's media type and size: read with the attachment (its size is
// its file's), not copied as properties, nor reported as left out.
var attachmentMeta = map[string]bool{"MEDIA_TYPE": true, "FILESIZE": true}

// buildProperties copies the content properties of pages and blog posts,
// streaming them from the index into one transaction.
func (b *builder) buildProperties() error {
	skipped := int64(0)
	err := b.update(zeroTime, func(tx *embedded.Tx) error {
		rows, err := b.ix.db.QueryContext(b.ctx, `SELECT content_id, name, value FROM owned_props ORDER BY content_id, name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		var last string
		for rows.Next() {
			var container, name, value string
			if err := rows.Scan(&container, &name, &value); err != nil {
				return err
			}
			if b.content[container] == "" || name == "" {
				if !attachmentMeta[name] {
					skipped++
				}
				continue
			}
			if container+"\x00"+name == last {
				continue // a second value for the same key: the first wins
			}
			last = container + "\x00" + name
			b.created("property")
			if err := tx.SetProperty(model.Property{ContainerID: container, Key: name, Value: jsonString(value), Version: 1}); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if skipped > 0 {
		b.rep.skip("ContentProperty", "", "properties of attachments, comments, or content not copied", skipped)
	}
	return err
}
