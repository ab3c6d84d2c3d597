package confluencexml

import (
	"database/sql"
	"strings"

	"ferry/embedded"
	"ferry/model"
)

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
