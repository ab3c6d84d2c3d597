package confluencexml

import (
	"strconv"
	"strings"

	"ferry/embedded"
	"ferry/model"
)

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
